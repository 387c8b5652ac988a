//===- QC.h - the qc dialect: types, attributes and ops ---------*- C++ -*-===//
//
// The one header users of the qc dialect include.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTC_DIALECT_QC_QC_H
#define QUANTC_DIALECT_QC_QC_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Quant/IR/Quant.h"
#include "mlir/Dialect/Quant/IR/QuantTypes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "QC/IR/QCDialect.h.inc"
#include "QC/IR/QCEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "QC/IR/QCAttrs.h.inc"

#define GET_TYPEDEF_CLASSES
#include "QC/IR/QCTypes.h.inc"

#define GET_OP_CLASSES
#include "QC/IR/QCOps.h.inc"

namespace quantc {
namespace numerics {
struct Format;
} // namespace numerics

namespace qc {
/// The plain C++ description of `format`, for the reference numerics.
numerics::Format toNumericsFormat(FormatAttr format);
} // namespace qc
} // namespace quantc

#endif // QUANTC_DIALECT_QC_QC_H
