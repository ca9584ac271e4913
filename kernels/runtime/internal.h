// internal.h: the runtime's in-memory model (what the loader builds and the executor runs); not a public header.
#ifndef EDGEBUILD_RUNTIME_INTERNAL_H_
#define EDGEBUILD_RUNTIME_INTERNAL_H_

#include <stddef.h>
#include <stdint.h>

#include "cpus.h"
#include "edgebuild/edgebuild.h"
#include "ops_generated.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "edgebuild reads the little-endian .ebm format in place: big-endian hosts are not supported"
#endif

namespace eb {

struct OpPlan;      // dispatch.h
struct ThreadPool;  // threadpool.h

// docs/artifact.md: section kinds, dtypes, storage classes (opcodes: ops_generated.h).
enum SectionKind : uint32_t {
  kSectionStrings = 1,
  kSectionTensors = 2,
  kSectionOps = 3,
  kSectionIntPool = 4,
  kSectionGraph = 5,
  kSectionConstants = 6,
  kSectionMetadata = 7,
  kSectionCodedConstants = 8,  // CONSTANTS, entropy-coded; decoded at load (huffman.h)
  kSectionLastKnown = kSectionCodedConstants,
};

// CODED_CONSTANTS chunk methods.
enum CodedMethod : uint32_t { kCodedStored = 0, kCodedHuffman = 1, kCodedHuffmanRuns = 2 };
constexpr size_t kCodedHeaderBytes = 16;
constexpr size_t kCodedChunkBytes = 40;

enum Storage : uint8_t { kStorageArena = 0, kStorageConstant = 1 };

constexpr size_t kHeaderBytes = 32;
constexpr size_t kSectionEntryBytes = 24;
constexpr uint32_t kMaxSections = 64;
constexpr size_t kTensorRecordBytes = 64;
constexpr size_t kOpRecordBytes = 32;
constexpr uint64_t kSectionAlignment = 64;
// Names are copied NUL-terminated into the model; the cap keeps that copy linear in the file size (docs/artifact.md).
constexpr uint32_t kMaxNameBytes = 1024;

struct Tensor {
  const char* name;  // NUL-terminated copy, owned by the model
  uint32_t name_len;
  uint8_t dtype;  // eb_dtype
  uint8_t rank;
  uint8_t storage;  // Storage
  uint8_t layout;
  int32_t dims[EB_MAX_RANK];
  float scale;
  int32_t zero_point;
  uint64_t offset;
  uint64_t size;  // bytes = num_elements × element size, <= SIZE_MAX
  size_t num_elements;
  uint8_t* data;  // arena + offset, or constants + offset (read-only then)
};

struct Op {
  uint32_t opcode;
  uint32_t index;    // op_index(opcode): the op's row in kOpInfo and kOpImpls
  uint8_t form;      // Form: kFormInt8, or kFormFloat when the output is float32 (single-form ops: kFormInt8)
  const char* name;  // NUL-terminated copy, owned by the model
  uint32_t name_len;
  uint32_t num_inputs, num_outputs, num_params;
  const int32_t* inputs;  // into INT_POOL, in place
  const int32_t* outputs;
  const int32_t* params;  // the raw INT_POOL values (eb_model_op_info); ops read p
  OpParams p;             // params decoded at load (op_check.cc); the member is the op's form
};
size_t dtype_size(uint8_t dtype);  // 0 for an unknown dtype

// CRC-32 (IEEE 802.3, zlib's polynomial), as zlib.crc32(data).
uint32_t crc32(const uint8_t* data, size_t size);

}  // namespace eb

struct eb_model {
  // The artifact: a caller's buffer (eb_model_open_memory) or file_raw (eb_model_open_file).
  const uint8_t* buffer;
  size_t buffer_size;
  void* file_raw;  // allocation behind buffer when the model owns it

  uint32_t num_tensors;
  eb::Tensor* tensors;
  uint32_t num_ops;
  eb::Op* ops;
  uint32_t num_inputs, num_outputs;
  const int32_t* graph_ids;  // inputs then outputs, in place (GRAPH section)
  char* names;               // every tensor and op name, NUL-terminated

  uint64_t arena_bytes;
  void* arena_raw;  // allocation behind arena (aligned to 64)
  uint8_t* arena;
  size_t weights_bytes;          // sum of constant tensor sizes
  void* constants_raw;           // decoded CODED_CONSTANTS (aligned to 64), or NULL when constants are read in place
  size_t coded_constants_bytes;  // size of the CODED_CONSTANTS section in the file (0 if absent)

  int profiling;
  uint64_t* op_ns;  // num_ops entries

  // Optimized paths (dispatch.h, packing.cc, threadpool.cc): the ISA chosen at load, per-op packed weights,
  // per-thread scratch, and the worker threads of eb_model_set_threads.
  uint32_t isa;
  eb::CoreChoice core;   // the core the kernel variants are chosen for (select_core)
  char gemm_kernel[64];  // the GEMM variant the plans use ("" on the reference path), eb_model_kernel's answer
  eb::OpPlan* plans;     // num_ops entries, or NULL on the reference path
  uint8_t* scratch;      // max_threads × scratch_per_thread bytes, 64-aligned
  void* scratch_raw;
  size_t scratch_per_thread;
  size_t im2col_bytes;  // first part of each thread's scratch; tap pointers follow
  int32_t max_threads;  // threads the scratch is sized for
  int32_t num_threads;  // threads an invoke uses (1 = the caller only)
  eb::ThreadPool* pool;
  // The CPUs of the last eb_model_set_threads (cpus.h): pinned when the workers are held to a big.LITTLE CPU's
  // fast cores; cpu_list is eb_model_cpus' text.
  bool pinned;
  eb::CpuMask cpus;
  char cpu_list[128];

  size_t tracked_bytes;
  mutable char last_error[EB_ERROR_MAX];  // const accessors report argument errors here too
};

namespace eb {

// Allocate zeroed memory and add the bytes requested from malloc to model->tracked_bytes. tracked_calloc(count,
// size) is freed with free() (calloc checks count × size for overflow); tracked_alloc_aligned returns a 64-aligned
// pointer and stores the pointer to free in *raw. Both return NULL on failure (also on overflow).
void* tracked_calloc(eb_model* model, size_t count, size_t size);
void* tracked_alloc_aligned(eb_model* model, size_t size, void** raw);

// Validates buffer as an artifact and builds model (tensors, ops, names, arena). On failure returns the status and
// writes a message into err; the caller frees what was allocated with free_model_parts.
eb_status load_model(eb_model* model, const uint8_t* buffer, size_t size, char* err, size_t err_len);
void free_model_parts(eb_model* model);

// Runs every op in order (executor.cc).
void run_ops(eb_model* model);

}  // namespace eb

// Profiling markers (model.cc): empty functions, never inlined or merged, called only when profiling is on: around
// each op by run_ops and around the whole invoke by eb_model_invoke. kernels/tools/qemu-insn-count.c finds them by
// symbol in the (static, unstripped) runner and counts the guest instructions executed between them.
extern "C" {
void eb_profile_invoke_begin(void);
void eb_profile_invoke_end(void);
void eb_profile_op_begin(void);
void eb_profile_op_end(void);
}

namespace eb {

// snprintf into a fixed buffer, tolerant of buf == NULL or len == 0.
void format_message(char* buf, size_t len, const char* fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

}  // namespace eb

#endif  // EDGEBUILD_RUNTIME_INTERNAL_H_
