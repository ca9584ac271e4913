// f32-conv/ref.cc: reference float32 CONV2D (the float fallback of qs8-conv): NHWC, groups, dilation.
#include "edgebuild/ukernels.h"

// docs/artifact.md CONV2D (float):
//   y[n, oh, ow, oc] = clamp(bias[oc] + Σ x[n, ih, iw, g·C/G + c] · w[oc, kh, kw, c])
// with ih = oh·sh − pt + kh·dh, iw = ow·sw − pl + kw·dw and out-of-bounds taps skipped (zero padding); the sum in
// double, rounded once.
extern "C" void eb_f32_conv_ref(const eb_f32_conv_params* p, const float* input, const float* weights,
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
            const int64_t ih = oh * p->stride_height - p->pad_top + (int64_t)kh * p->dilation_height;
            if (ih < 0 || ih >= H) continue;
            for (size_t kw = 0; kw < KW; ++kw) {
              const int64_t iw = ow * p->stride_width - p->pad_left + (int64_t)kw * p->dilation_width;
              if (iw < 0 || iw >= W) continue;
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
