// qd8_gemm.h: DYNAMIC_FULLY_CONNECTED's optimized path (issue 19): the per-ISA kernel table, the weight packing done
// at load, and the execution over row tiles (quantize a tile's rows, then the GEMM over every column; or a group of
// tiles per run of columns, Qd8Kernel::nc_blocks).
//
// docs/quantization.md (14) quantizes each row of x once per op; (15) multiplies in int32 and scales back to float.
// A table entry pairs a quantize variant with the GEMM variant that reads its output (element size and offset), so
// the two are always chosen together. The reference ISA has no entry: the op runs the reference kernels.
#ifndef EDGEBUILD_RUNTIME_QD8_GEMM_H_
#define EDGEBUILD_RUNTIME_QD8_GEMM_H_

#include <stddef.h>
#include <stdint.h>

#include "dispatch.h"
#include "internal.h"

namespace eb {

struct PlanContext;  // packing.h

// A quantize + GEMM pair of one ISA and the layouts they share (ukernels_isa.h "qd8").
struct Qd8Kernel {
  eb_qd8_quantize_ukernel_fn quantize;
  eb_qd8_gemm_ukernel_fn gemm;
  uint32_t mr, nr, kr;  // rows and columns per GEMM tile; K padded to a multiple of kr
  uint32_t a_elem;      // bytes per quantized element: 1 (int8, or uint8 with a_offset 128) or 2 (int16)
  int32_t a_offset;     // the quantizer stores q + a_offset (128: unsigned bytes for vpdpbusd), the GEMM subtracts it
  uint32_t w_elem;      // bytes per packed weight: 1 = int8, 2 = int16
  // 0: each row tile runs over every column (one GEMM call per tile). n > 0: the rows of up to kQd8GroupBytes of
  // quantized A go first, then each run of n column blocks is multiplied by every row tile of the group before the
  // next run: the run's weights come from memory once and stay in cache for the other tiles, and a kernel that
  // prefetches one call's columns ahead (the next run) overlaps that fetch with the other tiles' work.
  uint32_t nc_blocks;
  const char* name;  // the GEMM variant without eb_ / ukernel_, for reports
  // b of DYNAMIC_BATCH_MATMUL / ATTENTION quantized (16) and packed for `gemm` in one step, or NULL: the reference
  // eb_qd8_packb_ref at this entry's nr, kr, w_elem (qd8_pack_b).
  eb_qd8_packb_ukernel_fn packb = NULL;
};

// The ISA's qd8 kernels, or NULL (reference ISA, or no variant for it yet).
const Qd8Kernel* qd8_gemm_kernel(uint32_t isa);

// At load: packs w [N, K] int8, w_scale [N], bias [N] (or NULL) for kernel k into plan (kind kPlanQd8) and grows
// the per-thread scratch in ctx for one group of quantized rows (a tile, or up to M rows with nc_blocks). EB_ERR_NOMEM
// on allocation failure.
eb_status plan_qd8(eb_model* m, OpPlan& plan, PlanContext& ctx, const Qd8Kernel& k, const int8_t* w,
                   const float* w_scale, const float* bias, size_t M, size_t N, size_t K);

// y [M, N] = (15) of x [M, K] (rows quantized by (14)) on a kPlanQd8 plan; rows split over the model's threads.
void run_qd8(eb_model* m, const OpPlan& plan, const float* x, float* y, size_t M, size_t N, size_t K, float lo,
             float hi);

// DYNAMIC_BATCH_MATMUL (issue 19): B [K, N] (b, or bᵀ with transpose_b) has no constants to pack at load; plan
// sizes the per-thread scratch for one batch's quantized and packed B (16) and a tile of A, run quantizes and packs
// B per batch and multiplies (15); batches split over the model's threads.
eb_status plan_qd8_bmm(OpPlan& plan, PlanContext& ctx, const Qd8Kernel& k, size_t N, size_t K);
void run_qd8_bmm(eb_model* m, const OpPlan& plan, const float* a, const float* b, float* y, size_t batch, size_t M,
                 size_t N, size_t K, int32_t transpose_b, float alpha);

// ATTENTION (issue 19, ops/attention.cc): DYNAMIC_BATCH_MATMUL's steps for one batch, so the op quantizes each
// head's K and V once and multiplies blocks of query rows. qd8_pack_b quantizes B [K, N] per column (16), column j's
// element t at b[j · stride_j + t · stride_t] (any view: K's rows, V's columns), w_scale = s_b · alpha, straight
// into `packed` (qd8_b_packed_bytes) through Qd8Kernel::packb, or for an entry without one the reference on a
// contiguous copy of the columns in `work` (qd8_b_work_bytes: 0 with a packb); qd8_rows: y [rows, N] = (15) of
// x [rows, K] (rows quantized by (14)), row strides given, with a_tile (qd8_a_tile_bytes) for one tile of quantized
// rows. The same kernels and bits as run_qd8_bmm.
size_t qd8_b_work_bytes(const Qd8Kernel& k, size_t N, size_t K);
size_t qd8_b_packed_bytes(const Qd8Kernel& k, size_t N, size_t K);
size_t qd8_a_tile_bytes(const Qd8Kernel& k, size_t K);
void qd8_pack_b(const Qd8Kernel& k, const float* b, size_t K, size_t N, size_t stride_j, size_t stride_t, float alpha,
                uint8_t* work, uint8_t* packed);
void qd8_rows(const Qd8Kernel& k, const float* x, size_t x_stride, size_t rows, size_t K, uint8_t* a_tile,
              const uint8_t* packed, float* y, size_t y_stride, size_t N);
// ATTENTION's mask add + SOFTMAX + (14) of the probabilities in one kernel (qd8-softmax) that stores rows as
// k.quantize does, or NULL (AVX2, armv7: the op runs those steps one after another, ops/attention.cc).
eb_qd8_softmax_ukernel_fn qd8_softmax_kernel(const Qd8Kernel& k);
// y [rows, N] = (15) of P [rows, K], P = SOFTMAX(x + mask) quantized per row (14) by fn = qd8_softmax_kernel(k), one
// tile of rows at a time (a tile's P never leaves the kernel); x [rows, K] (row stride x_stride) is overwritten, mask
// rows are mask_stride apart (0: one row for all; mask NULL: none). The bits of qd8_rows on SOFTMAX's output.
void qd8_softmax_rows(const Qd8Kernel& k, eb_qd8_softmax_ukernel_fn fn, float* x, size_t x_stride, const float* mask,
                      size_t mask_stride, size_t rows, size_t K, uint8_t* a_tile, const uint8_t* packed, float* y,
                      size_t y_stride, size_t N);

}  // namespace eb

#endif  // EDGEBUILD_RUNTIME_QD8_GEMM_H_
