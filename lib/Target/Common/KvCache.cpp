//===- KvCache.cpp - KV caches appended in place, owned by the runtime ----===//

#include "quantc/Target/Common/KvCache.h"
#include "quantc/Target/Common/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Interfaces/ValueBoundsOpInterface.h"
#include "llvm/ADT/EquivalenceClasses.h"

namespace quantc {
#define GEN_PASS_DEF_KVCACHEINPLACE
#define GEN_PASS_DEF_KVCACHEDROPRESULTS
#include "quantc/Target/Common/Passes.h.inc"
} // namespace quantc

using namespace mlir;

namespace {

/// `present = concat(past, new)` along `axis`, with `past` argument `arg`
/// of main and `present` returned as result `result`.
struct CachePair {
  tensor::ConcatOp concat;
  unsigned arg;
  unsigned result;
  int64_t axis;
};

struct KvCacheInPlacePass
    : quantc::impl::KvCacheInPlaceBase<KvCacheInPlacePass> {
  void runOnOperation() override {
    auto main = getOperation().lookupSymbol<func::FuncOp>("main");
    if (!main || main.isExternal())
      return;
    SmallVector<CachePair> pairs = findPairs(main);
    if (pairs.empty())
      return;
    // Sizes of the appended tensors are proven equal to input sizes before
    // any rewrite (the runtime must know them before a call).
    SmallVector<DictionaryAttr> infos;
    llvm::DenseSet<unsigned> cacheArgs;
    for (const CachePair &p : pairs)
      cacheArgs.insert(p.arg);
    AssertedEqual asserted = assertedEqualSizes(main);
    for (const CachePair &p : pairs) {
      FailureOr<DictionaryAttr> info = describe(main, p, cacheArgs, asserted);
      if (failed(info))
        return signalPassFailure();
      infos.push_back(*info);
    }

    MLIRContext *ctx = &getContext();
    Block &entry = main.getBody().front();
    auto lengthType = RankedTensorType::get({}, IntegerType::get(ctx, 64));
    unsigned lengthIndex = main.getNumArguments();
    if (failed(main.insertArgument(
            lengthIndex, lengthType,
            DictionaryAttr::get(
                ctx, {NamedAttribute(StringAttr::get(ctx, quantc::kv::kLength),
                                     UnitAttr::get(ctx)),
                      NamedAttribute(StringAttr::get(ctx, "onnx.name"),
                                     StringAttr::get(ctx, quantc::kv::kLengthName)),
                      NamedAttribute(StringAttr::get(ctx, "bufferization.writable"),
                                     BoolAttr::get(ctx, false))}),
            main.getLoc())))
      return signalPassFailure();
    OpBuilder b = OpBuilder::atBlockBegin(&entry);
    Location loc = main.getLoc();
    Value length = arith::IndexCastOp::create(
        b, loc, b.getIndexType(),
        tensor::ExtractOp::create(b, loc, entry.getArgument(lengthIndex),
                                  ValueRange{}));

    auto ret = cast<func::ReturnOp>(entry.getTerminator());
    for (auto [p, info] : llvm::zip(pairs, infos)) {
      BlockArgument cache = entry.getArgument(p.arg);
      Value appended = p.concat.getOperand(1);
      b.setInsertionPoint(p.concat);
      Location at = p.concat.getLoc();
      auto type = cast<RankedTensorType>(appended.getType());
      int64_t rank = type.getRank();
      SmallVector<OpFoldResult> zeros(rank, b.getIndexAttr(0)),
          ones(rank, b.getIndexAttr(1));
      SmallVector<OpFoldResult> sizes =
          tensor::getMixedSizes(b, at, appended);
      SmallVector<OpFoldResult> offsets = zeros;
      offsets[p.axis] = length;
      Value updated = tensor::InsertSliceOp::create(b, at, appended, cache,
                                                    offsets, sizes, ones);
      // What the attention reads: the positions so far, this step's too.
      SmallVector<OpFoldResult> all = sizes;
      all[p.axis] = arith::AddIOp::create(
                        b, at, length,
                        getValueOrCreateConstantIndexOp(b, at, sizes[p.axis]))
                        .getResult();
      Value present = tensor::ExtractSliceOp::create(
          b, at, cast<RankedTensorType>(p.concat.getType()), updated, zeros,
          all, ones);
      // Other readers of the past: its size along the axis is the length;
      // its values are the first `length` positions of the buffer (read
      // before this step's insertion).
      for (OpOperand &use : llvm::make_early_inc_range(cache.getUses())) {
        auto dim = dyn_cast<tensor::DimOp>(use.getOwner());
        std::optional<int64_t> index =
            dim ? dim.getConstantIndex() : std::nullopt;
        if (index && *index == p.axis)
          dim.getResult().replaceAllUsesWith(length);
      }
      if (llvm::any_of(cache.getUsers(), [&](Operation *user) {
            return user != p.concat && user != updated.getDefiningOp() &&
                   !isa<tensor::DimOp>(user);
          })) {
        b.setInsertionPointAfter(length.getDefiningOp());
        SmallVector<OpFoldResult> pastSizes =
            tensor::getMixedSizes(b, at, cache);
        pastSizes[p.axis] = length;
        Value past = tensor::ExtractSliceOp::create(
            b, at, cast<RankedTensorType>(cache.getType()), cache, zeros,
            pastSizes, ones);
        cache.replaceUsesWithIf(past, [&](OpOperand &use) {
          Operation *user = use.getOwner();
          return user != p.concat && user != updated.getDefiningOp() &&
                 user != past.getDefiningOp() && !isa<tensor::DimOp>(user);
        });
      }
      ret->setOperand(p.result, updated);
      p.concat.getResult().replaceAllUsesWith(present);
      p.concat.erase();
      main.setArgAttr(p.arg, quantc::kv::kCache, info);
      main.setArgAttr(p.arg, "bufferization.writable", b.getBoolAttr(true));
      main.setResultAttr(p.result, quantc::kv::kCacheOf,
                         b.getI64IntegerAttr(p.arg));
    }
  }

  /// Results of main that concatenate one of its arguments with new values
  /// along a dynamic dimension.
  static SmallVector<CachePair> findPairs(func::FuncOp main) {
    SmallVector<CachePair> pairs;
    auto ret = cast<func::ReturnOp>(main.getBody().front().getTerminator());
    for (OpOperand &operand : ret->getOpOperands()) {
      auto concat = operand.get().getDefiningOp<tensor::ConcatOp>();
      if (!concat || concat.getNumOperands() != 2)
        continue;
      auto past = dyn_cast<BlockArgument>(concat.getOperand(0));
      int64_t axis = concat.getDim();
      if (!past || past.getOwner() != &main.getBody().front() ||
          !concat.getType().isDynamicDim(axis) ||
          llvm::any_of(pairs, [&](const CachePair &p) {
            return p.arg == past.getArgNumber() || p.concat == concat;
          }))
        continue;
      pairs.push_back({concat, past.getArgNumber(),
                       operand.getOperandNumber(), axis});
    }
    return pairs;
  }

  /// Sizes of main's arguments, (argument, dimension), that the model
  /// asserts equal (cf.assert of `tensor.dim == tensor.dim`: the importer's
  /// broadcast checks, run on every call before the values meet).
  using ArgDim = std::pair<unsigned, int64_t>;
  using AssertedEqual = llvm::EquivalenceClasses<ArgDim>;
  static std::optional<ArgDim> argDimOf(func::FuncOp main, Value v) {
    auto dim = v.getDefiningOp<tensor::DimOp>();
    auto arg = dim ? dyn_cast<BlockArgument>(dim.getSource()) : BlockArgument();
    std::optional<int64_t> index = dim ? dim.getConstantIndex() : std::nullopt;
    if (!arg || arg.getOwner() != &main.getBody().front() || !index)
      return std::nullopt;
    return ArgDim{arg.getArgNumber(), *index};
  }
  static AssertedEqual assertedEqualSizes(func::FuncOp main) {
    AssertedEqual classes;
    main.walk([&](cf::AssertOp op) {
      auto eq = op.getArg().getDefiningOp<arith::CmpIOp>();
      if (!eq || eq.getPredicate() != arith::CmpIPredicate::eq)
        return;
      std::optional<ArgDim> a = argDimOf(main, eq.getLhs()),
                            b = argDimOf(main, eq.getRhs());
      if (a && b)
        classes.unionSets(*a, *b);
    });
    return classes;
  }

  /// {axis, present, size_from} for pair `p`; fails (with an error) when a
  /// dynamic size of the appended tensor is not a data input's size. A size
  /// that is a cache's (the runtime's) counts when the model asserts it
  /// equal to a data input's.
  static FailureOr<DictionaryAttr> describe(func::FuncOp main, CachePair p,
                                            const llvm::DenseSet<unsigned> &caches,
                                            const AssertedEqual &asserted) {
    MLIRContext *ctx = main.getContext();
    Value appended = p.concat.getOperand(1);
    auto type = cast<RankedTensorType>(appended.getType());
    SmallVector<int64_t> sizeFrom;
    for (int64_t d = 0; d < type.getRank(); ++d) {
      if (!type.isDynamicDim(d)) {
        sizeFrom.append({-1, -1});
        continue;
      }
      std::optional<ArgDim> found;
      for (BlockArgument arg : main.getArguments()) {
        auto argType = dyn_cast<RankedTensorType>(arg.getType());
        if (!argType || arg.getArgNumber() == p.arg)
          continue;
        for (int64_t j = 0; j < argType.getRank() && !found; ++j) {
          if (!argType.isDynamicDim(j))
            continue;
          FailureOr<bool> equal = ValueBoundsConstraintSet::areEqual(
              {appended, d}, {arg, j});
          if (succeeded(equal) && *equal)
            found = {arg.getArgNumber(), j};
        }
        if (found)
          break;
      }
      if (!found || caches.count(found->first)) {
        // The size of a cache (its own included): take a data input's size
        // asserted equal to it.
        std::optional<ArgDim> data;
        auto tryClass = [&](ArgDim start) {
          if (!asserted.contains(start))
            return;
          for (const ArgDim &m : asserted.members(start))
            if (!data && !caches.count(m.first))
              data = m;
        };
        if (found)
          tryClass(*found);
        FailureOr<bool> own = ValueBoundsConstraintSet::areEqual(
            {appended, d}, {main.getArgument(p.arg), d});
        if (!data && succeeded(own) && *own)
          tryClass({p.arg, d});
        found = data;
      }
      if (!found)
        return p.concat.emitError()
               << "KV cache '" << nameOf(main, p) << "': size " << d
               << " of the appended tensor is not the size of an input, so "
                  "the runtime cannot size the cache before a run";
      sizeFrom.append({found->first, found->second});
    }
    Builder b(ctx);
    auto present = main.getResultAttrOfType<StringAttr>(p.result, "onnx.name");
    return b.getDictionaryAttr(
        {b.getNamedAttr("axis", b.getI64IntegerAttr(p.axis)),
         b.getNamedAttr("present",
                        present ? present
                                : b.getStringAttr("#" + std::to_string(p.result))),
         b.getNamedAttr("size_from", b.getDenseI64ArrayAttr(sizeFrom))});
  }

  static std::string nameOf(func::FuncOp main, CachePair p) {
    auto name = main.getArgAttrOfType<StringAttr>(p.arg, "onnx.name");
    return name ? name.str() : "#" + std::to_string(p.arg);
  }
};

struct KvCacheDropResultsPass
    : quantc::impl::KvCacheDropResultsBase<KvCacheDropResultsPass> {
  void runOnOperation() override {
    auto main = getOperation().lookupSymbol<func::FuncOp>("main");
    if (!main || main.isExternal())
      return;
    auto ret = cast<func::ReturnOp>(main.getBody().front().getTerminator());
    llvm::BitVector drop(main.getNumResults());
    for (unsigned i = 0; i < main.getNumResults(); ++i) {
      auto of = main.getResultAttrOfType<IntegerAttr>(i, quantc::kv::kCacheOf);
      if (!of)
        continue;
      Value v = ret.getOperand(i);
      while (auto cast = v.getDefiningOp<memref::CastOp>())
        v = cast.getSource();
      auto arg = dyn_cast<BlockArgument>(v);
      if (!arg || arg.getOwner() != &main.getBody().front() ||
          arg.getArgNumber() != of.getInt()) {
        main.emitError() << "result " << i
                         << " of main should be its KV cache argument #"
                         << of.getInt()
                         << " updated in place, but bufferization copied it";
        return signalPassFailure();
      }
      drop.set(i);
    }
    if (drop.none())
      return;
    ret->eraseOperands(drop);
    if (failed(main.eraseResults(drop)))
      return signalPassFailure();
  }
};

} // namespace
