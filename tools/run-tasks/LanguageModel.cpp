//===- LanguageModel.cpp - bits per byte and generation -------------------===//

#include "LanguageModel.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>

using namespace quantc;

namespace {

/// Inputs for token ids [batch, seq] at positions pastLength.. (with empty
/// KV caches, if `signature` has them), in the signature's order.
std::string makeInputs(const std::vector<TensorSignature> &signature,
                       const std::vector<int64_t> &ids,
                       int64_t batch, int64_t seq,
                       std::vector<HostTensor> &inputs,
                       int64_t pastLength = 0) {
  inputs.clear();
  for (const TensorSignature &sig : signature) {
    HostTensor t;
    t.dtype = sig.dtype;
    if (sig.name == "input_ids" || sig.name == "position_ids") {
      if (sig.dtype != DType::I64 || sig.shape.size() != 2)
        return "input '" + sig.name + "' must be i64 [batch, seq]";
      t.shape = {batch, seq};
      t.data.resize(batch * seq * 8);
      for (int64_t b = 0; b < batch; ++b)
        for (int64_t s = 0; s < seq; ++s)
          t.as<int64_t>()[b * seq + s] =
              sig.name == "input_ids" ? ids[b * seq + s] : pastLength + s;
    } else if (sig.role == QC_ROLE_KV_CACHE && sig.shape.size() == 4) {
      // An empty cache: every window starts from an empty context.
      t.shape = {batch, sig.shape[1], 0, sig.shape[3]};
      if (t.shape[1] < 0 || t.shape[3] < 0)
        return "cache input '" + sig.name + "' needs static heads and size";
    } else {
      return "don't know how to feed input '" + sig.name + "'";
    }
    inputs.push_back(std::move(t));
  }
  return "";
}

/// Runs the model on token ids [batch, seq] from position 0 (with empty
/// caches); the outputs land in `outputs`.
std::string runTokens(Model &model, const std::vector<int64_t> &ids,
                      int64_t batch, int64_t seq,
                      std::vector<HostTensor> &outputs) {
  std::vector<HostTensor> inputs;
  std::string why =
      makeInputs(model.inputs(), ids, batch, seq, inputs);
  if (!why.empty())
    return why;
  std::string error;
  auto result = model.run(inputs, error);
  if (llvm::failed(result))
    return error;
  outputs = std::move(*result);
  return "";
}

/// The position of the `logits` output (or of the only output).
std::optional<size_t> logitsIndex(const Model &model) {
  for (size_t i = 0; i < model.outputs().size(); ++i)
    if (model.outputs()[i].name == "logits")
      return i;
  if (model.outputs().size() == 1)
    return 0;
  return std::nullopt;
}

/// -log2 softmax(row)[next], in double.
double bitsOf(const float *row, int64_t vocab, int64_t next) {
  double max = row[0];
  for (int64_t v = 1; v < vocab; ++v)
    max = std::max<double>(max, row[v]);
  double sum = 0;
  for (int64_t v = 0; v < vocab; ++v)
    sum += std::exp(row[v] - max);
  return (std::log(sum) - (row[next] - max)) / std::log(2.0);
}

/// Bits of each next byte of `ids` (one window), fed one byte a step
/// through a fresh session.
std::string scoreStepwise(Model &model, const std::vector<int64_t> &ids,
                          size_t logitsAt, double &bits, int64_t &count) {
  std::string error;
  auto session = Session::create(model, error);
  if (llvm::failed(session))
    return error;
  for (size_t t = 0; t + 1 < ids.size(); ++t) {
    std::vector<HostTensor> inputs;
    std::string why =
        makeInputs((*session)->inputs(), {ids[t]}, 1, 1, inputs, t);
    if (!why.empty())
      return why;
    auto outputs = (*session)->run(inputs, error);
    if (llvm::failed(outputs))
      return error;
    const HostTensor &logits = (*outputs)[logitsAt];
    if (logits.dtype != DType::F32 || logits.shape.size() != 3 ||
        logits.numElements() != logits.shape[2])
      return "logits must be f32 [1, 1, vocab]";
    if (ids[t + 1] >= logits.shape[2])
      return "byte " + std::to_string(ids[t + 1]) +
             " is outside the vocabulary";
    bits += bitsOf(logits.as<float>(), logits.shape[2], ids[t + 1]);
    ++count;
  }
  return "";
}

} // namespace

std::string quantc::perplexity(Model &model, const std::string &textPath,
                               const PerplexityOptions &options,
                               PerplexityResult &result) {
  std::ifstream in(textPath, std::ios::binary);
  if (!in)
    return "cannot open text file '" + textPath + "'";
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  const int64_t length = options.windowLength, windows = options.windows;
  if ((int64_t)text.size() < windows * length)
    return "'" + textPath + "' holds " + std::to_string(text.size()) +
           " bytes; " + std::to_string(windows) + " windows of " +
           std::to_string(length) + " need " + std::to_string(windows * length);
  std::optional<size_t> logitsAt = logitsIndex(model);
  if (!logitsAt)
    return "the model has no 'logits' output";

  auto start = std::chrono::steady_clock::now();
  double totalBits = 0;
  int64_t predictions = 0;
  for (int64_t w0 = 0; w0 < windows; w0 += options.batch) {
    int64_t batch = std::min(options.batch, windows - w0);
    std::vector<int64_t> ids(batch * length);
    for (int64_t i = 0; i < batch * length; ++i)
      ids[i] = static_cast<unsigned char>(text[w0 * length + i]);
    if (options.stepwise) {
      for (int64_t b = 0; b < batch; ++b) {
        std::string why = scoreStepwise(
            model, {ids.begin() + b * length, ids.begin() + (b + 1) * length},
            *logitsAt, totalBits, predictions);
        if (!why.empty())
          return why;
      }
      std::fprintf(stderr, "perplexity: %lld/%lld windows, %.4f bits/byte so far\n",
          (long long)(w0 + batch), (long long)windows, totalBits / predictions);
      continue;
    }
    std::vector<HostTensor> outputs;
    std::string why = runTokens(model, ids, batch, length, outputs);
    if (!why.empty())
      return why;
    const HostTensor &logits = outputs[*logitsAt];
    if (logits.dtype != DType::F32 || logits.shape.size() != 3 ||
        logits.shape[0] != batch || logits.shape[1] != length)
      return "logits must be f32 [batch, seq, vocab]";
    int64_t vocab = logits.shape[2];
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t t = 0; t + 1 < length; ++t) {
        const float *row = logits.as<float>() + (b * length + t) * vocab;
        int64_t next = ids[b * length + t + 1];
        if (next >= vocab)
          return "byte " + std::to_string(next) + " is outside the vocabulary";
        totalBits += bitsOf(row, vocab, next);
        ++predictions;
      }
    std::fprintf(stderr, "perplexity: %lld/%lld windows, %.4f bits/byte so far\n",
                                 (long long)(w0 + batch), (long long)windows,
                                 totalBits / predictions);
  }
  result.bitsPerByte = totalBits / predictions;
  result.predictions = predictions;
  result.seconds = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - start)
                       .count();
  return "";
}

namespace {
/// Index of the largest logit of the last position.
int64_t argmaxLast(const HostTensor &logits) {
  int64_t seq = logits.shape[1], vocab = logits.shape[2];
  const float *row = logits.as<float>() + (seq - 1) * vocab;
  int64_t best = 0;
  for (int64_t v = 1; v < vocab; ++v)
    if (row[v] > row[best])
      best = v;
  return best;
}
} // namespace

std::string quantc::generate(Model &model, const std::string &prompt,
                             int64_t count, bool useCache,
                             GenerateResult &result) {
  if (prompt.empty())
    return "the prompt is empty";
  useCache &= model.hasKvCache();
  std::optional<size_t> logitsAt = logitsIndex(model);
  if (!logitsAt)
    return "the model has no 'logits' output";

  std::vector<int64_t> sequence;
  for (char c : prompt)
    sequence.push_back(static_cast<unsigned char>(c));
  // With a cache, the runtime keeps it between steps (a session); without,
  // every step recomputes the whole sequence.
  std::unique_ptr<Session> session;
  if (useCache) {
    std::string error;
    auto created = Session::create(model, error);
    if (llvm::failed(created))
      return error;
    session = std::move(*created);
  }
  auto clock = std::chrono::steady_clock::now;
  for (int64_t step = 0; step < count; ++step) {
    auto start = clock();
    std::vector<int64_t> ids =
        step == 0 || !useCache ? sequence
                               : std::vector<int64_t>{sequence.back()};
    std::vector<HostTensor> outputs;
    if (session) {
      std::vector<HostTensor> inputs;
      std::string why = makeInputs(session->inputs(), ids, 1, ids.size(),
                                   inputs, session->length());
      if (!why.empty())
        return why;
      std::string error;
      auto result = session->run(inputs, error);
      if (llvm::failed(result))
        return error;
      outputs = std::move(*result);
    } else {
      std::string why = runTokens(model, ids, 1, ids.size(), outputs);
      if (!why.empty())
        return why;
    }
    int64_t next = argmaxLast(outputs[*logitsAt]);
    sequence.push_back(next);
    result.tokens.push_back(next);
    double seconds = std::chrono::duration<double>(clock() - start).count();
    (step == 0 ? result.prefillSeconds : result.decodeSeconds) += seconds;
  }
  if (session)
    result.cacheBytesPerPosition =
        session->cacheBytes(result.cacheBytesAllocated);
  return "";
}
