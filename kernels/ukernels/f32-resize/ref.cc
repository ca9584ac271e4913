// f32-resize/ref.cc: reference float32 RESIZE (nearest and bilinear) of an NHWC tensor from build-time tables.
#include "edgebuild/ukernels.h"

// Tables are float32 [O, 3] = (i0, i1, l): PyTorch's upsample_bilinear2d on CPU,
// y = (1 − l_h)·((1 − l_w)·x00 + l_w·x01) + l_h·((1 − l_w)·x10 + l_w·x11).
extern "C" void eb_f32_resize_ref(size_t batch, size_t input_height, size_t input_width, size_t channels,
                                  size_t output_height, size_t output_width, const float* htab, const float* wtab,
                                  const float* input, float* output) {
  for (size_t n = 0; n < batch; ++n) {
    const float* x = input + n * input_height * input_width * channels;
    for (size_t oh = 0; oh < output_height; ++oh) {
      const float* h = htab + 3 * oh;
      const size_t h0 = (size_t)h[0], h1 = (size_t)h[1];
      const float lh = h[2], lh0 = 1.0f - lh;
      for (size_t ow = 0; ow < output_width; ++ow) {
        const float* w = wtab + 3 * ow;
        const size_t w0 = (size_t)w[0], w1 = (size_t)w[1];
        const float lw = w[2], lw0 = 1.0f - lw;
        const float* r00 = x + (h0 * input_width + w0) * channels;
        const float* r01 = x + (h0 * input_width + w1) * channels;
        const float* r10 = x + (h1 * input_width + w0) * channels;
        const float* r11 = x + (h1 * input_width + w1) * channels;
        for (size_t c = 0; c < channels; ++c)
          *output++ = lh0 * (lw0 * r00[c] + lw * r01[c]) + lh * (lw0 * r10[c] + lw * r11[c]);
      }
    }
  }
}
