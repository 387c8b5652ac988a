//===- ParallelizeLinalg.cpp - linalg ops on all threads with OpenMP ------===//

#include "quantc/Target/CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Transforms/RegionUtils.h"
#include "mlir/IR/PatternMatch.h"

namespace quantc {
#define GEN_PASS_DEF_PARALLELIZELINALG
#include "quantc/Target/CPU/Passes.h.inc"
} // namespace quantc

using namespace mlir;

namespace {

/// Leading parallel loops of `op` that become threads' work items: all but
/// the innermost loop, which stays whole inside each item.
unsigned distributedLoops(linalg::LinalgOp op) {
  auto iterators = op.getIteratorTypesArray();
  unsigned n = 0;
  while (n + 1 < iterators.size() &&
         iterators[n] == utils::IteratorType::parallel)
    ++n;
  return n;
}

/// Replaces `loop` with omp.parallel { omp.wsloop {
/// omp.loop_nest(...) collapse(n) { body } } }.
void toOpenMP(IRRewriter &rewriter, scf::ParallelOp loop) {
  Location loc = loop.getLoc();
  rewriter.setInsertionPoint(loop);
  auto parallel =
      omp::ParallelOp::create(rewriter, loc, omp::ParallelOperands{});
  rewriter.createBlock(&parallel.getRegion());
  // Guided: a thread that runs slower (a busy core of a shared machine)
  // takes fewer chunks instead of holding the others at the barrier.
  omp::WsloopOperands wsOps;
  wsOps.scheduleKind = omp::ClauseScheduleKindAttr::get(
      rewriter.getContext(), omp::ClauseScheduleKind::Guided);
  auto wsloop = omp::WsloopOp::create(rewriter, loc, wsOps);
  omp::TerminatorOp::create(rewriter, loc);
  rewriter.createBlock(&wsloop.getRegion());
  omp::LoopNestOperands nestOps;
  nestOps.loopLowerBounds = llvm::to_vector(loop.getLowerBound());
  nestOps.loopUpperBounds = llvm::to_vector(loop.getUpperBound());
  nestOps.loopSteps = llvm::to_vector(loop.getStep());
  nestOps.collapseNumLoops =
      rewriter.getI64IntegerAttr(loop.getNumLoops());
  auto nest = omp::LoopNestOp::create(rewriter, loc, nestOps);
  SmallVector<Type> ivTypes(loop.getNumLoops(), rewriter.getIndexType());
  SmallVector<Location> ivLocs(loop.getNumLoops(), loc);
  Block *body =
      rewriter.createBlock(&nest.getRegion(), {}, ivTypes, ivLocs);
  // The scf.parallel body without its terminator, then omp.yield.
  Block &old = loop.getRegion().front();
  rewriter.eraseOp(old.getTerminator());
  rewriter.inlineBlockBefore(&old, body, body->end(), body->getArguments());
  rewriter.setInsertionPointToEnd(body);
  omp::YieldOp::create(rewriter, loc);
  rewriter.eraseOp(loop);
}

struct ParallelizeLinalgPass
    : quantc::impl::ParallelizeLinalgBase<ParallelizeLinalgPass> {
  using Base::Base;

  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    // Copies bufferization made (concatenations, slices) are linalg copies
    // too: threaded and vectorized instead of the serial strided memrefCopy.
    getOperation().walk([&](memref::CopyOp copy) {
      if (insideLoop(copy))
        return;
      rewriter.setInsertionPoint(copy);
      rewriter.replaceOpWithNewOp<linalg::CopyOp>(copy, copy.getSource(),
                                                  copy.getTarget());
    });
    // Loops made on tensors (attention by batch and head) first.
    SmallVector<scf::ForallOp> foralls;
    getOperation().walk([&](scf::ForallOp loop) {
      if (!insideLoop(loop))
        foralls.push_back(loop);
    });
    for (scf::ForallOp loop : foralls)
      if (failed(parallelize(rewriter, loop)))
        return signalPassFailure();
    SmallVector<linalg::LinalgOp> ops;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (op.hasPureBufferSemantics() && distributedLoops(op) > 0 &&
          !insideLoop(op))
        ops.push_back(op);
    });
    for (linalg::LinalgOp op : ops)
      if (failed(parallelize(rewriter, op)))
        return signalPassFailure();
  }

  /// Already part of a loop's work item.
  static bool insideLoop(Operation *op) {
    return op->getParentOfType<omp::ParallelOp>() ||
           op->getParentOfType<scf::ParallelOp>() ||
           op->getParentOfType<scf::ForallOp>() ||
           op->getParentOfType<scf::ForOp>();
  }

  LogicalResult parallelize(IRRewriter &rewriter, linalg::LinalgOp op) {
    // Threads only pay off for large iteration spaces. Small ones stay a
    // plain loop on the calling thread: even an OpenMP region that the
    // runtime serializes costs about a microsecond (a decode step has
    // hundreds of such ops).
    std::optional<int64_t> known = 1;
    for (int64_t size : op.getStaticLoopRanges())
      known = known && !ShapedType::isDynamic(size)
                  ? std::optional<int64_t>(*known * size)
                  : std::nullopt;
    if (known && *known < minIterations)
      return success();
    Location loc = op.getLoc();
    rewriter.setInsertionPoint(op);
    Value points; // the number of points, where only known when it runs
    if (!known) {
      points = arith::ConstantIndexOp::create(rewriter, loc, 1);
      for (Range r : op.createLoopRanges(rewriter, loc))
        points = arith::MulIOp::create(
            rewriter, loc, points,
            getValueOrCreateConstantIndexOp(rewriter, loc, r.size));
    }

    SmallVector<int64_t> tiles(op.getNumLoops(), 0);
    for (unsigned i = 0, e = distributedLoops(op); i < e; ++i)
      tiles[i] = 1;
    linalg::LinalgTilingOptions options;
    options.setTileSizes(tiles).setLoopType(
        linalg::LinalgTilingLoopType::ParallelLoops);
    FailureOr<linalg::TiledLinalgOp> tiled =
        linalg::tileLinalgOp(rewriter, op, options);
    if (failed(tiled))
      return op->emitError("cannot tile this op for threads");
    rewriter.eraseOp(op);
    auto loop = dyn_cast<scf::ParallelOp>(tiled->loops.front());
    if (!loop)
      return success(); // nothing left to distribute (unit loops folded)
    distribute(rewriter, loop, points);
    return success();
  }

  /// An scf.forall on buffers: threads when the buffers it works on, the
  /// largest of those defined outside it, have at least `minIterations`
  /// elements (attention in prefill, and in decode once the cached keys of
  /// all heads reach that size; a short context stays on the calling
  /// thread).
  LogicalResult parallelize(IRRewriter &rewriter, scf::ForallOp forall) {
    Location loc = forall.getLoc();
    rewriter.setInsertionPoint(forall);
    Value points = arith::ConstantIndexOp::create(rewriter, loc, 0);
    llvm::SetVector<Value> used;
    getUsedValuesDefinedAbove(forall.getRegion(), used);
    for (Value v : used) {
      if (!isa<MemRefType>(v.getType()))
        continue;
      Value elements = arith::ConstantIndexOp::create(rewriter, loc, 1);
      for (int64_t d = 0, e = cast<MemRefType>(v.getType()).getRank(); d < e;
           ++d)
        elements = arith::MulIOp::create(
            rewriter, loc, elements,
            getValueOrCreateConstantIndexOp(
                rewriter, loc, memref::getMixedSize(rewriter, loc, v, d)));
      points = arith::MaxUIOp::create(rewriter, loc, points, elements);
    }
    scf::ParallelOp loop;
    if (failed(scf::forallToParallelLoop(rewriter, forall, &loop)))
      return forall.emitError("cannot run this loop on threads");
    distribute(rewriter, loop, points);
    return success();
  }

  /// Runs `loop` on the threads; where `points` is given, only when it is
  /// at least `minIterations` when it runs (else on the calling thread).
  void distribute(IRRewriter &rewriter, scf::ParallelOp loop, Value points) {
    if (points) {
      Location loc = loop.getLoc();
      rewriter.setInsertionPoint(loop);
      Value big = arith::CmpIOp::create(
          rewriter, loc, arith::CmpIPredicate::sge, points,
          arith::ConstantIndexOp::create(rewriter, loc, minIterations));
      auto branch = scf::IfOp::create(rewriter, loc, big,
                                      /*withElseRegion=*/true);
      rewriter.moveOpBefore(loop, branch.thenBlock()->getTerminator());
      rewriter.setInsertionPoint(branch.elseBlock()->getTerminator());
      rewriter.clone(*loop);
    }
    toOpenMP(rewriter, loop);
  }
};

} // namespace
