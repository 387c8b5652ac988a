//===- FuseElementwise.cpp - one loop nest per chain of elementwise ops ---===//

#include "quantc/Target/Common/BatchLoops.h"
#include "quantc/Target/Common/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/SmallBitVector.h"

namespace quantc {
#define GEN_PASS_DEF_FUSEELEMENTWISE
#include "quantc/Target/Common/Passes.h.inc"
} // namespace quantc

using namespace mlir;

namespace {

bool isContraction(Operation *op) {
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  return linalgOp && linalg::isaContractionOpInterface(linalgOp);
}

/// No division or transcendental function in its body: recomputing it per
/// reader costs less than storing it once and reading it back.
bool cheapToRecompute(Operation *producer) {
  bool cheap = true;
  producer->walk([&](Operation *op) {
    cheap &= !isa<arith::DivFOp, arith::RemFOp>(op) &&
             op->getDialect()->getNamespace() != "math";
  });
  return cheap;
}

/// Fuses an elementwise producer into a consumer generic (also a
/// reduction: softmax's max and sum read the scaled scores, computed on the
/// fly) when every reader of the producer is such a generic, so the
/// producer is never written to memory; each reader recomputes it, which
/// costs less than a pass over memory. Matmuls keep their operands (the
/// microkernel must still recognise them). Upstream's fusion, without its
/// other rewrites such as folding splat constants into bodies.
struct FuseIntoConsumer : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(linalg::GenericOp consumer,
                                PatternRewriter &rewriter) const override {
    if (isContraction(consumer))
      return failure();
    for (OpOperand &operand : consumer->getOpOperands()) {
      Operation *producer = operand.get().getDefiningOp();
      if (!producer || !linalg::areElementwiseOpsFusable(&operand) ||
          (!producer->hasOneUse() && !cheapToRecompute(producer)) ||
          llvm::range_size(producer->getUsers()) > kMaxReaders ||
          llvm::any_of(producer->getUsers(), [](Operation *user) {
            return !isa<linalg::GenericOp>(user) || isContraction(user);
          }))
        continue;
      FailureOr<linalg::ElementwiseOpFusionResult> fused =
          linalg::fuseElementwiseOps(rewriter, &operand);
      if (failed(fused))
        continue;
      // Only the consumer's results move; the producer's other readers keep
      // it until they fuse it too (then it is dead and goes).
      for (OpResult result : consumer->getResults())
        rewriter.replaceAllUsesWith(result,
                                    fused->replacements.lookup(result));
      rewriter.eraseOp(consumer);
      return success();
    }
    return failure();
  }
  /// A value read by more ops than this is stored once rather than
  /// recomputed by each.
  static constexpr size_t kMaxReaders = 3;
};

/// A generic reading a `linalg.transpose` (its only reader) reads the
/// transpose's input through a permuted indexing map instead: no copy. For
/// attention's K^T the matmul then sees B = K, which the microkernel takes
/// transposed.
struct FoldTransposeIntoGeneric : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    for (OpOperand *operand : op.getDpsInputOperands()) {
      auto transpose = operand->get().getDefiningOp<linalg::TransposeOp>();
      if (!transpose || !transpose->hasOneUse())
        continue;
      // result[i] = input[permutation[i]]: input dimension permutation[i]
      // is indexed by what indexed result dimension i.
      AffineMap map = op.getMatchingIndexingMap(operand);
      ArrayRef<int64_t> permutation = transpose.getPermutation();
      SmallVector<AffineExpr> exprs(map.getNumResults());
      for (auto [i, p] : llvm::enumerate(permutation))
        exprs[p] = map.getResult(i);
      SmallVector<AffineMap> maps = op.getIndexingMapsArray();
      maps[operand->getOperandNumber()] =
          AffineMap::get(map.getNumDims(), 0, exprs, op.getContext());
      rewriter.modifyOpInPlace(op, [&] {
        operand->set(transpose.getInput());
        op.setIndexingMapsAttr(rewriter.getAffineMapArrayAttr(maps));
      });
      return success();
    }
    return failure();
  }
};

/// A generic left copying one of its inputs unchanged is replaced by that
/// input: no pass over memory for nothing.
void forwardIfCopy(PatternRewriter &rewriter, linalg::GenericOp op) {
  if (op.getNumResults() != 1)
    return;
  auto yield = cast<linalg::YieldOp>(op.getBody()->getTerminator());
  auto arg = dyn_cast<BlockArgument>(yield.getOperand(0));
  if (!arg || arg.getOwner() != op.getBody())
    return;
  OpOperand *input = op.getMatchingOpOperand(arg);
  if (op.isDpsInput(input) && op.getMatchingIndexingMap(input).isIdentity() &&
      op.getMatchingIndexingMap(op.getDpsInitOperand(0)).isIdentity() &&
      input->get().getType() == op.getResult(0).getType())
    rewriter.replaceOp(op, input->get());
}

/// A product of two activations (attention's Q K^T or P V: a contraction
/// with a batch loop) that starts from zeros, so that a factor common to
/// all its terms can be taken out of or into the sum.
bool isBatchedProductFromZero(Operation *op) {
  auto generic = dyn_cast_or_null<linalg::GenericOp>(op);
  if (!generic || !generic.hasPureTensorSemantics() ||
      !isContraction(generic) || generic.getNumDpsInputs() != 2 ||
      generic.getNumDpsInits() != 1)
    return false;
  auto fill =
      generic.getDpsInitOperand(0)->get().getDefiningOp<linalg::FillOp>();
  return quantc::hasBatchLoop(generic) && fill &&
         matchPattern(fill.value(), m_AnyZeroFloat());
}

/// softmax(Q K^T / c): the scores' reader divides (or multiplies) every
/// score by one scalar. Q is divided instead, before the product: Q has d
/// columns where the scores have one per key (d = 64 against 256 keys at
/// 256 tokens), and Q's division fuses into Q's producer (the rotary
/// embedding), so the pass over all scores goes. Exact where c is a power
/// of two (sqrt(64) = 8); otherwise the rounding of one product may differ
/// in the last bit.
struct ScaleProductOperand : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(linalg::GenericOp reader,
                                PatternRewriter &rewriter) const override {
    if (!reader.hasPureTensorSemantics() || reader.getNumReductionLoops() != 0)
      return failure();
    for (OpOperand *operand : reader.getDpsInputOperands()) {
      auto product = operand->get().getDefiningOp<linalg::GenericOp>();
      if (!product || !product->hasOneUse() ||
          !isBatchedProductFromZero(product))
        continue;
      BlockArgument score = reader.getMatchingBlockArgument(operand);
      if (!score.hasOneUse())
        continue;
      Operation *scale = *score.getUsers().begin();
      if (!isa<arith::DivFOp, arith::MulFOp>(scale) ||
          (isa<arith::DivFOp>(scale) && scale->getOperand(0) != score))
        continue;
      Value factor = scale->getOperand(scale->getOperand(0) == score);
      // The factor is a scalar: defined outside the body, or read from a
      // rank-0 input.
      Value factorInput;
      if (auto arg = dyn_cast<BlockArgument>(factor)) {
        if (arg.getOwner() != reader.getBody())
          continue;
        OpOperand *from = reader.getMatchingOpOperand(arg);
        if (!reader.isDpsInput(from) ||
            reader.getMatchingIndexingMap(from).getNumResults() != 0)
          continue;
        factorInput = from->get();
      } else if (!factor.getParentRegion()->isProperAncestor(
                     &reader.getRegion())) {
        continue;
      }
      if (failed(scaleOperand(rewriter, product, scale, factor, factorInput)))
        continue;
      rewriter.replaceOp(scale, score);
      forwardIfCopy(rewriter, reader);
      return success();
    }
    return failure();
  }

  /// The product's first operand replaced by its elementwise `scale` (the
  /// same op, the same factor).
  static LogicalResult scaleOperand(PatternRewriter &rewriter,
                                    linalg::GenericOp product, Operation *scale,
                                    Value factor, Value factorInput) {
    OpOperand *a = product.getDpsInputOperand(0);
    auto type = dyn_cast<RankedTensorType>(a->get().getType());
    if (!type)
      return failure();
    Location loc = product.getLoc();
    rewriter.setInsertionPoint(product);
    // Sizes from the producer's init where there is one: a tensor.dim of
    // the operand itself would be a reader that keeps its producer from
    // fusing into the division.
    Value shaped = a->get();
    if (auto dps = shaped.getDefiningOp<DestinationStyleOpInterface>())
      shaped = dps.getTiedOpOperand(cast<OpResult>(shaped))->get();
    Value init = tensor::EmptyOp::create(
        rewriter, loc, tensor::getMixedSizes(rewriter, loc, shaped),
        type.getElementType());
    MLIRContext *ctx = rewriter.getContext();
    int64_t rank = type.getRank();
    SmallVector<Value> inputs = {a->get()};
    SmallVector<AffineMap> maps = {
        AffineMap::getMultiDimIdentityMap(rank, ctx)};
    if (factorInput) {
      inputs.push_back(factorInput);
      maps.push_back(AffineMap::get(rank, 0, {}, ctx));
    }
    maps.push_back(AffineMap::getMultiDimIdentityMap(rank, ctx));
    bool factorFirst = scale->getOperand(0) == factor;
    auto scaled = linalg::GenericOp::create(
        rewriter, loc, type, inputs, ValueRange{init}, maps,
        SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value f = factorInput ? args[1] : factor;
          Value x = args[0];
          Operation *op = b.clone(*scale);
          op->setOperand(factorFirst ? 1 : 0, x);
          op->setOperand(factorFirst ? 0 : 1, f);
          op->setLoc(l);
          linalg::YieldOp::create(b, l, op->getResult(0));
        });
    rewriter.modifyOpInPlace(product, [&] { a->set(scaled.getResult(0)); });
    return success();
  }
};

/// softmax(S) V with softmax's last step, e / sum(e) per row, feeding the
/// product: each row of the product is divided by its sum instead, after
/// it: (E V) / sum, d values per row in place of one per key (flash
/// attention's order). Not bit-exact: one rounding of each weight moves
/// to one rounding of each output.
struct NormalizeAfterProduct : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(linalg::GenericOp product,
                                PatternRewriter &rewriter) const override {
    if (!isBatchedProductFromZero(product))
      return failure();
    OpOperand *weights = product.getDpsInputOperand(0);
    auto softmax = weights->get().getDefiningOp<linalg::GenericOp>();
    if (!softmax || !softmax->hasOneUse() || softmax.getNumResults() != 1 ||
        softmax.getNumReductionLoops() != 0 ||
        !softmax.getMatchingIndexingMap(softmax.getDpsInitOperand(0))
             .isIdentity())
      return failure();
    auto yield = cast<linalg::YieldOp>(softmax.getBody()->getTerminator());
    auto divide = yield.getOperand(0).getDefiningOp<arith::DivFOp>();
    auto sumArg = divide ? dyn_cast<BlockArgument>(divide.getRhs()) : nullptr;
    if (!divide || !divide->hasOneUse() || !sumArg ||
        sumArg.getOwner() != softmax.getBody())
      return failure();
    // A per-row sum; a scalar is ScaleProductOperand's (moved before).
    OpOperand *sum = softmax.getMatchingOpOperand(sumArg);
    if (!softmax.isDpsInput(sum) ||
        softmax.getMatchingIndexingMap(sum).getNumResults() == 0)
      return failure();
    // The sum's index in the product's loops must not involve a reduction
    // loop, and be expressible in the output's dimensions.
    AffineMap sumInProduct = softmax.getMatchingIndexingMap(sum).compose(
        product.getMatchingIndexingMap(weights));
    AffineMap out =
        product.getMatchingIndexingMap(product.getDpsInitOperand(0));
    if (!out.isProjectedPermutation())
      return failure();
    MLIRContext *ctx = rewriter.getContext();
    SmallVector<AffineExpr> loopToOut(product.getNumLoops(),
                                      getAffineConstantExpr(0, ctx));
    llvm::SmallBitVector inOut(product.getNumLoops());
    for (auto [i, e] : llvm::enumerate(out.getResults())) {
      unsigned d = cast<AffineDimExpr>(e).getPosition();
      loopToOut[d] = getAffineDimExpr(i, ctx);
      inOut.set(d);
    }
    for (unsigned d = 0, e = product.getNumLoops(); d < e; ++d)
      if (!inOut[d] && sumInProduct.isFunctionOfDim(d))
        return failure();
    AffineMap sumInOut = sumInProduct.replaceDimsAndSymbols(
        loopToOut, {}, out.getNumResults(), 0);

    Value sumValue = sum->get(); // softmax may go: it may be a copy now
    rewriter.modifyOpInPlace(softmax,
                             [&] { yield->setOperand(0, divide.getLhs()); });
    rewriter.eraseOp(divide);
    forwardIfCopy(rewriter, softmax);
    Location loc = product.getLoc();
    rewriter.setInsertionPointAfter(product);
    Value result = product.getResult(0);
    auto type = cast<RankedTensorType>(result.getType());
    // Sizes from the product's init: reading `result` would make them
    // users that the replacement below must not redirect.
    Value init = tensor::EmptyOp::create(
        rewriter, loc,
        tensor::getMixedSizes(rewriter, loc,
                              product.getDpsInitOperand(0)->get()),
        type.getElementType());
    int64_t rank = type.getRank();
    auto normalized = linalg::GenericOp::create(
        rewriter, loc, type, ValueRange{result, sumValue}, ValueRange{init},
        {AffineMap::getMultiDimIdentityMap(rank, ctx), sumInOut,
         AffineMap::getMultiDimIdentityMap(rank, ctx)},
        SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
        [&](OpBuilder &b, Location l, ValueRange args) {
          linalg::YieldOp::create(
              b, l, arith::DivFOp::create(b, l, args[0], args[1]).getResult());
        });
    rewriter.replaceAllUsesExcept(result, normalized.getResult(0), normalized);
    return success();
  }
};

struct FuseElementwisePass
    : quantc::impl::FuseElementwiseBase<FuseElementwisePass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    // First the rewrites around attention's products, on the unfused ops
    // they match; then the fusion.
    RewritePatternSet products(ctx);
    products.add<ScaleProductOperand, NormalizeAfterProduct>(ctx);
    if (failed(applyPatternsGreedily(getOperation(), std::move(products))))
      return signalPassFailure();
    RewritePatternSet patterns(ctx);
    patterns.add<FuseIntoConsumer, FoldTransposeIntoGeneric>(ctx);
    // Fusion keeps a producer's result as an extra output while it has
    // other readers; once they fused it too, that output is dead: drop it.
    linalg::populateEraseUnusedOperandsAndResultsPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
