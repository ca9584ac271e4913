// avg_pool2d.cc: AVG_POOL2D (docs/artifact.md, docs/quantization.md (9)): int8 or float32 NHWC average pooling,
// padding counted in the divisor or not. The int8 form runs the ISA's kernel.
#include "../dispatch.h"
#include "edgebuild/ukernels.h"
#include "pool.h"

namespace eb {

namespace {

eb_status need_act_of(OpCheck& c, const AvgPool2dInt8Params& p) { return c.need_act(p.act_min, p.act_max); }
eb_status need_act_of(OpCheck& c, const AvgPool2dFloatParams& p) { return c.need_bounds(p.lo, p.hi); }

template <typename Params>
eb_status validate_form(OpCheck& c, const Params& p) {
  const int32_t x = c.op().inputs[0], y = c.op().outputs[0];
  const int32_t kh = p.kernel_h, kw = p.kernel_w, sh = p.stride_h, sw = p.stride_w, ph = p.pad_h, pw = p.pad_w;
  eb_status s;
  if ((s = validate_pool_tensors(c, x, y)) != EB_OK) return s;
  if (kh < 1 || kw < 1 || sh < 1 || sw < 1 || ph < 0 || pw < 0)
    return c.fail("kernel (%d,%d), stride (%d,%d) must be >= 1 and padding (%d,%d) >= 0", (int)kh, (int)kw, (int)sh,
                  (int)sw, (int)ph, (int)pw);
  // Keeps the divisor and the accumulator of (9) far inside int64.
  if ((int64_t)kh * kw > INT32_MAX) return c.fail("kernel %dx%d has more than 2^31 - 1 taps", (int)kh, (int)kw);
  if ((s = need_act_of(c, p)) != EB_OK) return s;
  return validate_pool_windows(c, x, y, kh, kw, sh, sw, ph, pw, 1, 1);
}

eb_status validate(OpCheck& c) {
  return c.is_float() ? validate_form(c, c.p().avg_pool2d_float) : validate_form(c, c.p().avg_pool2d_int8);
}

void run(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  if (op.form == kFormFloat) {
    const AvgPool2dFloatParams& p = op.p.avg_pool2d_float;
    eb_f32_pool_params k;
    set_pool_geometry(&k, x, y, p);
    k.dilation_height = 1;
    k.dilation_width = 1;
    k.count_include_pad = p.count_include_pad;
    k.output_min = p.lo;
    k.output_max = p.hi;
    eb_f32_avgpool_ref(&k, reinterpret_cast<const float*>(x.data), reinterpret_cast<float*>(y.data));
    return;
  }
  const AvgPool2dInt8Params& p = op.p.avg_pool2d_int8;
  eb_qs8_avgpool_params k;
  set_pool_geometry(&k, x, y, p);
  k.count_include_pad = p.count_include_pad;
  k.zero_point = x.zero_point;
  k.output_min = p.act_min;
  k.output_max = p.act_max;
  elem_kernels(m->isa).avgpool(&k, reinterpret_cast<const int8_t*>(x.data), reinterpret_cast<int8_t*>(y.data));
}

}  // namespace

const OpImpl kOpImplAvgPool2d = {validate, NULL, run, NULL, NULL};

}  // namespace eb
