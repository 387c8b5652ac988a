//===- MatmulToUkernel.cpp - f32 contractions to the matmul microkernel ---===//

#include "quantc/Target/CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"

namespace quantc {
#define GEN_PASS_DEF_MATMULTOUKERNEL
#include "quantc/Target/CPU/Passes.h.inc"
} // namespace quantc

using namespace mlir;

namespace {

constexpr const char *kKernel = "quantc_matmul_f32";
// Its flags (runtime/include/quantc/kernels.h).
constexpr int64_t kInit = 1, kTransposedB = 2;

/// The 3-D strided memref type the kernel takes.
MemRefType kernelArgType(MLIRContext *ctx) {
  int64_t d = ShapedType::kDynamic;
  return MemRefType::get({d, d, d}, Float32Type::get(ctx),
                         StridedLayoutAttr::get(ctx, d, {d, d, d}));
}

/// True if the body is `out + a * b` (in either order of the products).
bool isMulAdd(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add || body.getOperations().size() != 3)
    return false;
  Value acc = body.getArgument(2);
  Value other = add.getLhs() == acc ? add.getRhs() : add.getLhs();
  auto mul = other.getDefiningOp<arith::MulFOp>();
  if (!mul || (add.getLhs() != acc && add.getRhs() != acc))
    return false;
  Value a = body.getArgument(0), b = body.getArgument(1);
  return (mul.getLhs() == a && mul.getRhs() == b) ||
         (mul.getLhs() == b && mul.getRhs() == a);
}

/// A 3-D kernel view of an identity-layout buffer: dimensions [0, split)
/// merge into the first (a unit one when split is 0), [split, rank - 1)
/// into the second, the last stays.
Value kernelView(OpBuilder &b, Location loc, Value buffer, int64_t split) {
  auto type = cast<MemRefType>(buffer.getType());
  int64_t rank = type.getRank();
  SmallVector<ReassociationIndices> groups(2);
  for (int64_t i = 0; i + 1 < rank; ++i)
    groups[i < split ? 0 : 1].push_back(i);
  groups.push_back({rank - 1});
  if (groups[0].empty())
    groups.erase(groups.begin());
  Value v = buffer;
  if (groups.size() != static_cast<size_t>(rank))
    v = memref::CollapseShapeOp::create(b, loc, buffer, groups);
  if (split == 0) { // prepend the unit batch dimension
    auto t = cast<MemRefType>(v.getType());
    SmallVector<int64_t> shape = {1};
    shape.append(t.getShape().begin(), t.getShape().end());
    SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1),
                                       memref::getMixedSize(b, loc, v, 0),
                                       memref::getMixedSize(b, loc, v, 1)};
    v = memref::ExpandShapeOp::create(
        b, loc, MemRefType::get(shape, t.getElementType()), v,
        ArrayRef<ReassociationIndices>{{0, 1}, {2}}, sizes);
  }
  return memref::CastOp::create(b, loc, kernelArgType(b.getContext()), v);
}

struct MatmulToUkernelPass
    : quantc::impl::MatmulToUkernelBase<MatmulToUkernelPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    // Each match with its loop roles when it needs the strided path.
    SmallVector<std::pair<linalg::GenericOp, std::optional<LoopRoles>>>
        matches;
    module.walk([&](linalg::GenericOp op) {
      if (matchContraction(op))
        matches.push_back({op, std::nullopt});
      else if (std::optional<LoopRoles> roles = loopRoles(op))
        matches.push_back({op, roles});
    });
    if (matches.empty())
      return;
    OpBuilder b(ctx);
    if (!module.lookupSymbol(kKernel)) {
      b.setInsertionPointToStart(module.getBody());
      MemRefType t = kernelArgType(ctx);
      auto decl = func::FuncOp::create(
          b, module.getLoc(), kKernel,
          b.getFunctionType({t, t, t, b.getI64Type()}, {}));
      decl.setPrivate();
      decl->setAttr("llvm.emit_c_interface", b.getUnitAttr());
    }
    for (auto &[op, roles] : matches) {
      if (roles)
        rewriteStrided(b, op, *roles);
      else
        rewrite(b, op);
    }
  }

  /// Loops are (p0, ..., pn, k): C = (p0..pn), A = (p0..p(n-1), k) and B is
  /// (k, pn) (a linear layer: p0..p(n-1) all rows) or (p0..p(n-2), k, pn)
  /// (a batched product: p(n-1) rows, the rest batch), or either with its
  /// last two dimensions swapped (B given transposed).
  static bool matchContraction(linalg::GenericOp op) {
    if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
        op.getNumDpsInits() != 1 || !isMulAdd(op))
      return false;
    for (OpOperand &o : op->getOpOperands()) {
      auto t = dyn_cast<MemRefType>(o.get().getType());
      if (!t || !t.getElementType().isF32())
        return false;
    }
    unsigned loops = op.getNumLoops();
    auto iterators = op.getIteratorTypesArray();
    for (unsigned i = 0; i + 1 < loops; ++i)
      if (iterators[i] != utils::IteratorType::parallel)
        return false;
    if (loops < 3 || iterators.back() != utils::IteratorType::reduction)
      return false;
    int64_t k = loops - 1, n = loops - 2;
    auto maps = op.getIndexingMapsArray();
    if (maps[2] != loopMap(op, loops - 1, {}) || maps[0] != loopMap(op, n, {k}))
      return false;
    if (!bLayout(op))
      return false;
    bool linear = maps[1].getNumResults() == 2;
    for (OpOperand &o : op->getOpOperands())
      if (!cast<MemRefType>(o.get().getType()).getLayout().isIdentity() &&
          (linear || !batchMergeable(o.get(), loops - 3)))
        return false;
    return true;
  }

  /// True if `view`'s first `batchDims` dims merge into one kernel batch
  /// dim although its layout is not the identity: a unit-stride subview of
  /// an identity-layout buffer that keeps dims 1..batchDims-1 whole (a KV
  /// cache read up to its current length). Its rows and columns keep the
  /// buffer's strides, which the kernel takes as they are.
  static bool batchMergeable(Value view, int64_t batchDims) {
    auto subview = view.getDefiningOp<memref::SubViewOp>();
    if (!subview || !subview.getSourceType().getLayout().isIdentity() ||
        !subview.hasUnitStride() ||
        subview.getSourceType().getRank() != subview.getType().getRank())
      return false;
    ArrayRef<int64_t> full = subview.getSourceType().getShape(),
                      sizes = subview.getStaticSizes(),
                      offsets = subview.getStaticOffsets();
    for (int64_t i = 1; i < batchDims; ++i)
      if (ShapedType::isDynamic(full[i]) || sizes[i] != full[i] ||
          offsets[i] != 0)
        return false;
    return true;
  }

  /// How a contraction's B is laid out: false for [.., K, N], true for
  /// [.., N, K] (transposed); nothing if neither.
  static std::optional<bool> bLayout(linalg::GenericOp op) {
    int64_t loops = op.getNumLoops(), k = loops - 1, n = loops - 2;
    AffineMap b = op.getIndexingMapsArray()[1];
    if (b == loopMap(op, 0, {k, n}) || b == loopMap(op, n - 1, {k, n}))
      return false;
    if (b == loopMap(op, 0, {n, k}) || b == loopMap(op, n - 1, {n, k}))
      return true;
    return std::nullopt;
  }

  /// The map of `op`'s loops to its first `count` loops, then `suffix`.
  static AffineMap loopMap(linalg::GenericOp op, int64_t count,
                           std::initializer_list<int64_t> suffix) {
    MLIRContext *ctx = op.getContext();
    SmallVector<AffineExpr> e;
    for (int64_t i = 0; i < count; ++i)
      e.push_back(getAffineDimExpr(i, ctx));
    for (int64_t d : suffix)
      e.push_back(getAffineDimExpr(d, ctx));
    return AffineMap::get(op.getNumLoops(), 0, e, ctx);
  }

  /// The `linalg.fill` of zeros into `c` right before `op` (no other use
  /// of `c` between them), which the kernel can do instead.
  static linalg::FillOp zeroFillBefore(linalg::GenericOp op, Value c) {
    Operation *last = nullptr;
    for (Operation *user : c.getUsers()) {
      Operation *at = op->getBlock()->findAncestorOpInBlock(*user);
      if (at && at != op && at->isBeforeInBlock(op) &&
          (!last || last->isBeforeInBlock(at)))
        last = at;
    }
    auto fill = dyn_cast_or_null<linalg::FillOp>(last);
    if (!fill || fill.getOutputs()[0] != c ||
        !matchPattern(fill.value(), m_AnyZeroFloat()))
      return {};
    return fill;
  }

  static void rewrite(OpBuilder &b, linalg::GenericOp op) {
    b.setInsertionPoint(op);
    Location loc = op.getLoc();
    Value a = op.getDpsInputs()[0], w = op.getDpsInputs()[1],
          c = op.getDpsInits()[0];
    int64_t loops = op.getNumLoops();
    // A linear layer's weight is (k, n): every leading loop is a row of one
    // matrix product. Otherwise the loops before the rows are the batch.
    bool transposed = *bLayout(op);
    bool linear = op.getIndexingMapsArray()[1].getNumResults() == 2;
    int64_t batchDims = linear ? 0 : loops - 3;
    linalg::FillOp fill = zeroFillBefore(op, c); // before the views use c
    Value a3 = kernelView(b, loc, a, batchDims);
    Value w3 = kernelView(b, loc, w, batchDims);
    Value c3 = kernelView(b, loc, c, batchDims);
    callKernel(b, loc, a3, w3, c3, fill, transposed);
    op.erase();
    if (fill)
      fill.erase();
  }

  /// The kernel call on 3-D views; `fill` (if any) is the zero fill the
  /// kernel does instead.
  static void callKernel(OpBuilder &b, Location loc, Value a3, Value w3,
                         Value c3, linalg::FillOp fill, bool transposed) {
    Value flags = arith::ConstantIntOp::create(
        b, loc, (fill ? kInit : 0) | (transposed ? kTransposedB : 0), 64);
    func::CallOp::create(b, loc, kKernel, TypeRange{},
                         ValueRange{a3, w3, c3, flags});
  }

  /// What each loop of a contraction `C += A * B` is to the kernel, told by
  /// the operands it indexes: batch (A, B, C), row (A, C), the column (B, C)
  /// and the reduction (A, B). The last batch and the last row loop become
  /// the kernel's batch and rows; the other batch and row loops are run
  /// around the call.
  struct LoopRoles {
    SmallVector<int64_t> batch, rows;
    int64_t col, k;
  };

  /// The roles of a contraction the views of matchContraction do not fit
  /// (operands strided in ways that do not merge: heads split out of a
  /// fused projection, a transposed view of a cache); nothing if some loop
  /// has none of the roles or an operand is no strided f32 buffer.
  static std::optional<LoopRoles> loopRoles(linalg::GenericOp op) {
    if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
        op.getNumDpsInits() != 1 || !isMulAdd(op))
      return std::nullopt;
    for (OpOperand &o : op->getOpOperands()) {
      auto t = dyn_cast<MemRefType>(o.get().getType());
      if (!t || !t.getElementType().isF32() || !t.isStrided())
        return std::nullopt;
    }
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    for (AffineMap m : maps)
      if (!m.isProjectedPermutation(/*allowZeroInResults=*/true))
        return std::nullopt;
    LoopRoles roles;
    int64_t cols = 0, reductions = 0;
    auto iterators = op.getIteratorTypesArray();
    for (int64_t d = 0, e = op.getNumLoops(); d < e; ++d) {
      bool inA = position(maps[0], d).has_value(),
           inB = position(maps[1], d).has_value(),
           inC = position(maps[2], d).has_value();
      bool reduction = iterators[d] == utils::IteratorType::reduction;
      if (reduction != (inA && inB && !inC))
        return std::nullopt;
      if (reduction) {
        roles.k = d;
        ++reductions;
      } else if (inA && inB) {
        roles.batch.push_back(d);
      } else if (inA) {
        roles.rows.push_back(d);
      } else if (inB) {
        roles.col = d;
        ++cols;
      } else {
        return std::nullopt;
      }
    }
    if (reductions != 1 || cols != 1)
      return std::nullopt;
    return roles;
  }

  /// Where loop `d` indexes an operand of map `map`.
  static std::optional<unsigned> position(AffineMap map, int64_t d) {
    return map.getResultPosition(getAffineDimExpr(d, map.getContext()));
  }

  /// Calls the kernel on views of the operands' own strides (any layout),
  /// inside loops over the batch and row loops the call does not take.
  static void rewriteStrided(OpBuilder &b, linalg::GenericOp op,
                             const LoopRoles &roles) {
    b.setInsertionPoint(op);
    Location loc = op.getLoc();
    Value c = op.getDpsInits()[0];
    linalg::FillOp fill = zeroFillBefore(op, c);
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    SmallVector<memref::ExtractStridedMetadataOp> metadata;
    for (OpOperand &o : op->getOpOperands())
      metadata.push_back(memref::ExtractStridedMetadataOp::create(b, loc, o.get()));
    // The loops around the call: every batch and row loop but the last.
    SmallVector<int64_t> outer(roles.batch.begin(), roles.batch.end());
    if (!outer.empty())
      outer.pop_back();
    outer.append(roles.rows.begin(), roles.rows.end());
    if (!roles.rows.empty())
      outer.pop_back();
    std::optional<int64_t> kernelBatch, kernelRows;
    if (!roles.batch.empty())
      kernelBatch = roles.batch.back();
    if (!roles.rows.empty())
      kernelRows = roles.rows.back();
    Value zero = arith::ConstantIndexOp::create(b, loc, 0),
          one = arith::ConstantIndexOp::create(b, loc, 1);
    SmallVector<Value> ivs;
    for (int64_t d : outer) {
      Value size = metadata[2].getSizes()[*position(maps[2], d)];
      auto loop = scf::ForOp::create(b, loc, zero, size, one);
      b.setInsertionPointToStart(loop.getBody());
      ivs.push_back(loop.getInductionVar());
    }
    // One operand as [d0, d1, d2] (loops, or none for a unit dim) at the
    // loop indices.
    auto view = [&](unsigned operand, std::optional<int64_t> d0,
                    std::optional<int64_t> d1,
                    std::optional<int64_t> d2) -> Value {
      memref::ExtractStridedMetadataOp md = metadata[operand];
      AffineMap map = maps[operand];
      Value offset = md.getOffset();
      for (auto [d, iv] : llvm::zip(outer, ivs))
        if (std::optional<unsigned> p = position(map, d))
          offset = arith::AddIOp::create(
              b, loc, offset,
              arith::MulIOp::create(b, loc, iv, md.getStrides()[*p]));
      SmallVector<OpFoldResult> sizes, strides;
      for (std::optional<int64_t> d : {d0, d1, d2}) {
        std::optional<unsigned> p = d ? position(map, *d) : std::nullopt;
        sizes.push_back(p ? OpFoldResult(md.getSizes()[*p]) : b.getIndexAttr(1));
        strides.push_back(p ? OpFoldResult(md.getStrides()[*p])
                            : b.getIndexAttr(0));
      }
      return memref::ReinterpretCastOp::create(
          b, loc, kernelArgType(b.getContext()), md.getBaseBuffer(), offset,
          sizes, strides);
    };
    // B goes transposed ([batch, N, K]) when K is its innermost dim.
    bool transposed = *position(maps[1], roles.k) == maps[1].getNumResults() - 1;
    Value a3 = view(0, kernelBatch, kernelRows, roles.k);
    Value w3 = transposed ? view(1, kernelBatch, roles.col, roles.k)
                          : view(1, kernelBatch, roles.k, roles.col);
    Value c3 = view(2, kernelBatch, kernelRows, roles.col);
    callKernel(b, loc, a3, w3, c3, fill, transposed);
    op.erase();
    if (fill)
      fill.erase();
  }
};

} // namespace
