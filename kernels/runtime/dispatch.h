// dispatch.h: which instruction-set path runs (cpu features, EDGEBUILD_ISA) and the per-op plans the executor uses.
//
// At load the runtime picks one ISA for the model: the best the CPU supports among those compiled into this build,
// or the one EDGEBUILD_ISA forces (an unknown or unavailable name is a load error, never a silent fallback). Then
// prepare_ops calls every op's plan (op.h), which packs its weights in the layout that ISA's micro-kernel wants
// (packing.h), and sizes the scratch buffers; after that, invoke allocates nothing. The reference path is always
// compiled.
//
// The core (Cortex-A55, A76, ...) picks among variants of one ISA: two cores with the same features (A55 and A76 both
// have dotprod, A53 and A72 neither) want differently scheduled kernels. select_core reads it from the MIDR of the
// CPUs the threads run on (cpus.h), or takes the one EDGEBUILD_CPU names; a kernel entry's `cores` says which core
// classes it is tuned for, and an entry without one is the ISA's default.
#ifndef EDGEBUILD_RUNTIME_DISPATCH_H_
#define EDGEBUILD_RUNTIME_DISPATCH_H_

#include <stddef.h>
#include <stdint.h>

#include "cpus.h"
#include "edgebuild/edgebuild.h"
#include "edgebuild/ukernels_isa.h"

struct eb_model;

namespace eb {

enum Isa : uint32_t {
  kIsaRef = 0,
  kIsaAvx2 = 1,
  kIsaAvx512Vnni = 2,
  kIsaNeon = 3,
  kIsaNeonDot = 4,
  kIsaI8mm = 5,
  kIsaCount = 6,
};

const char* isa_name(uint32_t isa);
const char* core_class_name(uint32_t cls);  // "in-order", "out-of-order", "unknown"
// The detected core (MIDR of the CPUs the threads run on, cpus.h detect_midr), or the one EDGEBUILD_CPU names. An
// unknown name: EB_ERR_UNSUPPORTED and a message listing the known ones. An unknown MIDR is no error (class unknown:
// the default kernels).
eb_status select_core(CoreChoice* choice, char* err, size_t err_len);
void list_cores(char* buf, size_t len, const char* sep);  // the table's names, each once
// Bit i set: ISA i is compiled into this build and this CPU (and OS) supports it. Bit kIsaRef is always set.
uint32_t isa_available_mask();
uint32_t compiled_mask();  // ISAs whose kernels this build contains
// The best available ISA, or the one EDGEBUILD_ISA names. On an unknown or unavailable name: EB_ERR_UNSUPPORTED and
// a message listing what is available.
// A forced core (EDGEBUILD_CPU) caps the automatic choice to the ISAs that core has, so that EDGEBUILD_CPU=cortex-a53
// on a dotprod CPU runs what an A53 would; EDGEBUILD_ISA still forces any path the CPU supports.
eb_status select_isa(uint32_t* isa, char* err, size_t err_len, const CoreChoice* core = nullptr);

// A GEMM micro-kernel and the packing it wants (see ukernels_isa.h for the packed block layout).
struct GemmKernel {
  eb_qs8_gemm_ukernel_fn fn;
  uint32_t mr, nr, kr;     // rows and columns per call; K is padded to a multiple of kr
  uint32_t w_elem;         // bytes per packed weight: 1 = int8, 2 = int16
  int32_t a_offset;        // the kernel reads activations as (x + a_offset): 128 for u8 dot products, else 0
  uint32_t header_arrays;  // int32 arrays opening each packed block: 4, or 5 with rq_u or flags (ukernels_isa.h)
  uint32_t nc_any = 0;     // 1: one call takes any nc, walking the consecutive packed blocks itself (ukernels_isa.h);
                           // 2: and any mr, walking tiles of mr rows itself (one call per chunk of rows)
  // Optional (a table entry may stop before them): the symbol without eb_ / ukernel_ (derived from the fields and
  // the ISA when NULL), and the core classes the variant is tuned for (0: the ISA's default, for any core).
  const char* name = nullptr;
  uint32_t cores = 0;
  // 1 (with header_arrays = 5): the fourth array holds −right and the fifth the block's EB_GEMM_BLOCK_* flags
  // instead of rq_u (ukernels_isa.h), so the kernel neither negates the shifts nor tests them per block.
  uint32_t flags = 0;
};

struct DwKernel {
  eb_qs8_dwconv_ukernel_fn fn;
  uint32_t cr;      // channels per block
  uint32_t w_elem;  // 1 = int8, 4 = int16 in the low half of an int32 lane (upper half 0)
  uint32_t rq64;    // 1: the block header holds the 64-bit rounding constants instead of the shifts (ukernels_isa.h)
  uint32_t flags;   // 1: the header holds −right and a fifth array of EB_DW_BLOCK_* flags (ukernels_isa.h)
};

// Whole-op kernels of the elementwise and pooling ops for one ISA (the reference kernel where the ISA has none).
struct ElemKernels {
  void (*add)(const eb_qs8_vadd_params*, size_t, const int8_t*, const int8_t*, int8_t*);
  void (*maxpool)(const eb_qs8_maxpool_params*, const int8_t*, int8_t*);
  void (*avgpool)(const eb_qs8_avgpool_params*, const int8_t*, int8_t*);
  void (*quantize)(size_t, const float*, int8_t*, float, int32_t);
  void (*quantize_to_nhwc)(size_t, size_t, size_t, size_t, const float*, int8_t*, float, int32_t);
};
const ElemKernels& elem_kernels(uint32_t isa);

// The float kernels of SOFTMAX, LAYER_NORM and UNARY for one ISA (issue 19): a SIMD variant equal to the reference bit
// for bit, or the reference where the ISA has none (armv7).
typedef void (*F32SoftmaxFn)(size_t rows, size_t cols, const float* input, float* output);
typedef void (*F32LayernormFn)(size_t rows, size_t cols, const float* input, const float* gamma, const float* beta,
                               float eps, float* output);
typedef void (*F32UnaryFn)(int32_t func, size_t count, size_t channels, size_t slopes, const float* slope, float alpha,
                           const float* input, float* output);
F32SoftmaxFn f32_softmax_fn(uint32_t isa);
F32LayernormFn f32_layernorm_fn(uint32_t isa);
F32UnaryFn f32_unary_fn(uint32_t isa);
// The float matmul kernels of an ISA (kernels/ukernels/f32-bmm, f32-gemm; ukernels_isa.h), or NULL where the ISA has
// none (the reference runs): the reference kernel's signature plus a scratch of EB_F32_MM_SCRATCH_BYTES(k) bytes,
// which the op's plan reserves at the front of the per-thread scratch. Bit-identical to eb_f32_bmm_ref /
// eb_f32_gemm_ref, so the choice changes time only.
typedef void (*F32BmmFn)(size_t batch, size_t m, size_t n, size_t k, int transpose_b, float alpha, const float* a,
                         const float* b, float* output, void* scratch);
typedef void (*F32GemmFn)(size_t m, size_t n, size_t k, const float* input, const float* weights, const float* bias,
                          float output_min, float output_max, float* output, void* scratch);
F32BmmFn f32_bmm_fn(uint32_t isa);
F32GemmFn f32_gemm_fn(uint32_t isa);
// The int8 BATCH_MATMUL kernel of an ISA (kernels/ukernels/qs8-bmm), or NULL (the reference runs): eb_qs8_bmm_ref's
// signature plus a scratch of EB_QS8_BMM_SCRATCH_BYTES(m, k) bytes, reserved by the op's plan. Bit-identical.
typedef void (*Qs8BmmFn)(const eb_qs8_bmm_params* params, const int8_t* a, const int8_t* b, int8_t* output,
                         void* scratch);
Qs8BmmFn qs8_bmm_fn(uint32_t isa);

// A sparse micro-kernel (SPARSE_CONV2D / SPARSE_FULLY_CONNECTED) and the strip layout it wants (ukernels_isa.h).
struct SpmmKernel {
  eb_qs8_spmm_ukernel_fn fn;
  uint32_t mr, nr, kr;
  uint32_t w_elem;
  uint32_t kg;  // weights of an entry are [kr / kg][nr][kg]: kg consecutive k of one column together
  int32_t a_offset;
  uint32_t grouped;  // 1: the grouped strip index of the ARM kernels (ukernels_isa.h), 0: (tap, offset) pairs
};

// kPlanTable: packed = an op's lookup table (ADD: eb_qs8_vadd_table_neon).
enum PlanKind : uint32_t { kPlanRef = 0, kPlanGemm = 1, kPlanDwconv = 2, kPlanSpmm = 3, kPlanTable = 4 };
// DYNAMIC_FULLY_CONNECTED's plan (qd8_gemm.h): packed = the qd8 blocks, qd8 = the ISA's table entry.
constexpr uint32_t kPlanQd8 = 5;
struct Qd8Kernel;

// Per-op state for the optimized path of an op (CONV2D, FULLY_CONNECTED, SPARSE_*), made by its plan.
struct OpPlan {
  uint32_t kind;
  GemmKernel gemm;
  DwKernel dw;
  SpmmKernel spmm;     // kPlanSpmm: packed = uint64 strip offsets (64-aligned), then the strips
  size_t strips;       // kPlanSpmm: ceil(N / nr)
  uint8_t* packed;     // per group: ceil(N/nr) blocks (GEMM) or ceil(C/cr) blocks (depthwise), 64-aligned
  void* packed_raw;    // allocation behind packed
  size_t chunk_rows;   // GEMM rows per im2col chunk (a multiple of mr)
  size_t group_bytes;  // packed bytes per group
  size_t block_bytes;  // packed bytes per nr (or cr) block
  size_t kc;           // K padded to kr
  bool direct;         // GEMM rows are the input rows themselves (1×1, stride 1, no padding, one group)
  int8_t* zero_row;    // depthwise and sparse: C bytes of the input zero point, for taps in the padding
  // kPlanSpmm of a SPARSE_CONV2D with several taps and a grouped kernel ("flat"): the entry offsets are offsets from
  // a row's first tap in an input of flat_hp × flat_wp pixels (the input with its padding, copied by run_spmm into
  // the scratch when flat_copy), so each row needs one pointer and each strip one tap group. 0: tap pointers.
  int32_t flat_hp, flat_wp;
  bool flat_copy;
  // kPlanQd8: the quantize + GEMM pair (qd8_gemm.h).
  const Qd8Kernel* qd8;
};

// Builds model->plans for the selected ISA (kIsaRef: no plans). EB_ERR_NOMEM on allocation failure.
eb_status prepare_ops(eb_model* model, char* err, size_t err_len);
void free_plans(eb_model* model);

// Kernel tables (gemm_kernel / dw_kernel return false when the ISA has no such kernel): the variant tuned for the
// core class `cls` when the ISA has one, else the ISA's default.
bool gemm_kernel(uint32_t isa, GemmKernel* out, uint32_t cls = kCoreUnknown);
// The GEMM kernel for one layer of depth K whose n weights are w and whose `channels` output channels have the
// exponents shift: k (from gemm_kernel), or another kernel of the same ISA that suits the layer better (by K, or
// exponents all <= 0), or that is exact where k is not (a −128 weight); cpu.cc says which.
void gemm_kernel_for_layer(size_t K, const int8_t* w, size_t n, const int32_t* shift, size_t channels, GemmKernel* k);
bool dw_kernel(uint32_t isa, DwKernel* out);  // one per ISA (no core-tuned depthwise variant yet)
// The kernel's name for reports ("qs8_gemm_minmax_4x8c4__neondot"): its `name`, else derived from its tile and isa.
void gemm_kernel_name(const GemmKernel& k, uint32_t isa, char* buf, size_t len);
bool spmm_kernel(uint32_t isa, SpmmKernel* out);

}  // namespace eb

#endif  // EDGEBUILD_RUNTIME_DISPATCH_H_
