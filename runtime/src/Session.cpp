//===- Session.cpp - decoding step by step with runtime-owned KV caches ---===//
//
// A compiled decoder takes each cache as a buffer whose sequence axis is the
// capacity, plus the number of positions already in it, and writes a step's
// keys and values after them in place. The session owns those buffers:
// it sizes them from the step's inputs (the manifest says which input sizes
// they follow), grows the capacity by doubling (one copy per doubling, never
// one per token) and counts the positions.
//
//===----------------------------------------------------------------------===//

#include "Backend.h"
#include "ModelImpl.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

using quantc::runtime::fail;

namespace {

/// Where a session's caches live: host memory, or the backend's device
/// memory.
struct CacheMemory {
  const qc_model *model;
  const quantc::runtime::DeviceBuffers *device; // null: host memory

  char *alloc(size_t bytes) const {
    return static_cast<char *>(device ? device->alloc(*model, bytes)
                                      : std::malloc(bytes));
  }
  void release(char *p) const {
    if (p && device)
      device->release(*model, p);
    else
      std::free(p);
  }
  /// Any direction between host and this memory.
  bool copy(char *to, const char *from, size_t bytes) const {
    if (bytes == 0) // empty caches have no buffer yet
      return true;
    if (device)
      return device->copy(*model, to, from, bytes);
    std::memcpy(to, from, bytes);
    return true;
  }
};

/// One cache buffer: `shape` is the full buffer, its axis the capacity.
struct Cache {
  size_t input; // the model input it is passed as
  const qc_tensor_info *info;
  std::vector<int64_t> shape;
  char *data = nullptr;

  size_t elementBytes() const { return qc_dtype_size(info->dtype); }
  /// Elements before and after the axis, per position.
  int64_t outer() const {
    int64_t n = 1;
    for (int32_t d = 0; d < info->kv_axis; ++d)
      n *= shape[d];
    return n;
  }
  int64_t inner() const {
    int64_t n = 1;
    for (int32_t d = info->kv_axis + 1; d < info->rank; ++d)
      n *= shape[d];
    return n;
  }
  /// Copies `positions` positions from `from` (capacity `fromCapacity`) to
  /// `to` (capacity `toCapacity`), both laid out like this cache.
  bool copyPositions(const CacheMemory &memory, const char *from,
                     int64_t fromCapacity, char *to, int64_t toCapacity,
                     int64_t positions) const {
    size_t row = inner() * elementBytes();
    for (int64_t o = 0; o < outer(); ++o)
      if (!memory.copy(to + o * toCapacity * row,
                       from + o * fromCapacity * row, positions * row))
        return false;
    return true;
  }
};

} // namespace

struct qc_session {
  qc_model *model;
  CacheMemory memory;
  std::vector<Cache> caches;
  size_t lengthInput = 0;
  std::vector<size_t> dataInputs; // model input index of each data input
  int64_t length = 0, capacity = 0;
  bool shaped = false; // the caches' non-axis sizes are fixed

  ~qc_session() {
    for (Cache &c : caches)
      memory.release(c.data);
  }

  /// The cache shapes (capacity at the axis: 0) and the positions appended
  /// for a run on `inputs` (the data inputs), from the manifest's size_from.
  int shapesFor(const qc_tensor *inputs, std::vector<std::vector<int64_t>> &shapes,
                int64_t &added, char *error, size_t errorSize) const {
    shapes.clear();
    added = -1;
    for (const Cache &c : caches) {
      std::vector<int64_t> shape(c.info->rank);
      for (int32_t d = 0; d < c.info->rank; ++d) {
        if (d != c.info->kv_axis && c.info->shape[d] >= 0) {
          shape[d] = c.info->shape[d];
          continue;
        }
        size_t k = c.info->size_input[d];
        auto at = std::find(dataInputs.begin(), dataInputs.end(), k);
        const qc_tensor &t = inputs[at - dataInputs.begin()];
        int32_t j = c.info->size_dim[d];
        if (j >= t.rank)
          return fail(error, errorSize, "input '%s' must have rank %d",
                      model->inputs[k].name, model->inputs[k].rank);
        shape[d] = t.shape[j];
      }
      if (added >= 0 && shape[c.info->kv_axis] != added)
        return fail(error, errorSize,
                    "the inputs add %lld positions to one cache and %lld to "
                    "another", (long long)added,
                    (long long)shape[c.info->kv_axis]);
      added = shape[c.info->kv_axis];
      shape[c.info->kv_axis] = 0;
      shapes.push_back(shape);
    }
    return 0;
  }

  /// Makes room for `needed` positions of caches shaped `shapes`.
  int reserve(const std::vector<std::vector<int64_t>> &shapes, int64_t needed,
              char *error, size_t errorSize) {
    bool reshape = !shaped;
    for (size_t i = 0; i < caches.size() && !reshape; ++i) {
      std::vector<int64_t> have = caches[i].shape;
      have[caches[i].info->kv_axis] = 0;
      reshape = have != shapes[i];
    }
    if (reshape && length > 0)
      return fail(error, errorSize,
                  "the inputs do not fit the session's caches (another batch "
                  "or size): reset the session first");
    if (!reshape && needed <= capacity)
      return 0;
    int64_t grown = reshape ? needed : std::max(needed, 2 * capacity);
    grown = std::max<int64_t>(grown, 16);
    for (size_t i = 0; i < caches.size(); ++i) {
      Cache &c = caches[i];
      std::vector<int64_t> shape = shapes[i];
      shape[c.info->kv_axis] = grown;
      int64_t elements = 1;
      for (int64_t s : shape)
        elements *= s;
      size_t bytes = elements * c.elementBytes() + 1;
      char *data = memory.alloc(bytes);
      if (!data)
        return fail(error, errorSize,
                    "out of %s memory for KV cache '%s' (%zu bytes)",
                    memory.device ? "device" : "host", c.info->name, bytes);
      c.shape = shape; // only the capacity changes when positions move
      if (length > 0 &&
          !c.copyPositions(memory, c.data, capacity, data, grown, length)) {
        memory.release(data);
        return fail(error, errorSize, "copying KV cache '%s' failed",
                    c.info->name);
      }
      memory.release(c.data);
      c.data = data;
      c.shape = shape;
    }
    capacity = grown;
    shaped = true;
    return 0;
  }
};

extern "C" {

qc_session *qc_session_create(qc_model *model, char *error, size_t errorSize) {
  if (!qc_model_has_kv_cache(model)) {
    fail(error, errorSize, "the model keeps no KV cache: run it with "
         "qc_model_run");
    return nullptr;
  }
  auto s = std::make_unique<qc_session>();
  s->model = model;
  s->memory = {model, nullptr};
  for (size_t i = 0; i < model->inputs.size(); ++i) {
    const qc_tensor_info &info = model->inputs[i];
    if (info.role == QC_ROLE_KV_CACHE) {
      s->caches.push_back({i, &info, {}, nullptr});
      if (info.memory == QC_MEMORY_DEVICE)
        s->memory.device = model->backend->buffers;
    }
    else if (info.role == QC_ROLE_KV_LENGTH)
      s->lengthInput = i;
    else
      s->dataInputs.push_back(i);
  }
  return s.release();
}

void qc_session_free(qc_session *s) { delete s; }

int64_t qc_session_length(const qc_session *s) { return s->length; }

int64_t qc_session_cache_bytes(const qc_session *s, int64_t *allocated) {
  int64_t perPosition = 0;
  for (const Cache &c : s->caches)
    if (c.data) // shaped by a run
      perPosition += c.outer() * c.inner() * int64_t(c.elementBytes());
  if (allocated)
    *allocated = perPosition * s->capacity;
  return perPosition;
}
void qc_session_reset(qc_session *s) { s->length = 0; }

int qc_session_run(qc_session *s, const qc_tensor *inputs, size_t nInputs,
                   qc_tensor *outputs, size_t nOutputs, char *error,
                   size_t errorSize) {
  const qc_model &m = *s->model;
  if (nInputs != s->dataInputs.size() || nOutputs != m.outputs.size())
    return fail(error, errorSize,
                "a session run takes %zu inputs and %zu outputs, %zu and %zu "
                "given", s->dataInputs.size(), m.outputs.size(), nInputs,
                nOutputs);
  for (size_t i = 0; i < nInputs; ++i)
    if (inputs[i].rank != m.inputs[s->dataInputs[i]].rank)
      return fail(error, errorSize, "input '%s' must have rank %d, not %d",
                  m.inputs[s->dataInputs[i]].name,
                  m.inputs[s->dataInputs[i]].rank, inputs[i].rank);
  std::vector<std::vector<int64_t>> shapes;
  int64_t added;
  if (s->shapesFor(inputs, shapes, added, error, errorSize) != 0 ||
      s->reserve(shapes, s->length + added, error, errorSize) != 0)
    return -1;

  std::vector<qc_tensor> all(m.inputs.size());
  for (size_t i = 0; i < nInputs; ++i)
    all[s->dataInputs[i]] = inputs[i];
  for (const Cache &c : s->caches) {
    qc_tensor &t = all[c.input];
    t.dtype = c.info->dtype;
    t.rank = c.info->rank;
    std::copy(c.shape.begin(), c.shape.end(), t.shape);
    t.data = c.data;
    t.owner = nullptr;
    t.memory = m.inputs[c.input].memory;
  }
  int64_t length = s->length;
  all[s->lengthInput] = {QC_I64, 0, {}, &length, nullptr, QC_MEMORY_HOST};
  if (quantc::runtime::invokeModel(m, all.data(), outputs, error, errorSize))
    return -1;
  s->length += added;
  return 0;
}

int qc_session_set_caches(qc_session *s, const qc_tensor *past, size_t nPast,
                          char *error, size_t errorSize) {
  if (nPast != s->caches.size())
    return fail(error, errorSize, "the model keeps %zu caches, %zu given",
                s->caches.size(), nPast);
  int64_t positions = -1;
  std::vector<std::vector<int64_t>> shapes;
  for (size_t i = 0; i < nPast; ++i) {
    const qc_tensor_info &info = *s->caches[i].info;
    const qc_tensor &t = past[i];
    if (t.dtype != info.dtype || t.rank != info.rank)
      return fail(error, errorSize, "cache '%s' must be %s of rank %d",
                  info.name, qc_dtype_name(info.dtype), info.rank);
    for (int32_t d = 0; d < t.rank; ++d)
      if (t.shape[d] < 0 || (d != info.kv_axis && info.shape[d] >= 0 &&
                             t.shape[d] != info.shape[d]))
        return fail(error, errorSize,
                    "cache '%s' dimension %d must be %lld, not %lld", info.name,
                    d, (long long)info.shape[d], (long long)t.shape[d]);
    if (positions >= 0 && t.shape[info.kv_axis] != positions)
      return fail(error, errorSize, "the caches hold different lengths");
    positions = t.shape[info.kv_axis];
    if (!t.data && qc_tensor_num_elements(&t) > 0)
      return fail(error, errorSize, "cache '%s' has no data", info.name);
    std::vector<int64_t> shape(t.shape, t.shape + t.rank);
    shape[info.kv_axis] = 0;
    shapes.push_back(shape);
  }
  s->length = 0;
  s->shaped = false;
  if (s->reserve(shapes, positions, error, errorSize) != 0)
    return -1;
  for (size_t i = 0; i < nPast; ++i)
    if (!s->caches[i].copyPositions(s->memory,
                                    static_cast<const char *>(past[i].data),
                                    positions, s->caches[i].data, s->capacity,
                                    positions))
      return fail(error, errorSize, "copying cache '%s' in failed",
                  s->caches[i].info->name);
  s->length = positions;
  return 0;
}

int qc_session_get_cache(const qc_session *s, size_t i, qc_tensor *present,
                         char *error, size_t errorSize) {
  if (i >= s->caches.size())
    return fail(error, errorSize, "the model keeps %zu caches, not %zu",
                s->caches.size(), i + 1);
  const Cache &c = s->caches[i];
  qc_tensor &t = *present;
  t.dtype = c.info->dtype;
  t.rank = c.info->rank;
  for (int32_t d = 0; d < t.rank; ++d)
    t.shape[d] = s->shaped ? c.shape[d] : std::max<int64_t>(c.info->shape[d], 0);
  t.shape[c.info->kv_axis] = s->length;
  size_t bytes = qc_tensor_num_elements(&t) * c.elementBytes();
  char *copy = static_cast<char *>(quantc::runtime::allocate(bytes + 1));
  if (!copy)
    return fail(error, errorSize, "out of memory");
  if (s->length > 0 && !c.copyPositions(s->memory, c.data, s->capacity, copy,
                                         s->length, s->length)) {
    quantc::runtime::release(copy);
    return fail(error, errorSize, "copying cache '%s' out failed",
                c.info->name);
  }
  t.data = copy;
  t.owner = copy;
  t.memory = QC_MEMORY_HOST;
  return 0;
}

} // extern "C"
