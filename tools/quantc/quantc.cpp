//===- quantc.cpp - the driver: ONNX in, runnable artifact out ------------===//
//
//   quantc compile model.onnx -o out/ [--target cpu]
//
//===----------------------------------------------------------------------===//

#include "quantc/Frontend/OnnxImporter.h"
#include "quantc/Target/CPU/Artifact.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Format.h"
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
  quantc::ArtifactOptions options;
  options.outputDir = outputDir;
  options.progress = step;
  return mlir::failed(quantc::writeArtifact(std::move(module), options)) ? 1
                                                                          : 0;
}
