// qs8-dequantize/ref.cc: reference int8 -> float32 dequantization (DEQUANTIZE).
#include "edgebuild/ukernels.h"

// docs/quantization.md (2): x = float32(q − zp) · scale. q − zp is exact in int32 and in float32.
extern "C" void eb_qs8_dequantize_ref(size_t count, const int8_t* input, float* output, float scale,
                                      int32_t zero_point) {
  for (size_t i = 0; i < count; ++i) output[i] = (float)((int32_t)input[i] - zero_point) * scale;
}

extern "C" void eb_qs8_dequantize_to_nchw_ref(size_t batch, size_t height, size_t width, size_t channels,
                                              const int8_t* input, float* output, float scale, int32_t zero_point) {
  for (size_t n = 0; n < batch; ++n)
    for (size_t c = 0; c < channels; ++c)
      for (size_t h = 0; h < height; ++h)
        for (size_t w = 0; w < width; ++w)
          *output++ = (float)((int32_t)input[((n * height + h) * width + w) * channels + c] - zero_point) * scale;
}
