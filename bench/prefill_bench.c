/* quantc side of bench/cpu.sh's prefill: an artifact through the runtime's
 * C API exactly as an application runs it (a session for models with a KV
 * cache, which then holds the prompt's keys and values), on a [batch, seq]
 * block of bytes ((i * 131 + 7) % 256, as bench/ort_bench.js feeds ONNX
 * Runtime). One untimed warm-up run, then the mean of `reps` runs.
 *   prefill_bench ARTIFACT BATCH SEQ [REPS]   prints {"prefill": tokens/s} */
#include "quantc/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s ARTIFACT BATCH SEQ [REPS]\n", argv[0]);
    return 2;
  }
  int64_t batch = atoll(argv[2]), seq = atoll(argv[3]);
  int reps = argc > 4 ? atoi(argv[4]) : 3;
  char error[512];
  qc_model *m = qc_model_load(argv[1], error, sizeof error);
  if (!m) {
    fprintf(stderr, "%s\n", error);
    return 1;
  }
  int64_t *ids = malloc(batch * seq * sizeof(int64_t));
  int64_t *pos = malloc(batch * seq * sizeof(int64_t));
  for (int64_t i = 0; i < batch * seq; ++i) {
    ids[i] = (i * 131 + 7) % 256;
    pos[i] = i % seq;
  }
  /* The data inputs, by name, in the model's order. */
  qc_tensor inputs[QC_MAX_RANK];
  size_t n = 0;
  for (size_t i = 0; i < qc_model_num_inputs(m); ++i) {
    const qc_tensor_info *info = qc_model_input(m, i);
    if (info->role != QC_ROLE_DATA)
      continue;
    int is_ids = strcmp(info->name, "input_ids") == 0;
    if (!is_ids && strcmp(info->name, "position_ids") != 0) {
      fprintf(stderr, "don't know how to feed input '%s'\n", info->name);
      return 1;
    }
    qc_tensor t = {QC_I64, 2, {batch, seq}, is_ids ? ids : pos, NULL, QC_MEMORY_HOST};
    inputs[n++] = t;
  }
  int cached = qc_model_has_kv_cache(m);
  qc_session *s = cached ? qc_session_create(m, error, sizeof error) : NULL;
  size_t outs = qc_model_num_outputs(m);
  qc_tensor *out = calloc(outs, sizeof(qc_tensor));
  double total = 0;
  for (int r = 0; r <= reps; ++r) {
    if (s)
      qc_session_reset(s);
    double t0 = now();
    int rc = s ? qc_session_run(s, inputs, n, out, outs, error, sizeof error)
               : qc_model_run(m, inputs, n, out, outs, error, sizeof error);
    if (rc != 0) {
      fprintf(stderr, "%s\n", error);
      return 1;
    }
    if (r > 0) /* the first run is the warm-up */
      total += now() - t0;
    for (size_t o = 0; o < outs; ++o)
      qc_tensor_release(&out[o]);
  }
  printf("{\"prefill\": %.1f}\n", batch * seq / (total / reps));
  if (s)
    qc_session_free(s);
  qc_model_free(m);
  free(out);
  free(ids);
  free(pos);
  return 0;
}
