// qs8_quantize__avx512vnni.cc: float32 -> int8 QUANTIZE for AVX-512 cores (Skylake-X+, Zen 4+), 16 floats per zmm.
//
// Exactly eb_qs8_quantize_ref (docs/quantization.md (1)): x · inv_scale rounded to float32 (vmulps; the build
// never contracts it into an FMA), nearbyint = vrndscaleps to nearest-even (the default rounding mode nearbyintf
// uses), + zp in float, then the clamp: vmaxps returns its second operand when the first is NaN, so NaN -> −128
// as in the reference; the clamped value is integral, so the conversion is exact. Part of the avx512vnni path.
#include <immintrin.h>

#include "edgebuild/ukernels.h"
#include "edgebuild/ukernels_isa.h"

namespace {
constexpr size_t VEC = 16;

inline __m128i quantize_vec(const float* x, float inv_scale, int32_t zero_point) {
  const __m512 t = _mm512_mul_ps(_mm512_loadu_ps(x), _mm512_set1_ps(inv_scale));
  __m512 v = _mm512_add_ps(_mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC),
                           _mm512_set1_ps((float)zero_point));
  v = _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(-128.0f)), _mm512_set1_ps(127.0f));
  return _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(v));
}

inline void store_vec(int8_t* out, __m128i q) { _mm_storeu_si128(reinterpret_cast<__m128i*>(out), q); }
}  // namespace

extern "C" void eb_qs8_quantize_ukernel__avx512vnni(size_t count, const float* input, int8_t* output, float inv_scale,
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
extern "C" void eb_qs8_quantize_ukernel__avx512vnni_to_nhwc(size_t batch, size_t channels, size_t height, size_t width,
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
            eb_qs8_quantize_ukernel__avx512vnni(len, src, q, inv_scale, zero_point);
          }
          int8_t* dst = out_row + w0 * channels + c;
          for (size_t j = 0; j < len; ++j) dst[j * channels] = q[j];
        }
      }
    }
  }
}
