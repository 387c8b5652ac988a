/*===- runtime.h - the quantc runtime C API ------------------------*- C -*-===*
 *
 * Loads a compiled model (an artifact folder: manifest.json, the model's
 * code and its weights blob) and runs it through the backend of the target
 * it was compiled for (this build: the host CPU). Plain C API; the runtime
 * links neither MLIR nor LLVM.
 *
 *   char error[256];
 *   qc_model *m = qc_model_load("out/", error, sizeof error);
 *   qc_tensor in = {QC_I64, 2, {1, 8}, ids, NULL, QC_MEMORY_HOST};
 *   qc_tensor out[1];
 *   if (qc_model_run(m, &in, 1, out, 1, error, sizeof error) == 0) {
 *     ... out[0].data ...
 *     qc_tensor_release(&out[0]);
 *   }
 *   qc_model_free(m);
 *
 * Decoders with a KV cache run through a session, which owns the caches and
 * appends each step's keys and values in place (the compiled code writes
 * them into the session's buffers; capacity grows by doubling):
 *
 *   qc_session *s = qc_session_create(m, error, sizeof error);
 *   qc_session_run(s, prompt_inputs, 2, &logits, 1, error, sizeof error);
 *   qc_session_run(s, next_token_inputs, 2, &logits, 1, error, sizeof error);
 *   qc_session_free(s);
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

/* The artifact format this runtime reads (the manifest's "version"). */
#define QC_ARTIFACT_VERSION 3

/* Where a tensor's data lives: host memory, or the memory of the device the
 * model's target runs on (backends for GPU targets). */
typedef enum { QC_MEMORY_HOST, QC_MEMORY_DEVICE } qc_memory;

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
 * allocated for an output: release it with qc_tensor_release. `memory` is
 * where `data` lives (host, the default of a zero-initialized field). */
typedef struct {
  qc_dtype dtype;
  int32_t rank;
  int64_t shape[QC_MAX_RANK];
  void *data;
  void *owner;
  qc_memory memory;
} qc_tensor;

/* What an input is for: data the caller gives, or (models with a KV cache)
 * a cache buffer or the number of cached positions, both of which a
 * session provides. */
typedef enum {
  QC_ROLE_DATA,
  QC_ROLE_KV_CACHE,
  QC_ROLE_KV_LENGTH
} qc_role;

/* An input or output of a model: -1 in `shape` is a dynamic size. */
typedef struct {
  const char *name;
  qc_dtype dtype;
  int32_t rank;
  int64_t shape[QC_MAX_RANK];
  qc_role role;
  /* KV caches: the sequence axis (its size is the capacity), the output of
   * the source model the cache stands for (e.g. "present.0.key"), and for
   * each dynamic size d of one step's keys/values the input and dimension
   * it equals (size_input[d] = -1 for static sizes): at the axis, the number
   * of positions a run appends. */
  int32_t kv_axis;
  const char *kv_present;
  /* Quantized caches (`quantc compile --kv-bits`): the format of the
   * cache ("int8, per token, group 64") and which part of it this tensor
   * is: "codes" (i8 rows, the layout of kernels.h's qc_kv_cache),
   * "scales" or "offsets" (f32, per token and group). NULL for f32 caches. */
  const char *kv_format;
  const char *kv_part;
  int32_t size_input[QC_MAX_RANK];
  int32_t size_dim[QC_MAX_RANK];
  /* Where the model takes (inputs) or returns (outputs) the tensor. */
  qc_memory memory;
} qc_tensor_info;

/* A piece of the weights blob, as the manifest's weights table says:
 * `format` is "dense" (a plain tensor, `layout` "row_major") or the
 * `#qc.format<...>` of the quantized weight whose `part` ("codes",
 * "scales", ...) it holds, in `layout` ("channel_major", "tiles<NxK>"). */
typedef struct {
  const char *name;
  int64_t offset;
  int64_t bytes;
  const char *format;
  const char *layout;
  const char *part; /* NULL for dense tensors */
} qc_weight_info;

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

/* Called by compiled code when a run-time check (an index range, sizes
 * that must agree) fails: ends the model call, which returns `message` as
 * its error. Not for applications; compiled models import it from here. */
void quantc_check_failed(const char *message);

/* The allocator of compiled code (malloc and free for its buffers, which
 * the runtime tracks per call). Not for applications. */
void *quantc_model_alloc(size_t bytes);
void quantc_model_free(void *p);

typedef struct qc_model qc_model;

/* Loads an artifact folder; NULL with a message in `error` if the manifest,
 * the code or the weights are missing, corrupt or do not belong together,
 * or if this runtime has no backend for the artifact's target. */
qc_model *qc_model_load(const char *dir, char *error, size_t error_size);
void qc_model_free(qc_model *model);

/* The targets this runtime has backends for, comma-separated ("cpu"). */
const char *qc_runtime_backends(void);
/* The target a model was compiled for ("cpu"). */
const char *qc_model_target(const qc_model *model);

/* The weights table of a loaded artifact (none for in-process code). */
size_t qc_model_num_weights(const qc_model *model);
const qc_weight_info *qc_model_weight(const qc_model *model, size_t i);

size_t qc_model_num_inputs(const qc_model *model);
size_t qc_model_num_outputs(const qc_model *model);
const qc_tensor_info *qc_model_input(const qc_model *model, size_t i);
const qc_tensor_info *qc_model_output(const qc_model *model, size_t i);

/* A model around compiled code already in this process (the JIT): the
 * infos (and their strings) are copied. */
qc_model *qc_model_create(qc_entry_fn entry, const qc_tensor_info *inputs,
                          size_t n_inputs, const qc_tensor_info *outputs,
                          size_t n_outputs);

/* True if the model keeps a KV cache (run it through a session). */
int qc_model_has_kv_cache(const qc_model *model);

/* Runs a model without a KV cache; see qc_invoke. */
int qc_model_run(qc_model *model, const qc_tensor *inputs, size_t n_inputs,
                 qc_tensor *outputs, size_t n_outputs, char *error,
                 size_t error_size);

/* A session: one sequence (of any batch) decoded step by step, its KV
 * caches owned here. Its inputs are the model's QC_ROLE_DATA inputs, in the
 * model's order; a run appends as many positions as its inputs hold. */
typedef struct qc_session qc_session;

qc_session *qc_session_create(qc_model *model, char *error,
                              size_t error_size);
void qc_session_free(qc_session *session);

int qc_session_run(qc_session *session, const qc_tensor *inputs,
                   size_t n_inputs, qc_tensor *outputs, size_t n_outputs,
                   char *error, size_t error_size);

/* Positions in the caches; reset empties them (the buffers are kept). */
int64_t qc_session_length(const qc_session *session);
void qc_session_reset(qc_session *session);

/* Bytes one position takes in all of the session's caches (its batch, each
 * cache's element type), so that an application can size memory for a
 * context length; through `allocated` (may be NULL), the bytes its cache
 * buffers hold now (their capacity). 0 before the first run. */
int64_t qc_session_cache_bytes(const qc_session *session, int64_t *allocated);

/* The caches in the model's input order (as many as QC_ROLE_KV_CACHE
 * inputs): `set` replaces them with copies of `past` (each shaped like the
 * cache with `length` positions at its axis, all of one length); `get`
 * returns a copy of cache i with the positions so far. */
int qc_session_set_caches(qc_session *session, const qc_tensor *past,
                          size_t n_past, char *error, size_t error_size);
int qc_session_get_cache(const qc_session *session, size_t i,
                         qc_tensor *present, char *error, size_t error_size);

#ifdef __cplusplus
}
#endif

#endif /* QUANTC_RUNTIME_H */
