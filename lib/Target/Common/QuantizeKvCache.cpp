//===- QuantizeKvCache.cpp - runtime-owned KV caches in 8, 4 or 2 bits ----===//
//
// After quantc-kv-cache-in-place, a cache argument of main is written once
// (tensor.insert_slice of the step's keys/values at the cached length) and
// read through one view of its positions so far (tensor.extract_slice)
// by attention's two products. This pass turns the argument into codes
// plus per-token scales and offsets (two more cache arguments), the write
// into a kernel that quantizes, and the products into kernels that decode
// in registers (runtime/kernels/kv_cache.c).
//
//===----------------------------------------------------------------------===//

#include "quantc/Target/Common/KvCache.h"
#include "quantc/Target/Common/Passes.h"
#include "quantc/kernels.h"

#include "QC/IR/QC.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

#include <cmath>

namespace quantc {
#define GEN_PASS_DEF_QUANTIZEKVCACHE
#include "quantc/Target/Common/Passes.h.inc"
} // namespace quantc

using namespace mlir;

namespace {

/// What a cache stores, from the options or the module's request.
struct KvFormat {
  int bits = 0;
  bool e4m3 = false; // FP8 E4M3 numbers (bits 8) rather than integers
  int64_t group = 0; // 0: the whole head
  std::string keys = "per-token";
  bool preRope = false; // keys stored before RoPE
  /// Per-channel keys: the module's calibrated ranges (kv::kRanges).
  DictionaryAttr ranges;
};

constexpr const char *kRequest = quantc::kv::kQuantRequest;

/// One attention product over the cache: `scores` (Q K^T, the cache read as
/// [b, h, t, d] against Q [b, h, r, d]) or values (P V, P [b, h, r, t]).
struct Product {
  linalg::GenericOp op;
  bool scores;
};

/// RoPE on the keys written, as exporters write it (rotate_half):
/// keys * cos + concat(-keys[.., d/2:], keys[.., :d/2]) * sin, with cos and
/// sin [b, 1, n, d] broadcast over the heads.
struct Rope {
  Value keys, cos, sin;
};

/// `v` is x[.., from : from + size] along the last of 4 dims, unit strides.
bool isLastDimSlice(Value v, Value x, int64_t from, int64_t size) {
  auto slice = v.getDefiningOp<tensor::ExtractSliceOp>();
  if (!slice || slice.getSource() != x || !slice.hasUnitStride() ||
      slice.getSourceType().getRank() != 4)
    return false;
  SmallVector<OpFoldResult> offsets = slice.getMixedOffsets();
  for (int64_t d = 0; d < 3; ++d)
    if (!isConstantIntValue(offsets[d], 0))
      return false;
  return isConstantIntValue(offsets[3], from) &&
         isConstantIntValue(slice.getMixedSizes()[3], size);
}

/// `r` is concat(-x[.., h:], x[.., :h]) along the last dim, 2h of them.
bool isRotateHalf(Value r, Value x) {
  auto concat = r.getDefiningOp<tensor::ConcatOp>();
  auto type = dyn_cast<RankedTensorType>(x.getType());
  if (!concat || !type || type.getRank() != 4 || type.isDynamicDim(3) ||
      concat.getDim() != 3 || concat.getInputs().size() != 2)
    return false;
  int64_t half = type.getDimSize(3) / 2;
  auto neg = concat.getInputs()[0].getDefiningOp<linalg::GenericOp>();
  if (!neg || neg.getNumDpsInputs() != 1 || neg.getNumDpsInits() != 1 ||
      !llvm::all_of(neg.getIndexingMapsArray(),
                    [](AffineMap m) { return m.isIdentity(); }))
    return false;
  Block &body = neg.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto negf = yield.getValues()[0].getDefiningOp<arith::NegFOp>();
  return body.getOperations().size() == 2 && negf &&
         negf.getOperand() == body.getArgument(0) &&
         isLastDimSlice(neg.getDpsInputs()[0], x, half, half) &&
         isLastDimSlice(concat.getInputs()[1], x, 0, half);
}

/// The RoPE that computed `written`, if it is the rotate_half form.
std::optional<Rope> matchRope(Value written) {
  auto op = written.getDefiningOp<linalg::GenericOp>();
  if (!op || op.getNumDpsInputs() != 4 || op.getNumDpsInits() != 1 ||
      op.getNumLoops() != 4 || op.getNumReductionLoops() != 0)
    return std::nullopt;
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto add = yield.getValues()[0].getDefiningOp<arith::AddFOp>();
  if (!add || body.getOperations().size() != 4)
    return std::nullopt;
  // The inputs each product multiplies, by their input numbers.
  auto factors = [&](Value v) -> std::optional<std::pair<unsigned, unsigned>> {
    auto mul = v.getDefiningOp<arith::MulFOp>();
    auto l = mul ? dyn_cast<BlockArgument>(mul.getLhs()) : nullptr;
    auto r = mul ? dyn_cast<BlockArgument>(mul.getRhs()) : nullptr;
    if (!l || !r || l.getOwner() != &body || r.getOwner() != &body ||
        l.getArgNumber() >= 4 || r.getArgNumber() >= 4)
      return std::nullopt;
    return std::make_pair(l.getArgNumber(), r.getArgNumber());
  };
  auto first = factors(add.getLhs()), second = factors(add.getRhs());
  if (!first || !second)
    return std::nullopt;
  MLIRContext *ctx = op.getContext();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(4, ctx);
  AffineExpr d0 = getAffineDimExpr(0, ctx), d2 = getAffineDimExpr(2, ctx),
             d3 = getAffineDimExpr(3, ctx);
  AffineMap broadcast =
      AffineMap::get(4, 0, {d0, getAffineConstantExpr(0, ctx), d2, d3}, ctx);
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  auto input = [&](unsigned i) { return op.getDpsInputs()[i]; };
  // Broadcast over the heads (or one KV head: then the map is identity).
  auto perPosition = [&](unsigned i) {
    auto type = cast<RankedTensorType>(input(i).getType());
    return type.getDimSize(1) == 1 &&
           (maps[i] == broadcast || maps[i] == identity);
  };
  // (x, cos) and (rotate_half(x), sin), each product either way round.
  for (auto [a, b] :
       {std::make_pair(*first, *second), std::make_pair(*second, *first)})
    for (auto [x, cos] : {a, std::make_pair(a.second, a.first)})
      for (auto [rx, sin] : {b, std::make_pair(b.second, b.first)})
        if (maps[x] == identity && maps[rx] == identity && perPosition(cos) &&
            perPosition(sin) && maps[4] == identity &&
            isRotateHalf(input(rx), input(x)))
          return Rope{input(x), input(cos), input(sin)};
  return std::nullopt;
}

/// A cache argument and the ops that touch it.
struct CacheUse {
  BlockArgument arg;
  tensor::InsertSliceOp write;
  tensor::ExtractSliceOp view;
  unsigned result = 0; // main's result that returns the written cache
  SmallVector<Product> products;
  SmallVector<tensor::DimOp> dims; // sizes of the argument read
  /// Keys (read by Q K^T) with fixed per-channel scales: [heads][dim] each.
  std::vector<float> fixedScale, fixedOffset;
  std::optional<Rope> rope; // keys stored before RoPE

  /// Read by Q K^T only.
  bool keys() const {
    return !products.empty() &&
           llvm::all_of(products, [](const Product &p) { return p.scores; });
  }
};

bool isZeroFill(Value v) {
  auto fill = v.getDefiningOp<linalg::FillOp>();
  return fill && matchPattern(fill.getInputs()[0], m_AnyZeroFloat());
}

/// `op` is sum over its last loop of in0 * in1 with the maps of Q K^T
/// (scores) or P V (values), the cache being input 1, from zeros.
std::optional<bool> productKind(linalg::GenericOp op, Value view) {
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      op.getDpsInputs()[1] != view || op.getNumLoops() != 5 ||
      op.getNumReductionLoops() != 1 ||
      op.getIteratorTypesArray()[4] != utils::IteratorType::reduction ||
      !isZeroFill(op.getDpsInits()[0]))
    return std::nullopt;
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto add = yield.getValues()[0].getDefiningOp<arith::AddFOp>();
  if (body.getOperations().size() != 3 || !add)
    return std::nullopt;
  auto mul = add.getLhs().getDefiningOp<arith::MulFOp>();
  if (!mul)
    mul = add.getRhs().getDefiningOp<arith::MulFOp>();
  Value acc =
      mul && mul.getResult() == add.getLhs() ? add.getRhs() : add.getLhs();
  if (!mul || acc != body.getArgument(2) ||
      !llvm::is_contained(ValueRange{mul.getLhs(), mul.getRhs()},
                          body.getArgument(0)) ||
      !llvm::is_contained(ValueRange{mul.getLhs(), mul.getRhs()},
                          body.getArgument(1)))
    return std::nullopt;
  MLIRContext *ctx = op.getContext();
  auto map = [&](ArrayRef<unsigned> dims) {
    SmallVector<AffineExpr> exprs;
    for (unsigned d : dims)
      exprs.push_back(getAffineDimExpr(d, ctx));
    return AffineMap::get(5, 0, exprs, ctx);
  };
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  AffineMap out = map({0, 1, 2, 3}), rowsByLast = map({0, 1, 2, 4});
  if (maps[2] != out || maps[0] != rowsByLast)
    return std::nullopt;
  if (maps[1] == map({0, 1, 3, 4}))
    return true;
  if (maps[1] == map({0, 1, 4, 3}))
    return false;
  return std::nullopt;
}

struct QuantizeKvCachePass
    : quantc::impl::QuantizeKvCacheBase<QuantizeKvCachePass> {
  using QuantizeKvCacheBase::QuantizeKvCacheBase;

  /// RoPE tables by (cos, sin): their write, shared by the key caches.
  llvm::DenseMap<std::pair<Value, Value>, Value> tables;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    tables.clear();
    bool observe = module->hasAttr(quantc::kv::kObservePreRope);
    FailureOr<std::optional<KvFormat>> format = requested(module);
    if (failed(format))
      return signalPassFailure();
    if (!*format && !observe)
      return;
    // Dead copies of the repeated K/V gone (their sizes read from the
    // source) and fills moved past reshapes (a product's init is then
    // visibly zeros).
    OpPassManager cleanup("builtin.module");
    cleanup.addPass(memref::createResolveShapedTypeResultDimsPass());
    cleanup.addPass(createCanonicalizerPass());
    if (failed(runPipeline(cleanup, module)))
      return signalPassFailure();
    if (observe)
      return observePreRope(module);
    auto main = module.lookupSymbol<func::FuncOp>("main");
    SmallVector<CacheUse> caches;
    std::string why;
    if (main && !main.isExternal())
      why = findCaches(main, caches);
    else
      why = "the module has no function 'main'";
    if (why.empty() && caches.empty())
      why = "found no KV cache: looked for arguments of 'main' that "
            "quantc-kv-cache-in-place made runtime-owned caches (a "
            "'past_key_values.*' input concatenated with new positions into "
            "a 'present.*' output)";
    if (!why.empty()) {
      // Diagnostics at a location, not on an op: no dump of main.
      Location at = main ? main.getLoc() : module.getLoc();
      if (bestEffort) {
        mlir::emitWarning(at) << "KV cache left in f32: " << why;
        return;
      }
      mlir::emitError(at) << "cannot quantize the KV cache: " << why;
      return signalPassFailure();
    }
    for (CacheUse &c : caches)
      if (failed(checkHead(c, **format)) || failed(findRope(c, **format)) ||
          failed(fixKeys(c, **format)))
        return signalPassFailure();
    for (CacheUse &c : caches)
      rewrite(main, c, **format);
    module->removeAttr(kRequest);
    module->removeAttr(quantc::kv::kRanges); // consumed
  }

  /// The format asked for: the options, else the module's request, else
  /// none. Bad values are errors naming where they came from.
  FailureOr<std::optional<KvFormat>> requested(ModuleOp module) {
    KvFormat f;
    std::string from = "option", codes;
    if (bits != 0) {
      f.bits = bits;
      f.group = group;
      f.keys = keys;
      f.preRope = preRope;
      codes = format;
    } else if (auto request = module->getAttrOfType<DictionaryAttr>(kRequest)) {
      from = std::string("module attribute ") + kRequest;
      auto b = request.getAs<IntegerAttr>("bits");
      auto g = request.getAs<IntegerAttr>("group");
      auto k = request.getAs<StringAttr>("keys");
      auto c = request.getAs<StringAttr>("format");
      auto r = request.getAs<BoolAttr>("pre_rope");
      f.preRope = r && r.getValue();
      if (!b)
        return mlir::emitError(module.getLoc())
               << kRequest << " needs an integer 'bits'";
      f.bits = b.getInt();
      f.group = g ? g.getInt() : 0;
      f.keys = k ? k.str() : "per-token";
      codes = c ? c.str() : "int";
    } else {
      return std::optional<KvFormat>();
    }
    if (codes != "int" && codes != "e4m3")
      return mlir::emitError(module.getLoc())
             << "KV cache format must be int or e4m3, not '" << codes << "' ("
             << from << ")";
    f.e4m3 = codes == "e4m3";
    if (f.e4m3 && f.bits != 8)
      return mlir::emitError(module.getLoc())
             << "KV cache format e4m3 takes 8 bits, not " << f.bits << " ("
             << from << ")";
    if (f.e4m3 && f.keys != "per-token")
      return mlir::emitError(module.getLoc())
             << "KV cache format e4m3 has per-token scales only, not keys '"
             << f.keys << "' (" << from << ")";
    if (f.bits != 8 && f.bits != 4 && f.bits != 2)
      return mlir::emitError(module.getLoc())
             << "KV cache bits must be 8, 4 or 2, not " << f.bits << " ("
             << from << ")";
    if (f.group < 0)
      return mlir::emitError(module.getLoc())
             << "KV cache group must be positive, not " << f.group << " ("
             << from << ")";
    if (f.keys != "per-token" && f.keys != "per-channel")
      return mlir::emitError(module.getLoc())
             << "KV cache keys must be per-token or per-channel, not '"
             << f.keys << "' (" << from << ")";
    if (f.keys == "per-channel") {
      f.ranges = module->getAttrOfType<DictionaryAttr>(quantc::kv::kRanges);
      if (!f.ranges)
        return mlir::emitError(module.getLoc())
               << "per-channel key scales need calibrated ranges (module "
                  "attribute "
               << quantc::kv::kRanges
               << " of qc-calibrate-kv-cache; quantc compile --calib "
                  "TEXT): the module has none ("
               << from << ")";
    }
    return std::optional<KvFormat>(f);
  }

  /// Fills `caches` with every cache argument of main and what reads it;
  /// returns why one cannot be quantized (empty: all can).
  static std::string findCaches(func::FuncOp main,
                                SmallVectorImpl<CacheUse> &caches) {
    for (BlockArgument arg : main.getArguments()) {
      if (!main.getArgAttr(arg.getArgNumber(), quantc::kv::kCache))
        continue;
      std::string name = nameOf(main, arg.getArgNumber());
      auto type = cast<RankedTensorType>(arg.getType());
      auto cache = main.getArgAttrOfType<DictionaryAttr>(arg.getArgNumber(),
                                                         quantc::kv::kCache);
      auto axis = cache.getAs<IntegerAttr>("axis");
      if (type.getRank() != 4 || !axis || axis.getInt() != 2 ||
          type.isDynamicDim(1) || type.isDynamicDim(3) ||
          !type.getElementType().isF32())
        return "cache '" + name +
               "' is not f32 [batch, kv_heads, positions, head_dim] with "
               "static kv_heads and head_dim";
      CacheUse c{arg, {}, {}, 0, {}, {}};
      for (Operation *user : arg.getUsers()) {
        if (auto write = dyn_cast<tensor::InsertSliceOp>(user);
            write && write.getDest() == arg && !c.write) {
          c.write = write;
        } else if (auto dim = dyn_cast<tensor::DimOp>(user);
                   dim && dim.getConstantIndex()) {
          c.dims.push_back(dim);
        } else {
          return "cache '" + name + "' is read by '" +
                 user->getName().getStringRef().str() +
                 "', not only through attention's products";
        }
      }
      if (!c.write)
        return "cache '" + name + "' has no single write of new positions";
      bool returned = false;
      for (OpOperand &use : c.write->getUses()) {
        Operation *user = use.getOwner();
        if (isa<func::ReturnOp>(user)) {
          c.result = use.getOperandNumber();
          returned = true;
          continue;
        }
        auto view = dyn_cast<tensor::ExtractSliceOp>(user);
        if (!view || c.view)
          return "cache '" + name + "' is read other than through one view";
        c.view = view;
      }
      if (!c.view || !returned)
        return "cache '" + name + "' is not both read and returned";
      for (Operation *user : c.view->getUsers()) {
        auto generic = dyn_cast<linalg::GenericOp>(user);
        std::optional<bool> kind =
            generic ? productKind(generic, c.view) : std::nullopt;
        if (!kind)
          return "cache '" + name + "' is read by '" +
                 user->getName().getStringRef().str() +
                 "', which is not Q K^T or P V over [batch, kv_heads, "
                 "rows, head_dim] (from zeros)";
        c.products.push_back({generic, *kind});
      }
      // The write is the step's dense [b, h, n, d] at the cached length.
      if (!c.write.hasUnitStride() ||
          !llvm::all_of(llvm::enumerate(c.write.getMixedOffsets()), [](auto o) {
            return o.index() == 2 || isConstantIntValue(o.value(), 0);
          }))
        return "cache '" + name + "' is written other than at the length";
      caches.push_back(c);
    }
    return "";
  }

  static std::string nameOf(func::FuncOp main, unsigned arg) {
    auto name = main.getArgAttrOfType<StringAttr>(arg, "onnx.name");
    return name ? name.str() : "#" + std::to_string(arg);
  }

  LogicalResult checkHead(const CacheUse &c, const KvFormat &f) {
    int64_t dim = cast<RankedTensorType>(c.arg.getType()).getDimSize(3);
    int64_t g = f.group ? f.group : dim;
    if (dim % g != 0)
      return emitError(c.arg.getLoc())
             << "KV cache group " << g << " does not divide the head dimension "
             << dim << " of cache '"
             << nameOf(cast<func::FuncOp>(c.arg.getOwner()->getParentOp()),
                       c.arg.getArgNumber())
             << "'";
    return success();
  }

  /// Keys before RoPE: each key cache's write must be RoPE of the keys.
  LogicalResult findRope(CacheUse &c, const KvFormat &f) {
    if (!f.preRope || !c.keys())
      return success();
    c.rope = matchRope(c.write.getSource());
    if (c.rope)
      return success();
    return emitError(c.arg.getLoc())
           << "pre-RoPE keys: the keys written to cache '"
           << nameOf(cast<func::FuncOp>(c.arg.getOwner()->getParentOp()),
                     c.arg.getArgNumber())
           << "' are not RoPE of the form x * cos + concat(-x[.., d/2:], "
              "x[.., :d/2]) * sin with cos and sin [batch, 1, positions, "
              "head_dim]";
  }

  /// Calibration of pre-RoPE key ranges: each key cache's pre-RoPE keys
  /// become one more result of main; nothing else changes.
  void observePreRope(ModuleOp module) {
    module->removeAttr(quantc::kv::kObservePreRope);
    auto main = module.lookupSymbol<func::FuncOp>("main");
    SmallVector<CacheUse> caches;
    std::string why = main && !main.isExternal()
                          ? findCaches(main, caches)
                          : "the module has no function 'main'";
    if (!why.empty()) {
      emitError(module.getLoc()) << "cannot observe pre-RoPE keys: " << why;
      return signalPassFailure();
    }
    KvFormat f;
    f.preRope = true;
    auto ret = cast<func::ReturnOp>(main.getBody().front().getTerminator());
    SmallVector<Value> results(ret.getOperands());
    SmallVector<DictionaryAttr> attrs;
    main.getAllResultAttrs(attrs);
    for (CacheUse &c : caches) {
      if (failed(findRope(c, f)))
        return signalPassFailure();
      if (!c.rope)
        continue;
      auto info = main.getArgAttrOfType<DictionaryAttr>(c.arg.getArgNumber(),
                                                        quantc::kv::kCache);
      std::string name =
          info.getAs<StringAttr>("present").str() + quantc::kv::kPreRopeSuffix;
      results.push_back(c.rope->keys);
      NamedAttrList attr;
      attr.set("onnx.name", StringAttr::get(&getContext(), name));
      attrs.push_back(attr.getDictionary(&getContext()));
    }
    ret->setOperands(results);
    main.setType(FunctionType::get(&getContext(), main.getArgumentTypes(),
                                   ValueRange(results).getTypes()));
    main.setAllResultAttrs(attrs);
  }

  /// The written table of cosines and sines (qc_kv_rope) of `c`'s RoPE: a
  /// new cache argument of main, written with the step's positions where
  /// its cos and sin are known, the first time these cos and sin are seen
  /// (its result and the result's attributes go to `results`, `attrs`).
  Value ropeTable(func::FuncOp main, CacheUse &c,
                  SmallVectorImpl<Value> &results,
                  SmallVectorImpl<DictionaryAttr> &attrs) {
    Value &table = tables[{c.rope->cos, c.rope->sin}];
    if (table)
      return table;
    MLIRContext *ctx = &getContext();
    auto keyType = cast<RankedTensorType>(c.arg.getType());
    int64_t dim = cast<RankedTensorType>(c.rope->cos.getType()).getDimSize(3);
    auto type = RankedTensorType::get(
        {keyType.getDimSize(0), 1, ShapedType::kDynamic, 2 * dim},
        Float32Type::get(ctx));
    unsigned argIndex = c.arg.getArgNumber();
    auto info =
        main.getArgAttrOfType<DictionaryAttr>(argIndex, quantc::kv::kCache);
    std::string present = info.getAs<StringAttr>("present").str() + ".rope";
    NamedAttrList cache(info);
    cache.set("present", StringAttr::get(ctx, present));
    cache.set("format", StringAttr::get(ctx, "f32 cos, sin of RoPE, rotary " +
                                                 std::to_string(dim)));
    cache.set("part", StringAttr::get(ctx, "rope"));
    NamedAttrList arg;
    arg.set("onnx.name",
            StringAttr::get(ctx, nameOf(main, argIndex) + ".rope"));
    arg.set("bufferization.writable", BoolAttr::get(ctx, true));
    arg.set(quantc::kv::kCache, cache.getDictionary(ctx));
    unsigned at = main.getNumArguments();
    (void)main.insertArgument(at, type, arg.getDictionary(ctx), c.arg.getLoc());
    // Where cos, sin and the cached length are all known (main's block:
    // the products of every layer come after).
    Block &block = main.getBody().front();
    SmallVector<Value> needed{c.rope->cos, c.rope->sin};
    if (auto length = dyn_cast<Value>(c.write.getMixedOffsets()[2]))
      needed.push_back(length);
    Operation *after = nullptr;
    for (Value v : needed)
      if (Operation *def = v.getDefiningOp()) {
        def = block.findAncestorOpInBlock(*def);
        if (def && (!after || after->isBeforeInBlock(def)))
          after = def;
      }
    OpBuilder b(ctx);
    if (after)
      b.setInsertionPointAfter(after);
    else
      b.setInsertionPointToStart(&block);
    Location loc = c.write.getLoc();
    Value rows = tensor::ConcatOp::create(b, loc, 3,
                                          ValueRange{c.rope->cos, c.rope->sin});
    SmallVector<OpFoldResult> offsets(4, b.getIndexAttr(0));
    offsets[2] = c.write.getMixedOffsets()[2];
    table = tensor::InsertSliceOp::create(
        b, loc, rows, main.getArgument(at), offsets,
        tensor::getMixedSizes(b, loc, rows),
        SmallVector<OpFoldResult>(4, b.getIndexAttr(1)));
    results.push_back(table);
    NamedAttrList result;
    result.set("onnx.name", StringAttr::get(ctx, present));
    result.set(quantc::kv::kCacheOf,
               IntegerAttr::get(IntegerType::get(ctx, 64), at));
    attrs.push_back(result.getDictionary(ctx));
    return table;
  }

  /// Per-channel keys: the fixed scales and offsets of a key cache from its
  /// calibrated [min, max] (a channel never seen, or constant, gets scale
  /// 0: its codes are 0 and its value the offset).
  LogicalResult fixKeys(CacheUse &c, const KvFormat &f) {
    if (f.keys != "per-channel" || !c.keys())
      return success();
    auto type = cast<RankedTensorType>(c.arg.getType());
    int64_t heads = type.getDimSize(1), dim = type.getDimSize(3);
    std::string name =
        nameOf(cast<func::FuncOp>(c.arg.getOwner()->getParentOp()),
               c.arg.getArgNumber());
    auto range = dyn_cast_or_null<DenseElementsAttr>(f.ranges.get(name));
    auto want =
        RankedTensorType::get({2, heads, dim}, Float32Type::get(&getContext()));
    if (!range || range.getType() != want)
      return emitError(c.arg.getLoc())
             << "per-channel key scales: " << quantc::kv::kRanges
             << " holds no " << want << " for cache '" << name << "'";
    std::vector<float> lohi(range.getValues<float>().begin(),
                            range.getValues<float>().end());
    float top = float((1u << f.bits) - 1);
    for (int64_t i = 0; i < heads * dim; ++i) {
      float lo = lohi[i], hi = lohi[heads * dim + i];
      bool seen = std::isfinite(lo) && std::isfinite(hi) && hi >= lo;
      c.fixedScale.push_back(seen ? (hi - lo) / top : 0.0f);
      c.fixedOffset.push_back(seen ? lo : 0.0f);
    }
    return success();
  }

  void rewrite(func::FuncOp main, CacheUse &c, const KvFormat &f) {
    MLIRContext *ctx = &getContext();
    auto type = cast<RankedTensorType>(c.arg.getType());
    int64_t heads = type.getDimSize(1), dim = type.getDimSize(3);
    int64_t group = f.group ? f.group : dim;
    int64_t rowBytes = quantc_kv_row_bytes(f.bits, dim);
    unsigned argIndex = c.arg.getArgNumber();
    auto info =
        main.getArgAttrOfType<DictionaryAttr>(argIndex, quantc::kv::kCache);
    auto present = info.getAs<StringAttr>("present").getValue();
    std::string name = nameOf(main, argIndex);
    auto ret = cast<func::ReturnOp>(main.getBody().front().getTerminator());

    // The codes take the argument's place; scales and offsets come last
    // (per token) or are constants (fixed per channel).
    bool fixed = !c.fixedScale.empty();
    std::string fmt = (f.e4m3 ? "fp8 e4m3" : "int" + std::to_string(f.bits)) +
                      (fixed ? ", per channel (calibrated)"
                             : ", per token, group " + std::to_string(group));
    auto describe = [&](StringRef part, StringRef presentName) {
      NamedAttrList entries(info);
      entries.set("present", StringAttr::get(ctx, presentName));
      entries.set("format", StringAttr::get(ctx, fmt));
      entries.set("part", StringAttr::get(ctx, part));
      return entries.getDictionary(ctx);
    };
    auto codesType = RankedTensorType::get(
        {type.getDimSize(0), heads, ShapedType::kDynamic, rowBytes},
        IntegerType::get(ctx, 8));
    auto scaleType = RankedTensorType::get(
        {type.getDimSize(0), heads, ShapedType::kDynamic, dim / group},
        Float32Type::get(ctx));
    c.arg.setType(codesType);
    main.setType(FunctionType::get(ctx, main.getBody().getArgumentTypes(),
                                   main.getResultTypes()));
    main.setArgAttr(argIndex, quantc::kv::kCache, describe("codes", present));
    SmallVector<Value> parts{c.arg};
    SmallVector<DictionaryAttr> partResults; // attributes of their results
    SmallVector<Value> tableResults;         // a new RoPE table's write
    for (StringRef part : {"scales", "offsets"}) {
      if (fixed)
        break;
      unsigned at = main.getNumArguments();
      NamedAttrList attrs;
      attrs.set("onnx.name", StringAttr::get(ctx, name + "." + part.str()));
      attrs.set("bufferization.writable", BoolAttr::get(ctx, true));
      attrs.set(quantc::kv::kCache,
                describe(part, (present + "." + part).str()));
      (void)main.insertArgument(at, scaleType, attrs.getDictionary(ctx),
                                c.arg.getLoc());
      parts.push_back(main.getArgument(at));
      NamedAttrList result;
      result.set("onnx.name",
                 StringAttr::get(ctx, (present + "." + part).str()));
      result.set(quantc::kv::kCacheOf,
                 IntegerAttr::get(IntegerType::get(ctx, 64), at));
      partResults.push_back(result.getDictionary(ctx));
    }
    Value table =
        c.rope ? ropeTable(main, c, tableResults, partResults) : Value();
    // Result types follow the arguments (the cache results are updated
    // in place).
    SmallVector<Type> inputs(main.getArgumentTypes());

    OpBuilder b(c.write);
    Location loc = c.write.getLoc();
    auto i64 = [&](OpFoldResult v) -> Value {
      Value index = getValueOrCreateConstantIndexOp(b, loc, v);
      return arith::IndexCastOp::create(b, loc, b.getI64Type(), index);
    };
    llvm::DenseMap<int64_t, Value> constants; // one op per value
    auto constant = [&](int64_t v) -> Value {
      Value &c = constants[v];
      if (!c)
        c = arith::ConstantIntOp::create(b, loc, b.getI64Type(), v);
      return c;
    };
    SmallVector<Value> shape{
        i64(tensor::DimOp::create(b, loc, c.arg, 0).getResult()),
        constant(heads),
        i64(tensor::DimOp::create(b, loc, c.arg, 2).getResult()),
        constant(dim),
        constant(f.bits),
        constant(group),
        constant(fixed ? 0 : QC_KV_PER_TOKEN | (f.e4m3 ? QC_KV_E4M3 : 0))};
    auto withLast = [&](Value last) {
      SmallVector<Value> s = shape;
      s.push_back(last);
      return s;
    };
    SmallVector<Value> fixedParts; // [heads, dim] scales, offsets
    if (fixed) {
      auto t = RankedTensorType::get({heads, dim}, b.getF32Type());
      for (std::vector<float> *v : {&c.fixedScale, &c.fixedOffset})
        fixedParts.push_back(arith::ConstantOp::create(
            b, loc, DenseElementsAttr::get(t, ArrayRef<float>(*v))));
    }
    SmallVector<Value> appendIns{c.rope ? c.rope->keys : c.write.getSource()};
    llvm::append_range(appendIns, fixedParts);
    auto append = quantc::qc::UKernelOp::create(
        b, loc, ValueRange(parts).getTypes(),
        fixed ? "quantc_kv_append_fixed" : "quantc_kv_append",
        ValueRange(appendIns), ValueRange(parts),
        withLast(i64(c.write.getMixedOffsets()[2])));
    b.setInsertionPoint(c.view); // after the sum of length and new
    Value length = i64(c.view.getMixedSizes()[2]);
    for (Product &p : c.products) {
      b.setInsertionPoint(p.op);
      auto fill = p.op.getDpsInits()[0].getDefiningOp<linalg::FillOp>();
      Value init = fill.getOutputs()[0]; // the kernels overwrite it
      SmallVector<Value> ins{p.op.getDpsInputs()[0]};
      llvm::append_range(ins, append.getResults());
      llvm::append_range(ins, fixedParts);
      SmallVector<Value> scalars = withLast(length);
      if (table) {
        ins.push_back(table);
        scalars.push_back(constant(dim)); // rotary: the whole head
      }
      auto kernel = quantc::qc::UKernelOp::create(
          b, p.op.getLoc(), TypeRange{init.getType()},
          table      ? "quantc_kv_scores_rope"
          : p.scores ? "quantc_kv_scores"
                     : "quantc_kv_values",
          ValueRange(ins), ValueRange{init}, scalars);
      p.op->replaceAllUsesWith(kernel.getResults());
      p.op->erase();
      if (fill->use_empty())
        fill->erase();
    }
    for (tensor::DimOp d : c.dims) {
      b.setInsertionPoint(d);
      if (*d.getConstantIndex() == 3)
        d.replaceAllUsesWith(
            arith::ConstantIndexOp::create(b, d.getLoc(), dim).getResult());
    }
    c.view->erase();
    ret->setOperand(c.result, append.getResult(0));
    c.write->erase();
    SmallVector<Value> results(ret.getOperands());
    llvm::append_range(results, append.getResults().drop_front());
    llvm::append_range(results, tableResults);
    SmallVector<DictionaryAttr> resultAttrs;
    main.getAllResultAttrs(resultAttrs);
    llvm::append_range(resultAttrs, partResults);
    ret->setOperands(results);
    main.setType(
        FunctionType::get(ctx, inputs, ValueRange(results).getTypes()));
    main.setAllResultAttrs(resultAttrs);
  }
};

} // namespace
