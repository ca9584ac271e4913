// dynamic_batch_matmul.cc: DYNAMIC_BATCH_MATMUL (issue 19): a [..., M, K] · b [..., K, N] (or b [..., N, K] with
// transpose_b) = y [..., M, N], float32 in and out, both inputs quantized at run time (docs/quantization.md
// (14)-(16)): a per row, b per output column, symmetrically; the batch dims (all but the last two) equal.
// The reference path quantizes one row and one column at a time on the stack.
#include <math.h>

#include "../gemm_exec.h"
#include "../op.h"
#include "../packing.h"
#include "../qd8_gemm.h"
#include "edgebuild/ukernels.h"

namespace eb {

namespace {

constexpr int32_t kMaxK = EB_QD8_MAX_K;

eb_status validate(OpCheck& c) {
  const Op& op = c.op();
  const int32_t a = op.inputs[0], b = op.inputs[1], y = op.outputs[0];
  eb_status s;
  if ((s = c.need_dtype("input a", a, EB_DTYPE_FLOAT32)) != EB_OK) return s;
  if ((s = c.need_dtype("input b", b, EB_DTYPE_FLOAT32)) != EB_OK) return s;
  if ((s = c.need_dtype("output", y, EB_DTYPE_FLOAT32)) != EB_OK) return s;
  const DynamicBatchMatmulFloatParams& p = c.p().dynamic_batch_matmul_float;
  if (!isfinite(p.alpha)) return c.fail("alpha %g must be finite", (double)p.alpha);
  const Tensor &ta = c.T(a), &tb = c.T(b), &ty = c.T(y);
  if (ta.rank < 2) return c.fail("input a ('%.*s') has rank %u, expected >= 2", c.tlen(a), c.tname(a), ta.rank);
  if ((s = c.need_rank("input b", b, ta.rank)) != EB_OK) return s;
  if ((s = c.need_rank("output", y, ta.rank)) != EB_OK) return s;
  const uint32_t r = ta.rank;
  const int32_t tr = p.transpose_b, M = ta.dims[r - 2], K = ta.dims[r - 1];
  const int32_t KB = tr ? tb.dims[r - 1] : tb.dims[r - 2], N = tr ? tb.dims[r - 2] : tb.dims[r - 1];
  if (K > kMaxK) return c.fail("K = %d exceeds %d (docs/quantization.md (15))", (int)K, (int)kMaxK);
  bool ok = KB == K && ty.dims[r - 2] == M && ty.dims[r - 1] == N;
  for (uint32_t d = 0; ok && d + 2 < r; ++d) ok = tb.dims[d] == ta.dims[d] && ty.dims[d] == ta.dims[d];
  if (!ok)
    return c.fail("dims a %s, b %s (transpose_b %d), output %s do not multiply", dims_text(ta).text, dims_text(tb).text,
                  (int)tr, dims_text(ty).text);
  return EB_OK;
}

// The ISA's qd8 kernels (qd8_gemm_kernel) with B quantized and packed per batch at run time; else the reference.
eb_status plan(eb_model* m, const Op& op, OpPlan& plan, PlanContext& ctx) {
  const Qd8Kernel* k = qd8_gemm_kernel(m->isa);
  if (k == NULL) return EB_OK;
  const Tensor& y = m->tensors[op.outputs[0]];
  const Tensor& a = m->tensors[op.inputs[0]];
  return plan_qd8_bmm(plan, ctx, *k, (size_t)y.dims[y.rank - 1], (size_t)a.dims[a.rank - 1]);
}

void run_ref(eb_model* m, const Op& op) {
  const Tensor &a = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  const DynamicBatchMatmulFloatParams& p = op.p.dynamic_batch_matmul_float;
  const uint32_t r = a.rank;
  const size_t M = (size_t)a.dims[r - 2], K = (size_t)a.dims[r - 1], N = (size_t)y.dims[r - 1];
  const size_t batch = a.num_elements / (M * K);
  const size_t stride_j = p.transpose_b ? K : 1, stride_t = p.transpose_b ? 1 : N;  // b[t, j] of (16)
  const float* as = data_of<const float>(m, op.inputs[0]);
  const float* bs = data_of<const float>(m, op.inputs[1]);
  float* ys = data_of<float>(m, op.outputs[0]);
  int8_t qa[kMaxK], qb[kMaxK];
  for (size_t s = 0; s < batch; ++s, as += M * K, bs += K * N, ys += M * N) {
    for (size_t j = 0; j < N; ++j) {
      float sb;
      eb_qd8_quantize_cols_ref(1, K, bs + j * stride_j, stride_j, stride_t, qb, &sb);
      const float ws = sb * p.alpha;  // (16): w_scale = s_b · alpha
      for (size_t i = 0; i < M; ++i) {
        eb_qd8_row_params rp;
        eb_qd8_quantize_ref(1, K, as + i * K, K, qa, &rp);
        eb_qd8_gemm_ref(1, 1, K, qa, &rp, qb, &ws, NULL, -INFINITY, INFINITY, ys + i * N + j, N);
      }
    }
  }
}

void run(eb_model* m, const Op& op) {
  const OpPlan* plan = plan_of(m, op);
  if (plan == NULL) return run_ref(m, op);
  const Tensor &a = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  const DynamicBatchMatmulFloatParams& p = op.p.dynamic_batch_matmul_float;
  const uint32_t r = a.rank;
  const size_t M = (size_t)a.dims[r - 2], K = (size_t)a.dims[r - 1], N = (size_t)y.dims[r - 1];
  run_qd8_bmm(m, *plan, data_of<const float>(m, op.inputs[0]), data_of<const float>(m, op.inputs[1]),
              data_of<float>(m, op.outputs[0]), a.num_elements / (M * K), M, N, K, p.transpose_b, p.alpha);
}

}  // namespace

const OpImpl kOpImplDynamicBatchMatmul = {validate, plan, run, NULL, NULL};

}  // namespace eb
