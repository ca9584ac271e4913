// requant__avx512vnni.h: docs/quantization.md (4a), (4b), (5), (6) on 16 int32 lanes, for the avx512vnni kernels.
// Included only by files compiled with the avx512vnni flags (the name decides the flags, STYLE.md).
#ifndef EDGEBUILD_REQUANT_AVX512VNNI_H_
#define EDGEBUILD_REQUANT_AVX512VNNI_H_

#include <immintrin.h>
#include <stdint.h>

// y = clamp(MBQM(acc, mult, e), lo, hi) + zp with left = max(e, 0), right = max(−e, 0), exactly as eb_mbqm:
//  sat32(acc · 2^left): compare against INT32_MAX >> left and INT32_MIN >> left;
//  SRDHM(x, m) for m > 0 (eq. 3 guarantees it) is floor((x·m + 2^30) / 2^31): both nudges of eq. (4a) give that;
//  RDBPOT(x, n) = (x >> n) + (r > t) with r = x & (2^n − 1), t = ((2^n − 1) >> 1) + (x < 0)  (eq. 4b);
//  clamping q to [lo, hi] = [act_min − zp, act_max − zp] before adding zp is eq. (6) without an int64 sum.
static inline __m512i eb_requant_avx512(__m512i acc, __m512i mult, __m512i left, __m512i right, __m512i lo,
                                        __m512i hi, __m512i zp) {
  const __m512i one = _mm512_set1_epi32(1);
  const __m512i max_ok = _mm512_srav_epi32(_mm512_set1_epi32(INT32_MAX), left);
  const __m512i min_ok = _mm512_srav_epi32(_mm512_set1_epi32(INT32_MIN), left);
  __m512i x = _mm512_sllv_epi32(acc, left);
  x = _mm512_mask_mov_epi32(x, _mm512_cmpgt_epi32_mask(acc, max_ok), _mm512_set1_epi32(INT32_MAX));
  x = _mm512_mask_mov_epi32(x, _mm512_cmplt_epi32_mask(acc, min_ok), _mm512_set1_epi32(INT32_MIN));
  const __m512i nudge = _mm512_set1_epi64((int64_t)1 << 30);
  const __m512i even = _mm512_add_epi64(_mm512_mul_epi32(x, mult), nudge);
  const __m512i odd =
      _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), _mm512_srli_epi64(mult, 32)), nudge);
  // Bits 31..62 of each 64-bit sum: even lanes by a right shift, odd lanes by a left shift of one.
  __m512i q = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 31), _mm512_slli_epi64(odd, 1));
  const __m512i mask = _mm512_sub_epi32(_mm512_sllv_epi32(one, right), one);
  const __m512i rem = _mm512_and_si512(q, mask);
  const __m512i threshold = _mm512_sub_epi32(_mm512_srai_epi32(mask, 1), _mm512_srai_epi32(q, 31));
  q = _mm512_srav_epi32(q, right);
  q = _mm512_mask_add_epi32(q, _mm512_cmpgt_epi32_mask(rem, threshold), q, one);
  q = _mm512_max_epi32(_mm512_min_epi32(q, hi), lo);
  return _mm512_add_epi32(q, zp);
}

#endif  // EDGEBUILD_REQUANT_AVX512VNNI_H_
