//===- TensorBuilder.cpp - tensor IR with ONNX broadcasting ---------------===//

#include "TensorBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/AffineMap.h"

using namespace mlir;
using namespace quantc::onnx;

namespace {
bool isConstant(OpFoldResult ofr, int64_t v) {
  std::optional<int64_t> c = getConstantIntValue(ofr);
  return c && *c == v;
}
} // namespace

SmallVector<OpFoldResult> TensorBuilder::dims(Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  SmallVector<OpFoldResult> out;
  for (int64_t i = 0; i < type.getRank(); ++i) {
    if (type.isDynamicDim(i))
      out.push_back(tensor::DimOp::create(b, loc, tensor, i).getResult());
    else
      out.push_back(b.getIndexAttr(type.getDimSize(i)));
  }
  return out;
}

RankedTensorType TensorBuilder::tensorType(ArrayRef<OpFoldResult> dims,
                                           Type element) {
  SmallVector<int64_t> shape;
  for (OpFoldResult d : dims)
    shape.push_back(getConstantIntValue(d).value_or(ShapedType::kDynamic));
  return RankedTensorType::get(shape, element);
}

Value TensorBuilder::empty(ArrayRef<OpFoldResult> dims, Type element) {
  return tensor::EmptyOp::create(b, loc, dims, element);
}

Value TensorBuilder::filled(ArrayRef<OpFoldResult> dims, Value value) {
  Value init = empty(dims, value.getType());
  return linalg::FillOp::create(b, loc, ValueRange{value}, ValueRange{init})
      .getResult(0);
}

Value TensorBuilder::index(OpFoldResult ofr) {
  return getValueOrCreateConstantIndexOp(b, loc, ofr);
}

Value TensorBuilder::scalar(Type type, double value) {
  if (isa<FloatType>(type))
    return arith::ConstantOp::create(b, loc, type,
                                     b.getFloatAttr(type, value));
  return arith::ConstantOp::create(
      b, loc, type, b.getIntegerAttr(type, static_cast<int64_t>(value)));
}

SmallVector<OpFoldResult> TensorBuilder::broadcastDims(ValueRange inputs) {
  int64_t rank = 0;
  for (Value v : inputs)
    rank = std::max(rank, cast<RankedTensorType>(v.getType()).getRank());
  SmallVector<OpFoldResult> out(rank, b.getIndexAttr(1));
  for (int64_t j = 0; j < rank; ++j) {
    // A static size other than 1 wins; else a dynamic one; else 1.
    std::optional<std::pair<Value, int64_t>> dynamicFrom;
    bool found = false;
    for (Value v : inputs) {
      auto type = cast<RankedTensorType>(v.getType());
      int64_t k = j - (rank - type.getRank());
      if (k < 0)
        continue;
      if (!type.isDynamicDim(k) && type.getDimSize(k) != 1) {
        out[j] = b.getIndexAttr(type.getDimSize(k));
        found = true;
        break;
      }
      if (type.isDynamicDim(k) && !dynamicFrom)
        dynamicFrom = {v, k};
    }
    if (!found && dynamicFrom)
      out[j] =
          tensor::DimOp::create(b, loc, dynamicFrom->first, dynamicFrom->second)
              .getResult();
  }
  return out;
}

/// The map reading an input of `type` inside a loop nest over `outDims`:
/// right-aligned, static unit dimensions broadcast (read at 0).
static AffineMap broadcastMap(RankedTensorType type,
                              ArrayRef<OpFoldResult> outDims,
                              MLIRContext *ctx) {
  int64_t rank = outDims.size();
  SmallVector<AffineExpr> exprs;
  for (int64_t k = 0; k < type.getRank(); ++k) {
    int64_t j = k + rank - type.getRank();
    if (type.getDimSize(k) == 1 && !isConstant(outDims[j], 1))
      exprs.push_back(getAffineConstantExpr(0, ctx));
    else
      exprs.push_back(getAffineDimExpr(j, ctx));
  }
  return AffineMap::get(rank, 0, exprs, ctx);
}

Value TensorBuilder::map(ValueRange inputs, Type element, ScalarFn fn) {
  SmallVector<OpFoldResult> outDims = broadcastDims(inputs);
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineMap> maps;
  for (Value v : inputs)
    maps.push_back(
        broadcastMap(cast<RankedTensorType>(v.getType()), outDims, ctx));
  maps.push_back(AffineMap::getMultiDimIdentityMap(outDims.size(), ctx));
  SmallVector<utils::IteratorType> iterators(outDims.size(),
                                             utils::IteratorType::parallel);
  Value init = empty(outDims, element);
  auto generic = linalg::GenericOp::create(
      b, loc, init.getType(), inputs, ValueRange{init}, maps, iterators,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value r = fn(nb, nloc, args.drop_back());
        linalg::YieldOp::create(nb, nloc, r);
      });
  return generic.getResult(0);
}

Value TensorBuilder::broadcastTo(Value input, ArrayRef<OpFoldResult> dims) {
  auto type = cast<RankedTensorType>(input.getType());
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineMap> maps = {
      broadcastMap(type, dims, ctx),
      AffineMap::getMultiDimIdentityMap(dims.size(), ctx)};
  SmallVector<utils::IteratorType> iterators(dims.size(),
                                             utils::IteratorType::parallel);
  Value init = empty(dims, type.getElementType());
  return linalg::GenericOp::create(
             b, loc, init.getType(), ValueRange{input}, ValueRange{init}, maps,
             iterators,
             [](OpBuilder &nb, Location nloc, ValueRange args) {
               linalg::YieldOp::create(nb, nloc, args[0]);
             })
      .getResult(0);
}

Value TensorBuilder::reduce(Value input, ArrayRef<int64_t> axes, Value init,
                            ScalarFn fn, bool keepDims) {
  auto type = cast<RankedTensorType>(input.getType());
  MLIRContext *ctx = b.getContext();
  int64_t rank = type.getRank();
  SmallVector<OpFoldResult> inDims = dims(input), outDims;
  SmallVector<AffineExpr> outExprs;
  SmallVector<utils::IteratorType> iterators;
  for (int64_t i = 0; i < rank; ++i) {
    bool reduced = llvm::is_contained(axes, i);
    iterators.push_back(reduced ? utils::IteratorType::reduction
                                : utils::IteratorType::parallel);
    if (!reduced) {
      outDims.push_back(inDims[i]);
      outExprs.push_back(getAffineDimExpr(i, ctx));
    }
  }
  Value acc = filled(outDims, init);
  SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(rank, ctx),
                                 AffineMap::get(rank, 0, outExprs, ctx)};
  Value reduced =
      linalg::GenericOp::create(
          b, loc, acc.getType(), ValueRange{input}, ValueRange{acc}, maps,
          iterators,
          [&](OpBuilder &nb, Location nloc, ValueRange args) {
            linalg::YieldOp::create(nb, nloc, fn(nb, nloc, args));
          })
          .getResult(0);
  return keepDims ? expandUnitDims(reduced, axes) : reduced;
}

Value TensorBuilder::matmul(Value a, Value bMat) {
  auto aType = cast<RankedTensorType>(a.getType());
  auto bType = cast<RankedTensorType>(bMat.getType());
  int64_t ra = aType.getRank(), rb = bType.getRank();
  int64_t batch = std::max(ra, rb) - 2;
  MLIRContext *ctx = b.getContext();
  // Loops: batch..., m, n, k.
  int64_t loops = batch + 3;
  SmallVector<OpFoldResult> aDims = dims(a), bDims = dims(bMat);
  SmallVector<OpFoldResult> outDims;
  {
    // Batch dimensions broadcast like an elementwise op.
    for (int64_t j = 0; j < batch; ++j) {
      int64_t ka = j - (batch - (ra - 2)), kb = j - (batch - (rb - 2));
      OpFoldResult da = ka >= 0 ? aDims[ka] : b.getIndexAttr(1);
      OpFoldResult db = kb >= 0 ? bDims[kb] : b.getIndexAttr(1);
      outDims.push_back(isConstant(da, 1) ? db : da);
    }
    outDims.push_back(aDims[ra - 2]);
    outDims.push_back(bDims[rb - 1]);
  }
  auto operandMap = [&](RankedTensorType type, bool isA) {
    SmallVector<AffineExpr> exprs;
    int64_t r = type.getRank();
    for (int64_t k = 0; k < r - 2; ++k) {
      int64_t j = k + batch - (r - 2);
      if (type.getDimSize(k) == 1 && !isConstant(outDims[j], 1))
        exprs.push_back(getAffineConstantExpr(0, ctx));
      else
        exprs.push_back(getAffineDimExpr(j, ctx));
    }
    AffineExpr m = getAffineDimExpr(batch, ctx),
               n = getAffineDimExpr(batch + 1, ctx),
               k = getAffineDimExpr(batch + 2, ctx);
    if (isA) {
      exprs.push_back(m);
      exprs.push_back(k);
    } else {
      exprs.push_back(k);
      exprs.push_back(n);
    }
    return AffineMap::get(loops, 0, exprs, ctx);
  };
  SmallVector<AffineExpr> outExprs;
  for (int64_t j = 0; j < batch + 2; ++j)
    outExprs.push_back(getAffineDimExpr(j, ctx));
  SmallVector<AffineMap> maps = {operandMap(aType, true),
                                 operandMap(bType, false),
                                 AffineMap::get(loops, 0, outExprs, ctx)};
  SmallVector<utils::IteratorType> iterators(loops,
                                             utils::IteratorType::parallel);
  iterators.back() = utils::IteratorType::reduction;
  Type element = aType.getElementType();
  Value acc = filled(outDims, scalar(element, 0));
  bool isFloat = isa<FloatType>(element);
  return linalg::GenericOp::create(
             b, loc, acc.getType(), ValueRange{a, bMat}, ValueRange{acc}, maps,
             iterators,
             [&](OpBuilder &nb, Location nloc, ValueRange args) {
               Value r;
               if (isFloat) {
                 Value p = arith::MulFOp::create(nb, nloc, args[0], args[1]);
                 r = arith::AddFOp::create(nb, nloc, args[2], p);
               } else {
                 Value p = arith::MulIOp::create(nb, nloc, args[0], args[1]);
                 r = arith::AddIOp::create(nb, nloc, args[2], p);
               }
               linalg::YieldOp::create(nb, nloc, r);
             })
      .getResult(0);
}

Value TensorBuilder::transpose(Value input, ArrayRef<int64_t> perm) {
  SmallVector<OpFoldResult> inDims = dims(input), outDims;
  for (int64_t p : perm)
    outDims.push_back(inDims[p]);
  Value init =
      empty(outDims, cast<RankedTensorType>(input.getType()).getElementType());
  return linalg::TransposeOp::create(b, loc, input, init, perm).getResult()[0];
}

Value TensorBuilder::reshape(Value input, ArrayRef<OpFoldResult> dims) {
  auto type = cast<RankedTensorType>(input.getType());
  RankedTensorType resultType = tensorType(dims, type.getElementType());
  if (resultType == type)
    return input;
  SmallVector<Value> sizes;
  for (OpFoldResult d : dims)
    sizes.push_back(index(d));
  Value shape = tensor::FromElementsOp::create(
      b, loc,
      RankedTensorType::get({static_cast<int64_t>(sizes.size())},
                            b.getIndexType()),
      sizes);
  return tensor::ReshapeOp::create(b, loc, resultType, input, shape);
}

/// Reassociation of a tensor with unit dimensions at `axes` (positions in
/// the larger rank `rank`) with the smaller one.
static SmallVector<ReassociationIndices>
unitDimGroups(int64_t rank, ArrayRef<int64_t> axes) {
  SmallVector<ReassociationIndices> groups;
  ReassociationIndices pending; // unit dims before the first kept one
  for (int64_t i = 0; i < rank; ++i) {
    if (llvm::is_contained(axes, i)) {
      if (groups.empty())
        pending.push_back(i);
      else
        groups.back().push_back(i);
      continue;
    }
    ReassociationIndices group = pending;
    pending.clear();
    group.push_back(i);
    groups.push_back(group);
  }
  // All dimensions are unit: the smaller tensor is rank 0, no groups.
  return groups;
}

Value TensorBuilder::expandUnitDims(Value input, ArrayRef<int64_t> axes) {
  if (axes.empty())
    return input;
  auto type = cast<RankedTensorType>(input.getType());
  int64_t rank = type.getRank() + axes.size();
  SmallVector<OpFoldResult> inDims = dims(input), outDims;
  for (int64_t i = 0, k = 0; i < rank; ++i)
    outDims.push_back(llvm::is_contained(axes, i) ? b.getIndexAttr(1)
                                                  : inDims[k++]);
  RankedTensorType resultType = tensorType(outDims, type.getElementType());
  return tensor::ExpandShapeOp::create(b, loc, resultType, input,
                                       unitDimGroups(rank, axes), outDims);
}

Value TensorBuilder::collapseUnitDims(Value input, ArrayRef<int64_t> axes) {
  if (axes.empty())
    return input;
  auto type = cast<RankedTensorType>(input.getType());
  return tensor::CollapseShapeOp::create(
      b, loc, input, unitDimGroups(type.getRank(), axes));
}

Value TensorBuilder::convertScalar(Value v, Type to, bool fromUnsigned) {
  Type from = v.getType();
  if (from == to)
    return v;
  auto fromInt = dyn_cast<IntegerType>(from);
  auto toInt = dyn_cast<IntegerType>(to);
  if (toInt && toInt.getWidth() == 1) { // to bool: nonzero
    if (fromInt)
      return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, v,
                                   scalar(from, 0));
    return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, v,
                                 scalar(from, 0));
  }
  bool isUnsigned = fromUnsigned || (fromInt && fromInt.getWidth() == 1);
  if (fromInt && toInt) {
    if (toInt.getWidth() < fromInt.getWidth())
      return arith::TruncIOp::create(b, loc, to, v);
    if (isUnsigned)
      return arith::ExtUIOp::create(b, loc, to, v);
    return arith::ExtSIOp::create(b, loc, to, v);
  }
  if (fromInt) {
    if (isUnsigned)
      return arith::UIToFPOp::create(b, loc, to, v);
    return arith::SIToFPOp::create(b, loc, to, v);
  }
  if (toInt)
    return arith::FPToSIOp::create(b, loc, to, v);
  if (cast<FloatType>(to).getWidth() > cast<FloatType>(from).getWidth())
    return arith::ExtFOp::create(b, loc, to, v);
  return arith::TruncFOp::create(b, loc, to, v);
}
