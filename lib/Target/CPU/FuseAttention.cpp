//===- FuseAttention.cpp - attention one (batch, head) at a time ----------===//
//
// Unfused, every op of softmax(Q K^T) V makes a pass over the scores of all
// heads ([b, h, s, t]: 25 MB for 16 x 256 tokens and 6 heads), from memory.
// Tiled by (batch, head) with the chain fused, one head's scores (256 KB)
// are written and read back while they are in cache.
//
//===----------------------------------------------------------------------===//

#include "quantc/Target/CPU/Passes.h"

#include "quantc/Target/Common/BatchLoops.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dominance.h"
#include "mlir/Transforms/CSE.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace quantc {
#define GEN_PASS_DEF_FUSEATTENTION
#include "quantc/Target/CPU/Passes.h.inc"
} // namespace quantc

using namespace mlir;

namespace {

/// `map`, which reads the result of `expand`, rewritten to read its source:
/// of each reassociation group one result stays, the others must be unit
/// dimensions read at index 0. Nothing if the expansion adds more than
/// unit dimensions.
std::optional<AffineMap> readSource(AffineMap map,
                                    tensor::ExpandShapeOp expand) {
  ArrayRef<int64_t> shape = expand.getResultType().getShape();
  SmallVector<AffineExpr> results;
  for (const ReassociationIndices &group : expand.getReassociationIndices()) {
    std::optional<int64_t> kept;
    for (int64_t i : group) {
      auto index = dyn_cast<AffineConstantExpr>(map.getResult(i));
      if (shape[i] == 1 && index && index.getValue() == 0)
        continue;
      if (kept)
        return std::nullopt;
      kept = i;
    }
    results.push_back(map.getResult(kept.value_or(group.front())));
  }
  return AffineMap::get(map.getNumDims(), map.getNumSymbols(), results,
                        map.getContext());
}

/// A `linalg.generic` input that is a `tensor.expand_shape` adding only
/// unit dimensions read at 0 (a reduction's [b, h, s] as [b, h, s, 1]) is
/// read from the expansion's source instead. The reduction is then the
/// reader's direct producer, which tile-and-fuse can fuse.
struct FoldUnitExpandIntoReader : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    for (OpOperand *operand : op.getDpsInputOperands()) {
      auto expand = operand->get().getDefiningOp<tensor::ExpandShapeOp>();
      if (!expand)
        continue;
      std::optional<AffineMap> map =
          readSource(op.getMatchingIndexingMap(operand), expand);
      if (!map)
        continue;
      SmallVector<AffineMap> maps = op.getIndexingMapsArray();
      maps[operand->getOperandNumber()] = *map;
      rewriter.modifyOpInPlace(op, [&] {
        operand->set(expand.getSrc());
        op.setIndexingMapsAttr(rewriter.getAffineMapArrayAttr(maps));
      });
      return success();
    }
    return failure();
  }
};

bool isBatchedContraction(Operation *op) {
  auto generic = dyn_cast<linalg::GenericOp>(op);
  return generic && generic.hasPureTensorSemantics() &&
         linalg::isaContractionOpInterface(generic) &&
         quantc::hasBatchLoop(generic);
}

/// What `root` can compute tile by tile: itself and the linalg ops it
/// reads from, transitively, whose results feed only ops of the set (so
/// nothing is computed both inside and outside the loop), and the fills
/// that initialize them (cheap to redo for each tile even where other ops
/// share them: canonicalization merges the layers' identical fills).
llvm::SetVector<Operation *> chainOf(linalg::GenericOp root) {
  llvm::SetVector<Operation *> chain;
  chain.insert(root);
  for (bool grew = true; grew;) {
    grew = false;
    for (size_t i = 0; i < chain.size(); ++i)
      for (Value v : chain[i]->getOperands()) {
        auto producer = v.getDefiningOp<linalg::LinalgOp>();
        if (!producer || chain.contains(producer) ||
            !producer.hasPureTensorSemantics() ||
            producer->getBlock() != root->getBlock())
          continue;
        if (isa<linalg::FillOp>(producer) ||
            llvm::all_of(producer->getUsers(),
                         [&](Operation *user) { return chain.contains(user); })) {
          chain.insert(producer);
          grew = true;
        }
      }
  }
  return chain;
}

/// Tiles `root` by 1 along its batch loops into an scf.forall and fuses the
/// ops of `chain` into it; fails, changing nothing, where upstream's tiling
/// cannot (the chain then runs unfused, as before this pass).
LogicalResult fuseChain(RewriterBase &rewriter, linalg::GenericOp root,
                        const llvm::SetVector<Operation *> &chain) {
  SmallVector<OpFoldResult> tiles;
  for (unsigned d = 0, e = root.getNumLoops(); d < e; ++d)
    tiles.push_back(rewriter.getIndexAttr(quantc::isBatchLoop(root, d)));
  scf::SCFTilingOptions tiling;
  tiling.setTileSizes(tiles).setLoopType(
      scf::SCFTilingOptions::LoopType::ForallOp);
  scf::SCFTileAndFuseOptions options;
  options.setTilingOptions(tiling).setFusionControlFn(
      [&](tensor::ExtractSliceOp, OpResult producer, bool)
          -> std::optional<scf::SCFTileAndFuseOptions::ControlFnResult> {
        if (chain.contains(producer.getOwner()))
          return scf::SCFTileAndFuseOptions::ControlFnResult{};
        return std::nullopt;
      });
  rewriter.setInsertionPoint(root);
  FailureOr<scf::SCFTileAndFuseResult> fused =
      scf::tileConsumerAndFuseProducersUsingSCF(
          rewriter, cast<TilingInterface>(root.getOperation()), options);
  if (failed(fused))
    return failure();
  rewriter.replaceOp(root, fused->replacements.lookup(root->getResult(0)));
  return success();
}

/// After fusion: sizes read from the chain's originals (tensor.dim) are
/// read from their operands, so the originals are dead and go, and a value
/// two fused ops read (the scores, for the maximum and the exponentials),
/// fused once for each, is computed once. Common subexpressions are merged
/// only inside the loops (and the sizes their slices read): elsewhere,
/// merging the `to_buffer`s that quantized layers read their input through
/// would move a read before a write (bufferization sees one read, at the
/// first).
LogicalResult cleanUp(Operation *root) {
  RewritePatternSet patterns(root->getContext());
  memref::populateResolveRankedShapedTypeResultDimsPatterns(patterns);
  if (failed(applyPatternsGreedily(root, std::move(patterns))))
    return failure();
  IRRewriter rewriter(root->getContext());
  DominanceInfo dominance;
  // One tensor.dim for each (tensor, dimension) where the first dominates.
  llvm::DenseMap<std::pair<Value, Value>, tensor::DimOp> firstDim;
  root->walk<WalkOrder::PreOrder>([&](tensor::DimOp dim) {
    auto [it, inserted] =
        firstDim.try_emplace({dim.getSource(), dim.getIndex()}, dim);
    if (inserted || !dominance.dominates(it->second.getOperation(), dim))
      return WalkResult::advance();
    rewriter.replaceOp(dim, it->second.getResult());
    return WalkResult::skip(); // erased: nothing inside to visit
  });
  SmallVector<scf::ForallOp> loops;
  root->walk([&](scf::ForallOp loop) { loops.push_back(loop); });
  for (scf::ForallOp loop : loops)
    eliminateCommonSubExpressions(rewriter, dominance, loop);
  return success();
}

struct FuseAttentionPass
    : quantc::impl::FuseAttentionBase<FuseAttentionPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    patterns.add<FoldUnitExpandIntoReader>(ctx);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();

    // Roots: batched contractions with another one in their chain (P V of
    // softmax(Q K^T)), last first, each op in at most one chain.
    SmallVector<linalg::GenericOp> candidates;
    getOperation().walk([&](linalg::GenericOp op) {
      if (isBatchedContraction(op))
        candidates.push_back(op);
    });
    llvm::DenseSet<Operation *> taken;
    SmallVector<std::pair<linalg::GenericOp, llvm::SetVector<Operation *>>>
        roots;
    for (linalg::GenericOp op : llvm::reverse(candidates)) {
      if (taken.contains(op))
        continue;
      llvm::SetVector<Operation *> chain = chainOf(op);
      if (llvm::none_of(chain.getArrayRef().drop_front(),
                        isBatchedContraction))
        continue;
      taken.insert(chain.begin(), chain.end());
      roots.push_back({op, std::move(chain)});
    }
    IRRewriter rewriter(ctx);
    for (auto &[root, chain] : roots)
      (void)fuseChain(rewriter, root, chain);
    if (!roots.empty() && failed(cleanUp(getOperation())))
      signalPassFailure();
  }
};

} // namespace
