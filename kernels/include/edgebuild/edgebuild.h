// edgebuild.h: the C API of the edgebuild runtime: load a .ebm model, set inputs, invoke, read outputs.
//
// Usable from C99 and C++. One eb_model is one loaded artifact plus its activation arena; it is not thread-safe
// (use one model per thread). The runtime allocates only inside the open functions; invoke never allocates.
//
//   char err[256];
//   eb_model* m;
//   if (eb_model_open_file("model.ebm", &m, err, sizeof err) != EB_OK) { puts(err); return 1; }
//   eb_model_set_input(m, 0, x, x_count);  // before every invoke
//   eb_model_invoke(m);
//   eb_model_get_output(m, 0, y, y_count);
//   eb_model_close(m);
#ifndef EDGEBUILD_EDGEBUILD_H_
#define EDGEBUILD_EDGEBUILD_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Format version this runtime reads (docs/artifact.md): any minor of this major.
#define EB_FORMAT_VERSION_MAJOR 1
// 1.1 adds CODED_CONSTANTS, 1.2 DEPTHWISE_CONV2D, 1.3 the generic ops of issue 16 (docs/artifact.md)
#define EB_FORMAT_VERSION_MINOR 5

#define EB_MAX_RANK 6
// eb_model_open_memory needs the buffer at an address that is a multiple of this (int32 constants are read in place).
#define EB_BUFFER_ALIGNMENT 16
// Longest message a model keeps (eb_model_last_error), terminating NUL included; longer messages are truncated.
#define EB_ERROR_MAX 512

typedef enum eb_status {
  EB_OK = 0,
  EB_ERR_IO = 1,           // the file could not be opened or read
  EB_ERR_FORMAT = 2,       // the artifact breaks a rule of docs/artifact.md
  EB_ERR_VERSION = 3,      // unsupported format major version
  EB_ERR_CHECKSUM = 4,     // CRC-32 mismatch
  EB_ERR_NOMEM = 5,        // an allocation failed (or the arena exceeds the address space)
  EB_ERR_ARGUMENT = 6,     // bad argument: NULL pointer, index out of range, misaligned buffer
  EB_ERR_SHAPE = 7,        // element count of an input or output buffer does not match the tensor
  EB_ERR_UNSUPPORTED = 8,  // the artifact uses an opcode this runtime does not know
} eb_status;

typedef enum eb_dtype {
  EB_DTYPE_INT8 = 1,
  EB_DTYPE_INT32 = 2,
  EB_DTYPE_FLOAT32 = 3,
} eb_dtype;

typedef struct eb_model eb_model;

typedef struct eb_tensor_info {
  int32_t id;        // index in the artifact's tensor table (for eb_model_tensor_data)
  const char* name;  // NUL-terminated, owned by the model
  eb_dtype dtype;
  uint32_t rank;
  int32_t dims[EB_MAX_RANK];  // dims[i] for i < rank, 0 beyond
  size_t num_elements;        // product of dims (1 for rank 0)
  size_t num_bytes;
  float scale;         // int8 tensors; 0 otherwise
  int32_t zero_point;  // int8 tensors; 0 otherwise
  int is_constant;     // 1: weights in the artifact, 0: lives in the arena
  uint32_t layout;     // 0 plain, 1 NHWC (informational)
} eb_tensor_info;

typedef struct eb_op_info {
  const char* name;  // NUL-terminated, owned by the model
  const char* type;  // "CONV2D", "FULLY_CONNECTED", ...
  uint32_t opcode;
  uint32_t num_inputs;
  uint32_t num_outputs;
  uint32_t num_params;
  const int32_t* inputs;   // tensor ids; -1 for an absent optional input
  const int32_t* outputs;  // tensor ids
  const int32_t* params;
} eb_op_info;

// "EB_OK", "EB_ERR_FORMAT", ...; "EB_ERR_UNKNOWN" for a value outside the enum.
const char* eb_status_name(eb_status status);
// "int8", "int32", "float32"; "unknown" otherwise.
const char* eb_dtype_name(eb_dtype dtype);

// Reads the whole file into one buffer the model owns, then loads it as eb_model_open_memory does.
// On failure *model is NULL and err (if not NULL) holds a NUL-terminated message.
eb_status eb_model_open_file(const char* path, eb_model** model, char* err, size_t err_len);
// Zero-copy: weights are used in place, so the caller keeps data alive and unchanged until eb_model_close.
// data must be EB_BUFFER_ALIGNMENT-aligned.
eb_status eb_model_open_memory(const void* data, size_t size, eb_model** model, char* err, size_t err_len);
void eb_model_close(eb_model* model);  // NULL is fine

// Message of the last failed call on this model ("" if none).
const char* eb_model_last_error(const eb_model* model);

size_t eb_model_num_inputs(const eb_model* model);
size_t eb_model_num_outputs(const eb_model* model);
eb_status eb_model_input_info(const eb_model* model, size_t index, eb_tensor_info* info);
eb_status eb_model_output_info(const eb_model* model, size_t index, eb_tensor_info* info);

// Copies count float32 values into graph input `index`; count must equal its element count (EB_ERR_SHAPE).
// Set every input before every invoke: the memory plan may reuse an input's bytes once the input is consumed.
eb_status eb_model_set_input(eb_model* model, size_t index, const float* data, size_t count);
// The same for an int32 input (token ids): ids that feed an EMBEDDING must lie in [0, table rows) (EB_ERR_ARGUMENT).
// eb_model_set_input on an int32 input, or this on a float32 one, is EB_ERR_ARGUMENT.
eb_status eb_model_set_input_int32(eb_model* model, size_t index, const int32_t* data, size_t count);
// Runs every op in order on the arena.
eb_status eb_model_invoke(eb_model* model);
// Copies graph output `index` (count must equal its element count) into data.
eb_status eb_model_get_output(const eb_model* model, size_t index, float* data, size_t count);

size_t eb_model_num_ops(const eb_model* model);
eb_status eb_model_op_info(const eb_model* model, size_t index, eb_op_info* info);

// Profiling: when enabled, invoke records each op's wall time (CLOCK_MONOTONIC); off by default.
void eb_model_set_profiling(eb_model* model, int enable);
// Nanoseconds op `index` took in the last profiled invoke (0 before one).
eb_status eb_model_op_time_ns(const eb_model* model, size_t index, uint64_t* ns);

// Memory: the activation arena, every byte the runtime allocated (arena, bookkeeping, and the file buffer of
// eb_model_open_file), and the bytes of constant tensors (weights, biases, multipliers).
size_t eb_model_arena_bytes(const eb_model* model);
size_t eb_model_tracked_bytes(const eb_model* model);
size_t eb_model_weights_bytes(const eb_model* model);

// The instruction-set path chosen at load: "ref", "avx2", "avx512vnni", "neon", "neondot" or "i8mm". It is the best
// path this build and CPU support, or the one the environment variable EDGEBUILD_ISA names when the model is opened
// (an unknown or unavailable name fails the open with EB_ERR_UNSUPPORTED). Every path gives bit-identical outputs.
const char* eb_model_isa(const eb_model* model);
// The core the kernel variants were chosen for at open: "cortex-a55", "cortex-a76", ... or "unknown". It is the
// environment variable EDGEBUILD_CPU when set (an unknown name fails the open with EB_ERR_UNSUPPORTED and lists the
// known ones; it also caps the automatic ISA choice to what that core has), else the core of the CPUs the threads
// run on by their MIDR (sysfs midr_el1, else /proc/cpuinfo; the fast cluster of a big.LITTLE CPU). Its class
// ("in-order", "out-of-order" or "unknown") decides between variants of one ISA (docs/kernel-naming.md); the
// source says how it was found ("EDGEBUILD_CPU", "MIDR 0x41:0xd0b (sysfs)", "no MIDR found", ...).
const char* eb_model_cpu(const eb_model* model);
const char* eb_model_core_class(const eb_model* model);
const char* eb_model_cpu_source(const eb_model* model);
// The micro-kernel variant that runs a family's ops ("qs8-gemm": "qs8_gemm_minmax_4x8c4__neondot_a55"; "qd8-gemm":
// DYNAMIC_FULLY_CONNECTED's), "" when the reference kernels run it.
const char* eb_model_kernel(const eb_model* model, const char* family);
// The core names EDGEBUILD_CPU accepts, comma-separated ("cortex-a7,cortex-a9,...").
const char* eb_known_cpus(void);
// The core a model opened now would be chosen for, without a model (eb_model_cpu's, eb_model_core_class's and
// eb_model_cpu_source's answers; source_len >= 64). EB_ERR_UNSUPPORTED, with the message in err, for an unknown
// EDGEBUILD_CPU.
eb_status eb_detect_cpu(const char** name, const char** core_class, char* source, size_t source_len, char* err,
                        size_t err_len);
// Threads eb_model_invoke uses (1 at open; at most 64); outputs are bit-identical for any count. Starts the worker
// threads and sizes their scratch now, so invoke still allocates nothing.
eb_status eb_model_set_threads(eb_model* model, int threads);
int eb_model_num_threads(const eb_model* model);
// Threads for this machine (at most 64; edgebuild-run's default --threads): the CPUs this process may use by its
// affinity mask (taskset, cpusets), capped by its cgroup CPU quota (ceil(quota / period) of cgroup v2 cpu.max or v1
// cpu.cfs_quota_us / cpu.cfs_period_us, the strictest of its cgroup and their parents), and on a big.LITTLE CPU
// without the slowest cluster (by sysfs cpu_capacity, else cpufreq/cpuinfo_max_freq; a cluster counts as slow
// when it runs at most 3/4 as fast as the fastest core). Files that are missing are skipped. Test hooks: the
// environment variables EDGEBUILD_SYSFS_ROOT and EDGEBUILD_PROC_ROOT replace /sys and /proc (and with the latter set,
// the Cpus_allowed_list of its self/status, when present, stands for the affinity mask).
int eb_default_threads(void);
// The CPUs the model's threads run on, fixed by the last eb_model_set_threads, as a Linux CPU list such as "4-7"
// ("" before): the fast cores when the workers are pinned, else every CPU the process may use.
const char* eb_model_cpus(const eb_model* model);
// 1 when eb_model_set_threads pinned the worker threads to the fast cores: on a big.LITTLE CPU, for at most as many
// threads as fast cores (more threads float on every allowed CPU). Threads on a uniform CPU are never pinned.
int eb_model_threads_pinned(const eb_model* model);
// Pins the calling thread to eb_model_cpus when the workers are pinned (otherwise changes nothing). The runtime
// never moves the thread that calls eb_model_invoke on its own, as it belongs to the application; edgebuild-run
// calls this. EB_ERR_UNSUPPORTED when the OS refuses.
eb_status eb_model_pin_caller(eb_model* model);
// Comma-separated ISA names: compiled into this build, and of those the ones this CPU runs ("ref" always).
const char* eb_compiled_isas(void);
const char* eb_available_isas(void);

// Debugging: every tensor of the artifact by id, and its current bytes (intermediates keep the values of the last
// invoke until the arena region is reused by a later op).
size_t eb_model_num_tensors(const eb_model* model);
eb_status eb_model_tensor_info(const eb_model* model, size_t id, eb_tensor_info* info);
eb_status eb_model_tensor_data(const eb_model* model, size_t id, const void** data, size_t* num_bytes);

#ifdef __cplusplus
}  // extern "C"
#endif

#endif  // EDGEBUILD_EDGEBUILD_H_
