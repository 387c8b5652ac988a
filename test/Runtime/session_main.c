/* The session API from C: decoding token by token with the runtime's KV
 * caches must give the logits of running the whole sequence at once, also
 * after the caches grow (past 16 positions, their first capacity); misuse
 * is an error, not a crash. Prints the largest difference it saw. */
#include "quantc/runtime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { LENGTH = 40, VOCAB = 256 };

static int fail(const char *what, const char *error) {
  fprintf(stderr, "%s: %s\n", what, error);
  return 1;
}

/* Runs tokens [from, to) of `ids` as one step of session `s`. */
static int step(qc_session *s, int64_t *ids, int64_t from, int64_t to,
                qc_tensor *logits, char *error, size_t size) {
  int64_t positions[LENGTH];
  for (int64_t i = from; i < to; ++i)
    positions[i - from] = i;
  qc_tensor in[2] = {{QC_I64, 2, {1, to - from}, ids + from, NULL, QC_MEMORY_HOST},
                     {QC_I64, 2, {1, to - from}, positions, NULL, QC_MEMORY_HOST}};
  return qc_session_run(s, in, 2, logits, 1, error, size);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s ARTIFACT\n", argv[0]);
    return 2;
  }
  char error[512];
  qc_model *m = qc_model_load(argv[1], error, sizeof error);
  if (!m)
    return fail("load", error);
  size_t caches = 0;
  for (size_t i = 0; i < qc_model_num_inputs(m); ++i) {
    const qc_tensor_info *info = qc_model_input(m, i);
    if (info->role == QC_ROLE_KV_CACHE)
      ++caches;
    if (info->role != QC_ROLE_DATA)
      printf("input %s: %s\n", info->name,
             info->role == QC_ROLE_KV_CACHE ? info->kv_present : "length");
  }
  printf("caches %zu outputs %zu\n", caches, qc_model_num_outputs(m));

  int64_t ids[LENGTH];
  for (int i = 0; i < LENGTH; ++i)
    ids[i] = "The jury further said in term-end presentments"[i];

  /* Reference: the whole sequence in one step. */
  qc_session *whole = qc_session_create(m, error, sizeof error);
  qc_tensor all;
  if (!whole || step(whole, ids, 0, LENGTH, &all, error, sizeof error))
    return fail("whole", error);

  /* A prompt of 5, then one token per step. */
  qc_session *s = qc_session_create(m, error, sizeof error);
  if (!s)
    return fail("create", error);
  int64_t allocated = -1;
  printf("cache bytes before a run: %lld\n",
         (long long)qc_session_cache_bytes(s, &allocated));
  double worst = 0, scale = 0;
  for (int64_t at = 0; at < LENGTH;) {
    int64_t to = at == 0 ? 5 : at + 1;
    qc_tensor logits;
    if (step(s, ids, at, to, &logits, error, sizeof error))
      return fail("step", error);
    const float *got = (const float *)logits.data + (to - at - 1) * VOCAB;
    const float *want = (const float *)all.data + (to - 1) * VOCAB;
    for (int v = 0; v < VOCAB; ++v) {
      worst = fmax(worst, fabs((double)got[v] - want[v]));
      scale = fmax(scale, fabs((double)want[v]));
    }
    qc_tensor_release(&logits);
    at = to;
  }
  printf("length %lld, max |step - whole| / max |whole| below 1e-4: %s\n",
         (long long)qc_session_length(s), worst / scale < 1e-4 ? "yes" : "no");
  int64_t perPosition = qc_session_cache_bytes(s, &allocated);
  printf("cache bytes: %lld a position, %lld allocated\n",
         (long long)perPosition, (long long)allocated);

  /* The caches read back hold every position. */
  qc_tensor present;
  if (qc_session_get_cache(s, 0, &present, error, sizeof error))
    return fail("get", error);
  printf("cache 0: [%lld, %lld, %lld, %lld]\n", (long long)present.shape[0],
         (long long)present.shape[1], (long long)present.shape[2],
         (long long)present.shape[3]);
  qc_tensor_release(&present);

  /* Misuse. */
  qc_tensor in[2] = {{QC_I64, 2, {1, 1}, ids, NULL, QC_MEMORY_HOST}};
  if (qc_model_run(m, in, 1, &all, 1, error, sizeof error) != 0)
    printf("run without session: %s\n", error);
  int64_t two[4] = {1, 2, 3, 4}, pos[4] = {40, 40, 41, 41};
  qc_tensor batch2[2] = {{QC_I64, 2, {2, 2}, two, NULL, QC_MEMORY_HOST},
                         {QC_I64, 2, {2, 2}, pos, NULL, QC_MEMORY_HOST}};
  qc_tensor out;
  if (qc_session_run(s, batch2, 2, &out, 1, error, sizeof error) != 0)
    printf("other batch: %s\n", error);
  qc_session_reset(s);
  if (qc_session_run(s, batch2, 2, &out, 1, error, sizeof error) == 0) {
    printf("after reset: length %lld, logits [%lld, %lld, %lld]\n",
           (long long)qc_session_length(s), (long long)out.shape[0],
           (long long)out.shape[1], (long long)out.shape[2]);
    qc_tensor_release(&out);
  }
  if (qc_session_set_caches(s, &present, 1, error, sizeof error) != 0)
    printf("set one cache: %s\n", error);
  if (qc_session_get_cache(s, 99, &present, error, sizeof error) != 0)
    printf("get cache 99: %s\n", error);

  qc_tensor_release(&all);
  qc_session_free(s);
  qc_session_free(whole);
  qc_model_free(m);
  return 0;
}
