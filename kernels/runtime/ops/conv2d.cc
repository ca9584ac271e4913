// conv2d.cc: CONV2D (docs/artifact.md, eq. 6): NHWC int8 or float32 convolution with groups, strides, paddings and
// dilations. The int8 form runs an im2col GEMM or a depthwise kernel where the ISA has one (gemm_exec.h), else the
// reference kernel; the float form runs the float reference kernel.
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
  const int32_t x = op.inputs[0], w = op.inputs[1], y = op.outputs[0];
  const int32_t sh = p.stride_h, sw = p.stride_w, pt = p.pad_top, pl = p.pad_left, pb = p.pad_bottom, pr = p.pad_right,
                dh = p.dilation_h, dw = p.dilation_w, g = p.groups;
  eb_status s;
  if ((s = c.need_dtype("input", x, c.act_dtype())) != EB_OK) return s;
  if ((s = c.need_rank("input", x, 4)) != EB_OK) return s;
  if ((s = c.need_dtype("weight", w, c.act_dtype())) != EB_OK) return s;
  if ((s = c.need_const("weight", w)) != EB_OK) return s;
  if ((s = c.need_rank("weight", w, 4)) != EB_OK) return s;
  if ((s = c.need_dtype("output", y, c.act_dtype())) != EB_OK) return s;
  if ((s = c.need_rank("output", y, 4)) != EB_OK) return s;
  if (sh < 1 || sw < 1) return c.fail("strides (%d, %d) must be >= 1", (int)sh, (int)sw);
  if (dh < 1 || dw < 1) return c.fail("dilations (%d, %d) must be >= 1", (int)dh, (int)dw);
  if (pt < 0 || pl < 0 || pb < 0 || pr < 0)
    return c.fail("paddings (top %d, left %d, bottom %d, right %d) must be >= 0", (int)pt, (int)pl, (int)pb, (int)pr);
  if ((s = need_act_of(c, p)) != EB_OK) return s;
  const int32_t* xd = c.T(x).dims;
  const int32_t* wd = c.T(w).dims;
  const int32_t* yd = c.T(y).dims;
  const int32_t C = xd[3], OC = wd[0];
  if (g < 1) return c.fail("groups %d must be >= 1", (int)g);
  if (C % g != 0 || OC % g != 0)
    return c.fail("input channels %d and output channels %d must both be multiples of groups %d", (int)C, (int)OC,
                  (int)g);
  if (wd[3] != C / g)
    return c.fail("weight dims %s do not match input channels %d / groups %d", dims_text(c.T(w)).text, (int)C, (int)g);
  if (yd[0] != xd[0] || yd[3] != OC)
    return c.fail("output dims %s do not match batch %d and %d output channels", dims_text(c.T(y)).text, (int)xd[0],
                  (int)OC);
  // OH = (H + pt + pb − dh·(KH−1) − 1) / sh + 1, in int64 (every term is an int32).
  const int64_t num_h = (int64_t)xd[1] + pt + pb - (int64_t)dh * (wd[1] - 1) - 1;
  const int64_t num_w = (int64_t)xd[2] + pl + pr - (int64_t)dw * (wd[2] - 1) - 1;
  if (num_h < 0 || num_w < 0)
    return c.fail("dilated kernel %dx%d (dilation %d, %d) is larger than the padded input %s", (int)wd[1], (int)wd[2],
                  (int)dh, (int)dw, dims_text(c.T(x)).text);
  const int64_t oh = num_h / sh + 1, ow = num_w / sw + 1;
  if (yd[1] != oh || yd[2] != ow)
    return c.fail(
        "output dims %s but input %s, kernel %dx%d, stride (%d,%d), padding (%d,%d,%d,%d), "
        "dilation (%d,%d) give %lldx%lld",
        dims_text(c.T(y)).text, dims_text(c.T(x)).text, (int)wd[1], (int)wd[2], (int)sh, (int)sw, (int)pt, (int)pl,
        (int)pb, (int)pr, (int)dh, (int)dw, (long long)oh, (long long)ow);
  if (c.is_float()) return c.need_f32_vector("bias", op.inputs[2], OC);
  return c.check_channel_params(OC);
}

eb_status validate(OpCheck& c) {
  return c.is_float() ? validate_form(c, c.p().conv2d_float) : validate_form(c, c.p().conv2d_int8);
}

// The int8 form on a GEMM (im2col per group) or depthwise kernel of the ISA.
eb_status plan(eb_model* m, const Op& op, OpPlan& plan, PlanContext& ctx) {
  if (op.form != kFormInt8) return EB_OK;  // the float form runs its reference kernel
  const Conv2dInt8Params& q = op.p.conv2d_int8;
  const Tensor &x = m->tensors[op.inputs[0]], &w = m->tensors[op.inputs[1]], &y = m->tensors[op.outputs[0]];
  const GemmWeights wt = {data_of<const int8_t>(m, op.inputs[1]), data_or_null<int32_t>(m, op.inputs[2]),
                          data_of<const int32_t>(m, op.inputs[3]), data_of<const int32_t>(m, op.inputs[4]),
                          x.zero_point};
  const size_t groups = (size_t)q.groups, C = (size_t)x.dims[3], OC = (size_t)y.dims[3];
  const size_t taps = (size_t)w.dims[1] * (size_t)w.dims[2];
  const bool depthwise = groups == C && OC == C && groups > 1;
  const size_t N = OC / groups, K = taps * (C / groups);
  const size_t M = (size_t)y.dims[0] * (size_t)y.dims[1] * (size_t)y.dims[2];
  if (depthwise && ctx.have_dw) return plan_dwconv(m, plan, ctx, wt, N * groups, taps);
  if (!ctx.have_gemm || depthwise) return EB_OK;  // reference path
  const bool direct = taps == 1 && groups == 1 && q.stride_h == 1 && q.stride_w == 1 && q.pad_top == 0 &&
                      q.pad_left == 0 && q.pad_bottom == 0 && q.pad_right == 0;
  return plan_gemm(m, plan, ctx, wt, groups, N, K, M, direct);
}

void run_fast(eb_model* m, const Op& op, const OpPlan& plan) {
  const Tensor &x = m->tensors[op.inputs[0]], &w = m->tensors[op.inputs[1]], &y = m->tensors[op.outputs[0]];
  const Conv2dInt8Params& q = op.p.conv2d_int8;
  const ConvWindow win = conv_window(q);
  if (plan.kind == kPlanDwconv) {
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
    return;
  }
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

// The geometry shared by the int8 and float reference kernels: NHWC shapes of x, w, y and the window.
template <typename Kernel, typename Params>
void set_conv_geometry(Kernel* k, const Tensor& x, const Tensor& w, const Tensor& y, const Params& p) {
  k->batch = x.dims[0];
  k->input_height = x.dims[1];
  k->input_width = x.dims[2];
  k->input_channels = x.dims[3];
  k->output_height = y.dims[1];
  k->output_width = y.dims[2];
  k->output_channels = y.dims[3];
  k->kernel_height = w.dims[1];
  k->kernel_width = w.dims[2];
  k->groups = p.groups;
  k->stride_height = p.stride_h;
  k->stride_width = p.stride_w;
  k->pad_top = p.pad_top;
  k->pad_left = p.pad_left;
  k->dilation_height = p.dilation_h;
  k->dilation_width = p.dilation_w;
}

void run_ref(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &w = m->tensors[op.inputs[1]], &y = m->tensors[op.outputs[0]];
  const Conv2dInt8Params& q = op.p.conv2d_int8;
  eb_qs8_conv_params k;
  set_conv_geometry(&k, x, w, y, q);
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
  set_conv_geometry(&k, x, w, y, q);
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
