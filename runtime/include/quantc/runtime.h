/*===- runtime.h - the quantc runtime C API ------------------------*- C -*-===*
 *
 * Loads a compiled model (an artifact folder: manifest.json, the model's
 * shared library and its weights blob) and runs it on the host CPU. Plain
 * C API; the runtime links neither MLIR nor LLVM.
 *
 *   char error[256];
 *   qc_model *m = qc_model_load("out/", error, sizeof error);
 *   qc_tensor in = {QC_I64, 2, {1, 8}, ids, NULL};
 *   qc_tensor out[1];
 *   if (qc_model_run(m, &in, 1, out, 1, error, sizeof error) == 0) {
 *     ... out[0].data ...
 *     qc_tensor_release(&out[0]);
 *   }
 *   qc_model_free(m);
 *
 *===----------------------------------------------------------------------===*/

#ifndef QUANTC_RUNTIME_H
#define QUANTC_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define QC_MAX_RANK 8

typedef enum {
  QC_F32,
  QC_F16,
  QC_BF16,
  QC_F64,
  QC_I64,
  QC_I32,
  QC_I16,
  QC_I8,
  QC_BOOL
} qc_dtype;

/* Bytes per element, and the short name ("f32", "i64", ...). */
size_t qc_dtype_size(qc_dtype dtype);
const char *qc_dtype_name(qc_dtype dtype);
/* The dtype named `name`; returns -1 if there is none. */
int qc_dtype_from_name(const char *name, qc_dtype *dtype);

/* A dense row-major tensor. `owner`, when not NULL, is memory the runtime
 * allocated for an output: release it with qc_tensor_release. */
typedef struct {
  qc_dtype dtype;
  int32_t rank;
  int64_t shape[QC_MAX_RANK];
  void *data;
  void *owner;
} qc_tensor;

/* An input or output of a model: -1 in `shape` is a dynamic size. */
typedef struct {
  const char *name;
  qc_dtype dtype;
  int32_t rank;
  int64_t shape[QC_MAX_RANK];
} qc_tensor_info;

int64_t qc_tensor_num_elements(const qc_tensor *t);
void qc_tensor_release(qc_tensor *t);

/* The one entry point of compiled code: descriptors[0] points to the output
 * memref descriptors, then one descriptor per input, then (artifacts) the
 * weights. */
typedef void (*qc_entry_fn)(void **descriptors);

/* Checks `inputs` against `in_info`, calls `entry` and fills `outputs`
 * (each owning its data). `weights` may be NULL (code with weights inside).
 * Returns 0, or -1 with a message in `error`. */
int qc_invoke(qc_entry_fn entry, const qc_tensor_info *in_info, size_t n_in,
              const qc_tensor *inputs, const qc_tensor_info *out_info,
              size_t n_out, qc_tensor *outputs, const void *weights,
              int64_t weights_bytes, char *error, size_t error_size);

typedef struct qc_model qc_model;

/* Loads an artifact folder; NULL with a message in `error` if the manifest,
 * the library or the weights are missing, corrupt or do not belong
 * together. */
qc_model *qc_model_load(const char *dir, char *error, size_t error_size);
void qc_model_free(qc_model *model);

size_t qc_model_num_inputs(const qc_model *model);
size_t qc_model_num_outputs(const qc_model *model);
const qc_tensor_info *qc_model_input(const qc_model *model, size_t i);
const qc_tensor_info *qc_model_output(const qc_model *model, size_t i);

/* Runs the model; see qc_invoke. */
int qc_model_run(qc_model *model, const qc_tensor *inputs, size_t n_inputs,
                 qc_tensor *outputs, size_t n_outputs, char *error,
                 size_t error_size);

#ifdef __cplusplus
}
#endif

#endif /* QUANTC_RUNTIME_H */
