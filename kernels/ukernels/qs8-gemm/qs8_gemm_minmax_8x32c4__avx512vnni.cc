// qs8_gemm_minmax_8x32c4__avx512vnni.cc: int8 GEMM microkernel for AVX-512 VNNI cores (Ice Lake+, Zen 4+).
//
// 8 rows × 32 columns per call, K in steps of 4: vpdpbusd multiplies 4 unsigned bytes of A by 4 signed bytes of W
// into each int32 lane. A is signed, so each broadcast is flipped to x + 128 (xor 0x80) and the packed bias already
// holds −(zp_x + 128)·Σw (ukernels_isa.h). 16 accumulators, 2 weight vectors and a broadcast fit the 32 zmm
// registers; two weight loads and eight broadcasts feed sixteen vpdpbusd.
#include <immintrin.h>
#include <string.h>

#include "../requant/requant__avx512vnni.h"
#include "edgebuild/ukernels_isa.h"

namespace {
constexpr size_t kMR = 8, kNR = 32;

inline int32_t load_u32(const int8_t* p) {
  int32_t v;
  memcpy(&v, p, 4);
  return v;
}
}  // namespace

extern "C" void eb_qs8_gemm_minmax_ukernel_8x32c4__avx512vnni(size_t mr, size_t nc, size_t kc, const int8_t* a,
                                                              size_t a_stride, const void* w, int8_t* c,
                                                              size_t c_stride, const eb_qs8_requant_params* rq) {
  const int8_t* rows[kMR];
  for (size_t i = 0; i < kMR; ++i) rows[i] = a + (i < mr ? i : mr - 1) * a_stride;  // extra rows repeat the last
  const int32_t* header = static_cast<const int32_t*>(w);
  const __m512i bias0 = _mm512_loadu_si512(header), bias1 = _mm512_loadu_si512(header + 16);
  __m512i acc0[kMR], acc1[kMR];
#pragma GCC unroll 8
  for (size_t i = 0; i < kMR; ++i) {
    acc0[i] = bias0;
    acc1[i] = bias1;
  }
  const int8_t* wp = static_cast<const int8_t*>(w) + 16 * kNR;
  const __m512i flip = _mm512_set1_epi32((int32_t)0x80808080);
  for (size_t k = 0; k < kc; k += 4, wp += 4 * kNR) {
    const __m512i w0 = _mm512_loadu_si512(wp), w1 = _mm512_loadu_si512(wp + 64);
#pragma GCC unroll 8
    for (size_t i = 0; i < kMR; ++i) {
      const __m512i x = _mm512_xor_si512(_mm512_set1_epi32(load_u32(rows[i] + k)), flip);
      acc0[i] = _mm512_dpbusd_epi32(acc0[i], x, w0);
      acc1[i] = _mm512_dpbusd_epi32(acc1[i], x, w1);
    }
  }
  const __m512i mult0 = _mm512_loadu_si512(header + kNR), mult1 = _mm512_loadu_si512(header + kNR + 16);
  const __m512i left0 = _mm512_loadu_si512(header + 2 * kNR), left1 = _mm512_loadu_si512(header + 2 * kNR + 16);
  const __m512i right0 = _mm512_loadu_si512(header + 3 * kNR), right1 = _mm512_loadu_si512(header + 3 * kNR + 16);
  const __m512i lo = _mm512_set1_epi32(rq->lo), hi = _mm512_set1_epi32(rq->hi);
  const __m512i zp = _mm512_set1_epi32(rq->output_zero_point);
  const __mmask32 store_mask = nc >= 32 ? 0xFFFFFFFFu : (__mmask32)((1u << nc) - 1);
  for (size_t i = 0; i < mr; ++i) {
    const __m128i y0 = _mm512_cvtepi32_epi8(eb_requant_avx512(acc0[i], mult0, left0, right0, lo, hi, zp));
    const __m128i y1 = _mm512_cvtepi32_epi8(eb_requant_avx512(acc1[i], mult1, left1, right1, lo, hi, zp));
    _mm256_mask_storeu_epi8(c + i * c_stride, store_mask, _mm256_inserti128_si256(_mm256_castsi128_si256(y0), y1, 1));
  }
}
