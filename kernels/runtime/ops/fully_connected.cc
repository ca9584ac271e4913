// fully_connected.cc: FULLY_CONNECTED: y[..., N] = x[..., K] · w[N, K]ᵀ, int8 (per-channel requantization) or
// float32. The int8 form runs the ISA's GEMM kernel (gemm_exec.h) where there is one, else the reference kernel.
#include "../gemm_exec.h"
#include "../op.h"
#include "../packing.h"
#include "edgebuild/ukernels.h"

namespace eb {

namespace {

// x [..., K], w [N, K] constant, y [..., N]; then the form's bounds and per-channel constants.
eb_status validate(OpCheck& c) {
  const Op& op = c.op();
  const int32_t x = op.inputs[0], w = op.inputs[1], y = op.outputs[0];
  const uint8_t dtype = c.act_dtype();
  eb_status s;
  if ((s = c.need_dtype("input", x, dtype)) != EB_OK) return s;
  if ((s = c.need_dtype("weight", w, dtype)) != EB_OK) return s;
  if ((s = c.need_const("weight", w)) != EB_OK) return s;
  if ((s = c.need_rank("weight", w, 2)) != EB_OK) return s;
  if (c.is_float()) {
    const FullyConnectedFloatParams& p = c.p().fully_connected_float;
    if ((s = c.need_bounds(p.lo, p.hi)) != EB_OK) return s;
  } else {
    const FullyConnectedInt8Params& p = c.p().fully_connected_int8;
    if ((s = c.need_dtype("output", y, EB_DTYPE_INT8)) != EB_OK) return s;
    if ((s = c.need_act(p.act_min, p.act_max)) != EB_OK) return s;
  }
  const Tensor &tx = c.T(x), &tw = c.T(w), &ty = c.T(y);
  if (tx.rank < 1) return c.fail("input ('%.*s') has rank 0, expected [..., K]", c.tlen(x), c.tname(x));
  const int32_t K = tx.dims[tx.rank - 1], N = tw.dims[0];
  if (tw.dims[1] != K)
    return c.fail("weight dims %s do not match input dims %s (K = %d)", dims_text(tw).text, dims_text(tx).text, (int)K);
  bool ok = ty.rank == tx.rank && ty.dims[ty.rank - 1] == N;
  for (uint32_t d = 0; ok && d + 1 < tx.rank; ++d) ok = ty.dims[d] == tx.dims[d];
  if (!ok)
    return c.fail("output dims %s, expected input dims %s with the last replaced by N = %d", dims_text(ty).text,
                  dims_text(tx).text, (int)N);
  if (c.is_float()) return c.need_f32_vector("bias", op.inputs[2], N);
  return c.check_channel_params(N);
}

// The int8 form on the ISA's GEMM kernel: rows of x are the GEMM rows.
eb_status plan(eb_model* m, const Op& op, OpPlan& plan, PlanContext& ctx) {
  if (op.form == kFormFloat && f32_gemm_fn(m->isa) != nullptr) {  // the float kernel's scratch (run_f32)
    const size_t bytes = EB_F32_MM_SCRATCH_BYTES(m->tensors[op.inputs[1]].dims[1]);
    if (bytes > ctx.im2col_bytes) ctx.im2col_bytes = bytes;
  }
  if (op.form != kFormInt8 || !ctx.have_gemm) return EB_OK;
  const Tensor &x = m->tensors[op.inputs[0]], &w = m->tensors[op.inputs[1]];
  const GemmWeights wt = {data_of<const int8_t>(m, op.inputs[1]), data_or_null<int32_t>(m, op.inputs[2]),
                          data_of<const int32_t>(m, op.inputs[3]), data_of<const int32_t>(m, op.inputs[4]),
                          x.zero_point};
  const size_t N = (size_t)w.dims[0], K = (size_t)w.dims[1], M = x.num_elements / K;
  return plan_gemm(m, plan, ctx, wt, 1, N, K, M, /*direct_shape=*/true);
}

void run_fast(eb_model* m, const Op& op, const OpPlan& plan) {
  const Tensor &x = m->tensors[op.inputs[0]], &w = m->tensors[op.inputs[1]], &y = m->tensors[op.outputs[0]];
  const FullyConnectedInt8Params& q = op.p.fully_connected_int8;
  GemmJob j;
  j.m = m;
  j.plan = &plan;
  j.x = &x;
  j.y = reinterpret_cast<int8_t*>(y.data);
  j.conv = NULL;
  j.kh = j.kw = 1;
  j.ow = 1;
  j.K = (size_t)w.dims[1];
  j.N = (size_t)w.dims[0];
  j.M = x.num_elements / j.K;
  j.group = 0;
  j.y_stride = j.N;
  j.rq = requant_of(y, q.act_min, q.act_max);
  run_gemm(j);
}

void run_ref(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &w = m->tensors[op.inputs[1]], &y = m->tensors[op.outputs[0]];
  const FullyConnectedInt8Params& q = op.p.fully_connected_int8;
  eb_qs8_gemm_params k;
  k.k = (size_t)w.dims[1];
  k.n = (size_t)w.dims[0];
  k.m = x.num_elements / k.k;  // rows: every dim of x but the last
  k.input_zero_point = x.zero_point;
  k.output_zero_point = y.zero_point;
  k.output_min = q.act_min;
  k.output_max = q.act_max;
  eb_qs8_gemm_ref(&k, reinterpret_cast<const int8_t*>(x.data), reinterpret_cast<const int8_t*>(w.data),
                  data_or_null<int32_t>(m, op.inputs[2]), data_of<const int32_t>(m, op.inputs[3]),
                  data_of<const int32_t>(m, op.inputs[4]), reinterpret_cast<int8_t*>(y.data));
}

void run_f32(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &w = m->tensors[op.inputs[1]];
  const FullyConnectedFloatParams& q = op.p.fully_connected_float;
  const size_t k = (size_t)w.dims[1], n = (size_t)w.dims[0];
  const float *xd = data_of<const float>(m, op.inputs[0]), *wd = data_of<const float>(m, op.inputs[1]);
  const float* bias = data_or_null<float>(m, op.inputs[2]);
  float* yd = data_of<float>(m, op.outputs[0]);
  const F32GemmFn fn = f32_gemm_fn(m->isa);  // bit-identical to the reference (dispatch.h)
  if (fn != nullptr && m->scratch != nullptr && m->im2col_bytes >= EB_F32_MM_SCRATCH_BYTES(k))
    fn(x.num_elements / k, n, k, xd, wd, bias, q.lo, q.hi, yd, m->scratch);
  else
    eb_f32_gemm_ref(x.num_elements / k, n, k, xd, wd, bias, q.lo, q.hi, yd);
}

void run(eb_model* m, const Op& op) {
  if (op.form == kFormFloat) return run_f32(m, op);
  const OpPlan* plan = plan_of(m, op);
  if (plan != NULL) return run_fast(m, op, *plan);
  run_ref(m, op);
}

}  // namespace

const OpImpl kOpImplFullyConnected = {validate, plan, run, NULL, NULL};

}  // namespace eb
