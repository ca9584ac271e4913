// batch_matmul.cc: BATCH_MATMUL: a [..., M, K] · b [..., K, N] (or b [..., N, K] with transpose_b) = y [..., M, N],
// the batch dims (all but the last two) equal. int8: one multiplier (docs/quantization.md (6)); float32: y scaled
// by alpha.
#include <math.h>

#include "../dispatch.h"
#include "../op.h"
#include "../packing.h"
#include "edgebuild/ukernels.h"

namespace eb {

namespace {

// int8: K <= 33025, so that K products |a − zp|·|b − zp| <= 255² fit the int32 accumulator.
eb_status validate(OpCheck& c) {
  const Op& op = c.op();
  const int32_t a = op.inputs[0], b = op.inputs[1], y = op.outputs[0];
  eb_status s;
  if ((s = c.need_dtype("input a", a, c.act_dtype())) != EB_OK) return s;
  if ((s = c.need_dtype("input b", b, c.act_dtype())) != EB_OK) return s;
  const Tensor &ta = c.T(a), &tb = c.T(b), &ty = c.T(y);
  if (ta.rank < 2) return c.fail("input a ('%.*s') has rank %u, expected >= 2", c.tlen(a), c.tname(a), ta.rank);
  if ((s = c.need_rank("input b", b, ta.rank)) != EB_OK) return s;
  if ((s = c.need_rank("output", y, ta.rank)) != EB_OK) return s;
  int32_t tr;
  if (c.is_float()) {
    const BatchMatmulFloatParams& p = c.p().batch_matmul_float;
    tr = p.transpose_b;
    if (!isfinite(p.alpha)) return c.fail("alpha %g must be finite", (double)p.alpha);
  } else {
    const BatchMatmulInt8Params& p = c.p().batch_matmul_int8;
    tr = p.transpose_b;
    if ((s = c.need_multiplier("out", 0, p.mult, p.shift)) != EB_OK) return s;
    if ((s = c.need_act(p.act_min, p.act_max)) != EB_OK) return s;
    if (ta.dims[ta.rank - 1] > 33025)
      return c.fail("K = %d exceeds 33025, the int32 accumulator's safe range", (int)ta.dims[ta.rank - 1]);
  }
  const uint32_t r = ta.rank;
  const int32_t M = ta.dims[r - 2], K = ta.dims[r - 1];
  const int32_t KB = tr ? tb.dims[r - 1] : tb.dims[r - 2], N = tr ? tb.dims[r - 2] : tb.dims[r - 1];
  bool ok = KB == K && ty.dims[r - 2] == M && ty.dims[r - 1] == N;
  for (uint32_t d = 0; ok && d + 2 < r; ++d) ok = tb.dims[d] == ta.dims[d] && ty.dims[d] == ta.dims[d];
  if (!ok)
    return c.fail("dims a %s, b %s (transpose_b %d), output %s do not multiply", dims_text(ta).text, dims_text(tb).text,
                  (int)tr, dims_text(ty).text);
  return EB_OK;
}

// The ISA's kernel of the form (f32_bmm_fn, qs8_bmm_fn): its scratch (repacked panels of b and rows of a) at the
// front of the per-thread scratch.
eb_status plan(eb_model* m, const Op& op, OpPlan&, PlanContext& ctx) {
  const Tensor& a = m->tensors[op.inputs[0]];
  const size_t M = (size_t)a.dims[a.rank - 2], K = (size_t)a.dims[a.rank - 1];
  size_t bytes = 0;
  if (op.form == kFormFloat && f32_bmm_fn(m->isa) != nullptr) bytes = EB_F32_MM_SCRATCH_BYTES(K);
  if (op.form == kFormInt8 && qs8_bmm_fn(m->isa) != nullptr) bytes = EB_QS8_BMM_SCRATCH_BYTES(M, K);
  if (bytes > ctx.im2col_bytes) ctx.im2col_bytes = bytes;
  return EB_OK;
}

void run(eb_model* m, const Op& op) {
  const Tensor &a = m->tensors[op.inputs[0]], &b = m->tensors[op.inputs[1]], &y = m->tensors[op.outputs[0]];
  const uint32_t r = a.rank;
  if (op.form == kFormFloat) {
    const BatchMatmulFloatParams& p = op.p.batch_matmul_float;
    const size_t M = (size_t)a.dims[r - 2], K = (size_t)a.dims[r - 1], N = (size_t)y.dims[r - 1];
    const float *ad = data_of<const float>(m, op.inputs[0]), *bd = data_of<const float>(m, op.inputs[1]);
    float* yd = data_of<float>(m, op.outputs[0]);
    const F32BmmFn fn = f32_bmm_fn(m->isa);  // bit-identical to the reference (dispatch.h)
    if (fn != nullptr && m->scratch != nullptr && m->im2col_bytes >= EB_F32_MM_SCRATCH_BYTES(K))
      fn(a.num_elements / (M * K), M, N, K, p.transpose_b, p.alpha, ad, bd, yd, m->scratch);
    else
      eb_f32_bmm_ref(a.num_elements / (M * K), M, N, K, p.transpose_b, p.alpha, ad, bd, yd);
    return;
  }
  const BatchMatmulInt8Params& p = op.p.batch_matmul_int8;
  eb_qs8_bmm_params k;
  k.m = (size_t)a.dims[r - 2];
  k.k = (size_t)a.dims[r - 1];
  k.n = (size_t)y.dims[r - 1];
  k.batch = a.num_elements / (k.m * k.k);
  k.transpose_b = p.transpose_b;
  k.a_zero_point = a.zero_point;
  k.b_zero_point = b.zero_point;
  k.output_zero_point = y.zero_point;
  k.multiplier = p.mult;
  k.shift = p.shift;
  k.output_min = p.act_min;
  k.output_max = p.act_max;
  const int8_t *ad = reinterpret_cast<const int8_t*>(a.data), *bd = reinterpret_cast<const int8_t*>(b.data);
  int8_t* yd = reinterpret_cast<int8_t*>(y.data);
  const Qs8BmmFn fn = qs8_bmm_fn(m->isa);  // bit-identical to the reference (dispatch.h)
  if (fn != nullptr && m->scratch != nullptr && m->im2col_bytes >= EB_QS8_BMM_SCRATCH_BYTES(k.m, k.k))
    fn(&k, ad, bd, yd, m->scratch);
  else
    eb_qs8_bmm_ref(&k, ad, bd, yd);
}

}  // namespace

const OpImpl kOpImplBatchMatmul = {validate, plan, run, NULL, NULL};

}  // namespace eb
