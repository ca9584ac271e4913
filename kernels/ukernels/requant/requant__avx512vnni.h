// requant__avx512vnni.h: docs/quantization.md (4), (5), (6) on 16 int32 lanes, for the avx512vnni micro-kernels.
// Included only by files compiled with the avx512vnni flags (the name decides the flags, STYLE.md).
#ifndef EDGEBUILD_REQUANT_AVX512VNNI_H_
#define EDGEBUILD_REQUANT_AVX512VNNI_H_

#include <immintrin.h>
#include <stdint.h>

// y = clamp(MBQM(acc, mult, e), lo, hi) + zp, exactly as eb_mbqm: the 64-bit product x·m (even and odd lanes
// separately), plus 2^(s−1), shifted right arithmetically by s = 31 − e (eq. 4). The clamp to [lo, hi] happens in
// 64 bits, which makes sat32 of eq. (5) a no-op (lo, hi are within int32).
static inline __m512i eb_requant_avx512(__m512i acc, __m512i mult, __m512i shift, __m512i lo, __m512i hi,
                                        __m512i zp) {
  const __m512i one = _mm512_set1_epi64(1);
  const __m512i s_even = _mm512_and_si512(shift, _mm512_set1_epi64(0xFFFFFFFF));
  const __m512i s_odd = _mm512_srli_epi64(shift, 32);
  __m512i even = _mm512_mul_epi32(acc, mult);
  __m512i odd = _mm512_mul_epi32(_mm512_srli_epi64(acc, 32), _mm512_srli_epi64(mult, 32));
  even = _mm512_srav_epi64(_mm512_add_epi64(even, _mm512_sllv_epi64(one, _mm512_sub_epi64(s_even, one))), s_even);
  odd = _mm512_srav_epi64(_mm512_add_epi64(odd, _mm512_sllv_epi64(one, _mm512_sub_epi64(s_odd, one))), s_odd);
  const __m512i lo64 = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(lo));
  const __m512i hi64 = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(hi));
  even = _mm512_max_epi64(_mm512_min_epi64(even, hi64), lo64);
  odd = _mm512_max_epi64(_mm512_min_epi64(odd, hi64), lo64);
  const __m512i q = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
  return _mm512_add_epi32(q, zp);
}

#endif  // EDGEBUILD_REQUANT_AVX512VNNI_H_
