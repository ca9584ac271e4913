// gemm_exec.h: the optimized execution shared by CONV2D, FULLY_CONNECTED and the sparse ops: im2col + GEMM,
// depthwise rows and sparse GEMM over the plans of packing.cc, split into tasks for the thread pool.
#ifndef EDGEBUILD_RUNTIME_GEMM_EXEC_H_
#define EDGEBUILD_RUNTIME_GEMM_EXEC_H_

#include <stddef.h>
#include <stdint.h>

#include "dispatch.h"
#include "internal.h"

namespace eb {

// The optimized plan of op (an entry of m->ops), or NULL for the reference path (reference ISA, or no plan).
inline const OpPlan* plan_of(const eb_model* m, const Op& op) {
  const OpPlan* plan = m->plans != NULL ? &m->plans[&op - m->ops] : NULL;
  return plan != NULL && plan->kind != kPlanRef ? plan : NULL;
}

// The window of a convolution along H and W (docs/artifact.md CONV2D); kernel size and output width are job fields.
struct ConvWindow {
  int32_t stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w;
};

// The window fields of a CONV2D or SPARSE_CONV2D parameter struct.
template <typename Params>
ConvWindow conv_window(const Params& p) {
  return ConvWindow{p.stride_h, p.stride_w, p.pad_top, p.pad_left, p.dilation_h, p.dilation_w};
}

// clamp(q + zp) = clamp(q, lo − zp, hi − zp) + zp: docs/quantization.md (6).
inline eb_qs8_requant_params requant_of(const Tensor& y, int32_t act_min, int32_t act_max) {
  eb_qs8_requant_params rq;
  rq.output_zero_point = y.zero_point;
  rq.lo = act_min - y.zero_point;
  rq.hi = act_max - y.zero_point;
  return rq;
}

// One GEMM of the optimized path: rows M of K taps (an im2col row of group g, or a row of x), N columns.
struct GemmJob {
  eb_model* m;
  const OpPlan* plan;
  const Tensor* x;
  int8_t* y;
  const ConvWindow* conv;  // CONV2D's window, or NULL for FULLY_CONNECTED
  size_t M, N, K, group, y_stride;
  int32_t kh, kw, ow;  // CONV2D window and output width
  eb_qs8_requant_params rq;
  size_t m_tiles_per_task, n_blocks_per_task, n_tasks_n;  // set by run_gemm
};
void run_gemm(GemmJob& j);

// A DEPTHWISE_CONV2D with OC = C (plan kind kPlanDwconv): whole output rows per kernel call.
struct DwJob {
  eb_model* m;
  const OpPlan* plan;
  const Tensor *x, *y;
  const ConvWindow* conv;
  eb_qs8_dwconv_params dw;  // the row geometry and requantization every row call shares
  size_t rows_per_task;     // set by run_dwconv
};
void run_dwconv(DwJob& j);

// Sparse GEMM of the optimized path: rows M (output pixels, or rows of x), N output channels, tap pointers per row.
struct SpmmJob {
  eb_model* m;
  const OpPlan* plan;
  const Tensor* x;
  int8_t* y;
  const ConvWindow* conv;  // SPARSE_CONV2D's window, or NULL for SPARSE_FULLY_CONNECTED
  size_t M, N, C, taps;
  int32_t kh, kw, ow;
  eb_qs8_requant_params rq;
  size_t m_tiles_per_task, strips_per_task, n_tasks_n;  // set by run_spmm
};
void run_spmm(SpmmJob& j);

}  // namespace eb

#endif  // EDGEBUILD_RUNTIME_GEMM_EXEC_H_
