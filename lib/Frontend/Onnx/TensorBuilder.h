//===- TensorBuilder.h - tensor IR with ONNX broadcasting -------*- C++ -*-===//
//
// Small builders over upstream tensor/linalg/arith that the ONNX op mappings
// share: dimensions as OpFoldResults (constants where known), elementwise
// maps with numpy broadcasting, reductions, contractions, reshapes.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTC_LIB_FRONTEND_ONNX_TENSORBUILDER_H
#define QUANTC_LIB_FRONTEND_ONNX_TENSORBUILDER_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/OpDefinition.h"

namespace quantc::onnx {

/// Computes one scalar result from the scalar operands of an elementwise op.
using ScalarFn = llvm::function_ref<mlir::Value(
    mlir::OpBuilder &, mlir::Location, mlir::ValueRange)>;

class TensorBuilder {
public:
  TensorBuilder(mlir::OpBuilder &b, mlir::Location loc) : b(b), loc(loc) {}

  mlir::OpBuilder &builder() { return b; }
  mlir::Location location() const { return loc; }

  /// Dimensions of a ranked tensor: attributes where static, tensor.dim
  /// values where dynamic.
  llvm::SmallVector<mlir::OpFoldResult> dims(mlir::Value tensor);
  /// A ranked tensor type with static sizes where `dims` are constants.
  static mlir::RankedTensorType
  tensorType(llvm::ArrayRef<mlir::OpFoldResult> dims, mlir::Type element);
  /// tensor.empty of the given dimensions.
  mlir::Value empty(llvm::ArrayRef<mlir::OpFoldResult> dims,
                    mlir::Type element);
  /// A tensor of the given dimensions filled with `value` (a scalar).
  mlir::Value filled(llvm::ArrayRef<mlir::OpFoldResult> dims,
                     mlir::Value value);
  /// An index value of an OpFoldResult.
  mlir::Value index(mlir::OpFoldResult ofr);
  /// A scalar constant of `type` (integer, index or float).
  mlir::Value scalar(mlir::Type type, double value);

  /// Checks at run time that `a == c` where either is dynamic (a failed
  /// check stops the model with `what` in its error); nothing when both
  /// are constants (the caller has compared them).
  void requireEqual(mlir::OpFoldResult a, mlir::OpFoldResult c,
                    llvm::StringRef what);
  /// Checks at run time that `cond` holds (see requireEqual).
  void require(mlir::Value cond, llvm::StringRef what);
  /// The product of `dims` (a constant where all are).
  mlir::OpFoldResult product(llvm::ArrayRef<mlir::OpFoldResult> dims);
  /// tensor.cast of `v` to `type`, with the sizes it makes static checked.
  mlir::Value checkedCast(mlir::Value v, mlir::RankedTensorType type,
                          llvm::StringRef what);
  /// The numpy-broadcast dimensions of `inputs`. A dynamic dimension is
  /// taken to match the other operands' (ONNX shape inference does the
  /// same); only a static 1 broadcasts.
  llvm::SmallVector<mlir::OpFoldResult> broadcastDims(mlir::ValueRange inputs);
  /// Elementwise `fn` over broadcast `inputs`, giving `element`s.
  mlir::Value map(mlir::ValueRange inputs, mlir::Type element, ScalarFn fn);
  /// `input` broadcast to `dims` (numpy rules, right-aligned).
  mlir::Value broadcastTo(mlir::Value input,
                          llvm::ArrayRef<mlir::OpFoldResult> dims);
  /// Reduction of `input` over `axes` (sorted, non-negative) starting from
  /// `init`, combining with `fn(element, accumulator)`; reduced dimensions
  /// are kept with size 1 when `keepDims`, else dropped.
  mlir::Value reduce(mlir::Value input, llvm::ArrayRef<int64_t> axes,
                     mlir::Value init, ScalarFn fn, bool keepDims = true);
  /// ONNX MatMul of two tensors of rank >= 2 with batch broadcasting.
  mlir::Value matmul(mlir::Value a, mlir::Value bMat);
  /// Permutes dimensions: result dim i is input dim perm[i].
  mlir::Value transpose(mlir::Value input, llvm::ArrayRef<int64_t> perm);
  /// Reshapes to `dims` (same element count).
  mlir::Value reshape(mlir::Value input,
                      llvm::ArrayRef<mlir::OpFoldResult> dims);
  /// Inserts (`expand`) or removes unit dimensions at sorted `axes` of the
  /// result (expand) or the input (collapse).
  mlir::Value expandUnitDims(mlir::Value input, llvm::ArrayRef<int64_t> axes);
  mlir::Value collapseUnitDims(mlir::Value input,
                               llvm::ArrayRef<int64_t> axes);
  /// The tensor.dim a size comes from, looking through index casts.
  static mlir::tensor::DimOp sizeSource(mlir::Value v);
  /// True if two sizes are equal constants or the same dimension of the
  /// same tensor.
  static bool sameSize(mlir::OpFoldResult a, mlir::OpFoldResult b);
  /// Converts a scalar between element types with ONNX Cast semantics
  /// (folded when the scalar is a constant).
  mlir::Value convertScalar(mlir::Value v, mlir::Type to, bool fromUnsigned);

private:
  mlir::OpBuilder &b;
  mlir::Location loc;
};

} // namespace quantc::onnx

#endif // QUANTC_LIB_FRONTEND_ONNX_TENSORBUILDER_H
