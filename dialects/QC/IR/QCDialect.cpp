//===- QCDialect.cpp - registration of the qc dialect ---------------------===//

#include "QC/IR/QC.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace quantc::qc;

#include "QC/IR/QCDialect.cpp.inc"
#include "QC/IR/QCEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "QC/IR/QCAttrs.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "QC/IR/QCTypes.cpp.inc"

void QCDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "QC/IR/QCAttrs.cpp.inc"
      >();
  addTypes<
#define GET_TYPEDEF_LIST
#include "QC/IR/QCTypes.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "QC/IR/QCOps.cpp.inc"
      >();
}
