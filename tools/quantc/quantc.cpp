//===- quantc.cpp - the driver: ONNX in, runnable artifact out ------------===//
//
//   quantc compile model.onnx -o out/ [--target cpu]
//       [--wbits B [--group G | --per-channel] [--sym] [--scale f16|f32|bf16]
//        | --weight-format "int4, affine, group = 128, scale = f16"]
//       [--layers GLOB,...] [--exclude GLOB,...]
//
//===----------------------------------------------------------------------===//

#include "quantc/Frontend/OnnxImporter.h"
#include "quantc/Target/CPU/Artifact.h"
#include "quantc/Transforms/Calibration.h"
#include "quantc/Transforms/Passes.h"

#include "mlir/Pass/PassManager.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>

namespace cl = llvm::cl;

static cl::opt<std::string> command(cl::Positional, cl::Required,
                                    cl::desc("<command: compile>"));
static cl::opt<std::string> modelPath(cl::Positional, cl::Required,
                                      cl::desc("<model.onnx>"));
static cl::opt<std::string> outputDir("o", cl::Required,
                                      cl::desc("artifact folder to write"),
                                      cl::value_desc("dir"));
static cl::opt<std::string> target("target", cl::init("cpu"),
                                   cl::desc("target (cpu)"));

static cl::OptionCategory quantization("Weight quantization (round to nearest)");
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
                                             "(default: *.blocks.*)"));
static cl::list<std::string> exclude("exclude", cl::CommaSeparated,
                                     cl::cat(quantization),
                                     cl::desc("layer name globs to keep f32"));
static cl::opt<std::string> algo("algo", cl::init("rtn"), cl::cat(quantization),
                                 cl::desc("rtn (round to nearest) or gptq"));
static cl::opt<std::string> calib("calib", cl::cat(quantization),
                                  cl::desc("calibration text (gptq)"));
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
static cl::opt<std::string> reportPath("report", cl::cat(quantization),
                                       cl::desc("write the per-layer report "
                                                "as CSV"));

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
  cl::ParseCommandLineOptions(argc, argv,
                              "quantc: compile an ONNX model to an artifact\n");
  if (command != "compile") {
    llvm::errs() << "quantc: error: unknown command '" << command
                 << "' (expected 'compile')\n";
    return 1;
  }
  if (target != "cpu") {
    llvm::errs() << "quantc: error: unknown target '" << target
                 << "' (this build knows 'cpu')\n";
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
  auto module = quantc::importOnnxFile(modelPath, &context);
  if (!module)
    return 1;
  if (std::string format = requestedFormat(); !format.empty()) {
    if (algo != "rtn" && algo != "gptq") {
      llvm::errs() << "quantc: error: --algo must be rtn or gptq, not '"
                   << algo << "'\n";
      return 1;
    }
    if (algo == "gptq") {
      if (calib.empty()) {
        llvm::errs() << "quantc: error: --algo gptq needs --calib TEXT\n";
        return 1;
      }
      if (blockSize <= 0 || damp < 0) {
        llvm::errs() << "quantc: error: --block must be positive and --damp "
                        "not negative\n";
        return 1;
      }
      quantc::CalibrationOptions c;
      c.textPath = calib;
      c.windows = calibWindows;
      c.layers.assign(layers.begin(), layers.end());
      c.exclude.assign(exclude.begin(), exclude.end());
      c.progress = step;
      std::string error;
      step("GPTQ to #qc.format<" + format + ">");
      quantc::numerics::GptqOptions g;
      g.damping = damp;
      g.blockSize = blockSize;
      g.actOrder = actOrder;
      auto reports = quantc::gptqQuantizeModel(
          *module, c, format, g, trueSequential,
          [&](const quantc::LayerReport &r) {
            step(llvm::formatv("  {0,-18} {1,5} x {2,-5} rel. output error "
                               "{3:e2}  {4:f2} s",
                               r.layer, r.k, r.n, r.outputError, r.seconds)
                     .str());
          },
          error);
      if (mlir::failed(reports)) {
        llvm::errs() << "quantc: error: " << error << "\n";
        return 1;
      }
      if (!reportPath.empty()) {
        std::error_code ec;
        llvm::raw_fd_ostream csv(reportPath, ec);
        if (ec) {
          llvm::errs() << "quantc: error: cannot write '" << reportPath
                       << "': " << ec.message() << "\n";
          return 1;
        }
        csv << "layer,k,n,format,relative_output_error,seconds\n";
        for (const quantc::LayerReport &r : *reports)
          csv << r.layer << "," << r.k << "," << r.n << ",\"" << format
              << "\"," << llvm::formatv("{0:e6}", r.outputError) << ","
              << llvm::formatv("{0:f3}", r.seconds) << "\n";
      }
    } else {
      step("quantizing weights to #qc.format<" + format + ">");
      quantc::QuantizeWeightsOptions q;
      q.format = format;
      q.layers.assign(layers.begin(), layers.end());
      q.exclude.assign(exclude.begin(), exclude.end());
      mlir::PassManager pm(&context);
      pm.addPass(quantc::createQuantizeWeights(q));
      if (mlir::failed(pm.run(*module)))
        return 1;
    }
  }
  quantc::ArtifactOptions options;
  options.outputDir = outputDir;
  options.progress = step;
  return mlir::failed(quantc::writeArtifact(std::move(module), options)) ? 1
                                                                          : 0;
}
