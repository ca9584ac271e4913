// qd8_quantize__avx2.cc: DYNAMIC_FULLY_CONNECTED's per-row quantization for AVX2 cores (Haswell-Skylake, Zen 1-3).
// Reference twin: eb_qd8_quantize_ref (qd8-quantize/ref.cc), docs/quantization.md (14); equal bit for bit
// (kernels/test/ukernel_tester.cc). Stores q as int16 (Qd8Kernel::a_elem 2): the AVX2 GEMM
// (qd8_gemm_minmax_4x16c2__avx2.cc) multiplies with vpmaddwd, exact on int16 (vpmaddubsw saturates), and then
// broadcasts two k of a row with one 4-byte load instead of widening in its K loop.
//
// The same two passes as the avx512vnni variant (that file says why min / max starting at +0 and the x − x mask give
// the reference's lo, hi and finiteness); 8 floats a step, the last k % 8 with the reference's scalar code. Pass 2
// clamps in int32 with vpmaxsd / vpminsd and narrows with vpackssdw (exact: the values are already in range).
#include <float.h>
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "edgebuild/ukernels_isa.h"

namespace {

inline int32_t rne(float v) { return (int32_t)nearbyintf(v); }

inline bool finite(float v) { return v - v == 0.0f; }

}  // namespace

extern "C" void eb_qd8_quantize_ukernel__avx2(size_t m, size_t k, const float* x, size_t x_stride, void* qv,
                                              size_t q_stride, eb_qd8_row_params* params) {
  uint8_t* qb = static_cast<uint8_t*>(qv);
  const size_t k8 = k - k % 8;
  for (size_t r = 0; r < m; ++r, x += x_stride, qb += q_stride) {
    int16_t* q = reinterpret_cast<int16_t*>(qb);
    __m256 lo0 = _mm256_setzero_ps(), hi0 = lo0, lo1 = lo0, hi1 = lo0;
    __m256 bad0 = _mm256_setzero_ps(), bad1 = bad0;
    size_t i = 0;
    for (; i + 16 <= k; i += 16) {
      const __m256 v0 = _mm256_loadu_ps(x + i), v1 = _mm256_loadu_ps(x + i + 8);
      lo0 = _mm256_min_ps(v0, lo0);
      hi0 = _mm256_max_ps(v0, hi0);
      bad0 = _mm256_or_ps(bad0, _mm256_sub_ps(v0, v0));
      lo1 = _mm256_min_ps(v1, lo1);
      hi1 = _mm256_max_ps(v1, hi1);
      bad1 = _mm256_or_ps(bad1, _mm256_sub_ps(v1, v1));
    }
    if (i < k8) {
      const __m256 v = _mm256_loadu_ps(x + i);
      lo0 = _mm256_min_ps(v, lo0);
      hi0 = _mm256_max_ps(v, hi0);
      bad0 = _mm256_or_ps(bad0, _mm256_sub_ps(v, v));
    }
    const __m256i bad = _mm256_castps_si256(_mm256_or_ps(bad0, bad1));
    bool ok = _mm256_testz_si256(bad, bad) != 0;
    float l8[8], h8[8];
    _mm256_storeu_ps(l8, _mm256_min_ps(lo0, lo1));
    _mm256_storeu_ps(h8, _mm256_max_ps(hi0, hi1));
    float lo = 0.0f, hi = 0.0f;
    for (size_t j = 0; j < 8; ++j) {  // lanes hold +0 or values of the row: any order gives the same lo and hi
      lo = l8[j] < lo ? l8[j] : lo;
      hi = h8[j] > hi ? h8[j] : hi;
    }
    for (i = k8; i < k; ++i) {
      ok = ok && finite(x[i]);
      lo = x[i] < lo ? x[i] : lo;
      hi = x[i] > hi ? x[i] : hi;
    }
    if (!ok) {  // (14): a NaN or an infinity: s = NaN, zp = 0, q = 0
      params[r].scale = NAN;
      params[r].zero_point = 0;
      memset(q, 0, 2 * k);
      continue;
    }
    const float s = (hi - lo) / 255.0f;
    if (!(s >= FLT_MIN)) {  // (14): an all-zero row, or a subnormal range
      params[r].scale = 1.0f;
      params[r].zero_point = 0;
      memset(q, 0, 2 * k);
      continue;
    }
    int32_t zp = -128 - rne(lo / s);
    zp = zp < -128 ? -128 : (zp > 127 ? 127 : zp);
    const float inv = 1.0f / s;
    const __m256 vinv = _mm256_set1_ps(inv);
    const __m256i vzp = _mm256_set1_epi32(zp), qmin = _mm256_set1_epi32(-128), qmax = _mm256_set1_epi32(127);
    for (i = 0; i < k8; i += 8) {
      __m256i c = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + i), vinv)), vzp);
      c = _mm256_min_epi32(_mm256_max_epi32(c, qmin), qmax);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(q + i),
                       _mm_packs_epi32(_mm256_castsi256_si128(c), _mm256_extracti128_si256(c, 1)));
    }
    for (; i < k; ++i) {
      const int32_t c = rne(x[i] * inv) + zp;
      q[i] = (int16_t)(c < -128 ? -128 : (c > 127 ? 127 : c));
    }
    params[r].scale = s;
    params[r].zero_point = zp;
  }
}
