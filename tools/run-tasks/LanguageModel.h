//===- LanguageModel.h - byte-level LM tasks over a compiled model -*- C++ -*-===//
//
// The protocol of ../shared/EVAL.md for bits per byte, and greedy
// generation, for models with the inputs of the shared byte-level language
// models: `input_ids` [batch, seq], optionally `position_ids` [batch, seq]
// and `past_key_values.{i}.key/value` [batch, kv_heads, past, head_dim],
// with `logits` [batch, seq, 256] and `present.{i}.key/value` outputs.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTC_TOOLS_RUN_TASKS_LANGUAGEMODEL_H
#define QUANTC_TOOLS_RUN_TASKS_LANGUAGEMODEL_H

#include "quantc/Execution/Model.h"

#include <string>

namespace quantc {

struct PerplexityOptions {
  int64_t windows = 256;
  int64_t windowLength = 256;
  int64_t batch = 16;
  /// Score each window one byte at a time through a session with the KV
  /// cache (the decode path; decoder-with-past models) instead of whole
  /// windows in one call.
  bool stepwise = false;
};

struct PerplexityResult {
  double bitsPerByte = 0;
  int64_t predictions = 0;
  double seconds = 0;
};

/// Bits per byte of `model` on the first windows x windowLength bytes of
/// `textPath`, each window scored from an empty context on its next-byte
/// predictions. Prints progress per batch to stderr. Empty string on
/// success, else what went wrong.
std::string perplexity(Model &model, const std::string &textPath,
                       const PerplexityOptions &options,
                       PerplexityResult &result);

struct GenerateResult {
  std::vector<int64_t> tokens; // the generated ones, after the prompt
  double prefillSeconds = 0, decodeSeconds = 0;
  /// With the cache: its bytes per position and its buffers' bytes.
  int64_t cacheBytesPerPosition = 0, cacheBytesAllocated = 0;
};

/// Greedy decoding of `count` bytes after `prompt`. With a decoder-with-past
/// model and `useCache`, the prompt is run once and each new byte alone
/// with the cache the previous step returned; otherwise every step reruns
/// the whole sequence. Empty string on success, else what went wrong.
std::string generate(Model &model, const std::string &prompt, int64_t count,
                     bool useCache, GenerateResult &result);

} // namespace quantc

#endif // QUANTC_TOOLS_RUN_TASKS_LANGUAGEMODEL_H
