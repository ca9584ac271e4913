// requant__avx2.h: docs/quantization.md (4), (5), (6) on 8 int32 lanes, for the avx2 micro-kernels.
// The same steps as requant__avx512vnni.h; AVX2 has no 64-bit arithmetic shift, min or max, so those are built
// from logical shifts, compares and blends.
#ifndef EDGEBUILD_REQUANT_AVX2_H_
#define EDGEBUILD_REQUANT_AVX2_H_

#include <immintrin.h>
#include <stdint.h>

static inline __m256i eb_sra64_avx2(__m256i v, __m256i n) {
  const __m256i sign = _mm256_cmpgt_epi64(_mm256_setzero_si256(), v);
  return _mm256_xor_si256(_mm256_srlv_epi64(_mm256_xor_si256(v, sign), n), sign);
}

static inline __m256i eb_clamp64_avx2(__m256i v, __m256i lo, __m256i hi) {
  v = _mm256_blendv_epi8(v, hi, _mm256_cmpgt_epi64(v, hi));
  return _mm256_blendv_epi8(v, lo, _mm256_cmpgt_epi64(lo, v));
}

static inline __m256i eb_requant_avx2(__m256i acc, __m256i mult, __m256i shift, __m256i lo, __m256i hi,
                                      __m256i zp) {
  const __m256i one = _mm256_set1_epi64x(1);
  const __m256i s_even = _mm256_and_si256(shift, _mm256_set1_epi64x(0xFFFFFFFF));
  const __m256i s_odd = _mm256_srli_epi64(shift, 32);
  __m256i even = _mm256_mul_epi32(acc, mult);
  __m256i odd = _mm256_mul_epi32(_mm256_srli_epi64(acc, 32), _mm256_srli_epi64(mult, 32));
  even = eb_sra64_avx2(_mm256_add_epi64(even, _mm256_sllv_epi64(one, _mm256_sub_epi64(s_even, one))), s_even);
  odd = eb_sra64_avx2(_mm256_add_epi64(odd, _mm256_sllv_epi64(one, _mm256_sub_epi64(s_odd, one))), s_odd);
  const __m256i lo64 = _mm256_cvtepi32_epi64(_mm256_castsi256_si128(lo));
  const __m256i hi64 = _mm256_cvtepi32_epi64(_mm256_castsi256_si128(hi));
  even = eb_clamp64_avx2(even, lo64, hi64);
  odd = eb_clamp64_avx2(odd, lo64, hi64);
  const __m256i q = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
  return _mm256_add_epi32(q, zp);
}

#endif  // EDGEBUILD_REQUANT_AVX2_H_
