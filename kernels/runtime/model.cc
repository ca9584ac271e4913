// model.cc: the C API of edgebuild.h: opening and closing models, tensor and op queries, inputs and outputs.
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dispatch.h"
#include "internal.h"
#include "op.h"
#include "threadpool.h"

namespace eb {

size_t dtype_size(uint8_t dtype) {
  switch (dtype) {
    case EB_DTYPE_INT8: return 1;
    case EB_DTYPE_INT32: return 4;
    case EB_DTYPE_FLOAT32: return 4;
    default: return 0;
  }
}

void format_message(char* buf, size_t len, const char* fmt, ...) {
  if (buf == NULL || len == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, len, fmt, ap);
  va_end(ap);
}

void* tracked_calloc(eb_model* model, size_t count, size_t size) {
  if (count == 0) count = 1;  // calloc of 0 bytes may return NULL
  void* p = calloc(count, size);
  if (p != NULL) model->tracked_bytes += count * size;  // no overflow: calloc succeeded
  return p;
}

void* tracked_alloc_aligned(eb_model* model, size_t size, void** raw) {
  // malloc + manual alignment: aligned_alloc is missing on older Android and on some bare-metal C libraries.
  const size_t slack = 63;
  *raw = NULL;
  if (size > SIZE_MAX - slack) return NULL;
  void* p = calloc(1, size + slack);
  if (p == NULL) return NULL;
  model->tracked_bytes += size + slack;
  *raw = p;
  return reinterpret_cast<void*>(((uintptr_t)p + slack) & ~(uintptr_t)slack);
}

void free_model_parts(eb_model* m) {
  destroy_pool(m);  // threadpool.cc
  free_plans(m);    // packing.cc
  free(m->tensors);
  free(m->ops);
  free(m->names);
  free(m->op_ns);
  free(m->arena_raw);
  free(m->constants_raw);
  free(m->file_raw);
}

namespace {

// Loads buffer into a fresh model; file_raw (may be NULL) becomes the model's to free, even on failure.
eb_status open_buffer(const uint8_t* buffer, size_t size, void* file_raw, size_t file_bytes, eb_model** out, char* err,
                      size_t err_len) {
  eb_model* m = static_cast<eb_model*>(calloc(1, sizeof(eb_model)));
  if (m == NULL) {
    free(file_raw);
    format_message(err, err_len, "out of memory");
    return EB_ERR_NOMEM;
  }
  m->tracked_bytes = sizeof(eb_model) + file_bytes;
  m->buffer = buffer;
  m->buffer_size = size;
  m->file_raw = file_raw;
  eb_status status = load_model(m, buffer, size, err, err_len);
  // The ISA path and its packed weights (dispatch.h): EDGEBUILD_ISA naming an unavailable path fails the load.
  // The core (EDGEBUILD_CPU, else the MIDR of the CPUs the threads run on) picks among an ISA's kernel variants.
  if (status == EB_OK) status = select_core(&m->core, err, err_len);
  if (status == EB_OK) status = select_isa(&m->isa, err, err_len, &m->core);
  m->max_threads = m->num_threads = 1;
  if (status == EB_OK) status = prepare_ops(m, err, err_len);
  if (status != EB_OK) {
    free_model_parts(m);
    free(m);
    return status;
  }
  *out = m;
  return EB_OK;
}

// Records a failed call's message on the model (when there is one) and returns status.
eb_status model_fail(const eb_model* m, eb_status status, const char* fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
eb_status model_fail(const eb_model* m, eb_status status, const char* fmt, ...) {
  if (m != NULL) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->last_error, sizeof m->last_error, fmt, ap);
    va_end(ap);
  }
  return status;
}

void fill_info(const eb_model* m, int32_t id, eb_tensor_info* info) {
  const Tensor& t = m->tensors[id];
  info->id = id;
  info->name = t.name;
  info->dtype = (eb_dtype)t.dtype;
  info->rank = t.rank;
  for (int d = 0; d < EB_MAX_RANK; ++d) info->dims[d] = t.dims[d];
  info->num_elements = t.num_elements;
  info->num_bytes = (size_t)t.size;
  info->scale = t.dtype == EB_DTYPE_INT8 ? t.scale : 0.0f;
  info->zero_point = t.dtype == EB_DTYPE_INT8 ? t.zero_point : 0;
  info->is_constant = t.storage == kStorageConstant;
  info->layout = t.layout;
}

// Graph input (is_input) or output `index` as a tensor id, or -1 (with the model's error set) when out of range.
int32_t graph_tensor(const eb_model* m, bool is_input, size_t index) {
  const uint32_t count = is_input ? m->num_inputs : m->num_outputs;
  if (index >= count) {
    model_fail(m, EB_ERR_ARGUMENT, "%s index %zu out of range (the model has %u)", is_input ? "input" : "output", index,
               count);
    return -1;
  }
  return m->graph_ids[(is_input ? 0 : m->num_inputs) + index];
}

}  // namespace

}  // namespace eb

using eb::Tensor;

extern "C" {

const char* eb_status_name(eb_status status) {
  switch (status) {
    case EB_OK: return "EB_OK";
    case EB_ERR_IO: return "EB_ERR_IO";
    case EB_ERR_FORMAT: return "EB_ERR_FORMAT";
    case EB_ERR_VERSION: return "EB_ERR_VERSION";
    case EB_ERR_CHECKSUM: return "EB_ERR_CHECKSUM";
    case EB_ERR_NOMEM: return "EB_ERR_NOMEM";
    case EB_ERR_ARGUMENT: return "EB_ERR_ARGUMENT";
    case EB_ERR_SHAPE: return "EB_ERR_SHAPE";
    case EB_ERR_UNSUPPORTED: return "EB_ERR_UNSUPPORTED";
  }
  return "EB_ERR_UNKNOWN";
}

const char* eb_dtype_name(eb_dtype dtype) {
  switch (dtype) {
    case EB_DTYPE_INT8: return "int8";
    case EB_DTYPE_INT32: return "int32";
    case EB_DTYPE_FLOAT32: return "float32";
  }
  return "unknown";
}

eb_status eb_model_open_memory(const void* data, size_t size, eb_model** model, char* err, size_t err_len) {
  if (model == NULL) {
    eb::format_message(err, err_len, "model out-pointer is NULL");
    return EB_ERR_ARGUMENT;
  }
  *model = NULL;
  if (data == NULL) {
    eb::format_message(err, err_len, "buffer is NULL");
    return EB_ERR_ARGUMENT;
  }
  if ((uintptr_t)data % EB_BUFFER_ALIGNMENT != 0) {
    eb::format_message(err, err_len, "buffer address %p is not a multiple of %d (int32 constants are read in place)",
                       data, EB_BUFFER_ALIGNMENT);
    return EB_ERR_ARGUMENT;
  }
  return eb::open_buffer(static_cast<const uint8_t*>(data), size, NULL, 0, model, err, err_len);
}

eb_status eb_model_open_file(const char* path, eb_model** model, char* err, size_t err_len) {
  if (model == NULL || path == NULL) {
    eb::format_message(err, err_len, "%s is NULL", model == NULL ? "model out-pointer" : "path");
    return EB_ERR_ARGUMENT;
  }
  *model = NULL;
  int fd;
  do fd = open(path, O_RDONLY);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    eb::format_message(err, err_len, "cannot open %s: %s", path, strerror(errno));
    return EB_ERR_IO;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    eb::format_message(err, err_len, "cannot read %s: not a regular file", path);
    close(fd);
    return EB_ERR_IO;
  }
  if ((unsigned long long)st.st_size > (unsigned long long)(SIZE_MAX - 64)) {
    eb::format_message(err, err_len, "%s is too large for this machine's address space", path);
    close(fd);
    return EB_ERR_NOMEM;
  }
  const size_t size = (size_t)st.st_size;
  // One 64-aligned buffer read with read(2), not mmap: a file truncated while mapped would fault (SIGBUS).
  eb_model counter = {};  // tracked_alloc_aligned counts into it; open_buffer adds the count to the model
  void* raw;
  uint8_t* buffer = static_cast<uint8_t*>(eb::tracked_alloc_aligned(&counter, size, &raw));
  if (buffer == NULL) {
    eb::format_message(err, err_len, "out of memory reading %s (%zu bytes)", path, size);
    close(fd);
    return EB_ERR_NOMEM;
  }
  size_t done = 0;
  while (done < size) {
    const ssize_t n = read(fd, buffer + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      eb::format_message(err, err_len, "cannot read %s: %s", path, n < 0 ? strerror(errno) : "file shrank");
      close(fd);
      free(raw);
      return EB_ERR_IO;
    }
    done += (size_t)n;
  }
  close(fd);
  return eb::open_buffer(buffer, size, raw, counter.tracked_bytes, model, err, err_len);
}

void eb_model_close(eb_model* model) {
  if (model == NULL) return;
  eb::free_model_parts(model);
  free(model);
}

const char* eb_model_last_error(const eb_model* model) { return model == NULL ? "model is NULL" : model->last_error; }

size_t eb_model_num_inputs(const eb_model* model) { return model == NULL ? 0 : model->num_inputs; }
size_t eb_model_num_outputs(const eb_model* model) { return model == NULL ? 0 : model->num_outputs; }

eb_status eb_model_input_info(const eb_model* model, size_t index, eb_tensor_info* info) {
  if (model == NULL || info == NULL) return eb::model_fail(model, EB_ERR_ARGUMENT, "info is NULL");
  const int32_t id = eb::graph_tensor(model, true, index);
  if (id < 0) return EB_ERR_ARGUMENT;
  eb::fill_info(model, id, info);
  return EB_OK;
}

eb_status eb_model_output_info(const eb_model* model, size_t index, eb_tensor_info* info) {
  if (model == NULL || info == NULL) return eb::model_fail(model, EB_ERR_ARGUMENT, "info is NULL");
  const int32_t id = eb::graph_tensor(model, false, index);
  if (id < 0) return EB_ERR_ARGUMENT;
  eb::fill_info(model, id, info);
  return EB_OK;
}

eb_status eb_model_set_input(eb_model* model, size_t index, const float* data, size_t count) {
  if (model == NULL || data == NULL) return eb::model_fail(model, EB_ERR_ARGUMENT, "data is NULL");
  const int32_t id = eb::graph_tensor(model, true, index);
  if (id < 0) return EB_ERR_ARGUMENT;
  const Tensor& t = model->tensors[id];
  if (count != t.num_elements)
    return eb::model_fail(model, EB_ERR_SHAPE, "input %zu ('%s') has %zu elements, got %zu", index, t.name,
                          t.num_elements, count);
  if (t.dtype != EB_DTYPE_FLOAT32)
    return eb::model_fail(model, EB_ERR_ARGUMENT, "input %zu ('%s') is %s: set it with eb_model_set_input_int32", index,
                          t.name, eb_dtype_name((eb_dtype)t.dtype));
  memcpy(t.data, data, count * sizeof(float));
  return EB_OK;
}

eb_status eb_model_set_input_int32(eb_model* model, size_t index, const int32_t* data, size_t count) {
  if (model == NULL || data == NULL) return eb::model_fail(model, EB_ERR_ARGUMENT, "data is NULL");
  const int32_t id = eb::graph_tensor(model, true, index);
  if (id < 0) return EB_ERR_ARGUMENT;
  const Tensor& t = model->tensors[id];
  if (t.dtype != EB_DTYPE_INT32)
    return eb::model_fail(model, EB_ERR_ARGUMENT, "input %zu ('%s') is %s: set it with eb_model_set_input", index,
                          t.name, eb_dtype_name((eb_dtype)t.dtype));
  if (count != t.num_elements)
    return eb::model_fail(model, EB_ERR_SHAPE, "input %zu ('%s') has %zu elements, got %zu", index, t.name,
                          t.num_elements, count);
  // Token ids index tables (EMBEDDING): every op indexing a table with this input needs ids in [0, rows).
  for (uint32_t k = 0; k < model->num_ops; ++k) {
    const eb::Op& op = model->ops[k];
    const eb::OpImpl& impl = eb::impl_of(op);
    const int32_t table = impl.indexed_table != NULL ? impl.indexed_table(model, op, id) : -1;
    if (table < 0) continue;
    const int32_t rows = model->tensors[table].dims[0];
    for (size_t i = 0; i < count; ++i)
      if (data[i] < 0 || data[i] >= rows)
        return eb::model_fail(model, EB_ERR_ARGUMENT,
                              "input %zu ('%s') element %zu is %d, outside the %d rows of embedding table '%s'", index,
                              t.name, i, (int)data[i], (int)rows, model->tensors[table].name);
  }
  memcpy(t.data, data, count * sizeof(int32_t));
  return EB_OK;
}

eb_status eb_model_invoke(eb_model* model) {
  if (model == NULL) return EB_ERR_ARGUMENT;
  if (model->profiling) eb_profile_invoke_begin();
  eb::run_ops(model);
  if (model->profiling) eb_profile_invoke_end();
  return EB_OK;
}

// The profiling markers of internal.h. Each body is a distinct empty asm statement with a memory clobber, so the
// compiler keeps every call (the function has a visible effect) and never folds two markers into one symbol.
#if defined(__GNUC__) && !defined(__clang__)
#define EB_MARKER __attribute__((noinline, noipa, used))
#else
#define EB_MARKER __attribute__((noinline, used))
#endif
EB_MARKER void eb_profile_invoke_begin(void) { __asm__ volatile("" /* invoke begin */ ::: "memory"); }
EB_MARKER void eb_profile_invoke_end(void) { __asm__ volatile("nop" ::: "memory"); }
EB_MARKER void eb_profile_op_begin(void) { __asm__ volatile("nop\n\tnop" ::: "memory"); }
EB_MARKER void eb_profile_op_end(void) { __asm__ volatile("nop\n\tnop\n\tnop" ::: "memory"); }

eb_status eb_model_get_output(const eb_model* model, size_t index, float* data, size_t count) {
  if (model == NULL || data == NULL) return eb::model_fail(model, EB_ERR_ARGUMENT, "data is NULL");
  const int32_t id = eb::graph_tensor(model, false, index);
  if (id < 0) return EB_ERR_ARGUMENT;
  const Tensor& t = model->tensors[id];
  if (count != t.num_elements)
    return eb::model_fail(model, EB_ERR_SHAPE, "output %zu ('%s') has %zu elements, got a buffer of %zu", index, t.name,
                          t.num_elements, count);
  memcpy(data, t.data, count * sizeof(float));
  return EB_OK;
}

size_t eb_model_num_ops(const eb_model* model) { return model == NULL ? 0 : model->num_ops; }

eb_status eb_model_op_info(const eb_model* model, size_t index, eb_op_info* info) {
  if (model == NULL || info == NULL) return eb::model_fail(model, EB_ERR_ARGUMENT, "info is NULL");
  if (index >= model->num_ops)
    return eb::model_fail(model, EB_ERR_ARGUMENT, "op index %zu out of range (the model has %u)", index,
                          model->num_ops);
  const eb::Op& op = model->ops[index];
  info->name = op.name;
  info->type = eb::opcode_name(op.opcode);
  info->opcode = op.opcode;
  info->num_inputs = op.num_inputs;
  info->num_outputs = op.num_outputs;
  info->num_params = op.num_params;
  info->inputs = op.inputs;
  info->outputs = op.outputs;
  info->params = op.params;
  return EB_OK;
}

void eb_model_set_profiling(eb_model* model, int enable) {
  if (model != NULL) model->profiling = enable != 0;
}

eb_status eb_model_op_time_ns(const eb_model* model, size_t index, uint64_t* ns) {
  if (model == NULL || ns == NULL) return eb::model_fail(model, EB_ERR_ARGUMENT, "ns is NULL");
  if (index >= model->num_ops)
    return eb::model_fail(model, EB_ERR_ARGUMENT, "op index %zu out of range (the model has %u)", index,
                          model->num_ops);
  *ns = model->op_ns[index];
  return EB_OK;
}

size_t eb_model_arena_bytes(const eb_model* model) { return model == NULL ? 0 : (size_t)model->arena_bytes; }
size_t eb_model_tracked_bytes(const eb_model* model) { return model == NULL ? 0 : model->tracked_bytes; }
size_t eb_model_weights_bytes(const eb_model* model) { return model == NULL ? 0 : model->weights_bytes; }

size_t eb_model_num_tensors(const eb_model* model) { return model == NULL ? 0 : model->num_tensors; }

eb_status eb_model_tensor_info(const eb_model* model, size_t id, eb_tensor_info* info) {
  if (model == NULL || info == NULL) return eb::model_fail(model, EB_ERR_ARGUMENT, "info is NULL");
  if (id >= model->num_tensors)
    return eb::model_fail(model, EB_ERR_ARGUMENT, "tensor id %zu out of range (the model has %u)", id,
                          model->num_tensors);
  eb::fill_info(model, (int32_t)id, info);
  return EB_OK;
}

eb_status eb_model_tensor_data(const eb_model* model, size_t id, const void** data, size_t* num_bytes) {
  if (model == NULL || data == NULL || num_bytes == NULL)
    return eb::model_fail(model, EB_ERR_ARGUMENT, "data or num_bytes is NULL");
  if (id >= model->num_tensors)
    return eb::model_fail(model, EB_ERR_ARGUMENT, "tensor id %zu out of range (the model has %u)", id,
                          model->num_tensors);
  *data = model->tensors[id].data;
  *num_bytes = (size_t)model->tensors[id].size;
  return EB_OK;
}

}  // extern "C"
