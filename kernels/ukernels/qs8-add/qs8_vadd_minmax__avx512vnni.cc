// qs8_vadd_minmax__avx512vnni.cc: int8 elementwise ADD for AVX-512 cores (Skylake-X+, Zen 4+), 16 lanes per zmm.
//
// Exactly eb_qs8_add_ref (docs/quantization.md (7)) lane by lane: the three MBQMs in int32 lanes with 64-bit
// products, every sat32 of the reference spelled out (saturating shifts and add), so any loader-valid parameters
// give the same bytes. ResNet-18 spends ~a quarter of its reference-path time here, hence a variant per ISA. Part of
// the avx512vnni path (needs AVX-512 BW/DQ, which every VNNI core has).
//
// The usual parameters (left_shift <= 22, input exponents <= 0: every add the lowering emits) cannot saturate
// anywhere before the output MBQM: |a − zp_a| <= 255, so |sa| <= 255·2^22 < 2^30; an MBQM with e <= 0 does not grow
// its input (m < 2^31, rounding included), so |ra + rb| <= 2·255·2^22 < 2^31. The kNoSat loop drops those sat32s
// (a third of the instructions); any other parameters take the general loop.
#include <immintrin.h>

#include "../requant/requant__avx512vnni.h"
#include "edgebuild/ukernels.h"
#include "edgebuild/ukernels_isa.h"

namespace {

// The per-lane constants of one MBQM(·, m, e) with a scalar m and e, as eb_requant_cols_avx512 holds them.
eb_requant_cols_avx512 mbqm_consts(int32_t m, int32_t e, int32_t lo, int32_t hi, int32_t zp) {
  int32_t mult[16], left[16], right[16];
  for (int i = 0; i < 16; ++i) {
    mult[i] = m;
    left[i] = e > 0 ? e : 0;
    right[i] = e < 0 ? -e : 0;
  }
  return eb_requant_cols_load_avx512(mult, left, right, lo, hi, zp);
}

template <bool kNoSat>
void vadd(const eb_qs8_add_params* p, size_t count, const int8_t* a, const int8_t* b, int8_t* output) {
  const __m512i zp_a = _mm512_set1_epi32(p->a_zero_point), zp_b = _mm512_set1_epi32(p->b_zero_point);
  const __m512i ls = _mm512_set1_epi32(p->left_shift);
  const __m128i ls_count = _mm_cvtsi32_si128(p->left_shift);
  const eb_requant_cols_avx512 ca = mbqm_consts(p->a_multiplier, p->a_shift, 0, 0, 0);
  const eb_requant_cols_avx512 cb = mbqm_consts(p->b_multiplier, p->b_shift, 0, 0, 0);
  const eb_requant_cols_avx512 cy =
      mbqm_consts(p->output_multiplier, p->output_shift, p->output_min - p->output_zero_point,
                  p->output_max - p->output_zero_point, p->output_zero_point);
  for (size_t i = 0; i < count; i += 16) {
    const __mmask16 mask = count - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (count - i)) - 1);
    const __m512i xa = _mm512_sub_epi32(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, a + i)), zp_a);
    const __m512i xb = _mm512_sub_epi32(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, b + i)), zp_b);
    __m512i sum;
    if (kNoSat) {
      const __m512i ra = eb_srdhm_rdbpot_avx512(_mm512_sll_epi32(xa, ls_count), ca.mult, ca.mult_odd, ca.right,
                                                ca.rem_mask, ca.half);
      const __m512i rb = eb_srdhm_rdbpot_avx512(_mm512_sll_epi32(xb, ls_count), cb.mult, cb.mult_odd, cb.right,
                                                cb.rem_mask, cb.half);
      sum = _mm512_add_epi32(ra, rb);
    } else {
      const __m512i ra = eb_mbqm_avx512(eb_satshl_avx512(xa, ls), ca.mult, ca.left, ca.right);
      const __m512i rb = eb_mbqm_avx512(eb_satshl_avx512(xb, ls), cb.mult, cb.left, cb.right);
      sum = eb_satadd_avx512(ra, rb);
    }
    _mm_mask_storeu_epi8(output + i, mask, _mm512_cvtepi32_epi8(eb_requant_apply_avx512(sum, &cy)));
  }
}
}  // namespace

extern "C" void eb_qs8_vadd_minmax_ukernel__avx512vnni(const eb_qs8_add_params* p, size_t count, const int8_t* a,
                                                       const int8_t* b, int8_t* output) {
  if (p->left_shift <= 22 && p->a_shift <= 0 && p->b_shift <= 0) {
    vadd<true>(p, count, a, b, output);
  } else {
    vadd<false>(p, count, a, b, output);
  }
}
