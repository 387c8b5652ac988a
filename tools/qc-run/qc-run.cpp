//===- qc-run.cpp - run an artifact with the runtime alone ----------------===//
//
// qc-run ARTIFACT [--input NAME=FILE.npy | FILE.npy]... [-o DIR]
//        [--repeat N] [--timing]
// qc-run ARTIFACT --perplexity TEXT [--windows N] [--batch B] [--stepwise]
// qc-run ARTIFACT --generate PROMPT [-n N] [--no-cache]
// qc-run --backends
//
// quant-run for deployment machines: it links only the quantc runtime (no
// MLIR or LLVM libraries), so it runs artifacts of every target the
// runtime has a backend for (cpu, cuda) where the compiler is not
// installed. Inputs and outputs are NumPy .npy files.
//
//===----------------------------------------------------------------------===//

#include "LanguageModel.h"
#include "NpyFiles.h"
#include "RunCommon.h"

#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace quantc;

namespace {

int fail(const std::string &message) {
  std::fprintf(stderr, "qc-run: error: %s\n", message.c_str());
  return 1;
}

const char *const kUsage =
    "usage: qc-run ARTIFACT [--input NAME=FILE.npy]... [-o DIR] [--repeat N] "
    "[--timing]\n"
    "       qc-run ARTIFACT --perplexity TEXT [--windows N] [--batch B] "
    "[--stepwise]\n"
    "       qc-run ARTIFACT --generate PROMPT [-n N] [--no-cache]\n"
    "       qc-run --backends\n";

/// A positive integer option's value, or -1.
int64_t positive(const char *text) {
  char *end = nullptr;
  long long v = std::strtoll(text, &end, 10);
  return end && *end == 0 && v > 0 ? v : -1;
}

} // namespace

int main(int argc, char **argv) {
  std::string artifact, perplexityText, prompt, outputDir;
  std::vector<std::string> inputArgs;
  PerplexityOptions perplexityOptions;
  int64_t count = 32, repeat = 1;
  bool timing = false, noCache = false, generate = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](std::string &out) {
      if (i + 1 >= argc)
        return false;
      out = argv[++i];
      return true;
    };
    auto number = [&](int64_t &out) {
      std::string text;
      if (!value(text) || (out = positive(text.c_str())) < 0)
        return false;
      return true;
    };
    bool ok = true;
    if (a == "--backends") {
      std::printf("%s\n", qc_runtime_backends());
      return 0;
    } else if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--input") {
      std::string v;
      ok = value(v);
      inputArgs.push_back(v);
    } else if (a == "-o") {
      ok = value(outputDir);
    } else if (a == "--repeat") {
      ok = number(repeat);
    } else if (a == "--timing") {
      timing = true;
    } else if (a == "--perplexity") {
      ok = value(perplexityText);
    } else if (a == "--windows") {
      ok = number(perplexityOptions.windows);
    } else if (a == "--batch") {
      ok = number(perplexityOptions.batch);
    } else if (a == "--stepwise") {
      perplexityOptions.stepwise = true;
    } else if (a == "--generate") {
      ok = value(prompt);
      generate = true;
    } else if (a == "-n") {
      ok = number(count);
    } else if (a == "--no-cache") {
      noCache = true;
    } else if (!a.empty() && a[0] != '-' && artifact.empty()) {
      artifact = a;
    } else {
      return fail("unknown argument '" + a + "'\n" + kUsage);
    }
    if (!ok)
      return fail("'" + a + "' needs a " +
                  (a == "--input" || a == "-o" || a == "--perplexity" ||
                           a == "--generate"
                       ? "value"
                       : "positive number"));
  }
  if (artifact.empty())
    return fail(std::string("no artifact given\n") + kUsage);

  auto start = std::chrono::steady_clock::now();
  std::string why;
  auto model = ArtifactModel::load(artifact, why);
  if (llvm::failed(model))
    return fail(why);
  auto loaded = std::chrono::steady_clock::now();
  using Seconds = std::chrono::duration<double>;

  if (!perplexityText.empty()) {
    PerplexityResult result;
    why = perplexity(**model, perplexityText, perplexityOptions, result);
    if (!why.empty())
      return fail(why);
    std::printf("bits per byte: %.4f (%lld predictions, %.1f s, %.0f "
                "tokens/s)\n",
                result.bitsPerByte, (long long)result.predictions,
                result.seconds,
                perplexityOptions.windows * perplexityOptions.windowLength /
                    result.seconds);
    return 0;
  }
  if (generate) {
    GenerateResult result;
    why = quantc::generate(**model, prompt, count, !noCache, result);
    if (!why.empty())
      return fail(why);
    std::string text;
    for (int64_t t : result.tokens)
      text += (t >= 32 && t < 127) || t == '\n' ? static_cast<char>(t) : '?';
    std::printf("%s%s\ntokens:", prompt.c_str(), text.c_str());
    for (int64_t t : result.tokens)
      std::printf(" %lld", (long long)t);
    int64_t decoded = result.tokens.size() - 1;
    std::printf("\nprefill %.1f ms; decode %.1f tokens/s (%lld tokens)\n",
                result.prefillSeconds * 1e3,
                decoded > 0 ? decoded / result.decodeSeconds : 0.0,
                (long long)decoded);
    if (result.cacheBytesPerPosition > 0)
      std::printf("KV cache: %lld bytes a position, %lld bytes allocated\n",
                  (long long)result.cacheBytesPerPosition,
                  (long long)result.cacheBytesAllocated);
    return 0;
  }

  const auto &sigs = (*model)->inputs();
  std::vector<HostTensor> inputs(sigs.size());
  std::vector<bool> given(sigs.size(), false);
  for (size_t k = 0; k < inputArgs.size(); ++k) {
    std::string name, file;
    splitInputArgument(inputArgs[k], name, file);
    HostTensor t;
    why = readNpy(file, t);
    if (why.empty())
      why = placeInput(sigs, k, name, file, std::move(t), inputs, given);
    if (!why.empty())
      return fail(why);
  }
  if (std::string missing = missingInput(sigs, given); !missing.empty())
    return fail(missing);

  auto runStart = std::chrono::steady_clock::now();
  std::vector<HostTensor> outputs;
  for (int64_t r = 0; r < repeat; ++r) {
    auto result = (*model)->run(inputs, why);
    if (llvm::failed(result))
      return fail(why);
    outputs = std::move(*result);
  }
  auto end = std::chrono::steady_clock::now();
  if (timing)
    std::fprintf(stderr, "load %.3f s, run %.4f s per call (%lld calls)\n",
                 Seconds(loaded - start).count(),
                 Seconds(end - runStart).count() / repeat, (long long)repeat);
  if (!outputDir.empty() && mkdir(outputDir.c_str(), 0777) != 0 &&
      errno != EEXIST)
    return fail("cannot create '" + outputDir + "': " + std::strerror(errno));
  for (size_t i = 0; i < outputs.size(); ++i) {
    const std::string &name = (*model)->outputs()[i].name;
    std::printf("%s\n", summarize(name, outputs[i]).c_str());
    if (outputDir.empty())
      continue;
    why = writeNpy(outputDir + "/" + outputFileName(name, "npy"), outputs[i]);
    if (!why.empty())
      return fail(why);
  }
  return 0;
}
