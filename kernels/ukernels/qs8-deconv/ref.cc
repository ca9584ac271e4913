// qs8-deconv/ref.cc: reference int8 TRANSPOSE_CONV2D (NHWC, groups, dilation), gathered per output: plain loops.
#include "edgebuild/requant.h"
#include "edgebuild/ukernels.h"

// docs/artifact.md TRANSPOSE_CONV2D and docs/quantization.md (6): input pixel ih feeds output row
// oh = ih·sh − pt + kh·dh (PyTorch's conv_transpose2d, pt = its padding). Gathered per output (n, oh, ow, oc) of group
// g = oc / (OC/G):
//   acc = bias[oc] + Σ_{kh,kw,c} (x[n, ih, iw, g·C/G + c] − zp_x) · w[oc, kh, kw, c]
// over the taps with (oh + pt − kh·dh) = ih·sh and (ow + pl − kw·dw) = iw·sw for an ih, iw inside the input, in the
// order kh, kw, c; then y = clamp(MBQM(acc, mult[oc], shift[oc]) + zp_y, act_min, act_max).
// Every read index is checked against the input, so no geometry reads outside it.
extern "C" void eb_qs8_deconv_ref(const eb_qs8_conv_params* p, const int8_t* input, const int8_t* weights,
                                  const int32_t* bias, const int32_t* multiplier, const int32_t* shift,
                                  int8_t* output) {
  const int64_t H = p->input_height, W = p->input_width;
  const size_t C = (size_t)p->input_channels, OC = (size_t)p->output_channels;
  const size_t KH = (size_t)p->kernel_height, KW = (size_t)p->kernel_width;
  const size_t group_in = C / (size_t)p->groups, group_out = OC / (size_t)p->groups;
  for (size_t n = 0; n < (size_t)p->batch; ++n) {
    for (int64_t oh = 0; oh < p->output_height; ++oh) {
      for (int64_t ow = 0; ow < p->output_width; ++ow) {
        for (size_t oc = 0; oc < OC; ++oc) {
          const size_t c0 = (oc / group_out) * group_in;
          int32_t acc = bias != NULL ? bias[oc] : 0;
          for (size_t kh = 0; kh < KH; ++kh) {
            const int64_t ih = eb_deconv_source(oh, p->pad_top, (int64_t)kh, p->dilation_height, p->stride_height, H);
            if (ih < 0) continue;
            for (size_t kw = 0; kw < KW; ++kw) {
              const int64_t iw = eb_deconv_source(ow, p->pad_left, (int64_t)kw, p->dilation_width, p->stride_width, W);
              if (iw < 0) continue;
              const int8_t* x = input + ((n * (size_t)H + (size_t)ih) * (size_t)W + (size_t)iw) * C + c0;
              const int8_t* w = weights + ((oc * KH + kh) * KW + kw) * group_in;
              for (size_t c = 0; c < group_in; ++c)
                acc = eb_add_wrap_s32(acc, ((int32_t)x[c] - p->input_zero_point) * (int32_t)w[c]);
            }
          }
          const int32_t q = eb_mbqm(acc, multiplier[oc], shift[oc]);  // docs/quantization.md (5)
          *output++ = eb_clamp_s8(eb_sat32((int64_t)q + p->output_zero_point), p->output_min, p->output_max);
        }
      }
    }
  }
}
