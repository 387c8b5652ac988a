//===- quantc.cpp - the driver: ONNX in, runnable artifact out ------------===//
//
// clang-format off
//   quantc compile model.onnx -o out/ [--target cpu | --target cuda [--gpu sm_90]]
//       [--wbits B [--group G | --per-channel] [--sym] [--scale f16|f32|bf16]
//        | --weight-format "int4, affine, group = 128, scale = f16"]
//       [--layers GLOB,...] [--exclude GLOB,...] [--layer-format GLOB=FORMAT]
//       [--algo rtn | --algo gptq (--calib TEXT [--calib-stats FILE] | --calib-stats FILE)
//        [--damp D] [--block B] [--act-order] [--true-sequential]
//        [--report CSV]]
//       [--smoothquant ALPHA (--calib TEXT | --calib-stats FILE)]
//       [--kv-bits 8|4|2|fp8 [--kv-group G] [--kv-keys per-token | per-channel --calib TEXT]
//        [--kv-pre-rope]]
// clang-format on
//
//===----------------------------------------------------------------------===//

#include "quantc/Conversion/Passes.h"
#include "quantc/Frontend/OnnxImporter.h"
#include "quantc/Target/Artifact.h"
#include "quantc/Target/CPU/Jit.h"
#include "quantc/Target/CPU/Passes.h"
#include "quantc/Target/CPU/Pipeline.h"
#include "quantc/Target/CUDA/Pipeline.h"
#include "quantc/Target/Common/KvCache.h"
#include "quantc/ToolOptions.h"
#include "quantc/Transforms/Passes.h"

#include "mlir/Pass/PassManager.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <list>
#include <memory>

namespace cl = llvm::cl;

// --help lists these categories only; LLVM's own options stay usable and
// are listed by --help-hidden.
static cl::OptionCategory general("Compiling");
static cl::opt<std::string> command(cl::Positional, cl::Required,
                                    cl::desc("<command: compile>"),
                                    cl::cat(general));
static cl::opt<std::string> modelPath(cl::Positional, cl::Required,
                                      cl::desc("<model.onnx|model.mlir>"),
                                      cl::cat(general));
static cl::opt<std::string> outputDir("o", cl::Required,
                                      cl::desc("artifact folder to write"),
                                      cl::value_desc("dir"), cl::cat(general));
static cl::opt<std::string> target("target", cl::init("cpu"),
                                   cl::desc("target: cpu or cuda"),
                                   cl::cat(general));
static cl::opt<std::string> gpu("gpu", cl::init("sm_90"),
                                cl::desc("the GPU of --target cuda: sm_80 or "
                                         "sm_90"),
                                cl::cat(general));
// For benchmarks of the kernel's tile choices (bench/cuda/prepare.sh).
static cl::opt<std::string>
    cudaQmatmul("cuda-qmatmul", cl::Hidden, cl::cat(general),
                cl::desc("options of the CUDA target's quantc-cuda-qmatmul "
                         "pass, e.g. 'row-tiles=0 channel-tiles=0'"));

static cl::OptionCategory kvCache("KV cache");
static cl::opt<std::string> kvCodes(
    "kv-bits", cl::init("0"), cl::cat(kvCache),
    cl::desc("store the KV cache of a decoder-with-past model in B-bit codes "
             "(8, 4 or 2; fp8: FP8 E4M3 numbers; 0: f32), read inside "
             "attention (CPU target)"));
static unsigned kvBits = 0; // of --kv-bits: 8 for fp8
static bool kvFp8 = false;
static cl::opt<int64_t> kvGroup(
    "kv-group", cl::init(0), cl::cat(kvCache),
    cl::desc("values per KV scale along the head dimension (0: the whole "
             "head)"));
static cl::opt<bool> kvPreRope(
    "kv-pre-rope", cl::init(false), cl::cat(kvCache),
    cl::desc("store keys before RoPE (KVQuant), rotated at their positions "
             "when read; needs the rotate_half form of RoPE"));
static cl::opt<std::string> kvKeys(
    "kv-keys", cl::init("per-token"), cl::cat(kvCache),
    cl::desc("scales of the keys: per-token, or per-channel (fixed per KV "
             "head and channel, calibrated on --calib TEXT)"));

static cl::OptionCategory quantization("Weight quantization");
static cl::opt<unsigned> wbits("wbits", cl::init(0), cl::cat(quantization),
                               cl::desc("quantize weights to B-bit integers "
                                        "(2..8; 0: keep f32)"));
static cl::opt<int64_t> group("group", cl::init(128), cl::cat(quantization),
                              cl::desc("input elements per scale (--wbits)"));
static cl::opt<bool> perChannel("per-channel", cl::cat(quantization),
                                cl::desc("one scale per output channel"));
static cl::opt<bool> symmetric("sym", cl::cat(quantization),
                               cl::desc("symmetric codes (default: affine, "
                                        "with zero points)"));
static cl::opt<std::string> scaleType("scale", cl::init("f16"),
                                      cl::cat(quantization),
                                      cl::desc("scale type: f16, f32, bf16"));
static cl::opt<std::string> weightFormat(
    "weight-format", cl::cat(quantization),
    cl::desc("any #qc.format body (nf4, fp8_e4m3, double_quant, ...); "
             "instead of --wbits"));
static cl::list<std::string> layers("layers", cl::CommaSeparated,
                                    cl::cat(quantization),
                                    cl::desc("layer name globs to quantize "
                                             "(default: all but the output "
                                             "head)"));
static cl::list<std::string> exclude("exclude", cl::CommaSeparated,
                                     cl::cat(quantization),
                                     cl::desc("layer name globs to keep f32"));
static cl::opt<std::string> algo("algo", cl::init("rtn"), cl::cat(quantization),
                                 cl::desc("rtn (round to nearest) or gptq"));
static cl::opt<std::string>
    calib("calib", cl::cat(quantization),
          cl::desc("calibration text (gptq, smoothquant, "
                   "--kv-keys per-channel)"));
static cl::opt<int64_t> calibWindows("calib-windows", cl::init(256),
                                     cl::cat(quantization),
                                     cl::desc("256-byte calibration windows"));
static cl::opt<double> damp("damp", cl::init(0.01), cl::cat(quantization),
                            cl::desc("GPTQ damping, fraction of mean diag(H)"));
static cl::opt<int64_t> blockSize("block", cl::init(128), cl::cat(quantization),
                                  cl::desc("GPTQ block size"));
static cl::opt<bool> actOrder("act-order", cl::init(true), cl::cat(quantization),
                              cl::desc("GPTQ: columns by decreasing diag(H), "
                                       "static groups (default; =false: in "
                                       "order)"));
static cl::opt<bool> trueSequential(
    "true-sequential", cl::init(false), cl::cat(quantization),
    cl::desc("GPTQ: calibrate each stage on the outputs of the layers "
             "quantized before it (one calibration run per stage; default: "
             "one calibration of the fp32 model)"));
static cl::opt<std::string> reportPath(
    "report", cl::cat(quantization),
    cl::desc("write the per-layer report as CSV: format, SmoothQuant alpha, "
             "outlier columns, activations, and with --calib or --calib-stats "
             "the weights' output error on the calibration inputs"));
static cl::opt<std::string> statsPath(
    "calib-stats", cl::cat(quantization),
    cl::desc("calibration statistics file: written with --calib, read "
             "without (gptq)"));
static cl::opt<std::string> smoothAlpha(
    "smoothquant", cl::cat(quantization), cl::value_desc("ALPHA"),
    cl::desc("SmoothQuant before quantizing, migration strength ALPHA in "
             "[0, 1], or auto (searched per layer input for the weight "
             "format and --abits; needs --calib or --calib-stats)"));
static cl::opt<unsigned> abits(
    "abits", cl::init(0), cl::cat(quantization),
    cl::desc("round the inputs of quantized layers to B-bit integers (2..8; "
             "0: keep f32); with --wbits 8 --per-channel the CPU multiplies "
             "in int8"));
static cl::opt<std::string> actScale(
    "act-scale", cl::init("dynamic"), cl::cat(quantization),
    cl::desc("activation scales (--abits): dynamic (per token, at run time) "
             "or static (per tensor, from --calib or --calib-stats)"));
static cl::opt<double> outlierThreshold(
    "outlier-threshold", cl::cat(quantization), cl::value_desc("T"),
    cl::desc("LLM.int8(): input channels whose calibration absmax exceeds T "
             "(6.0 in the paper) stay in floating point, the rest use --abits "
             "(needs --calib or --calib-stats)"));
static cl::opt<bool> int8Activations(
    "int8-activations", cl::cat(quantization),
    cl::desc("quantized layers may round the activations of decode steps (up "
             "to 8 rows) to int8 per 128 elements and multiply in integers "
             "(AVX-512 VNNI CPUs): faster, slightly less exact"));
static cl::opt<bool> referenceWeights(
    "reference-weights", cl::Hidden, cl::cat(quantization),
    cl::desc("store quantized layers as the f32 matrices they stand for (the "
             "reference lowering, qc-dequantize-constants: for checking "
             "what the quantized lowerings compute)"));
static cl::list<std::string> layerFormats(
    "layer-format", cl::cat(quantization),
    cl::desc("GLOB=FORMAT: layers matching GLOB get FORMAT (a #qc.format "
             "body, or f32 to keep them); repeatable, first match wins"));

/// The #qc.format body the options ask for, or "" for none.
static std::string requestedFormat() {
  if (!weightFormat.empty())
    return weightFormat;
  if (wbits == 0)
    return "";
  std::string f = "int" + std::to_string(wbits) +
                  (symmetric ? ", symmetric" : ", affine");
  f += perChannel ? ", per_channel" : ", group = " + std::to_string(group);
  return f + ", scale = " + scaleType;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  quantc::hideOtherOptions({&general, &quantization});
  cl::ParseCommandLineOptions(
      argc, argv,
      "quantc: compile an ONNX model (or its IR, a .mlir file) to an "
      "artifact\n");
  if (command != "compile") {
    llvm::errs() << "quantc: error: unknown command '" << command
                 << "' (expected 'compile')\n";
    return 1;
  }
  if (kvCodes == "fp8") {
    kvBits = 8;
    kvFp8 = true;
  } else if (llvm::StringRef(kvCodes).getAsInteger(10, kvBits)) {
    llvm::errs() << "quantc: error: --kv-bits must be 8, 4, 2 or fp8, not '"
                 << kvCodes << "'\n";
    return 1;
  }
  if (target != "cpu" && target != "cuda") {
    llvm::errs() << "quantc: error: unknown target '" << target
                 << "' (this build knows 'cpu' and 'cuda')\n";
    return 1;
  }
  if (target == "cuda" && !quantc::isSupportedCudaChip(gpu)) {
    llvm::errs() << "quantc: error: --gpu must be one of "
                 << quantc::supportedCudaChips() << ", not '" << gpu << "'\n";
    return 1;
  }
  if (target != "cuda" && gpu.getNumOccurrences()) {
    llvm::errs() << "quantc: error: --gpu needs --target cuda\n";
    return 1;
  }
  if (target != "cuda" && cudaQmatmul.getNumOccurrences()) {
    llvm::errs() << "quantc: error: --cuda-qmatmul needs --target cuda\n";
    return 1;
  }
  if (kvBits && target != "cpu") {
    llvm::errs() << "quantc: error: --kv-bits: quantized KV caches run on the "
                    "cpu target only, not '"
                 << target << "'\n";
    return 1;
  }
  if (!kvBits && (kvGroup.getNumOccurrences() || kvKeys.getNumOccurrences() ||
                  kvPreRope)) {
    llvm::errs()
        << "quantc: error: --kv-group, --kv-keys and --kv-pre-rope need "
           "--kv-bits\n";
    return 1;
  }
  if (kvFp8 && kvKeys == "per-channel") {
    llvm::errs() << "quantc: error: --kv-keys per-channel takes integer codes "
                    "(--kv-bits 8, 4 or 2), not fp8\n";
    return 1;
  }
  if (kvBits && kvKeys == "per-channel" && calib.empty()) {
    llvm::errs() << "quantc: error: --kv-keys per-channel needs --calib TEXT "
                    "(the keys' ranges are calibrated on it)\n";
    return 1;
  }
  quantc::registerCpuExecutor(); // calibration runs the model on the CPU
  // Options are checked before any work: a mistake must not cost a
  // calibration run, nor compile an unquantized model without a word.
  if (algo != "rtn" && algo != "gptq") {
    llvm::errs() << "quantc: error: --algo must be rtn or gptq, not '" << algo
                 << "'\n";
    return 1;
  }
  if (requestedFormat().empty()) {
    // (cl::list's operator& gives its vector: std::addressof the option.)
    const cl::Option *needFormat[] = {
        &algo,         &calib,        &statsPath,
        std::addressof(layerFormats), &damp,  &blockSize,
        &actOrder,     &trueSequential, &reportPath,
        std::addressof(layers), std::addressof(exclude), &calibWindows,
        &group,        &perChannel,   &symmetric,
        &scaleType,    &smoothAlpha, &abits, &actScale, &outlierThreshold};
    bool kvCalib = kvBits && kvKeys == "per-channel"; // reads the text too
    for (const cl::Option *o : needFormat)
      if (o->getNumOccurrences() &&
          !(kvCalib && (o == &calib || o == &calibWindows))) {
        llvm::errs() << "quantc: error: --" << o->ArgStr
                     << " needs a weight format (--wbits B or "
                        "--weight-format FORMAT)\n";
        return 1;
      }
  }
  bool smooth = smoothAlpha.getNumOccurrences() > 0;
  double alphaValue = 0;
  if (smooth && smoothAlpha != "auto" &&
      (llvm::StringRef(smoothAlpha).trim().getAsDouble(alphaValue) ||
       !(alphaValue >= 0 && alphaValue <= 1))) {
    llvm::errs() << "quantc: error: --smoothquant must be in [0, 1] or auto, "
                    "not '"
                 << smoothAlpha << "'\n";
    return 1;
  }
  if (smooth && calib.empty() && statsPath.empty()) {
    llvm::errs() << "quantc: error: --smoothquant needs --calib TEXT (or "
                    "--calib-stats FILE from an earlier calibration)\n";
    return 1;
  }
  if (smooth && algo == "gptq" && calib.empty()) {
    llvm::errs() << "quantc: error: --smoothquant with --algo gptq needs "
                    "--calib TEXT (GPTQ calibrates the smoothed model "
                    "again)\n";
    return 1;
  }
  const bool staticActs = abits && actScale == "static";
  if (actScale != "dynamic" && actScale != "static") {
    llvm::errs() << "quantc: error: --act-scale must be dynamic or static, not '"
                 << actScale << "'\n";
    return 1;
  }
  if (abits.getNumOccurrences() && (abits < 2 || abits > 8)) {
    llvm::errs() << "quantc: error: --abits must be 2 to 8, not " << abits
                 << "\n";
    return 1;
  }
  if (actScale.getNumOccurrences() && !abits) {
    llvm::errs() << "quantc: error: --act-scale needs --abits B\n";
    return 1;
  }
  const bool splitOutliers = outlierThreshold.getNumOccurrences() > 0;
  if (splitOutliers && !(outlierThreshold > 0)) {
    llvm::errs() << "quantc: error: --outlier-threshold must be greater than "
                    "0, not "
                 << llvm::format("%g", outlierThreshold.getValue()) << "\n";
    return 1;
  }
  if (splitOutliers && !abits) {
    llvm::errs() << "quantc: error: --outlier-threshold needs --abits B (the "
                    "other channels' activation bits)\n";
    return 1;
  }
  if (splitOutliers && algo == "gptq") {
    llvm::errs() << "quantc: error: --outlier-threshold works with "
                    "round-to-nearest weights only (--algo rtn), not gptq\n";
    return 1;
  }
  // Options reading the statistics of the model as it is quantized: a
  // smoothed model must be calibrated again, so only text will do then.
  for (auto [asked, option] :
       {std::pair<bool, const char *>{splitOutliers, "--outlier-threshold"},
        {staticActs, "--act-scale static"}})
    if (asked && calib.empty() && (statsPath.empty() || smooth)) {
      llvm::errs() << "quantc: error: " << option << " needs --calib TEXT"
                   << (smooth ? " (the smoothed model is calibrated again)"
                              : " (or --calib-stats FILE)")
                   << "\n";
      return 1;
    }
  if (algo == "gptq" && (!(damp >= 0) || blockSize <= 0 || calibWindows <= 0)) {
    llvm::errs() << "quantc: error: --damp must be at least 0, --block and "
                    "--calib-windows positive\n";
    return 1;
  }
  mlir::MLIRContext context;
  llvm::SourceMgr sourceMgr;
  mlir::SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);
  auto start = std::chrono::steady_clock::now();
  auto step = [&](const std::string &line) {
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                             start)
                   .count();
    llvm::errs() << llvm::format("[%6.2f s] ", s) << line << "\n";
  };
  step("importing " + modelPath);
  // An `.mlir` file holds a model already in quantc's IR (what
  // quant-translate --import-onnx prints, or qc written by hand).
  mlir::OwningOpRef<mlir::ModuleOp> module;
  if (llvm::StringRef(modelPath).ends_with(".mlir")) {
    quantc::prepareCpuContext(&context);
    module = mlir::parseSourceFile<mlir::ModuleOp>(modelPath, sourceMgr,
                                                   &context);
    if (module && !module->lookupSymbol("main")) {
      llvm::errs() << "quantc: error: " << modelPath
                   << " has no function 'main' (the model's entry)\n";
      return 1;
    }
  } else {
    module = quantc::importOnnxFile(modelPath, &context);
  }
  if (!module)
    return 1;
  if (std::string format = requestedFormat(); !format.empty()) {
    mlir::PassManager pm(&context);
    // Statistics go through files: the user's (kept), else temporaries,
    // removed once the passes are done (a list: a FileRemover must not be
    // copied, as a vector's growth would, the copy's end deletes the file).
    std::list<llvm::FileRemover> temporaries;
    auto temporaryStats = [&](std::string &path) {
      llvm::SmallString<128> name;
      if (std::error_code ec = llvm::sys::fs::createTemporaryFile(
              "quantc-stats", "qcstats", name)) {
        llvm::errs() << "quantc: error: cannot create a temporary file: "
                     << ec.message() << "\n";
        return false;
      }
      path = name.str().str();
      temporaries.emplace_back(path);
      return true;
    };
    auto addCalibration = [&](const std::string &stats) {
      quantc::CalibrateOptions c;
      c.calib = calib;
      c.stats = stats;
      c.windows = calibWindows;
      c.layers.assign(layers.begin(), layers.end());
      c.exclude.assign(exclude.begin(), exclude.end());
      pm.addPass(quantc::createCalibrate(c));
    };
    // The smoothed model computes the same function as the imported one:
    // its statistics, not the weights, are what GPTQ must calibrate again.
    if (smooth) {
      std::string stats = statsPath;
      if (!calib.empty()) {
        if (stats.empty() && !temporaryStats(stats))
          return 1;
        addCalibration(stats);
      }
      quantc::SmoothQuantOptions o;
      o.alpha = smoothAlpha;
      o.format = format;
      o.abits = abits ? int(abits) : 8;
      o.stats = stats;
      o.layers.assign(layers.begin(), layers.end());
      o.exclude.assign(exclude.begin(), exclude.end());
      step("SmoothQuant, alpha " + smoothAlpha);
      pm.addPass(quantc::createSmoothQuant(o));
    }
    // Statistics of the model as weight quantization finds it, for static
    // activation scales.
    std::string actStats = smooth ? std::string() : statsPath.getValue();
    if (algo == "gptq") {
      if (calib.empty() && statsPath.empty()) {
        llvm::errs() << "quantc: error: --algo gptq needs --calib TEXT (or "
                        "--calib-stats FILE from an earlier calibration)\n";
        return 1;
      }
      std::string stats = smooth ? std::string() : statsPath.getValue();
      if (!calib.empty() && stats.empty() && !trueSequential &&
          !temporaryStats(stats))
        return 1;
      if (!calib.empty() && !trueSequential)
        addCalibration(stats);
      if (!trueSequential)
        actStats = stats;
      quantc::GptqOptions g;
      g.format = format;
      g.layerFormats = llvm::join(layerFormats, "; ");
      g.layers.assign(layers.begin(), layers.end());
      g.exclude.assign(exclude.begin(), exclude.end());
      g.stats = stats;
      g.damp = damp;
      g.block = blockSize;
      g.actOrder = actOrder;
      g.trueSequential = trueSequential;
      g.calib = calib;
      g.windows = calibWindows;
      step("GPTQ to #qc.format<" + format + ">");
      pm.addPass(quantc::createGptq(g));
    } else {
      // The report's output errors come from the statistics too.
      bool report = !reportPath.empty() && (!calib.empty() || !actStats.empty());
      if ((staticActs || splitOutliers || report) &&
          (actStats.empty() || !calib.empty())) {
        if (actStats.empty() && !temporaryStats(actStats))
          return 1;
        addCalibration(actStats);
      }
      if (splitOutliers) {
        quantc::SplitOutliersOptions o;
        o.threshold = outlierThreshold;
        o.stats = actStats;
        o.layers.assign(layers.begin(), layers.end());
        o.exclude.assign(exclude.begin(), exclude.end());
        step(llvm::formatv("splitting off input channels beyond {0}",
                           llvm::format("%g", outlierThreshold.getValue()))
                 .str());
        pm.addPass(quantc::createSplitOutliers(o));
      }
      step("quantizing weights to #qc.format<" + format + ">");
      quantc::QuantizeWeightsOptions q;
      q.format = format;
      q.layerFormats = llvm::join(layerFormats, "; ");
      q.layers.assign(layers.begin(), layers.end());
      q.exclude.assign(exclude.begin(), exclude.end());
      if (report)
        q.stats = actStats;
      pm.addPass(quantc::createQuantizeWeights(q));
    }
    if (abits) {
      if (staticActs && actStats.empty()) { // GPTQ, true-sequential
        if (!temporaryStats(actStats))
          return 1;
        addCalibration(actStats);
      }
      quantc::QuantizeActivationsOptions a;
      a.mode = actScale;
      a.bits = abits;
      a.stats = actStats;
      a.layers.assign(layers.begin(), layers.end());
      a.exclude.assign(exclude.begin(), exclude.end());
      step(llvm::formatv("quantizing activations to {0} bits, {1} scales",
                         abits.getValue(), actScale.getValue())
               .str());
      pm.addPass(quantc::createQuantizeActivations(a));
    }
    if (!reportPath.empty())
      pm.addPass(quantc::createReport({reportPath}));
    if (referenceWeights)
      pm.addPass(quantc::createDequantizeConstants());
    if (mlir::failed(pm.run(*module)))
      return 1;
  }
  // Read by qc-quantize-kv-cache in the target's pipeline, which checks
  // the values and that the model has a cache. Per-channel keys: their
  // ranges measured on the model as it will run (weights quantized).
  if (kvBits && kvKeys == "per-channel") {
    step("calibrating the KV cache's per-channel key ranges");
    mlir::PassManager pm(&context);
    quantc::CalibrateKvCacheOptions o;
    o.calib = calib;
    o.windows = calibWindows;
    o.bits = kvBits;
    o.preRope = kvPreRope;
    pm.addPass(quantc::createCalibrateKvCache(o));
    if (mlir::failed(pm.run(*module)))
      return 1;
  }
  if (kvBits) {
    mlir::Builder b(&context);
    (*module)->setAttr(
        quantc::kv::kQuantRequest,
        b.getDictionaryAttr(
            {b.getNamedAttr("bits", b.getI64IntegerAttr(kvBits)),
             b.getNamedAttr("group", b.getI64IntegerAttr(kvGroup)),
             b.getNamedAttr("keys", b.getStringAttr(kvKeys)),
             b.getNamedAttr("format", b.getStringAttr(kvFp8 ? "e4m3" : "int")),
             b.getNamedAttr("pre_rope", b.getBoolAttr(kvPreRope))}));
  }
  if (int8Activations)
    (*module)->setAttr(quantc::kInt8ActivationsAttr,
                       mlir::UnitAttr::get(&context));
  quantc::ArtifactOptions options;
  options.outputDir = outputDir;
  options.target = target;
  options.gpu = gpu;
  options.cudaQmatmul = cudaQmatmul;
  options.progress = step;
  return mlir::failed(quantc::writeArtifact(std::move(module), options)) ? 1
                                                                          : 0;
}
