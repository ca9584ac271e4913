// qs8-conv/ref.cc: reference int8 CONV2D (NHWC, groups, depthwise, dilation): plain loops, the spec.
#include "edgebuild/requant.h"
#include "edgebuild/ukernels.h"

// docs/artifact.md CONV2D and docs/quantization.md (6): for output (n, oh, ow, oc) of group g = oc / (OC/G),
//   acc = bias[oc] + Σ_{kh,kw,c} (x[n, oh·sh − pt + kh·dh, ow·sw − pl + kw·dw, g·C/G + c] − zp_x) · w[oc,kh,kw,c]
// with out-of-bounds taps skipped (padding holds zp_x, the real value 0), then
//   y = clamp(MBQM(acc, mult[oc], shift[oc]) + zp_y, act_min, act_max).
// Coordinates are int64 (strides and paddings are int32 parameters); flat offsets are size_t of checked indices.
extern "C" void eb_qs8_conv_ref(const eb_qs8_conv_params* p, const int8_t* input, const int8_t* weights,
                                const int32_t* bias, const int32_t* multiplier, const int32_t* shift, int8_t* output) {
  const int64_t H = p->input_height, W = p->input_width;
  const size_t C = (size_t)p->input_channels, OC = (size_t)p->output_channels;
  const size_t KH = (size_t)p->kernel_height, KW = (size_t)p->kernel_width;
  const size_t group_in = C / (size_t)p->groups, group_out = OC / (size_t)p->groups;
  for (size_t n = 0; n < (size_t)p->batch; ++n) {
    for (int64_t oh = 0; oh < p->output_height; ++oh) {
      for (int64_t ow = 0; ow < p->output_width; ++ow) {
        for (size_t oc = 0; oc < OC; ++oc) {
          const size_t c0 = (oc / group_out) * group_in;  // first input channel of this output's group
          int32_t acc = bias != NULL ? bias[oc] : 0;
          for (size_t kh = 0; kh < KH; ++kh) {
            const int64_t ih = oh * p->stride_height - p->pad_top + (int64_t)kh * p->dilation_height;
            if (ih < 0 || ih >= H) continue;
            for (size_t kw = 0; kw < KW; ++kw) {
              const int64_t iw = ow * p->stride_width - p->pad_left + (int64_t)kw * p->dilation_width;
              if (iw < 0 || iw >= W) continue;
              const int8_t* x = input + ((n * (size_t)H + (size_t)ih) * (size_t)W + (size_t)iw) * C + c0;
              const int8_t* w = weights + ((oc * KH + kh) * KW + kw) * group_in;
              for (size_t c = 0; c < group_in; ++c) {
                // |x − zp| <= 255 and |w| <= 128: the product fits int32; the sum wraps only for a hostile file.
                acc = eb_add_wrap_s32(acc, ((int32_t)x[c] - p->input_zero_point) * (int32_t)w[c]);
              }
            }
          }
          const int32_t q = eb_mbqm(acc, multiplier[oc], shift[oc]);  // docs/quantization.md (5)
          // q + zp_y in int64: q may be near INT32_MAX.
          *output++ = eb_clamp_s8(eb_sat32((int64_t)q + p->output_zero_point), p->output_min, p->output_max);
        }
      }
    }
  }
}
