// transpose_conv2d.cc: TRANSPOSE_CONV2D (docs/artifact.md): PyTorch's conv_transpose2d on NHWC tensors, int8
// (per-channel requantization, eq. 6) or float32, on the reference kernels (qs8-deconv, f32-deconv).
#include "../op.h"
#include "edgebuild/ukernels.h"

namespace eb {

namespace {

eb_status need_act_of(OpCheck& c, const TransposeConv2dInt8Params& p) { return c.need_act(p.act_min, p.act_max); }
eb_status need_act_of(OpCheck& c, const TransposeConv2dFloatParams& p) { return c.need_bounds(p.lo, p.hi); }

// x [N, H, W, C], w [OC, KH, KW, C/G] constant, y [N, OH, OW, OC] with
// OH = (H − 1)·sh − 2·ph + dh·(KH − 1) + oph + 1 (PyTorch's output size), likewise OW.
template <typename Params>
eb_status validate_form(OpCheck& c, const Params& p) {
  const Op& op = c.op();
  const int32_t x = op.inputs[0], w = op.inputs[1], y = op.outputs[0], g = p.groups;
  const uint8_t dtype = c.act_dtype();
  eb_status s;
  if ((s = c.need_dtype("input", x, dtype)) != EB_OK) return s;
  if ((s = c.need_rank("input", x, 4)) != EB_OK) return s;
  if ((s = c.need_dtype("weight", w, dtype)) != EB_OK) return s;
  if ((s = c.need_const("weight", w)) != EB_OK) return s;
  if ((s = c.need_rank("weight", w, 4)) != EB_OK) return s;
  if ((s = c.need_dtype("output", y, dtype)) != EB_OK) return s;
  if ((s = c.need_rank("output", y, 4)) != EB_OK) return s;
  if ((s = need_act_of(c, p)) != EB_OK) return s;
  if (p.stride_h < 1 || p.stride_w < 1)
    return c.fail("strides (%d, %d) must be >= 1", (int)p.stride_h, (int)p.stride_w);
  if (p.dilation_h < 1 || p.dilation_w < 1)
    return c.fail("dilations (%d, %d) must be >= 1", (int)p.dilation_h, (int)p.dilation_w);
  if (p.pad_h < 0 || p.pad_w < 0) return c.fail("paddings (%d, %d) must be >= 0", (int)p.pad_h, (int)p.pad_w);
  if (p.output_pad_h < 0 || p.output_pad_w < 0 || (p.output_pad_h >= p.stride_h && p.output_pad_h >= p.dilation_h) ||
      (p.output_pad_w >= p.stride_w && p.output_pad_w >= p.dilation_w))
    return c.fail("output paddings (%d, %d) must be >= 0 and below the stride or the dilation", (int)p.output_pad_h,
                  (int)p.output_pad_w);
  const int32_t *xd = c.T(x).dims, *wd = c.T(w).dims, *yd = c.T(y).dims;
  const int32_t C = xd[3], OC = wd[0];
  if (g < 1) return c.fail("groups %d must be >= 1", (int)g);
  if (C % g != 0 || OC % g != 0)
    return c.fail("input channels %d and output channels %d must both be multiples of groups %d", (int)C, (int)OC,
                  (int)g);
  if (wd[3] != C / g)
    return c.fail("weight dims %s do not match input channels %d / groups %d", dims_text(c.T(w)).text, (int)C, (int)g);
  // int64: every term is an int32.
  const int64_t oh = ((int64_t)xd[1] - 1) * p.stride_h - 2 * (int64_t)p.pad_h + (int64_t)p.dilation_h * (wd[1] - 1) +
                     p.output_pad_h + 1;
  const int64_t ow = ((int64_t)xd[2] - 1) * p.stride_w - 2 * (int64_t)p.pad_w + (int64_t)p.dilation_w * (wd[2] - 1) +
                     p.output_pad_w + 1;
  if (yd[0] != xd[0] || yd[3] != OC || yd[1] != oh || yd[2] != ow)
    return c.fail(
        "output dims %s but input %s, kernel %dx%d, stride (%d,%d), padding (%d,%d), output padding "
        "(%d,%d), dilation (%d,%d) give [%d,%lld,%lld,%d]",
        dims_text(c.T(y)).text, dims_text(c.T(x)).text, (int)wd[1], (int)wd[2], (int)p.stride_h, (int)p.stride_w,
        (int)p.pad_h, (int)p.pad_w, (int)p.output_pad_h, (int)p.output_pad_w, (int)p.dilation_h, (int)p.dilation_w,
        (int)xd[0], (long long)oh, (long long)ow, (int)OC);
  if (c.is_float()) return c.need_f32_vector("bias", op.inputs[2], OC);
  return c.check_channel_params(OC);
}

eb_status validate(OpCheck& c) {
  return c.is_float() ? validate_form(c, c.p().transpose_conv2d_float) : validate_form(c, c.p().transpose_conv2d_int8);
}

template <typename Kernel, typename Params>
void set_geometry(Kernel* k, const Tensor& x, const Tensor& w, const Tensor& y, const Params& p) {
  const ConvGeometry geo = {p.stride_h, p.stride_w, p.pad_h, p.pad_w, 0, 0, p.dilation_h, p.dilation_w};
  set_conv_geometry(k, x, w, y, geo, p.groups);
}

void run(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &w = m->tensors[op.inputs[1]], &y = m->tensors[op.outputs[0]];
  if (op.form == kFormFloat) {
    const TransposeConv2dFloatParams& q = op.p.transpose_conv2d_float;
    eb_f32_conv_params k;
    set_geometry(&k, x, w, y, q);
    k.output_min = q.lo;
    k.output_max = q.hi;
    eb_f32_deconv_ref(&k, data_of<const float>(m, op.inputs[0]), data_of<const float>(m, op.inputs[1]),
                      data_or_null<float>(m, op.inputs[2]), data_of<float>(m, op.outputs[0]));
    return;
  }
  const TransposeConv2dInt8Params& q = op.p.transpose_conv2d_int8;
  eb_qs8_conv_params k;
  set_geometry(&k, x, w, y, q);
  k.input_zero_point = x.zero_point;
  k.output_zero_point = y.zero_point;
  k.output_min = q.act_min;
  k.output_max = q.act_max;
  eb_qs8_deconv_ref(&k, data_of<const int8_t>(m, op.inputs[0]), data_of<const int8_t>(m, op.inputs[1]),
                    data_or_null<int32_t>(m, op.inputs[2]), data_of<const int32_t>(m, op.inputs[3]),
                    data_of<const int32_t>(m, op.inputs[4]), data_of<int8_t>(m, op.outputs[0]));
}

}  // namespace

const OpImpl kOpImplTransposeConv2d = {validate, NULL, run, NULL, NULL};

}  // namespace eb
