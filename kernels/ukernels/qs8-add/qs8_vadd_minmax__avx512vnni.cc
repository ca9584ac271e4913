// qs8_vadd_minmax__avx512vnni.cc: int8 elementwise ADD for AVX-512 cores (Skylake-X+, Zen 4+), 16 lanes per zmm.
//
// Exactly eb_qs8_add_ref (docs/quantization.md (7)) lane by lane: the three MBQMs in int32 lanes with 64-bit
// products, every sat32 of the reference spelled out (saturating shifts and add), so any loader-valid parameters
// give the same bytes. ResNet-18 spends ~a quarter of its reference-path time here, hence a variant per ISA. Part of
// the avx512vnni path (needs AVX-512 BW/DQ, which every VNNI core has).
#include <immintrin.h>

#include "../requant/requant__avx512vnni.h"
#include "edgebuild/ukernels.h"
#include "edgebuild/ukernels_isa.h"

extern "C" void eb_qs8_vadd_minmax_ukernel__avx512vnni(const eb_qs8_add_params* p, size_t count, const int8_t* a,
                                                       const int8_t* b, int8_t* output) {
  const __m512i zp_a = _mm512_set1_epi32(p->a_zero_point), zp_b = _mm512_set1_epi32(p->b_zero_point);
  const __m512i ls = _mm512_set1_epi32(p->left_shift);
  const __m512i m_a = _mm512_set1_epi32(p->a_multiplier), m_b = _mm512_set1_epi32(p->b_multiplier);
  const __m512i m_y = _mm512_set1_epi32(p->output_multiplier);
  const __m512i l_a = _mm512_set1_epi32(p->a_shift > 0 ? p->a_shift : 0);
  const __m512i r_a = _mm512_set1_epi32(p->a_shift < 0 ? -p->a_shift : 0);
  const __m512i l_b = _mm512_set1_epi32(p->b_shift > 0 ? p->b_shift : 0);
  const __m512i r_b = _mm512_set1_epi32(p->b_shift < 0 ? -p->b_shift : 0);
  const __m512i l_y = _mm512_set1_epi32(p->output_shift > 0 ? p->output_shift : 0);
  const __m512i r_y = _mm512_set1_epi32(p->output_shift < 0 ? -p->output_shift : 0);
  const __m512i zp_y = _mm512_set1_epi32(p->output_zero_point);
  const __m512i lo = _mm512_set1_epi32(p->output_min - p->output_zero_point);
  const __m512i hi = _mm512_set1_epi32(p->output_max - p->output_zero_point);
  for (size_t i = 0; i < count; i += 16) {
    const __mmask16 mask = count - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (count - i)) - 1);
    const __m512i xa = _mm512_sub_epi32(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, a + i)), zp_a);
    const __m512i xb = _mm512_sub_epi32(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, b + i)), zp_b);
    const __m512i ra = eb_mbqm_avx512(eb_satshl_avx512(xa, ls), m_a, l_a, r_a);
    const __m512i rb = eb_mbqm_avx512(eb_satshl_avx512(xb, ls), m_b, l_b, r_b);
    const __m512i y = eb_requant_avx512(eb_satadd_avx512(ra, rb), m_y, l_y, r_y, lo, hi, zp_y);
    _mm_mask_storeu_epi8(output + i, mask, _mm512_cvtepi32_epi8(y));
  }
}
