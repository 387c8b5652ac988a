//===- TensorBuilder.cpp - tensor IR with ONNX broadcasting ---------------===//

#include "TensorBuilder.h"

#include "QC/IR/QC.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
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

/// The size value a dynamic dimension was built from, found by walking up
/// through ops whose result sizes are operand sizes; null if none.
static Value producerSize(Value tensor, int64_t i) {
  while (Operation *op = tensor.getDefiningOp()) {
    if (auto empty = dyn_cast<tensor::EmptyOp>(op))
      return empty.getDynamicSize(i);
    if (auto expand = dyn_cast<tensor::ExpandShapeOp>(op)) {
      OpFoldResult d = expand.getMixedOutputShape()[i];
      return dyn_cast<Value>(d);
    }
    if (auto dps = dyn_cast<DestinationStyleOpInterface>(op)) {
      tensor = dps.getDpsInitOperand(cast<OpResult>(tensor).getResultNumber())
                   ->get();
      continue;
    }
    if (auto linear = dyn_cast<quantc::qc::LinearOp>(op)) {
      if (i + 1 >= linear.getResult().getType().getRank())
        return {};
      tensor = linear.getInput();
      continue;
    }
    if (auto castOp = dyn_cast<tensor::CastOp>(op)) {
      if (!cast<RankedTensorType>(castOp.getSource().getType())
               .isDynamicDim(i))
        return {};
      tensor = castOp.getSource();
      continue;
    }
    // Off the axis a concatenation has its operands' sizes (the importer
    // checks they agree): a KV cache's batch is the new tokens' batch.
    if (auto concat = dyn_cast<tensor::ConcatOp>(op)) {
      if (static_cast<int64_t>(concat.getDim()) == i)
        return {};
      for (Value input : llvm::reverse(concat.getInputs()))
        if (Value v = producerSize(input, i))
          return v;
      return {};
    }
    return {};
  }
  return {};
}

SmallVector<OpFoldResult> TensorBuilder::dims(Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  SmallVector<OpFoldResult> out;
  for (int64_t i = 0; i < type.getRank(); ++i) {
    if (!type.isDynamicDim(i)) {
      out.push_back(b.getIndexAttr(type.getDimSize(i)));
      continue;
    }
    // Reuse the size the producer was built with, so equal sizes stay
    // recognizably equal (a Reshape target built from another tensor's
    // Shape then matches this one's dimensions).
    if (Value v = producerSize(tensor, i))
      out.push_back(v);
    else
      out.push_back(tensor::DimOp::create(b, loc, tensor, i).getResult());
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

/// "node 'NAME': " for a node's location (the importer's NameLoc).
static std::string nodePrefix(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc))
    return "node '" + name.getName().str() + "': ";
  return "";
}

void TensorBuilder::require(Value cond, StringRef what) {
  if (std::optional<int64_t> c = getConstantIntValue(cond); c && *c)
    return;
  cf::AssertOp::create(b, loc, cond, nodePrefix(loc) + what.str());
}

void TensorBuilder::requireEqual(OpFoldResult a, OpFoldResult c,
                                 StringRef what) {
  bool ca = getConstantIntValue(a).has_value(),
       cc = getConstantIntValue(c).has_value();
  if ((ca && cc) || (!ca && !cc && sameSize(a, c)))
    return;
  require(b.createOrFold<arith::CmpIOp>(loc, arith::CmpIPredicate::eq,
                                        index(a), index(c)),
          what);
}

OpFoldResult TensorBuilder::product(ArrayRef<OpFoldResult> dims) {
  int64_t known = 1;
  Value dynamic;
  for (OpFoldResult d : dims) {
    if (std::optional<int64_t> c = getConstantIntValue(d)) {
      known *= *c;
      continue;
    }
    Value v = index(d);
    dynamic = dynamic ? b.createOrFold<arith::MulIOp>(loc, dynamic, v) : v;
  }
  if (!dynamic)
    return b.getIndexAttr(known);
  if (known == 1)
    return dynamic;
  return b.createOrFold<arith::MulIOp>(
      loc, dynamic, arith::ConstantIndexOp::create(b, loc, known));
}

Value TensorBuilder::checkedCast(Value v, RankedTensorType type,
                                 StringRef what) {
  auto from = cast<RankedTensorType>(v.getType());
  SmallVector<OpFoldResult> have = dims(v);
  for (int64_t i = 0; i < type.getRank(); ++i)
    if (from.isDynamicDim(i) && !type.isDynamicDim(i))
      requireEqual(have[i], b.getIndexAttr(type.getDimSize(i)),
                   (what + " dimension " + std::to_string(i) + " must be " +
                    std::to_string(type.getDimSize(i)))
                       .str());
  return tensor::CastOp::create(b, loc, type, v);
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
      out[j] = dims(dynamicFrom->first)[dynamicFrom->second];
    // A dynamic size must equal the result's at run time: quantc broadcasts
    // only static 1s, so anything else would be read out of bounds.
    for (Value v : inputs) {
      auto type = cast<RankedTensorType>(v.getType());
      int64_t k = j - (rank - type.getRank());
      if (k >= 0 && type.isDynamicDim(k))
        requireEqual(dims(v)[k], out[j],
                     "operand sizes differ along a broadcast axis");
    }
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
      if (!isConstant(da, 1) && !isConstant(db, 1))
        requireEqual(da, db, "matmul batch sizes differ");
    }
    outDims.push_back(aDims[ra - 2]);
    outDims.push_back(bDims[rb - 1]);
    requireEqual(aDims[ra - 1], bDims[rb - 2],
                 "matmul operands differ in their contracted size");
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

tensor::DimOp TensorBuilder::sizeSource(Value v) {
  while (Operation *op = v.getDefiningOp()) {
    if (auto dim = dyn_cast<tensor::DimOp>(op))
      return dim;
    if (!isa<arith::IndexCastOp, arith::IndexCastUIOp>(op))
      break;
    v = op->getOperand(0);
  }
  return {};
}

bool TensorBuilder::sameSize(OpFoldResult a, OpFoldResult b) {
  std::optional<int64_t> ca = getConstantIntValue(a), cb = getConstantIntValue(b);
  if (ca || cb)
    return ca == cb;
  Value va = cast<Value>(a), vb = cast<Value>(b);
  if (va == vb)
    return true;
  tensor::DimOp da = sizeSource(va), db = sizeSource(vb);
  std::optional<int64_t> ia = da ? getConstantIntValue(da.getIndex()) : std::nullopt;
  std::optional<int64_t> ib = db ? getConstantIntValue(db.getIndex()) : std::nullopt;
  return da && db && ia && ia == ib && da.getSource() == db.getSource();
}

namespace {
/// A size as a constant times dynamic factors, read through the index casts
/// and multiplications a Reshape's shape computation is made of (Shape,
/// Gather, Mul, Concat): `batch * 4` from an exporter's head split, and
/// through the sizes of collapsed dimensions (attention scores of `batch *
/// heads` matrices).
struct SymbolicSize {
  TensorBuilder &tb;
  int64_t constant = 1;
  SmallVector<Value> factors;

  explicit SymbolicSize(TensorBuilder &tb) : tb(tb) {}

  void multiply(OpFoldResult d) {
    if (std::optional<int64_t> c = getConstantIntValue(d)) {
      constant *= *c;
      return;
    }
    Value v = cast<Value>(d);
    while (isa_and_nonnull<arith::IndexCastOp, arith::IndexCastUIOp>(
        v.getDefiningOp()))
      v = v.getDefiningOp()->getOperand(0);
    if (std::optional<int64_t> c = getConstantIntValue(v)) {
      constant *= *c;
    } else if (auto mul = v.getDefiningOp<arith::MulIOp>()) {
      multiply(mul.getLhs());
      multiply(mul.getRhs());
    } else if (auto collapsed = collapsedDim(v)) {
      SmallVector<OpFoldResult> sizes = tb.dims(collapsed->first.getSrc());
      for (int64_t i : collapsed->second)
        multiply(sizes[i]);
    } else {
      factors.push_back(v);
    }
  }

  /// `tensor.dim` of a collapse_shape result: the op and the source
  /// dimensions that dimension collapses.
  static std::optional<std::pair<tensor::CollapseShapeOp, ReassociationIndices>>
  collapsedDim(Value v) {
    auto dim = v.getDefiningOp<tensor::DimOp>();
    auto collapse =
        dim ? dim.getSource().getDefiningOp<tensor::CollapseShapeOp>() : nullptr;
    std::optional<int64_t> index =
        dim ? getConstantIntValue(dim.getIndex()) : std::nullopt;
    if (!collapse || !index)
      return std::nullopt;
    return std::make_pair(collapse, collapse.getReassociationIndices()[*index]);
  }

  /// Whether our dynamic factors are among `other`'s (each used once).
  bool factorsWithin(const SymbolicSize &other) const {
    SmallVector<Value> left = other.factors;
    for (Value f : factors) {
      auto *it = llvm::find_if(
          left, [&](Value g) { return TensorBuilder::sameSize(f, g); });
      if (it == left.end())
        return false;
      left.erase(it);
    }
    return true;
  }
};
} // namespace

/// Pairs runs of input and output dimensions with equal sizes: equal
/// dimensions pair one to one, else a run grows on the side whose product
/// is the smaller (fewer dynamic factors, or the same ones and a smaller
/// constant) until the products match; unit dimensions join their
/// neighbours. One pair of dimensions that cannot be compared (a K and a V
/// cache's lengths) is taken as equal and returned in `assumed`: with the
/// element counts equal and every other run matched, it is, unless the
/// tensor is empty; the caller checks it at run time. Fails where a dynamic
/// size would have to be split.
static bool matchGroups(TensorBuilder &tb, ArrayRef<OpFoldResult> in,
                        ArrayRef<OpFoldResult> out,
                        SmallVector<ReassociationIndices> &inGroups,
                        SmallVector<ReassociationIndices> &outGroups,
                        std::optional<std::pair<size_t, size_t>> &assumed) {
  size_t i = 0, j = 0;
  auto isOne = [](OpFoldResult d) { return isConstant(d, 1); };
  while (i < in.size() && j < out.size()) {
    ReassociationIndices gi{static_cast<int64_t>(i)},
        go{static_cast<int64_t>(j)};
    if (!TensorBuilder::sameSize(in[i], out[j])) {
      SymbolicSize pin(tb), pout(tb);
      pin.multiply(in[i]);
      pout.multiply(out[j]);
      // Takes the next dimension of one side into its run.
      auto grow = [](ArrayRef<OpFoldResult> dims, size_t &k,
                     SymbolicSize &product, ReassociationIndices &group) {
        if (++k >= dims.size())
          return false;
        product.multiply(dims[k]);
        group.push_back(k);
        return true;
      };
      while (true) {
        bool inWithin = pin.factorsWithin(pout),
             outWithin = pout.factorsWithin(pin);
        if (inWithin && outWithin && pin.constant == pout.constant)
          break;
        bool growIn = inWithin && (!outWithin || pin.constant < pout.constant);
        bool growOut = outWithin && !growIn;
        if (!growIn && !growOut && !assumed && gi.size() == 1 &&
            go.size() == 1) {
          assumed = {i, j};
          break;
        }
        if (!(growIn ? grow(in, i, pin, gi)
                     : growOut && grow(out, j, pout, go)))
          return false;
      }
    }
    ++i;
    ++j;
    inGroups.push_back(gi);
    outGroups.push_back(go);
  }
  // Leftover unit dimensions join the last group.
  for (; i < in.size(); ++i) {
    if (!isOne(in[i]) || inGroups.empty())
      return false;
    inGroups.back().push_back(i);
  }
  for (; j < out.size(); ++j) {
    if (!isOne(out[j]) || outGroups.empty())
      return false;
    outGroups.back().push_back(j);
  }
  return true;
}

Value TensorBuilder::reshape(Value input, ArrayRef<OpFoldResult> dims) {
  auto type = cast<RankedTensorType>(input.getType());
  RankedTensorType resultType = tensorType(dims, type.getElementType());
  if (resultType == type)
    return input;
  SmallVector<OpFoldResult> inDims = this->dims(input);
  requireEqual(product(inDims), product(dims),
               "reshape to a shape of another element count");
  SmallVector<ReassociationIndices> inGroups, outGroups;
  std::optional<std::pair<size_t, size_t>> assumed;
  if (!inDims.empty() && !dims.empty() &&
      matchGroups(*this, inDims, dims, inGroups, outGroups, assumed)) {
    if (assumed)
      requireEqual(inDims[assumed->first], dims[assumed->second],
                   "reshape of an empty tensor that changes its sizes");
    // Collapse each input run to one dimension, then expand it into its
    // output run: two views, one of them usually the identity.
    Value mid = input;
    SmallVector<OpFoldResult> midDims;
    bool collapse = false, expand = false;
    for (auto [gi, go] : llvm::zip(inGroups, outGroups)) {
      collapse |= gi.size() > 1;
      expand |= go.size() > 1;
      // The run's size: a single dimension on either side, else the
      // product of its (then static) input sizes.
      if (go.size() == 1)
        midDims.push_back(dims[go[0]]);
      else if (gi.size() == 1)
        midDims.push_back(inDims[gi[0]]);
      else
        midDims.push_back(product(llvm::map_to_vector(
            gi, [&](int64_t i) { return inDims[i]; })));
    }
    if (collapse)
      mid = tensor::CollapseShapeOp::create(
          b, loc, tensorType(midDims, type.getElementType()), input, inGroups);
    if (expand) {
      SmallVector<ReassociationIndices> expandGroups = outGroups;
      mid = tensor::ExpandShapeOp::create(b, loc, resultType, mid,
                                          expandGroups, dims);
    }
    if (!collapse && !expand) // only static/dynamic refinements differ
      mid = tensor::CastOp::create(b, loc, resultType, input);
    if (mid.getType() != resultType)
      mid = tensor::CastOp::create(b, loc, resultType, mid);
    return mid;
  }
  // Otherwise row-major reshape = flatten, then unflatten.
  Value flat = input;
  if (type.getRank() == 0) {
    flat = tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get({1}, type.getElementType()), input,
        ArrayRef<ReassociationIndices>{},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
  } else if (type.getRank() != 1) {
    ReassociationIndices all;
    for (int64_t i = 0; i < type.getRank(); ++i)
      all.push_back(i);
    flat = tensor::CollapseShapeOp::create(b, loc, input,
                                           ArrayRef<ReassociationIndices>{all});
  }
  if (resultType.getRank() == 1)
    return flat.getType() == resultType
               ? flat
               : tensor::CastOp::create(b, loc, resultType, flat).getResult();
  if (resultType.getRank() == 0)
    return tensor::CollapseShapeOp::create(b, loc, resultType, flat,
                                           ArrayRef<ReassociationIndices>{});
  ReassociationIndices all;
  for (int64_t i = 0; i < resultType.getRank(); ++i)
    all.push_back(i);
  return tensor::ExpandShapeOp::create(b, loc, resultType, flat,
                                       ArrayRef<ReassociationIndices>{all},
                                       dims);
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
      return b.createOrFold<arith::CmpIOp>(loc, arith::CmpIPredicate::ne, v,
                                   scalar(from, 0));
    return b.createOrFold<arith::CmpFOp>(loc, arith::CmpFPredicate::UNE, v,
                                 scalar(from, 0));
  }
  bool isUnsigned = fromUnsigned || (fromInt && fromInt.getWidth() == 1);
  if (fromInt && toInt) {
    if (toInt.getWidth() < fromInt.getWidth())
      return b.createOrFold<arith::TruncIOp>(loc, to, v);
    if (isUnsigned)
      return b.createOrFold<arith::ExtUIOp>(loc, to, v);
    return b.createOrFold<arith::ExtSIOp>(loc, to, v);
  }
  if (fromInt) {
    if (isUnsigned)
      return b.createOrFold<arith::UIToFPOp>(loc, to, v);
    return b.createOrFold<arith::SIToFPOp>(loc, to, v);
  }
  if (toInt)
    return b.createOrFold<arith::FPToSIOp>(loc, to, v);
  if (cast<FloatType>(to).getWidth() > cast<FloatType>(from).getWidth())
    return b.createOrFold<arith::ExtFOp>(loc, to, v);
  return b.createOrFold<arith::TruncFOp>(loc, to, v);
}
