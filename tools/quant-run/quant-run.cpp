//===- quant-run.cpp - run a model on the host CPU ------------------------===//
//
// quant-run MODEL --input FILE.pb|NAME=FILE.npy ... [-o DIR]
// quant-run MODEL --perplexity TEXT
// quant-run MODEL --generate PROMPT -n N [--no-cache]
//
// MODEL is an artifact folder (from `quantc compile`, run with the runtime)
// or an ONNX model / quantc IR (.mlir), compiled with the CPU pipeline and
// run in-process (JIT). Inputs are onnx.TensorProto or .npy files matched
// to the model's inputs by name (or by position when unnamed); each output
// is written as DIR/<name>.pb (or .npy) and summarized on stdout.
//
//===----------------------------------------------------------------------===//

#include "LanguageModel.h"
#include "RunCommon.h"
#include "TensorFiles.h"

#include "quantc/Frontend/OnnxImporter.h"
#include "quantc/Target/CPU/Jit.h"
#include "quantc/Target/CPU/Pipeline.h"
#include "quantc/ToolOptions.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>

using namespace mlir;
using namespace quantc;
namespace cl = llvm::cl;

// --help lists these only; LLVM's own options stay usable and are
// listed by --help-hidden.
static cl::OptionCategory options("quant-run options");
static cl::opt<std::string>
    modelPath(cl::Positional, cl::Required,
              cl::desc("<artifact folder | model.onnx | model.mlir>"),
              cl::cat(options));
static cl::list<std::string>
    inputFiles("input",
               cl::desc("an input tensor: NAME=FILE.npy, FILE.npy (by "
                        "position) or FILE.pb (onnx.TensorProto, by its name)"),
               cl::value_desc("file"), cl::cat(options));
static cl::opt<std::string> outputFormat(
    "output-format", cl::init("pb"),
    cl::desc("format of the output files: pb (onnx.TensorProto) or npy"),
    cl::cat(options));
static cl::opt<std::string> outputDir("o", cl::desc("folder for the outputs"),
                                      cl::value_desc("dir"), cl::cat(options));

static cl::opt<bool> timing("timing",
                            cl::desc("print compile and run times (stderr)"),
                            cl::cat(options));
static cl::opt<unsigned> repeat("repeat", cl::init(1),
                                cl::desc("run the model this many times"),
                                cl::cat(options));

static cl::opt<std::string>
    perplexityText("perplexity", cl::value_desc("text file"),
                   cl::desc("bits per byte on the text, with the protocol of "
                            "shared/EVAL.md (256 windows of 256 bytes)"),
                   cl::cat(options));
static cl::opt<int64_t> windows("windows", cl::init(256),
                                cl::desc("windows for --perplexity"),
                                cl::cat(options));
static cl::opt<bool> stepwise(
    "stepwise",
    cl::desc("--perplexity one byte per step through the KV cache (the "
             "decode path; decoder-with-past models)"),
    cl::cat(options));
static cl::opt<int64_t> batchSize("batch", cl::init(16),
                                  cl::desc("windows per model call"),
                                  cl::cat(options));

static cl::opt<std::string> generatePrompt(
    "generate", cl::value_desc("prompt"),
    cl::desc("greedy-decode bytes after the prompt (with the KV cache of a "
             "decoder-with-past model)"),
    cl::cat(options));
static cl::opt<int64_t> generateCount("n", cl::init(32),
                                      cl::desc("bytes to generate"),
                                      cl::cat(options));
static cl::opt<bool>
    noCache("no-cache", cl::desc("recompute the whole sequence at every step"),
            cl::cat(options));

static int fail(const llvm::Twine &message) {
  llvm::errs() << "quant-run: error: " << message << "\n";
  return 1;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  quantc::hideOtherOptions({&options});
  cl::ParseCommandLineOptions(argc, argv, "quantc: run a model on the CPU\n");

  // Options are checked before any model is compiled or loaded.
  if (outputFormat != "pb" && outputFormat != "npy")
    return fail("--output-format must be pb or npy, not '" + outputFormat +
                "'");

  MLIRContext context;
  prepareCpuContext(&context);
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);

  auto compileStart = std::chrono::steady_clock::now();
  std::unique_ptr<Model> loaded;
  if (llvm::sys::fs::is_directory(modelPath)) {
    // An artifact folder (quantc compile): run it with the runtime.
    std::string why;
    auto artifact = ArtifactModel::load(modelPath, why);
    if (failed(artifact))
      return fail(why);
    loaded = std::move(*artifact);
  } else {
    OwningOpRef<ModuleOp> module;
    if (llvm::StringRef(modelPath).ends_with(".mlir"))
      module = parseSourceFile<ModuleOp>(modelPath, sourceMgr, &context);
    else
      module = importOnnxFile(modelPath, &context);
    if (!module)
      return 1;
    auto jit = JitModel::compile(std::move(module));
    if (failed(jit))
      return 1;
    loaded = std::move(*jit);
  }
  Model *model = loaded.get();

  if (!perplexityText.empty()) {
    PerplexityOptions options;
    options.windows = windows;
    options.batch = batchSize;
    options.stepwise = stepwise;
    PerplexityResult result;
    std::string why = perplexity(*model, perplexityText, options, result);
    if (!why.empty())
      return fail(why);
    llvm::outs() << llvm::format(
        "bits per byte: %.4f (%lld predictions, %.1f s, %.0f tokens/s)\n",
        result.bitsPerByte, (long long)result.predictions, result.seconds,
        options.windows * options.windowLength / result.seconds);
    return 0;
  }

  if (!generatePrompt.empty()) {
    GenerateResult result;
    std::string why =
        generate(*model, generatePrompt, generateCount, !noCache, result);
    if (!why.empty())
      return fail(why);
    std::string text;
    for (int64_t t : result.tokens)
      text += (t >= 32 && t < 127) || t == '\n' ? static_cast<char>(t) : '?';
    llvm::outs() << generatePrompt << text << "\n";
    llvm::outs() << "tokens:";
    for (int64_t t : result.tokens)
      llvm::outs() << " " << t;
    llvm::outs() << "\n";
    int64_t decoded = result.tokens.size() - 1;
    llvm::outs() << llvm::format(
        "prefill %.1f ms; decode %.1f tokens/s (%lld tokens)\n",
        result.prefillSeconds * 1e3,
        decoded > 0 ? decoded / result.decodeSeconds : 0.0,
        (long long)decoded);
    if (result.cacheBytesPerPosition > 0)
      llvm::outs() << llvm::format(
          "KV cache: %lld bytes a position, %lld bytes allocated\n",
          (long long)result.cacheBytesPerPosition,
          (long long)result.cacheBytesAllocated);
    return 0;
  }

  const auto &sigs = model->inputs();
  std::vector<HostTensor> inputs(sigs.size());
  std::vector<bool> given(sigs.size(), false);
  for (auto [k, argument] : llvm::enumerate(inputFiles)) {
    HostTensor t;
    std::string name, file;
    splitInputArgument(argument, name, file);
    std::string why = llvm::StringRef(file).ends_with(".npy")
                          ? readNpy(file, t)
                          : readTensorProto(file, t, name);
    if (why.empty())
      why = placeInput(sigs, k, name, file, std::move(t), inputs, given);
    if (!why.empty())
      return fail(why);
  }
  if (std::string missing = missingInput(sigs, given); !missing.empty())
    return fail(missing);

  auto runStart = std::chrono::steady_clock::now();
  std::string error;
  FailureOr<std::vector<HostTensor>> outputs = failure();
  for (unsigned r = 0; r < std::max(1u, unsigned(repeat)); ++r) {
    outputs = model->run(inputs, error);
    if (failed(outputs))
      return fail(error);
  }
  auto end = std::chrono::steady_clock::now();
  if (timing) {
    using S = std::chrono::duration<double>;
    llvm::errs() << llvm::format("compile %.3f s, run %.4f s per call (%u calls)\n",
                                 S(runStart - compileStart).count(),
                                 S(end - runStart).count() / std::max(1u, unsigned(repeat)),
                                 std::max(1u, unsigned(repeat)));
  }

  if (!outputDir.empty())
    if (std::error_code ec = llvm::sys::fs::create_directories(outputDir))
      return fail("cannot create '" + outputDir + "': " + ec.message());
  for (auto [i, t] : llvm::enumerate(*outputs)) {
    const std::string &name = model->outputs()[i].name;
    llvm::outs() << summarize(name, t) << "\n";
    if (outputDir.empty())
      continue;
    llvm::SmallString<256> path(outputDir);
    llvm::sys::path::append(path, outputFileName(name, outputFormat));
    std::string why = outputFormat == "npy"
                          ? writeNpy(std::string(path), t)
                          : writeTensorProto(std::string(path), t, name);
    if (!why.empty())
      return fail(why);
  }
  return 0;
}
