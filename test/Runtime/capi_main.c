/* A C program using the runtime's C API only (no MLIR, no LLVM): loads an
 * artifact, checks its signature, target and weights table, runs it on
 * token ids and prints the logits' shape and a checksum of the values; then
 * checks that calls a run-time check refuses give their memory back. With a
 * second artifact (one for a target this runtime has no backend for), prints
 * why it is refused. */
#include "quantc/runtime.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

/* Bytes the heap holds for the program (glibc; 0 elsewhere). */
static size_t heapInUse(void) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
  return mallinfo2().uordblks;
#else
  return 0;
#endif
}

int main(int argc, char **argv) {
  if (argc != 2 && argc != 3) {
    fprintf(stderr, "usage: %s ARTIFACT [FOREIGN_ARTIFACT]\n", argv[0]);
    return 2;
  }
  char error[512];
  printf("backends: %s\n", qc_runtime_backends());
  if (argc == 3) {
    qc_model *foreign = qc_model_load(argv[2], error, sizeof error);
    printf("foreign artifact: %s\n", foreign ? "loaded" : error);
    qc_model_free(foreign);
  }
  qc_model *m = qc_model_load(argv[1], error, sizeof error);
  if (!m) {
    fprintf(stderr, "load failed: %s\n", error);
    return 1;
  }
  printf("inputs %zu outputs %zu\n", qc_model_num_inputs(m),
         qc_model_num_outputs(m));
  const qc_tensor_info *in = qc_model_input(m, 0);
  printf("input 0: %s %s rank %d in %s memory\n", in->name,
         qc_dtype_name(in->dtype), in->rank,
         in->memory == QC_MEMORY_HOST ? "host" : "device");
  printf("target: %s\n", qc_model_target(m));
  size_t nWeights = qc_model_num_weights(m);
  int64_t lastEnd = 0;
  for (size_t i = 0; i < nWeights; ++i) {
    const qc_weight_info *w = qc_model_weight(m, i);
    if (w->offset + w->bytes > lastEnd)
      lastEnd = w->offset + w->bytes;
  }
  const qc_weight_info *first = qc_model_weight(m, 0);
  printf("weights: %zu pieces ending at byte %lld; first: %s, %lld bytes, %s %s\n",
         nWeights, (long long)lastEnd, first ? first->name : "-",
         first ? (long long)first->bytes : 0LL, first ? first->format : "-",
         first ? first->layout : "-");
  if (qc_model_weight(m, nWeights) != NULL)
    printf("weight %zu exists\n", nWeights);
  int64_t ids[2 * 5] = {84, 104, 101, 32, 106, 117, 114, 121, 32, 115};
  qc_tensor input = {QC_I64, 2, {2, 5}, ids, NULL, QC_MEMORY_HOST};
  qc_tensor output;
  if (qc_model_run(m, &input, 1, &output, 1, error, sizeof error) != 0) {
    fprintf(stderr, "run failed: %s\n", error);
    qc_model_free(m);
    return 1;
  }
  double sum = 0;
  const float *logits = (const float *)output.data;
  for (int64_t i = 0; i < qc_tensor_num_elements(&output); ++i)
    sum += logits[i];
  printf("output 0: %s [%lld, %lld, %lld] sum %.3f\n",
         qc_dtype_name(output.dtype), (long long)output.shape[0],
         (long long)output.shape[1], (long long)output.shape[2], sum);
  qc_tensor_release(&output);

  /* A wrong input is an error, not a crash. */
  qc_tensor bad = {QC_F32, 2, {2, 5}, ids, NULL, QC_MEMORY_HOST};
  if (qc_model_run(m, &bad, 1, &output, 1, error, sizeof error) != 0)
    printf("bad input: %s\n", error);
  qc_tensor onDevice = input;
  onDevice.memory = QC_MEMORY_DEVICE;
  if (qc_model_run(m, &onDevice, 1, &output, 1, error, sizeof error) != 0)
    printf("device input: %s\n", error);

  /* Longer than the position tables: the model allocates its embeddings
   * (megabytes at this length) before a check stops the call. Twenty such
   * calls must leave the heap as one left it. */
  enum { kLong = 20000, kCalls = 20 };
  int64_t *many = calloc(kLong, sizeof(int64_t));
  qc_tensor tooLong = {QC_I64, 2, {1, kLong}, many, NULL, QC_MEMORY_HOST};
  size_t before = 0;
  for (int i = 0; i <= kCalls; ++i) {
    if (qc_model_run(m, &tooLong, 1, &output, 1, error, sizeof error) == 0) {
      printf("a sequence of %d ran\n", kLong);
      return 1;
    }
    if (i == 0)
      before = heapInUse();
  }
  size_t after = heapInUse();
  printf("refused calls: %s\n", error);
  printf("heap after %d refused calls: %s (%zu -> %zu bytes)\n", kCalls,
         after <= before + 65536 ? "kept" : "grew", before, after);
  free(many);
  qc_model_free(m);
  return 0;
}
