// dynamic_fully_connected.cc: DYNAMIC_FULLY_CONNECTED (issue 19): y[..., N] = x[..., K] · w[N, K]ᵀ with x float32
// quantized per row at run time (docs/quantization.md (14)) and w int8 per output channel, scaled back to float32
// (15). The reference path quantizes one row at a time into a stack buffer; the optimized path (qd8_gemm.h) packs
// the weights at load and runs the ISA's quantize + GEMM pair over row tiles.
#include "../gemm_exec.h"
#include "../op.h"
#include "../qd8_gemm.h"
#include "edgebuild/ukernels.h"

namespace eb {

namespace {

constexpr int32_t kMaxK = EB_QD8_MAX_K;

// x [..., K] float32, w [N, K] int8 constant, w_scale [N] and bias [N] float32 constants, y [..., N] float32.
eb_status validate(OpCheck& c) {
  const Op& op = c.op();
  const int32_t x = op.inputs[0], w = op.inputs[1], y = op.outputs[0];
  eb_status s;
  if ((s = c.need_dtype("input", x, EB_DTYPE_FLOAT32)) != EB_OK) return s;
  if ((s = c.need_dtype("weight", w, EB_DTYPE_INT8)) != EB_OK) return s;
  if ((s = c.need_const("weight", w)) != EB_OK) return s;
  if ((s = c.need_rank("weight", w, 2)) != EB_OK) return s;
  if ((s = c.need_dtype("output", y, EB_DTYPE_FLOAT32)) != EB_OK) return s;
  const DynamicFullyConnectedFloatParams& p = c.p().dynamic_fully_connected_float;
  if ((s = c.need_bounds(p.lo, p.hi)) != EB_OK) return s;
  const Tensor &tx = c.T(x), &tw = c.T(w), &ty = c.T(y);
  if (tx.rank < 1) return c.fail("input ('%.*s') has rank 0, expected [..., K]", c.tlen(x), c.tname(x));
  const int32_t K = tx.dims[tx.rank - 1], N = tw.dims[0];
  if (tw.dims[1] != K)
    return c.fail("weight dims %s do not match input dims %s (K = %d)", dims_text(tw).text, dims_text(tx).text, (int)K);
  if (K > kMaxK) return c.fail("K = %d exceeds %d (docs/quantization.md (15))", (int)K, (int)kMaxK);
  bool ok = ty.rank == tx.rank && ty.dims[ty.rank - 1] == N;
  for (uint32_t d = 0; ok && d + 1 < tx.rank; ++d) ok = ty.dims[d] == tx.dims[d];
  if (!ok)
    return c.fail("output dims %s, expected input dims %s with the last replaced by N = %d", dims_text(ty).text,
                  dims_text(tx).text, (int)N);
  if ((s = c.need_f32_vector("w_scale", op.inputs[2], N)) != EB_OK) return s;
  return c.need_f32_vector("bias", op.inputs[3], N);
}

// The ISA's qd8 kernels when it has them (qd8_gemm_kernel), else nothing: run takes the reference path.
eb_status plan(eb_model* m, const Op& op, OpPlan& plan, PlanContext& ctx) {
  const Qd8Kernel* k = qd8_gemm_kernel(m->isa);
  if (k == NULL) return EB_OK;
  const Tensor &x = m->tensors[op.inputs[0]], &w = m->tensors[op.inputs[1]];
  const size_t K = (size_t)w.dims[1];
  return plan_qd8(m, plan, ctx, *k, data_of<const int8_t>(m, op.inputs[1]), data_of<const float>(m, op.inputs[2]),
                  data_or_null<float>(m, op.inputs[3]), K != 0 ? x.num_elements / K : 0, (size_t)w.dims[0], K);
}

void run_ref(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &w = m->tensors[op.inputs[1]];
  const DynamicFullyConnectedFloatParams& p = op.p.dynamic_fully_connected_float;
  const size_t k = (size_t)w.dims[1], n = (size_t)w.dims[0], rows = x.num_elements / k;
  const float* xs = data_of<const float>(m, op.inputs[0]);
  float* ys = data_of<float>(m, op.outputs[0]);
  int8_t q[kMaxK];
  for (size_t r = 0; r < rows; ++r) {
    eb_qd8_row_params rp;
    eb_qd8_quantize_ref(1, k, xs + r * k, k, q, &rp);
    eb_qd8_gemm_ref(1, n, k, q, &rp, data_of<const int8_t>(m, op.inputs[1]), data_of<const float>(m, op.inputs[2]),
                    data_or_null<float>(m, op.inputs[3]), p.lo, p.hi, ys + r * n, n);
  }
}

void run(eb_model* m, const Op& op) {
  const OpPlan* plan = plan_of(m, op);
  if (plan == NULL) return run_ref(m, op);
  const Tensor &x = m->tensors[op.inputs[0]], &w = m->tensors[op.inputs[1]];
  const DynamicFullyConnectedFloatParams& p = op.p.dynamic_fully_connected_float;
  const size_t k = (size_t)w.dims[1], n = (size_t)w.dims[0];
  run_qd8(m, *plan, data_of<const float>(m, op.inputs[0]), data_of<float>(m, op.outputs[0]), x.num_elements / k, n, k,
          p.lo, p.hi);
}

}  // namespace

const OpImpl kOpImplDynamicFullyConnected = {validate, plan, run, NULL, NULL};

}  // namespace eb
