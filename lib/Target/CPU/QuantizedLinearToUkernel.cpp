//===- QuantizedLinearToUkernel.cpp - quantized qc.linear to the kernel ---===//

#include "quantc/Target/CPU/KernelFlags.h"
#include "quantc/Target/CPU/Passes.h"
#include "quantc/Conversion/QcToLinalg.h"
#include "quantc/kernels.h"

#include "QC/IR/QC.h"
#include "QC/IR/QConstant.h"
#include "quantc/Numerics/Format.h"
#include "quantc/Numerics/Matrix.h"
#include "quantc/Numerics/Scalar.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <functional>

namespace quantc {
#define GEN_PASS_DEF_QUANTIZEDLINEARTOUKERNEL
#include "quantc/Target/CPU/Passes.h.inc"
} // namespace quantc

using namespace mlir;

namespace {

constexpr const char *kKernel = "quantc_qmatmul_f32";
constexpr const char *kInt8Kernel = "quantc_qmatmul_i8";
constexpr const char *kInt8SplitKernel = "quantc_qmatmul_i8_split";

/// True if the kernel implements `f`: every code (integers, NF4/FP4 through
/// their table, FP8) and scale kind, per channel or group, without outliers.
bool supported(const quantc::numerics::Format &f) {
  return !f.outliers &&
         f.granularity != quantc::numerics::Granularity::PerTensor;
}

/// True if the CUDA target's kernel implements `f` too (a code never
/// straddles a byte, a 4-byte word never a group).
bool supportedOnGpu(const quantc::numerics::Format &f) {
  using quantc::numerics::Granularity;
  return supported(f) && f.code == quantc::numerics::ElementCode::Int &&
         8 % f.bits == 0 && f.scaleBits == 0 &&
         (f.granularity == Granularity::PerChannel || f.groupSize % 8 == 0);
}

/// The W8A8 kernel's weights: 8-bit integer codes, one scale (and zero
/// point) per channel.
bool supportedByInt8Kernel(const quantc::numerics::Format &f, int64_t k) {
  return !f.outliers && f.code == quantc::numerics::ElementCode::Int &&
         f.bits == 8 && f.scaleBits == 0 &&
         f.granularity == quantc::numerics::Granularity::PerChannel &&
         k <= 65536; // int32 sums of 255 x 128 products stay exact
}

/// An input the W8A8 kernel quantizes itself, as qc-quantize-activations
/// (or a QDQ import) writes it: the unquantized value, the static scale
/// (0: per row) and zero point.
struct Int8Input {
  Value x;
  float scale = 0;
  int64_t zero = 0;
  SmallVector<Operation *, 2> pair; // dequantize, quantize: dead after
};

std::optional<Int8Input> int8Input(Value input) {
  using namespace quantc::qc;
  if (auto dq = input.getDefiningOp<DequantizeDynamicOp>()) {
    auto q = dq.getCodes().getDefiningOp<QuantizeDynamicOp>();
    if (!q || dq.getZeroPoints() || q.getAffine() ||
        dq.getScales() != q.getScales() ||
        q.getGranularity() != ActGranularity::PerToken ||
        !q.getCodes().getType().getElementType().isInteger(8))
      return std::nullopt;
    return Int8Input{q.getInput(), 0.0f, 0, {dq, q}};
  }
  if (auto dq = input.getDefiningOp<DequantizeOp>()) {
    auto q = dq.getInput().getDefiningOp<QuantizeOp>();
    auto t = dyn_cast<quant::UniformQuantizedType>(
        dq.getInput().getType().getElementType());
    // The kernel rounds x / s half to even, adds z and clamps to
    // [-128, 127].
    if (!q || !t || !t.isSigned() || t.getStorageTypeIntegralWidth() != 8 ||
        t.getZeroPoint() < -128 || t.getZeroPoint() > 127 ||
        t.getStorageTypeMin() != -128 || t.getStorageTypeMax() != 127 ||
        !t.getExpressedType().isF32() || !(t.getScale() > 0))
      return std::nullopt;
    return Int8Input{
        q.getInput(), float(t.getScale()), t.getZeroPoint(), {dq, q}};
  }
  return std::nullopt;
}

/// x = y * f[c] along the last dimension with f a constant of K f32 (the
/// 1/s qc-smoothquant puts before a layer where nothing else takes it, a
/// normalization's weight): y and f, which the W8A8 kernel applies as it
/// quantizes rows.
std::optional<std::pair<Value, std::vector<float>>> channelFactors(Value x) {
  auto op = x.getDefiningOp<linalg::GenericOp>();
  if (!op || op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      op.getNumParallelLoops() != op.getNumLoops())
    return std::nullopt;
  unsigned rank = op.getNumLoops();
  MLIRContext *ctx = op.getContext();
  AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx);
  AffineMap last = AffineMap::get(rank, 0, getAffineDimExpr(rank - 1, ctx));
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  Block &body = op.getRegion().front();
  auto mul = dyn_cast<arith::MulFOp>(body.front());
  if (maps[0] != id || maps[1] != last || maps[2] != id || !mul ||
      mul.getLhs() != body.getArgument(0) ||
      mul.getRhs() != body.getArgument(1) ||
      body.getTerminator()->getOperand(0) != mul.getResult())
    return std::nullopt;
  auto constant = op.getDpsInputs()[1].getDefiningOp<arith::ConstantOp>();
  if (!constant)
    return std::nullopt;
  FailureOr<std::vector<float>> values =
      quantc::floatValues(cast<ElementsAttr>(constant.getValue()));
  if (failed(values))
    return std::nullopt;
  return std::make_pair(op.getDpsInputs()[0], std::move(*values));
}

/// LLM.int8()'s split as qc-split-outliers writes it around a layer: the
/// layer reads `split`'s rest (through its quantization), and its only
/// reader adds `product`, the f32 product of `split`'s outliers (an unnamed
/// qc.linear of a constant without bias).
struct OutlierSplit {
  quantc::qc::SplitColumnsOp split;
  quantc::qc::LinearOp product;
  linalg::GenericOp sum;
  std::vector<float> weight; // product's, count x N
};

/// True if `op` is `x + y` elementwise over one shape.
bool isElementwiseAdd(linalg::GenericOp op) {
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      op.getNumParallelLoops() != op.getNumLoops() ||
      !llvm::all_of(op.getIndexingMapsArray(),
                    [](AffineMap m) { return m.isIdentity(); }))
    return false;
  Block &body = op.getRegion().front();
  auto add = dyn_cast<arith::AddFOp>(body.front());
  return add && std::next(body.begin()) != body.end() &&
         isa<linalg::YieldOp>(*std::next(body.begin())) &&
         add.getLhs() == body.getArgument(0) &&
         add.getRhs() == body.getArgument(1) &&
         body.getTerminator()->getOperand(0) == add.getResult();
}

std::optional<OutlierSplit> outlierSplit(quantc::qc::LinearOp op, Value x) {
  using namespace quantc::qc;
  auto split = x.getDefiningOp<SplitColumnsOp>();
  if (!split || x != split.getRest() || !op.getResult().hasOneUse())
    return std::nullopt;
  auto sum = dyn_cast<linalg::GenericOp>(*op.getResult().getUsers().begin());
  if (!sum || !isElementwiseAdd(sum) ||
      sum.getDpsInputs()[0] != op.getResult())
    return std::nullopt;
  auto product = sum.getDpsInputs()[1].getDefiningOp<LinearOp>();
  if (!product || product.getInput() != split.getOutliers() ||
      product.getBias() || !product.getResult().hasOneUse())
    return std::nullopt;
  auto weight = product.getWeight().getDefiningOp<arith::ConstantOp>();
  if (!weight)
    return std::nullopt;
  FailureOr<std::vector<float>> values =
      quantc::floatValues(cast<ElementsAttr>(weight.getValue()));
  if (failed(values)) // not f32, or a blob elided when printed
    return std::nullopt;
  return OutlierSplit{split, product, sum, std::move(*values)};
}

/// A constant tensor of `value`'s stored bytes, named for the layer (its
/// buffer becomes a global, moved to the weights blob in artifacts).
Value bytesConstant(OpBuilder &b, Location loc, ElementsAttr value,
                    const std::string &name) {
  std::vector<char> data = quantc::storedBytes(value);
  auto type = RankedTensorType::get({static_cast<int64_t>(data.size())},
                                    b.getI8Type());
  auto init = DenseResourceElementsAttr::get(
      type, name,
      HeapAsmResourceBlob::allocateAndCopyWithAlign(
          ArrayRef<char>(data.data(), data.size()), 1));
  return arith::ConstantOp::create(b, loc, init);
}

struct QuantizedLinearToUkernelPass
    : quantc::impl::QuantizedLinearToUkernelBase<
          QuantizedLinearToUkernelPass> {
  using Base::Base;
  bool int8Activations = false;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    int8Activations = module->hasAttr(quantc::kInt8ActivationsAttr);
    SmallVector<quantc::qc::LinearOp> linears, int8Linears;
    module.walk([&](quantc::qc::LinearOp op) {
      auto weight = op.getWeight().getDefiningOp<quantc::qc::QConstantOp>();
      if (!weight ||
          !cast<ShapedType>(op.getInput().getType()).getElementType().isF32())
        return;
      auto type = cast<quantc::qc::QWeightType>(weight.getType());
      // The kernel reads channel-major codes; other layouts (a GPU's) are
      // left to qc-to-linalg.
      quantc::numerics::Format f =
          quantc::qc::toNumericsFormat(type.getFormat());
      if (!type.getLayout().isChannelMajor())
        return;
      if (!gpu && supportedByInt8Kernel(f, type.getInputDim()) &&
          int8Input(op.getInput()))
        int8Linears.push_back(op);
      else if (gpu ? supportedOnGpu(f) : supported(f))
        linears.push_back(op);
    });
    OpBuilder b(&getContext());
    for (quantc::qc::LinearOp op : linears)
      rewrite(b, op);
    for (quantc::qc::LinearOp op : int8Linears)
      rewriteInt8(b, op);
    // Quantized constants no layer reads any more.
    module.walk([](quantc::qc::QConstantOp op) {
      if (op->use_empty())
        op.erase();
    });
  }

  /// A layer's weight as kernel arguments: its stored pieces as byte
  /// constants (each recorded for the artifact's weights table); pieces a
  /// format does not have are `scales`, never read.
  struct Pieces {
    quantc::qc::QConstantOp weight;
    quantc::qc::QWeightType type;
    quantc::numerics::Format format;
    std::function<Value(ElementsAttr, StringRef)> read;
    Value codes, scales, zeros;
  };

  Pieces readPieces(OpBuilder &b, quantc::qc::LinearOp op) {
    Pieces p;
    p.weight = op.getWeight().getDefiningOp<quantc::qc::QConstantOp>();
    p.type = cast<quantc::qc::QWeightType>(p.weight.getType());
    p.format = quantc::qc::toNumericsFormat(p.type.getFormat());
    std::string name = (op.getLayer() ? op.getLayer()->str() : "w") + "_q";
    Operation *module = op->getParentOfType<ModuleOp>();
    Location loc = op.getLoc();
    quantc::qc::QWeightType type = p.type;
    b.setInsertionPoint(op);
    p.read = [&b, loc, name, module, type](ElementsAttr value, StringRef part) {
      Value piece = bytesConstant(b, loc, value, name + "_" + part.str());
      quantc::recordPackedPiece(
          module, piece.getDefiningOp<arith::ConstantOp>().getValue(), type,
          part);
      return piece;
    };
    p.codes = p.read(p.weight.getCodes(), "codes");
    p.scales = p.read(p.weight.getScales(), "scales");
    p.zeros = p.weight.getZeroPoints()
                  ? p.read(*p.weight.getZeroPoints(), "zero_points")
                  : p.scales;
    return p;
  }

  /// An empty f32 result of `x`'s shape with N in place of K.
  static Value emptyResult(OpBuilder &b, Location loc, Value x, int64_t n) {
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, x);
    sizes.back() = b.getIndexAttr(n);
    return tensor::EmptyOp::create(b, loc, sizes, b.getF32Type());
  }

  /// `y` (the kernel's product) plus the layer's bias, in place of `op`
  /// (or of `sum`, which adds `op`'s result to what the kernel computed
  /// too).
  static void replaceLayer(OpBuilder &b, quantc::qc::LinearOp op, Value y,
                           Operation *sum = nullptr) {
    // Written into y: an elementwise op that fuses into y's readers.
    if (Value bias = op.getBias())
      y = quantc::buildBiasAdd(b, op.getLoc(), y, bias, /*init=*/y);
    Value result = sum ? sum->getResult(0) : Value(op.getResult());
    if (y.getType() != result.getType())
      y = tensor::CastOp::create(b, op.getLoc(), result.getType(), y);
    result.replaceAllUsesWith(y);
    if (sum)
      sum->erase();
    op.erase();
  }

  static Value i64(OpBuilder &b, Location loc, int64_t v) {
    return arith::ConstantIntOp::create(b, loc, v, 64).getResult();
  }

  /// The layer and the quantization of its input as one W8A8 kernel call;
  /// with LLM.int8()'s split around it, the split, the f32 product and the
  /// sum too.
  void rewriteInt8(OpBuilder &b, quantc::qc::LinearOp op) {
    Location loc = op.getLoc();
    Int8Input in = *int8Input(op.getInput());
    std::optional<OutlierSplit> split = outlierSplit(op, in.x);
    Pieces p = readPieces(b, op);
    int64_t k = p.type.getInputDim(), n = p.type.getOutputDim();
    Value x = split ? split->split.getInput() : in.x;
    // A constant multiply along x's channels: applied by the kernel.
    std::vector<float> factors;
    Operation *scaling = x.getDefiningOp();
    if (auto f = channelFactors(x); f && int64_t(f->second.size()) == k) {
      x = f->first;
      factors = std::move(f->second);
    }
    Value init = emptyResult(b, loc, x, n);
    Value actScale =
        arith::ConstantOp::create(b, loc, b.getF32FloatAttr(in.scale));
    int64_t flags = QC_QMATMUL_INIT | quantc::qmatmulFormatFlags(p.format);
    Value factorsValue =
        factors.empty()
            ? arith::ConstantOp::create(
                  b, loc,
                  DenseElementsAttr::get(
                      RankedTensorType::get({0}, b.getI8Type()),
                      ArrayRef<int8_t>()))
                  .getResult()
            : p.read(DenseElementsAttr::get(
                         RankedTensorType::get({k}, b.getF32Type()),
                         ArrayRef<float>(factors)),
                     "input_factors");
    SmallVector<Value> inputs = {x, p.codes, p.scales, p.zeros, factorsValue};
    SmallVector<Value> scalars = {i64(b, loc, k), i64(b, loc, n), actScale,
                                  i64(b, loc, flags)};
    // The kernel multiplies x's codes as they are: s_x z_x times W's column
    // sums, constants, are taken off after it.
    std::vector<float> zeroTerm;
    if (in.zero != 0) {
      std::vector<float> w =
          quantc::numerics::dequantizeMatrix(quantc::readQConstant(p.weight));
      zeroTerm.assign(size_t(n), 0.0f);
      for (int64_t j = 0; j < n; ++j) {
        double sum = 0;
        for (int64_t r = 0; r < k; ++r)
          sum += w[size_t(r * n + j)];
        zeroTerm[size_t(j)] = float(-double(in.scale) * in.zero * sum);
      }
    }
    if (split) {
      // The listed columns as int32, their weights channel-major (N x count).
      ArrayRef<int64_t> columns = split->split.getColumns();
      const int64_t count = int64_t(columns.size());
      SmallVector<int32_t> listed(columns.begin(), columns.end());
      SmallVector<float> byChannel(size_t(n * count));
      for (int64_t t = 0; t < count; ++t)
        for (int64_t j = 0; j < n; ++j)
          byChannel[size_t(j * count + t)] = split->weight[size_t(t * n + j)];
      inputs.push_back(p.read(
          DenseElementsAttr::get(
              RankedTensorType::get({count}, b.getI32Type()),
              ArrayRef<int32_t>(listed)),
          "outlier_columns"));
      inputs.push_back(p.read(
          DenseElementsAttr::get(
              RankedTensorType::get({n, count}, b.getF32Type()),
              ArrayRef<float>(byChannel)),
          "outlier_weights"));
      scalars.push_back(i64(b, loc, count));
    }
    scalars.push_back(i64(b, loc, in.zero));
    Value y = quantc::qc::UKernelOp::create(
                  b, loc, TypeRange{init.getType()},
                  split ? kInt8SplitKernel : kInt8Kernel, inputs,
                  ValueRange{init}, scalars)
                  .getResult(0);
    if (!zeroTerm.empty())
      y = quantc::buildBiasAdd(
          b, loc, y,
          arith::ConstantOp::create(
              b, loc,
              DenseElementsAttr::get(RankedTensorType::get({n}, b.getF32Type()),
                                     ArrayRef<float>(zeroTerm))),
          /*init=*/y);
    replaceLayer(b, op, y, split ? split->sum.getOperation() : nullptr);
    if (split)
      split->product.erase();
    for (Operation *dead : in.pair)
      if (dead->use_empty())
        dead->erase();
    if (split && split->split->use_empty())
      split->split.erase();
    if (!factors.empty() && scaling->use_empty())
      scaling->erase();
  }

  void rewrite(OpBuilder &b, quantc::qc::LinearOp op) {
    Location loc = op.getLoc();
    Pieces p = readPieces(b, op);
    const quantc::numerics::Format &f = p.format;
    int64_t k = p.type.getInputDim(), n = p.type.getOutputDim();
    Value table = p.scales;
    if (quantc::isCodebook(f)) {
      SmallVector<float> values;
      for (unsigned c = 0; c < (1u << f.bits); ++c)
        values.push_back(quantc::numerics::decodeFloatCode(f.code, c));
      table = p.read(DenseElementsAttr::get(
                       RankedTensorType::get({int64_t(values.size())},
                                             b.getF32Type()),
                       ArrayRef<float>(values)),
                     "table");
    }
    Value scaleParams = f.scaleBits
                            ? p.read(*p.weight.getScaleParams(), "scale_params")
                            : p.scales;

    // The result in its own shape; the kernel sees x and y as [rows, K] and
    // [rows, N] (qc.ukernel merges leading dimensions when it is lowered).
    Value x = op.getInput();
    Value init = emptyResult(b, loc, x, n);
    int64_t flags = QC_QMATMUL_INIT | quantc::qmatmulFormatFlags(f) |
                    (int8Activations ? QC_QMATMUL_INT8_ACT : 0);
    int64_t group = f.granularity == quantc::numerics::Granularity::PerGroup
                        ? f.groupSize
                        : 0;
    auto c = [&](int64_t v) { return i64(b, loc, v); };
    Value y = quantc::qc::UKernelOp::create(
                  b, loc, TypeRange{init.getType()}, kKernel,
                  ValueRange{x, p.codes, p.scales, p.zeros, table,
                             scaleParams},
                  ValueRange{init},
                  ValueRange{c(k), c(n), c(f.bits), c(group), c(f.scaleBlock),
                             c(flags)})
                  .getResult(0);
    replaceLayer(b, op, y);
  }
};

} // namespace
