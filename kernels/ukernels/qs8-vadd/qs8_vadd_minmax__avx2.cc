// qs8_vadd_minmax__avx2.cc: int8 elementwise ADD for AVX2 cores (Haswell+, Zen 1+), 8 lanes per ymm.
// Reference twin: eb_qs8_vadd_ref (qs8-vadd/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc).
//
// Exactly eb_qs8_vadd_ref (docs/quantization.md (7)) lane by lane: the three MBQMs in int32 lanes with 64-bit
// products and every sat32 of the reference spelled out. The tail goes through a 16-byte stack copy.
#include <immintrin.h>
#include <string.h>

#include "../requant/requant__avx2.h"
#include "edgebuild/ukernels.h"
#include "edgebuild/ukernels_isa.h"

extern "C" void eb_qs8_vadd_minmax_ukernel__avx2(const eb_qs8_vadd_params* p, size_t count, const int8_t* a,
                                                 const int8_t* b, int8_t* output) {
  const __m256i zp_a = _mm256_set1_epi32(p->a_zero_point), zp_b = _mm256_set1_epi32(p->b_zero_point);
  const __m256i ls = _mm256_set1_epi32(p->left_shift);
  const __m256i m_a = _mm256_set1_epi32(p->a_multiplier), m_b = _mm256_set1_epi32(p->b_multiplier);
  const __m256i m_y = _mm256_set1_epi32(p->output_multiplier);
  const __m256i l_a = _mm256_set1_epi32(p->a_shift > 0 ? p->a_shift : 0);
  const __m256i r_a = _mm256_set1_epi32(p->a_shift < 0 ? -p->a_shift : 0);
  const __m256i l_b = _mm256_set1_epi32(p->b_shift > 0 ? p->b_shift : 0);
  const __m256i r_b = _mm256_set1_epi32(p->b_shift < 0 ? -p->b_shift : 0);
  const __m256i l_y = _mm256_set1_epi32(p->output_shift > 0 ? p->output_shift : 0);
  const __m256i r_y = _mm256_set1_epi32(p->output_shift < 0 ? -p->output_shift : 0);
  const __m256i zp_y = _mm256_set1_epi32(p->output_zero_point);
  const __m256i lo = _mm256_set1_epi32(p->output_min - p->output_zero_point);
  const __m256i hi = _mm256_set1_epi32(p->output_max - p->output_zero_point);
  for (size_t i = 0; i < count; i += 16) {
    const size_t n = count - i < 16 ? count - i : 16;
    __m128i va, vb;
    if (n == 16) {
      va = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i));
      vb = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i));
    } else {
      int8_t ta[16] = {0}, tb[16] = {0};
      memcpy(ta, a + i, n);
      memcpy(tb, b + i, n);
      va = _mm_loadu_si128(reinterpret_cast<const __m128i*>(ta));
      vb = _mm_loadu_si128(reinterpret_cast<const __m128i*>(tb));
    }
    __m256i y[2];
    for (int h = 0; h < 2; ++h) {
      const __m128i ha = h ? _mm_unpackhi_epi64(va, va) : va, hb = h ? _mm_unpackhi_epi64(vb, vb) : vb;
      const __m256i xa = _mm256_sub_epi32(_mm256_cvtepi8_epi32(ha), zp_a);
      const __m256i xb = _mm256_sub_epi32(_mm256_cvtepi8_epi32(hb), zp_b);
      const __m256i ra = eb_mbqm_avx2(eb_satshl_avx2(xa, ls), m_a, l_a, r_a);
      const __m256i rb = eb_mbqm_avx2(eb_satshl_avx2(xb, ls), m_b, l_b, r_b);
      y[h] = eb_requant_avx2(eb_satadd_avx2(ra, rb), m_y, l_y, r_y, lo, hi, zp_y);
    }
    // Lanes are within int8: packs do not saturate; the permute undoes the per-128-bit interleave of packs.
    const __m256i w16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(y[0], y[1]), 0xD8);
    const __m128i bytes = _mm_packs_epi16(_mm256_castsi256_si128(w16), _mm256_extracti128_si256(w16, 1));
    if (n == 16) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(output + i), bytes);
    } else {
      int8_t t[16];
      _mm_storeu_si128(reinterpret_cast<__m128i*>(t), bytes);
      memcpy(output + i, t, n);
    }
  }
}
