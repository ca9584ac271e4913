// qs8_quantize__avx512vnni.cc: float32 -> int8 QUANTIZE for AVX-512 cores (Skylake-X+, Zen 4+), 16 floats per zmm.
// Reference twin: eb_qs8_quantize_ref (qs8-quantize/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc).
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

// The 48 bytes of 16 RGB pixels from their three channel vectors: output byte 3j + c = q_c[j]. Output vector k
// (bytes 16k .. 16k + 15) takes from each q_c the bytes j with 3j + c in that range; vpshufb puts them in place and
// zeroes the rest (index bit 7), and the three are or-ed.
inline void interleave3(__m128i q0, __m128i q1, __m128i q2, int8_t* out) {
  // idx[3k + c][b] = (16k + b) / 3 when (16k + b) % 3 == c, else −128.
  alignas(16) static const int8_t idx[9][16] = {
      {0, -128, -128, 1, -128, -128, 2, -128, -128, 3, -128, -128, 4, -128, -128, 5},
      {-128, 0, -128, -128, 1, -128, -128, 2, -128, -128, 3, -128, -128, 4, -128, -128},
      {-128, -128, 0, -128, -128, 1, -128, -128, 2, -128, -128, 3, -128, -128, 4, -128},
      {-128, -128, 6, -128, -128, 7, -128, -128, 8, -128, -128, 9, -128, -128, 10, -128},
      {5, -128, -128, 6, -128, -128, 7, -128, -128, 8, -128, -128, 9, -128, -128, 10},
      {-128, 5, -128, -128, 6, -128, -128, 7, -128, -128, 8, -128, -128, 9, -128, -128},
      {-128, 11, -128, -128, 12, -128, -128, 13, -128, -128, 14, -128, -128, 15, -128, -128},
      {-128, -128, 11, -128, -128, 12, -128, -128, 13, -128, -128, 14, -128, -128, 15, -128},
      {10, -128, -128, 11, -128, -128, 12, -128, -128, 13, -128, -128, 14, -128, -128, 15},
  };
  for (int k = 0; k < 3; ++k) {
    const __m128i v = _mm_or_si128(
        _mm_or_si128(_mm_shuffle_epi8(q0, _mm_load_si128(reinterpret_cast<const __m128i*>(idx[3 * k]))),
                     _mm_shuffle_epi8(q1, _mm_load_si128(reinterpret_cast<const __m128i*>(idx[3 * k + 1])))),
        _mm_shuffle_epi8(q2, _mm_load_si128(reinterpret_cast<const __m128i*>(idx[3 * k + 2]))));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 16 * k), v);
  }
}

// NCHW float in, NHWC int8 out: each channel's row of VEC pixels is quantized in registers, then its bytes are
// written C apart (a strided byte scatter: the transpose costs one store per element, the math is vectorized);
// three channels (an RGB input) interleave in registers instead.
extern "C" void eb_qs8_quantize_ukernel__avx512vnni_to_nhwc(size_t batch, size_t channels, size_t height, size_t width,
                                                            const float* input, int8_t* output, float inv_scale,
                                                            int32_t zero_point) {
  int8_t q[VEC];
  for (size_t n = 0; n < batch; ++n) {
    for (size_t h = 0; h < height; ++h) {
      int8_t* out_row = output + (n * height + h) * width * channels;
      size_t w0 = 0;
      if (channels == 3) {
        const float* src = input + (n * 3 * height + h) * width;
        for (; w0 + VEC <= width; w0 += VEC) {
          interleave3(quantize_vec(src + w0, inv_scale, zero_point),
                      quantize_vec(src + height * width + w0, inv_scale, zero_point),
                      quantize_vec(src + 2 * height * width + w0, inv_scale, zero_point), out_row + 3 * w0);
        }
      }
      for (; w0 < width; w0 += VEC) {
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
