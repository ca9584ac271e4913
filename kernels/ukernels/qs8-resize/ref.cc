// qs8-resize/ref.cc: reference int8 RESIZE (nearest and bilinear) of an NHWC tensor from build-time tables.
#include "edgebuild/requant.h"
#include "edgebuild/ukernels.h"

// docs/quantization.md (13): each output row oh reads input rows i0 = htab[oh][0], i1 = htab[oh][1] with weight
// l = htab[oh][2] / 2^16 on i1 (likewise columns). acc = Σ (2^16 − l_h or l_h)·(2^16 − l_w or l_w)·q in int64,
// y = round_half_away(acc / 2^32). The weights sum to 2^32, so the zero point passes through unchanged; nearest
// tables have l = 0 and copy exactly.
extern "C" void eb_qs8_resize_ref(size_t batch, size_t input_height, size_t input_width, size_t channels,
                                  size_t output_height, size_t output_width, const int32_t* htab, const int32_t* wtab,
                                  const int8_t* input, int8_t* output) {
  const int64_t one = (int64_t)1 << 16;
  for (size_t n = 0; n < batch; ++n) {
    const int8_t* x = input + n * input_height * input_width * channels;
    for (size_t oh = 0; oh < output_height; ++oh) {
      const int32_t* h = htab + 3 * oh;
      const int64_t lh = h[2];
      for (size_t ow = 0; ow < output_width; ++ow) {
        const int32_t* w = wtab + 3 * ow;
        const int64_t lw = w[2];
        const int8_t* r00 = x + ((size_t)h[0] * input_width + (size_t)w[0]) * channels;
        const int8_t* r01 = x + ((size_t)h[0] * input_width + (size_t)w[1]) * channels;
        const int8_t* r10 = x + ((size_t)h[1] * input_width + (size_t)w[0]) * channels;
        const int8_t* r11 = x + ((size_t)h[1] * input_width + (size_t)w[1]) * channels;
        for (size_t c = 0; c < channels; ++c) {
          const int64_t top = (one - lw) * r00[c] + lw * r01[c];
          const int64_t bottom = (one - lw) * r10[c] + lw * r11[c];
          const int64_t acc = (one - lh) * top + lh * bottom;
          *output++ = (int8_t)eb_div_round_half_away(acc, (int64_t)1 << 32);
        }
      }
    }
  }
}
