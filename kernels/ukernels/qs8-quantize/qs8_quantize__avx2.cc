// qs8_quantize__avx2.cc: float32 -> int8 QUANTIZE for AVX2 cores (Haswell+, Zen 1+), 8 floats per ymm.
// Reference twin: eb_qs8_quantize_ref (qs8-quantize/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc).
//
// Exactly eb_qs8_quantize_ref (docs/quantization.md (1)): vmulps (never contracted into an FMA), vroundps to
// nearest-even (nearbyintf's default mode), + zp in float, then the clamp: vmaxps returns its second operand when
// the first is NaN, so NaN -> −128 as in the reference; the clamped value is integral, so the conversion is exact.
#include <immintrin.h>
#include <string.h>

#include "edgebuild/ukernels.h"
#include "edgebuild/ukernels_isa.h"

namespace {
constexpr size_t VEC = 8;

inline __m256i quantize_vec(const float* x, float inv_scale, int32_t zero_point) {
  const __m256 t = _mm256_mul_ps(_mm256_loadu_ps(x), _mm256_set1_ps(inv_scale));
  __m256 v = _mm256_add_ps(_mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC),
                           _mm256_set1_ps((float)zero_point));
  v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(-128.0f)), _mm256_set1_ps(127.0f));
  return _mm256_cvtps_epi32(v);
}

inline void store_vec(int8_t* out, __m256i q) {
  const __m128i w16 = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
  const int64_t bytes = _mm_cvtsi128_si64(_mm_packs_epi16(w16, w16));
  memcpy(out, &bytes, 8);
}
}  // namespace

extern "C" void eb_qs8_quantize_ukernel__avx2(size_t count, const float* input, int8_t* output, float inv_scale,
                                              int32_t zero_point) {
  size_t i = 0;
  for (; i + VEC <= count; i += VEC) store_vec(output + i, quantize_vec(input + i, inv_scale, zero_point));
  if (i < count) {  // tail: through a zero-padded copy (the padding quantizes to something that is not stored)
    float tmp[VEC] = {0};
    int8_t out[VEC];
    for (size_t j = 0; j < count - i; ++j) tmp[j] = input[i + j];
    store_vec(out, quantize_vec(tmp, inv_scale, zero_point));
    for (size_t j = 0; j < count - i; ++j) output[i + j] = out[j];
  }
}

// NCHW float in, NHWC int8 out: each channel's row of VEC pixels is quantized in registers, then its bytes are
// written C apart (a strided byte scatter: the transpose costs one store per element, the math is vectorized).
extern "C" void eb_qs8_quantize_ukernel__avx2_to_nhwc(size_t batch, size_t channels, size_t height, size_t width,
                                                      const float* input, int8_t* output, float inv_scale,
                                                      int32_t zero_point) {
  int8_t q[VEC];
  for (size_t n = 0; n < batch; ++n) {
    for (size_t h = 0; h < height; ++h) {
      int8_t* out_row = output + (n * height + h) * width * channels;
      for (size_t w0 = 0; w0 < width; w0 += VEC) {
        const size_t len = width - w0 < VEC ? width - w0 : VEC;
        for (size_t c = 0; c < channels; ++c) {
          const float* src = input + ((n * channels + c) * height + h) * width + w0;
          if (len == VEC) {
            store_vec(q, quantize_vec(src, inv_scale, zero_point));
          } else {
            eb_qs8_quantize_ukernel__avx2(len, src, q, inv_scale, zero_point);
          }
          int8_t* dst = out_row + w0 * channels + c;
          for (size_t j = 0; j < len; ++j) dst[j * channels] = q[j];
        }
      }
    }
  }
}
