// packing.h: the packing steps op plans share (packing.cc): a grouped GEMM, a depthwise conv, a block-CSR sparse
// GEMM, each for the selected ISA's kernel (layouts in edgebuild/ukernels_isa.h). An op's plan
// (kernels/runtime/ops/<op>.cc) decides which one applies to it; prepare_ops (dispatch.h) calls every op's plan.
#ifndef EDGEBUILD_RUNTIME_PACKING_H_
#define EDGEBUILD_RUNTIME_PACKING_H_

#include <stddef.h>
#include <stdint.h>

#include "dispatch.h"
#include "internal.h"

namespace eb {

struct ConvGeometry;  // op.h

// What prepare_ops hands every plan: the selected ISA's kernels (have_*: the ISA has one) and the per-thread
// scratch the plans so far need, which a plan grows.
struct PlanContext {
  bool have_gemm, have_dw, have_spmm;
  GemmKernel gemm;
  DwKernel dw;
  SpmmKernel spmm;
  size_t im2col_bytes;  // the largest im2col chunk
  size_t max_taps;      // the most row or tap pointers a task holds
};

// Dense int8 weights with their per-channel requantization (docs/quantization.md (5)) and the input zero point.
struct GemmWeights {
  const int8_t* w;      // [groups × N, K] (GEMM) or [C, taps] (depthwise)
  const int32_t* bias;  // NULL: no bias
  const int32_t* mult;
  const int32_t* shift;
  int32_t zp_x;
};

// A GEMM of M rows, `groups` groups of N columns over K taps each. direct_shape: the rows of x are the GEMM rows
// (no im2col), which holds when also K needs no padding to the kernel's kr.
eb_status plan_gemm(eb_model* m, OpPlan& plan, PlanContext& ctx, const GemmWeights& w, size_t groups, size_t N,
                    size_t K, size_t M, bool direct_shape);
// A depthwise conv of C channels (one input channel per group) with `taps` window taps.
eb_status plan_dwconv(eb_model* m, OpPlan& plan, PlanContext& ctx, const GemmWeights& w, size_t C, size_t taps);
// A sparse op (inputs: x, values, bias, mult, shift, row_ptr, col_idx) with `taps` window taps per output and
// br × bc blocks; stays on the reference path when the input channels do not fit the kernel. conv: SPARSE_CONV2D's
// window (kh × kw = taps), or NULL.
eb_status plan_spmm(eb_model* m, const Op& op, OpPlan& plan, PlanContext& ctx, size_t taps, int32_t br, int32_t bc,
                    const ConvGeometry* conv = NULL, int32_t kw = 1);

}  // namespace eb

#endif  // EDGEBUILD_RUNTIME_PACKING_H_
