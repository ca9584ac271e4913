// conv2d.cc: CONV2D (docs/artifact.md, eq. 6): NHWC int8 or float32 convolution with groups, strides, paddings and
// dilations. The int8 form runs an im2col GEMM per group where the ISA has one (gemm_exec.h), else the reference
// kernel; the float form runs the float reference kernel. Depthwise layers are DEPTHWISE_CONV2D
// (depthwise_conv2d.cc), decided by the lowering; a grouped CONV2D of an older file runs here, on the GEMM.
#include "../gemm_exec.h"
#include "../op.h"
#include "../packing.h"
#include "edgebuild/ukernels.h"

namespace eb {

namespace {

eb_status need_act_of(OpCheck& c, const Conv2dInt8Params& p) { return c.need_act(p.act_min, p.act_max); }
eb_status need_act_of(OpCheck& c, const Conv2dFloatParams& p) { return c.need_bounds(p.lo, p.hi); }

template <typename Params>
eb_status validate_form(OpCheck& c, const Params& p) {
  const Op& op = c.op();
  const int32_t x = op.inputs[0], w = op.inputs[1], y = op.outputs[0], g = p.groups;
  const ConvGeometry geo = conv_geometry_of(p);
  eb_status s;
  if ((s = c.need_conv_window(x, w, y, geo)) != EB_OK) return s;
  if ((s = need_act_of(c, p)) != EB_OK) return s;
  const int32_t C = c.T(x).dims[3], OC = c.T(w).dims[0];
  if (g < 1) return c.fail("groups %d must be >= 1", (int)g);
  if (C % g != 0 || OC % g != 0)
    return c.fail("input channels %d and output channels %d must both be multiples of groups %d", (int)C, (int)OC,
                  (int)g);
  if (c.T(w).dims[3] != C / g)
    return c.fail("weight dims %s do not match input channels %d / groups %d", dims_text(c.T(w)).text, (int)C, (int)g);
  if ((s = c.need_conv_output(x, w, y, geo)) != EB_OK) return s;
  if (c.is_float()) return c.need_f32_vector("bias", op.inputs[2], OC);
  return c.check_channel_params(OC);
}

eb_status validate(OpCheck& c) {
  return c.is_float() ? validate_form(c, c.p().conv2d_float) : validate_form(c, c.p().conv2d_int8);
}

// The int8 form on the ISA's GEMM (im2col per group).
eb_status plan(eb_model* m, const Op& op, OpPlan& plan, PlanContext& ctx) {
  if (op.form != kFormInt8 || !ctx.have_gemm) return EB_OK;  // the reference kernel
  const Conv2dInt8Params& q = op.p.conv2d_int8;
  const Tensor &x = m->tensors[op.inputs[0]], &w = m->tensors[op.inputs[1]], &y = m->tensors[op.outputs[0]];
  const GemmWeights wt = {data_of<const int8_t>(m, op.inputs[1]), data_or_null<int32_t>(m, op.inputs[2]),
                          data_of<const int32_t>(m, op.inputs[3]), data_of<const int32_t>(m, op.inputs[4]),
                          x.zero_point};
  const size_t groups = (size_t)q.groups, C = (size_t)x.dims[3], OC = (size_t)y.dims[3];
  const size_t taps = (size_t)w.dims[1] * (size_t)w.dims[2];
  const size_t N = OC / groups, K = taps * (C / groups);
  const size_t M = (size_t)y.dims[0] * (size_t)y.dims[1] * (size_t)y.dims[2];
  const bool direct = taps == 1 && groups == 1 && q.stride_h == 1 && q.stride_w == 1 && q.pad_top == 0 &&
                      q.pad_left == 0 && q.pad_bottom == 0 && q.pad_right == 0;
  return plan_gemm(m, plan, ctx, wt, groups, N, K, M, direct);
}

void run_fast(eb_model* m, const Op& op, const OpPlan& plan) {
  const Tensor &x = m->tensors[op.inputs[0]], &w = m->tensors[op.inputs[1]], &y = m->tensors[op.outputs[0]];
  const Conv2dInt8Params& q = op.p.conv2d_int8;
  const ConvWindow win = conv_window(q);
  const size_t groups = (size_t)q.groups;
  GemmJob j;
  j.m = m;
  j.plan = &plan;
  j.x = &x;
  j.y = reinterpret_cast<int8_t*>(y.data);
  j.conv = &win;
  j.kh = w.dims[1];
  j.kw = w.dims[2];
  j.ow = y.dims[2];
  j.M = (size_t)y.dims[0] * (size_t)y.dims[1] * (size_t)y.dims[2];
  j.N = (size_t)y.dims[3] / groups;
  j.K = (size_t)w.dims[1] * (size_t)w.dims[2] * (size_t)w.dims[3];
  j.y_stride = (size_t)y.dims[3];
  j.rq = requant_of(y, q.act_min, q.act_max);
  for (size_t g = 0; g < groups; ++g) {
    j.group = g;
    run_gemm(j);
  }
}

void run_ref(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &w = m->tensors[op.inputs[1]], &y = m->tensors[op.outputs[0]];
  const Conv2dInt8Params& q = op.p.conv2d_int8;
  eb_qs8_conv_params k;
  set_conv_geometry(&k, x, w, y, conv_geometry_of(q), q.groups);
  k.input_zero_point = x.zero_point;
  k.output_zero_point = y.zero_point;
  k.output_min = q.act_min;
  k.output_max = q.act_max;
  eb_qs8_conv_ref(&k, reinterpret_cast<const int8_t*>(x.data), reinterpret_cast<const int8_t*>(w.data),
                  data_or_null<int32_t>(m, op.inputs[2]), data_of<const int32_t>(m, op.inputs[3]),
                  data_of<const int32_t>(m, op.inputs[4]), reinterpret_cast<int8_t*>(y.data));
}

void run_f32(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &w = m->tensors[op.inputs[1]], &y = m->tensors[op.outputs[0]];
  const Conv2dFloatParams& q = op.p.conv2d_float;
  eb_f32_conv_params k;
  set_conv_geometry(&k, x, w, y, conv_geometry_of(q), q.groups);
  k.output_min = q.lo;
  k.output_max = q.hi;
  eb_f32_conv_ref(&k, data_of<const float>(m, op.inputs[0]), data_of<const float>(m, op.inputs[1]),
                  data_or_null<float>(m, op.inputs[2]), data_of<float>(m, op.outputs[0]));
}

void run(eb_model* m, const Op& op) {
  if (op.form == kFormFloat) return run_f32(m, op);
  const OpPlan* plan = plan_of(m, op);
  if (plan != NULL) return run_fast(m, op, *plan);
  run_ref(m, op);
}

}  // namespace

const OpImpl kOpImplConv2d = {validate, plan, run, NULL, NULL};

}  // namespace eb
