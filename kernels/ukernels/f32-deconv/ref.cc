// f32-deconv/ref.cc: reference float32 TRANSPOSE_CONV2D (the float form of qs8-deconv): NHWC, groups, dilation.
#include "edgebuild/ukernels.h"

// docs/artifact.md TRANSPOSE_CONV2D (float): qs8-deconv/ref.cc's sum over the same taps in the same order,
//   y[n, oh, ow, oc] = clamp(bias[oc] + Σ x[n, ih, iw, g·C/G + c] · w[oc, kh, kw, c])
// in double, rounded once (ukernels.h, f32 conventions).
extern "C" void eb_f32_deconv_ref(const eb_f32_conv_params* p, const float* input, const float* weights,
                                  const float* bias, float* output) {
  const int64_t H = p->input_height, W = p->input_width;
  const size_t C = (size_t)p->input_channels, OC = (size_t)p->output_channels;
  const size_t KH = (size_t)p->kernel_height, KW = (size_t)p->kernel_width;
  const size_t group_in = C / (size_t)p->groups, group_out = OC / (size_t)p->groups;
  for (size_t n = 0; n < (size_t)p->batch; ++n) {
    for (int64_t oh = 0; oh < p->output_height; ++oh) {
      for (int64_t ow = 0; ow < p->output_width; ++ow) {
        for (size_t oc = 0; oc < OC; ++oc) {
          const size_t c0 = (oc / group_out) * group_in;
          double acc = bias != NULL ? (double)bias[oc] : 0.0;
          for (size_t kh = 0; kh < KH; ++kh) {
            const int64_t ih = eb_deconv_source(oh, p->pad_top, (int64_t)kh, p->dilation_height, p->stride_height, H);
            if (ih < 0) continue;
            for (size_t kw = 0; kw < KW; ++kw) {
              const int64_t iw = eb_deconv_source(ow, p->pad_left, (int64_t)kw, p->dilation_width, p->stride_width, W);
              if (iw < 0) continue;
              const float* x = input + ((n * (size_t)H + (size_t)ih) * (size_t)W + (size_t)iw) * C + c0;
              const float* w = weights + ((oc * KH + kh) * KW + kw) * group_in;
              for (size_t c = 0; c < group_in; ++c) acc += (double)x[c] * (double)w[c];
            }
          }
          float y = (float)acc;
          y = y < p->output_min ? p->output_min : y;
          *output++ = y > p->output_max ? p->output_max : y;
        }
      }
    }
  }
}
