//===- SmoothQuant.cpp - qc-smoothquant: move activation outliers to weights
//===//
//
// SmoothQuant (Xiao et al.): for the layers reading one value X, per input
// channel j, s_j = max|X_j|^alpha / max|W_j|^(1 - alpha); W <- diag(s) W and
// X <- X diag(1/s). The product is unchanged in exact arithmetic; X's
// outlier channels shrink, so a per-tensor or per-token activation scale
// fits the rest. X diag(1/s) costs nothing at run time where it folds into
// what produces X:
// - a constant scale along X's last dimension (a normalization's weight:
//   x * g, the importer's form of RMSNorm/LayerNorm's scale): g <- g / s;
// - an elementwise product with a linear layer's result, nothing else
//   reading that result (LLaMA's silu(gate) * up before down): up's output
//   columns (and bias) <- / s.
// Values with no such producer (attention's output before the output
// projection) are read through a multiply by 1/s of their own, which the
// CPU's W8A8 kernel takes into its row quantization.
//
//===----------------------------------------------------------------------===//

#include "Calibration.h"
#include "LayerSelection.h"

#include "QC/IR/QC.h"
#include "QC/IR/QConstant.h"
#include "quantc/Conversion/QcToLinalg.h"
#include "quantc/Numerics/Matrix.h"
#include "quantc/Transforms/Passes.h"
#include "quantc/Transforms/Statistics.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include "mlir/AsmParser/AsmParser.h"

#include <Eigen/Core>

#include <algorithm>
#include <cmath>

namespace quantc {
#define GEN_PASS_DEF_SMOOTHQUANT
#include "quantc/Transforms/Passes.h.inc"
} // namespace quantc

using namespace mlir;
using namespace quantc;

namespace {

/// Where X diag(1/s) folds: the per-channel scale (and shift) operands of
/// `affine`, or the result columns of `producer`; or, with neither, a
/// scale of its own that the layers read X through (`own`).
struct FoldTarget {
  linalg::GenericOp affine;
  SmallVector<unsigned, 2> channelOperands; // scale[, shift]
  qc::LinearOp producer;
  bool own = false;
  std::string describe() const {
    if (own)
      return "a scale along the last dimension of the layers' input (nothing "
             "before it to fold into: a multiply before the activations' "
             "quantization)";
    if (producer) {
      auto name = producer->getAttrOfType<StringAttr>("layer");
      return "the output columns of " +
             (name ? "'" + name.str() + "'" : std::string("a linear layer"));
    }
    return channelOperands.size() == 2
               ? "a scale and shift along the last dimension (a "
                 "normalization's weight and bias)"
               : "a scale along the last dimension (a normalization's "
                 "weight)";
  }
};

/// `v` is a block argument of `op` for a constant f32 1-D input read along
/// the last loop (one value per channel of the result), used once.
std::optional<unsigned> channelConstant(linalg::GenericOp op, Value v) {
  auto arg = dyn_cast<BlockArgument>(v);
  if (!arg || arg.getOwner() != &op.getRegion().front() ||
      arg.getArgNumber() >= op.getNumDpsInputs() || !arg.hasOneUse())
    return std::nullopt;
  unsigned i = arg.getArgNumber();
  Value in = op.getDpsInputs()[i];
  auto type = dyn_cast<RankedTensorType>(in.getType());
  unsigned loops = op.getNumLoops();
  AffineMap last =
      AffineMap::get(loops, 0, getAffineDimExpr(loops - 1, op.getContext()));
  if (in.getDefiningOp<arith::ConstantOp>() && type && type.getRank() == 1 &&
      type.getElementType().isF32() && op.getIndexingMapsArray()[i] == last)
    return i;
  return std::nullopt;
}

/// `op` computes a * g[c] (+ b[c]) per element, g and b constants per
/// channel c (the last dimension), every loop parallel: the scale and
/// shift operands. RMSNorm's x * g and LayerNorm's (x - mean) * r * g + b.
std::optional<SmallVector<unsigned, 2>> channelAffine(linalg::GenericOp op) {
  if (op.getNumDpsInits() != 1 || op.getNumReductionLoops() != 0 ||
      !op.getIndexingMapsArray().back().isIdentity())
    return std::nullopt;
  auto yield = cast<linalg::YieldOp>(op.getRegion().front().getTerminator());
  Value v = yield.getValues()[0];
  std::optional<unsigned> shift;
  if (auto add = v.getDefiningOp<arith::AddFOp>()) {
    for (auto [term, other] : {std::pair(add.getLhs(), add.getRhs()),
                               std::pair(add.getRhs(), add.getLhs())})
      if ((shift = channelConstant(op, term))) {
        v = other;
        break;
      }
    if (!shift)
      return std::nullopt;
  }
  auto mul = v.getDefiningOp<arith::MulFOp>();
  if (!mul || !mul.getResult().hasOneUse())
    return std::nullopt;
  for (Value factor : {mul.getLhs(), mul.getRhs()})
    if (std::optional<unsigned> scale = channelConstant(op, factor)) {
      SmallVector<unsigned, 2> out{*scale};
      if (shift)
        out.push_back(*shift);
      return out;
    }
  return std::nullopt;
}

/// `v` through reshapes that keep its last dimension (the channels), each
/// read by the next alone.
Value throughReshapes(Value v) {
  while (true) {
    Operation *def = v.getDefiningOp();
    if (!def || !isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp>(def))
      return v;
    Value src = def->getOperand(0);
    auto from = cast<RankedTensorType>(src.getType());
    auto to = cast<RankedTensorType>(v.getType());
    if (!src.hasOneUse() || from.isDynamicDim(from.getRank() - 1) ||
        from.getShape().back() != to.getShape().back())
      return v;
    SmallVector<ReassociationIndices> groups =
        isa<tensor::CollapseShapeOp>(def)
            ? cast<tensor::CollapseShapeOp>(def).getReassociationIndices()
            : cast<tensor::ExpandShapeOp>(def).getReassociationIndices();
    if (groups.back().size() != 1)
      return v; // the channels merged with or split into others
    v = src;
  }
}

/// What X folds into, if anything; `readers` are the layers reading X,
/// which must be its only users.
std::optional<FoldTarget> findFoldTarget(Value x,
                                         ArrayRef<qc::LinearOp> readers) {
  for (Operation *user : x.getUsers())
    if (!llvm::is_contained(readers, dyn_cast<qc::LinearOp>(user)))
      return std::nullopt;
  auto op = throughReshapes(x).getDefiningOp<linalg::GenericOp>();
  if (!op)
    return std::nullopt;
  FoldTarget target;
  target.affine = op;
  if (std::optional<SmallVector<unsigned, 2>> c = channelAffine(op)) {
    target.channelOperands = *c;
    return target;
  }
  // silu(gate) * up: up's columns, if nothing else reads up.
  Block &body = op.getRegion().front();
  auto mul = dyn_cast<arith::MulFOp>(body.front());
  if (op.getNumDpsInputs() != 2 || op.getNumReductionLoops() != 0 ||
      body.getOperations().size() != 2 || !mul ||
      body.getTerminator()->getOperand(0) != mul.getResult() ||
      !isa<BlockArgument>(mul.getLhs()) || !isa<BlockArgument>(mul.getRhs()) ||
      mul.getLhs() == mul.getRhs() ||
      !llvm::all_of(op.getIndexingMapsArray(),
                    [](AffineMap m) { return m.isIdentity(); }))
    return std::nullopt;
  for (Value in : op.getDpsInputs()) {
    auto producer = in.getDefiningOp<qc::LinearOp>();
    if (producer && in.hasOneUse() &&
        producer.getWeight().getDefiningOp<arith::ConstantOp>() &&
        (!producer.getBias() ||
         producer.getBias().getDefiningOp<arith::ConstantOp>())) {
      target.producer = producer;
      return target;
    }
  }
  return std::nullopt;
}

/// A constant of `type` holding `values`, as a resource blob named `name`.
Value floatConstant(OpBuilder &b, Location loc, RankedTensorType type,
                    ArrayRef<float> values, StringRef name) {
  return arith::ConstantOp::create(
      b, loc, cast<TypedAttr>(floatBlob(name, type, values)));
}

FailureOr<std::vector<float>> constantValues(Value v, std::string &error,
                                             StringRef what) {
  auto constant = v.getDefiningOp<arith::ConstantOp>();
  FailureOr<std::vector<float>> values =
      constant ? floatValues(cast<ElementsAttr>(constant.getValue()))
               : FailureOr<std::vector<float>>(failure());
  if (failed(values))
    error = (what + " holds no f32 data (a blob elided when the module "
                    "was printed?)")
                .str();
  return values;
}

/// Replaces the f32 constant `operand` reads by `change` applied to its
/// values (a new constant named `name`), erasing the old one if nothing
/// else reads it.
LogicalResult rescaleConstant(OpOperand &operand, StringRef what,
                              const std::string &name,
                              function_ref<void(std::vector<float> &)> change,
                              std::string &error) {
  Value old = operand.get();
  FailureOr<std::vector<float>> values = constantValues(old, error, what);
  if (failed(values))
    return failure();
  change(*values);
  OpBuilder b(operand.getOwner());
  operand.set(floatConstant(
      b, old.getLoc(), cast<RankedTensorType>(old.getType()), *values, name));
  if (old.use_empty())
    old.getDefiningOp()->erase();
  return success();
}

struct SmoothQuantPass : quantc::impl::SmoothQuantBase<SmoothQuantPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::string error;
    if (failed(run(module, error))) {
      emitError(module.getLoc()) << "qc-smoothquant: " << error;
      signalPassFailure();
    }
  }

  LogicalResult run(ModuleOp module, std::string &error) {
    const bool search = alpha == "auto";
    double fixed = 0;
    if (!search) {
      StringRef text = StringRef(alpha).trim();
      if (text.getAsDouble(fixed) || !(fixed >= 0.0 && fixed <= 1.0)) {
        error = "alpha must be in [0, 1] or 'auto', not '" + alpha + "'";
        return failure();
      }
    }
    numerics::Format weightFormat;
    if (search) {
      auto f = dyn_cast_or_null<qc::FormatAttr>(
          parseAttribute("#qc.format<" + format + ">", module.getContext()));
      if (!f) {
        error = "format '" + format + "' is not a #qc.format body";
        return failure();
      }
      weightFormat = qc::toNumericsFormat(f);
      if (abits < 2 || abits > 8) {
        error = llvm::formatv("abits must be 2 to 8, not {0}",
                              abits.getValue());
        return failure();
      }
    }
    LayerSelection selection(layers, exclude, outputHeads(module));
    if (!selection.error().empty()) {
      error = selection.error();
      return failure();
    }
    std::string path = statisticsPath(module, stats);
    if (path.empty()) {
      error = "needs stats=FILE (or qc-calibrate before it)";
      return failure();
    }
    StatisticsFile file;
    if (!openModelStatistics(module, path, file, error))
      return failure();
    llvm::StringMap<qc::LinearOp> byName;
    module.walk([&](qc::LinearOp op) {
      if (auto name = op->getAttrOfType<StringAttr>("layer"))
        byName[name.getValue()] = op;
    });

    llvm::errs() << "smoothquant: alpha "
                 << (search ? "searched per input (0, 0.1, ..., 1)"
                            : llvm::formatv("{0}", llvm::format("%g", fixed))
                                  .str())
                 << "\n";
    for (size_t record = 0; record < file.size(); ++record) {
      SmallVector<qc::LinearOp> readers;
      std::string names;
      bool all = true;
      for (const std::string &layer : file.layersOf(record)) {
        auto it = byName.find(layer);
        if (it == byName.end() || !selection.selects(layer) ||
            !it->second.getWeight().getDefiningOp<arith::ConstantOp>())
          all = false;
        else
          readers.push_back(it->second);
        names += (names.empty() ? "" : ",") + layer;
      }
      if (readers.empty())
        continue;
      std::optional<FoldTarget> target;
      if (all) {
        target = findFoldTarget(readers.front().getInput(), readers);
        if (!target) // attention's output before its projection
          target = FoldTarget{{}, {}, {}, /*own=*/true};
      }
      if (!target) {
        llvm::errs() << "  " << names << ": not smoothed (a layer reading the "
                        "same input is not selected or quantized already)\n";
        continue;
      }
      LayerStatistics s;
      if (!file.load(record, s, error, /*hessian=*/search))
        return failure();
      FailureOr<Weights> w = readWeights(readers, s.k, names, error);
      if (failed(w))
        return failure();
      std::string chosen;
      double a = fixed;
      if (search) {
        FailureOr<double> best = searchAlpha(*w, s, weightFormat, names,
                                             chosen, error);
        if (failed(best))
          return failure();
        a = *best;
      }
      if (failed(smooth(readers, *target, s, scalesFor(*w, s, a), names,
                        chosen, error)))
        return failure();
      auto alphaAttr = FloatAttr::get(Float64Type::get(module.getContext()), a);
      for (qc::LinearOp op : readers)
        op->setAttr(kAlphaAttr, alphaAttr);
    }
    return success();
  }

  /// The readers' weights (K x N_i each) and max|W_j| over all of them.
  struct Weights {
    std::vector<std::vector<float>> values;
    std::vector<int64_t> n;
    std::vector<float> rowMax;
  };

  FailureOr<Weights> readWeights(ArrayRef<qc::LinearOp> readers, int64_t k,
                                 const std::string &names,
                                 std::string &error) {
    Weights out;
    out.rowMax.assign(k, 0.0f);
    for (qc::LinearOp op : readers) {
      auto type = cast<RankedTensorType>(op.getWeight().getType());
      if (type.getDimSize(0) != k) {
        error = "layer '" + names +
                "': weight and calibration statistics "
                "do not match (statistics from another model?)";
        return failure();
      }
      FailureOr<std::vector<float>> w = constantValues(
          op.getWeight(), error, "the weight of '" + names + "'");
      if (failed(w))
        return failure();
      int64_t n = type.getDimSize(1);
      for (int64_t j = 0; j < k; ++j)
        for (int64_t c = 0; c < n; ++c)
          out.rowMax[j] = std::max(out.rowMax[j], std::abs((*w)[j * n + c]));
      out.values.push_back(std::move(*w));
      out.n.push_back(n);
    }
    return out;
  }

  /// s_j = max|X_j|^a / max|W_j|^(1-a); channels never seen, or whose
  /// weights are all zero, keep s = 1.
  static std::vector<float> scalesFor(const Weights &w,
                                      const LayerStatistics &stats, double a) {
    std::vector<float> s(stats.k, 1.0f);
    for (int64_t j = 0; j < stats.k; ++j)
      if (stats.absmax[j] > 0.0f && w.rowMax[j] > 0.0f)
        s[j] = static_cast<float>(
            std::clamp(std::pow(double(stats.absmax[j]), a) /
                           std::pow(double(w.rowMax[j]), 1.0 - a),
                       1e-5, 1e5));
    return s;
  }

  /// The expected squared output error per row of the readers quantized
  /// after smoothing by `s` (see the pass description): weight rounding
  /// through the Hessian, activation rounding as uniform noise.
  double expectedError(const Weights &w, const LayerStatistics &stats,
                       const std::vector<float> &s,
                       const numerics::Format &f) {
    const int64_t k = stats.k;
    double top = 0;
    for (int64_t j = 0; j < k; ++j)
      top = std::max(top, double(stats.absmax[j]) / s[j]);
    double step = top / double((1 << (abits - 1)) - 1);
    Eigen::Map<const Eigen::MatrixXd> h(stats.hessian.data(), k, k);
    double total = 0;
    for (size_t i = 0; i < w.values.size(); ++i) {
      const int64_t n = w.n[i];
      std::vector<float> smoothed(w.values[i]);
      double energy = 0;
      for (int64_t j = 0; j < k; ++j)
        for (int64_t c = 0; c < n; ++c) {
          float &v = smoothed[j * n + c];
          v *= s[j];
          energy += double(v) * v;
        }
      std::vector<float> back = numerics::dequantizeMatrix(
          numerics::quantizeMatrix(smoothed.data(), k, n, f));
      // D = diag(1/s) Q(diag(s) W) - W, row-major K x N; H is symmetric.
      Eigen::MatrixXd d(k, n);
      for (int64_t j = 0; j < k; ++j)
        for (int64_t c = 0; c < n; ++c)
          d(j, c) = double(back[j * n + c]) / s[j] - w.values[i][j * n + c];
      total += 0.5 * (d.transpose() * h * d).trace() +
               step * step / 12.0 * energy;
    }
    return total;
  }

  /// alpha=auto: the grid point of least expected error.
  FailureOr<double> searchAlpha(const Weights &w, const LayerStatistics &stats,
                                const numerics::Format &f,
                                const std::string &names, std::string &chosen,
                                std::string &error) {
    if (int64_t(stats.hessian.size()) != stats.k * stats.k) {
      error = "alpha=auto needs the statistics' Hessian for '" + names + "'";
      return failure();
    }
    for (size_t i = 0; i < w.values.size(); ++i)
      if (std::string why = f.validateShape(stats.k, w.n[i]); !why.empty()) {
        error = "alpha=auto: '" + names + "' cannot be stored as '" + format +
                "': " + why;
        return failure();
      }
    double best = 0, least = 0, atHalf = 0;
    for (int i = 0; i <= 10; ++i) {
      double a = i / 10.0;
      double e = expectedError(w, stats, scalesFor(w, stats, a), f);
      if (i == 5)
        atHalf = e;
      if (i == 0 || e < least)
        best = a, least = e;
    }
    chosen = llvm::formatv("alpha {0:f1} (expected error {1:e2}, at 0.5 "
                           "{2:e2}), ",
                           best, least, atHalf)
                 .str();
    return best;
  }

  /// The readers read x * (1/s) along the last dimension instead of x: a
  /// multiply of its own, placed after x's definition.
  void scaleInput(ArrayRef<qc::LinearOp> readers, const std::vector<float> &s,
                  const std::string &names) {
    qc::LinearOp first = readers.front();
    Value x = first.getInput();
    auto type = cast<RankedTensorType>(x.getType());
    OpBuilder b(x.getContext());
    if (Operation *def = x.getDefiningOp())
      b.setInsertionPointAfter(def);
    else
      b.setInsertionPointToStart(cast<BlockArgument>(x).getOwner());
    Location loc = first.getLoc();
    std::vector<float> inverse(s.size());
    for (size_t j = 0; j < s.size(); ++j)
      inverse[j] = 1.0f / s[j];
    Value factors = floatConstant(
        b, loc, RankedTensorType::get({int64_t(s.size())}, type.getElementType()),
        inverse, names + ".smoothing");
    SmallVector<Value> dynamic;
    for (int64_t d = 0; d < type.getRank(); ++d)
      if (type.isDynamicDim(d))
        dynamic.push_back(tensor::DimOp::create(b, loc, x, d));
    Value init = tensor::EmptyOp::create(b, loc, type, dynamic);
    Value scaled = buildColumnwise(
        b, loc, x, factors, init,
        [](OpBuilder &nb, Location l, Value v, Value f) {
          return arith::MulFOp::create(nb, l, v, f).getResult();
        });
    for (qc::LinearOp op : readers)
      op.getInputMutable().set(scaled);
  }

  /// Rescales the readers' weights by s and folds 1/s into the target.
  LogicalResult smooth(ArrayRef<qc::LinearOp> readers, FoldTarget target,
                       const LayerStatistics &stats, std::vector<float> s,
                       const std::string &names, const std::string &chosen,
                       std::string &error) {
    int64_t k = stats.k;

    // Rows j of the readers' weights times s_j; what makes X, over s.
    auto rows = [&](std::vector<float> &w) {
      int64_t n = static_cast<int64_t>(w.size()) / k;
      for (int64_t j = 0; j < k; ++j)
        for (int64_t c = 0; c < n; ++c)
          w[j * n + c] *= s[j];
    };
    auto channels = [&](std::vector<float> &v) {
      for (size_t i = 0; i < v.size(); ++i)
        v[i] /= s[i % k];
    };
    auto layerName = [](qc::LinearOp op) {
      return op->getAttrOfType<StringAttr>("layer").str();
    };
    for (qc::LinearOp op : readers)
      if (failed(rescaleConstant(op.getWeightMutable(),
                                 "the weight of '" + names + "'",
                                 layerName(op) + ".smoothed", rows, error)))
        return failure();
    if (target.own) {
      scaleInput(readers, s, names);
    } else if (qc::LinearOp p = target.producer) {
      std::string what = "a weight before '" + names + "'";
      std::string name = layerName(p) + ".smoothed-out";
      if (failed(rescaleConstant(p.getWeightMutable(), what, name, channels,
                                 error)) ||
          (p.getBias() &&
           failed(rescaleConstant(p.getBiasMutable()[0], what, name + ".bias",
                                  channels, error))))
        return failure();
    } else {
      // (a g + b) / s = a (g / s) + b / s
      for (unsigned operand : target.channelOperands)
        if (failed(rescaleConstant(target.affine->getOpOperand(operand),
                                   "the normalization before '" + names + "'",
                                   names + ".smoothing", channels, error)))
          return failure();
    }
    auto [lo, hi] = std::minmax_element(s.begin(), s.end());
    llvm::errs() << llvm::formatv("  {0}: {1}s in [{2:e2}, {3:e2}], 1/s "
                                  "folded into {4}\n",
                                  names, chosen, *lo, *hi, target.describe());
    return success();
  }
};

} // namespace
