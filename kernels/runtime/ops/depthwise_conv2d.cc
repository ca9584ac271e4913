// depthwise_conv2d.cc: DEPTHWISE_CONV2D (docs/artifact.md): CONV2D with one group per input channel, OC = C × depth
// multiplier, weight [OC, KH, KW, 1]. The lowering decides depthwise; this file only reads it. The int8 form runs
// the ISA's depthwise kernel (gemm_exec.h) when OC == C, else the reference kernel; the float form runs the float
// reference kernel.
#include "../gemm_exec.h"
#include "../op.h"
#include "../packing.h"
#include "edgebuild/ukernels.h"

namespace eb {

namespace {

eb_status need_act_of(OpCheck& c, const DepthwiseConv2dInt8Params& p) { return c.need_act(p.act_min, p.act_max); }
eb_status need_act_of(OpCheck& c, const DepthwiseConv2dFloatParams& p) { return c.need_bounds(p.lo, p.hi); }

template <typename Params>
eb_status validate_form(OpCheck& c, const Params& p) {
  const Op& op = c.op();
  const int32_t x = op.inputs[0], w = op.inputs[1], y = op.outputs[0];
  const ConvGeometry geo = conv_geometry_of(p);
  eb_status s;
  if ((s = c.need_conv_window(x, w, y, geo)) != EB_OK) return s;
  if ((s = need_act_of(c, p)) != EB_OK) return s;
  const int32_t C = c.T(x).dims[3], OC = c.T(w).dims[0];
  if (c.T(w).dims[3] != 1)
    return c.fail("weight dims %s: a depthwise weight is [OC, KH, KW, 1]", dims_text(c.T(w)).text);
  if (C < 1 || OC % C != 0)
    return c.fail("output channels %d are not a multiple of input channels %d", (int)OC, (int)C);
  if ((s = c.need_conv_output(x, w, y, geo)) != EB_OK) return s;
  if (c.is_float()) return c.need_f32_vector("bias", op.inputs[2], OC);
  return c.check_channel_params(OC);
}

eb_status validate(OpCheck& c) {
  return c.is_float() ? validate_form(c, c.p().depthwise_conv2d_float) : validate_form(c, c.p().depthwise_conv2d_int8);
}

// The ISA's depthwise kernel packs one channel per output channel: depth multiplier 1 only.
eb_status plan(eb_model* m, const Op& op, OpPlan& plan, PlanContext& ctx) {
  if (op.form != kFormInt8 || !ctx.have_dw) return EB_OK;  // the reference kernel
  const Tensor &x = m->tensors[op.inputs[0]], &w = m->tensors[op.inputs[1]], &y = m->tensors[op.outputs[0]];
  const size_t C = (size_t)x.dims[3], OC = (size_t)y.dims[3];
  if (OC != C) return EB_OK;
  const GemmWeights wt = {data_of<const int8_t>(m, op.inputs[1]), data_or_null<int32_t>(m, op.inputs[2]),
                          data_of<const int32_t>(m, op.inputs[3]), data_of<const int32_t>(m, op.inputs[4]),
                          x.zero_point};
  return plan_dwconv(m, plan, ctx, wt, C, (size_t)w.dims[1] * (size_t)w.dims[2]);
}

void run_fast(eb_model* m, const Op& op, const OpPlan& plan) {
  const Tensor &x = m->tensors[op.inputs[0]], &w = m->tensors[op.inputs[1]], &y = m->tensors[op.outputs[0]];
  const DepthwiseConv2dInt8Params& q = op.p.depthwise_conv2d_int8;
  const ConvWindow win = conv_window(q);
  DwJob j;
  j.m = m;
  j.plan = &plan;
  j.x = &x;
  j.y = &y;
  j.conv = &win;
  j.dw.channels = (size_t)x.dims[3];
  j.dw.in_width = (size_t)x.dims[2];
  j.dw.out_width = (size_t)y.dims[2];
  j.dw.kh = (size_t)w.dims[1];
  j.dw.kw = (size_t)w.dims[2];
  j.dw.stride = (size_t)q.stride_w;
  j.dw.dilation = (size_t)q.dilation_w;
  j.dw.pad_left = (size_t)q.pad_left;
  j.dw.zero = plan.zero_row;
  j.dw.rq = requant_of(y, q.act_min, q.act_max);
  run_dwconv(j);
}

void run_ref(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &w = m->tensors[op.inputs[1]], &y = m->tensors[op.outputs[0]];
  const DepthwiseConv2dInt8Params& q = op.p.depthwise_conv2d_int8;
  eb_qs8_conv_params k;
  set_conv_geometry(&k, x, w, y, conv_geometry_of(q), x.dims[3]);
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
  const DepthwiseConv2dFloatParams& q = op.p.depthwise_conv2d_float;
  eb_f32_conv_params k;
  set_conv_geometry(&k, x, w, y, conv_geometry_of(q), x.dims[3]);
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

const OpImpl kOpImplDepthwiseConv2d = {validate, plan, run, NULL, NULL};

}  // namespace eb
