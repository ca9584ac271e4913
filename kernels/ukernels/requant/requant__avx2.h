// requant__avx2.h: docs/quantization.md (4a), (4b), (5), (6) on 8 int32 lanes, for the avx2 micro-kernels.
// Reference twin: eb_srdhm, eb_rdbpot, eb_mbqm in edgebuild/requant.h, which every lane equals bit for bit.
// The same steps as requant__avx512vnni.h (see there for why each is exact), with compares and blends.
#ifndef EDGEBUILD_REQUANT_AVX2_H_
#define EDGEBUILD_REQUANT_AVX2_H_

#include <immintrin.h>
#include <stdint.h>

// sat32(x · 2^left) for left in [0, 32).
static inline __m256i eb_satshl_avx2(__m256i x, __m256i left) {
  const __m256i max_ok = _mm256_srav_epi32(_mm256_set1_epi32(INT32_MAX), left);
  const __m256i min_ok = _mm256_srav_epi32(_mm256_set1_epi32(INT32_MIN), left);
  __m256i y = _mm256_sllv_epi32(x, left);
  y = _mm256_blendv_epi8(y, _mm256_set1_epi32(INT32_MAX), _mm256_cmpgt_epi32(x, max_ok));
  return _mm256_blendv_epi8(y, _mm256_set1_epi32(INT32_MIN), _mm256_cmpgt_epi32(min_ok, x));
}

// MBQM(acc, mult, e) of docs/quantization.md (5) with left = max(e, 0), right = max(−e, 0), exactly as eb_mbqm.
static inline __m256i eb_mbqm_avx2(__m256i acc, __m256i mult, __m256i left, __m256i right) {
  const __m256i one = _mm256_set1_epi32(1);
  const __m256i x = eb_satshl_avx2(acc, left);
  const __m256i nudge = _mm256_set1_epi64x((int64_t)1 << 30);
  const __m256i even = _mm256_add_epi64(_mm256_mul_epi32(x, mult), nudge);
  const __m256i odd = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), _mm256_srli_epi64(mult, 32)), nudge);
  __m256i q = _mm256_blend_epi32(_mm256_srli_epi64(even, 31), _mm256_slli_epi64(odd, 1), 0xAA);
  const __m256i mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, right), one);
  const __m256i rem = _mm256_and_si256(q, mask);
  const __m256i threshold = _mm256_sub_epi32(_mm256_srai_epi32(mask, 1), _mm256_srai_epi32(q, 31));
  q = _mm256_srav_epi32(q, right);
  return _mm256_sub_epi32(q, _mm256_cmpgt_epi32(rem, threshold));  // a true compare is −1
}

static inline __m256i eb_requant_avx2(__m256i acc, __m256i mult, __m256i left, __m256i right, __m256i lo, __m256i hi,
                                      __m256i zp) {
  const __m256i q = eb_mbqm_avx2(acc, mult, left, right);
  return _mm256_add_epi32(_mm256_max_epi32(_mm256_min_epi32(q, hi), lo), zp);
}

// sat32(a + b): on overflow (a, b of one sign, the wrapped sum of the other) the bound of a's sign.
static inline __m256i eb_satadd_avx2(__m256i a, __m256i b) {
  const __m256i s = _mm256_add_epi32(a, b);
  const __m256i ov = _mm256_srai_epi32(_mm256_and_si256(_mm256_xor_si256(a, s), _mm256_xor_si256(b, s)), 31);
  const __m256i bound = _mm256_xor_si256(_mm256_srai_epi32(a, 31), _mm256_set1_epi32(INT32_MAX));
  return _mm256_blendv_epi8(s, bound, ov);
}

#endif  // EDGEBUILD_REQUANT_AVX2_H_
