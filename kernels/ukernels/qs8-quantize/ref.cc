// qs8-quantize/ref.cc: reference float32 -> int8 quantization (QUANTIZE), bit-identical to PyTorch's.
#include <math.h>

#include "edgebuild/ukernels.h"

// docs/quantization.md (1): q = clamp(nearbyint(x · inv_scale) + zp, −128, 127), every step in float32 (the build
// passes -ffp-contract=off, so x · inv_scale is rounded before nearbyintf), NaN -> −128. The clamp happens in float,
// before the conversion, so an out-of-range float is never converted to an integer (that would be UB).
static inline int8_t quantize_one(float x, float inv_scale, float zero_point) {
  const float v = nearbyintf(x * inv_scale) + zero_point;
  if (!(v >= -128.0f)) return -128;  // also NaN
  if (v > 127.0f) return 127;
  return (int8_t)v;
}

extern "C" void eb_qs8_quantize_ref(size_t count, const float* input, int8_t* output, float inv_scale,
                                    int32_t zero_point) {
  const float zp = (float)zero_point;
  for (size_t i = 0; i < count; ++i) output[i] = quantize_one(input[i], inv_scale, zp);
}

extern "C" void eb_qs8_quantize_to_nhwc_ref(size_t batch, size_t channels, size_t height, size_t width,
                                            const float* input, int8_t* output, float inv_scale, int32_t zero_point) {
  const float zp = (float)zero_point;
  for (size_t n = 0; n < batch; ++n)
    for (size_t h = 0; h < height; ++h)
      for (size_t w = 0; w < width; ++w)
        for (size_t c = 0; c < channels; ++c)
          *output++ = quantize_one(input[((n * channels + c) * height + h) * width + w], inv_scale, zp);
}
