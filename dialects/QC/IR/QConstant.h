//===- QConstant.h - qc.qconstant <-> reference numerics ---------*- C++ -*-===//
//
// The one place that moves a quantized matrix between the reference
// numerics (numerics::QuantizedMatrix) and the attributes of qc.qconstant.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTC_DIALECT_QC_QCONSTANT_H
#define QUANTC_DIALECT_QC_QCONSTANT_H

#include "QC/IR/QC.h"
#include "quantc/Numerics/Matrix.h"

#include "mlir/IR/Builders.h"

namespace quantc {

/// The f32 values of a constant, or failure if it is not an f32 tensor.
mlir::FailureOr<std::vector<float>> floatValues(mlir::ElementsAttr value);

/// The bytes of a stored piece (blob or inline dense data), element after
/// element.
std::vector<char> storedBytes(mlir::ElementsAttr value);

/// A `dense_resource` blob `name` of `shape` x `element` holding `bytes`.
mlir::ElementsAttr resourceBlob(llvm::StringRef name,
                                llvm::ArrayRef<int64_t> shape,
                                mlir::Type element,
                                llvm::ArrayRef<char> bytes);

/// A `dense_resource` blob `name` of f32 `type` holding `values`.
mlir::ElementsAttr floatBlob(llvm::StringRef name, mlir::RankedTensorType type,
                             llvm::ArrayRef<float> values);

/// `codes` of a weight of type `from` in layout `to` (channel-major or tiles).
std::vector<char> relayoutCodes(const std::vector<char> &codes,
                                qc::QWeightType from, qc::LayoutAttr to);

/// A qc.qconstant of type `type` (in its layout) holding `q`; blobs are named `name`_codes,
/// `name`_scales, ...
qc::QConstantOp buildQConstant(mlir::OpBuilder &b, mlir::Location loc,
                               qc::QWeightType type,
                               const numerics::QuantizedMatrix &q,
                               llvm::StringRef name);

/// The matrix a qc.qconstant holds (codes in the channel-major layout).
numerics::QuantizedMatrix readQConstant(qc::QConstantOp op);

/// Module attribute listing the constants that hold pieces of quantized
/// weights, so an artifact's weights table can say what each blob entry is:
/// a list of {value, format, layout, part}. Lowerings that turn a
/// qc.qconstant into plain constants record each piece here.
constexpr const char *kPackedPiecesAttr = "quantc.packed_pieces";

/// Records in `module` that constant `value` holds `part` ("codes",
/// "scales", "zero_points", ...) of a weight of type `type`.
void recordPackedPiece(mlir::Operation *module, mlir::Attribute value,
                       qc::QWeightType type, llvm::StringRef part);

/// The layout's name in the artifact manifest: "channel_major" or
/// "tiles<NxK>".
std::string layoutName(qc::LayoutAttr layout);

} // namespace quantc

#endif // QUANTC_DIALECT_QC_QCONSTANT_H
