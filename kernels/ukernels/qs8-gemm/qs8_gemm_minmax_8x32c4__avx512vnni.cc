// qs8_gemm_minmax_8x32c4__avx512vnni.cc: int8 GEMM microkernel for AVX-512 VNNI cores (Ice Lake+, Zen 4+).
// Reference twin: eb_qs8_gemm_ref (qs8-gemm/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc).
//
// 8 rows × 32 columns per call, K in steps of 4: vpdpbusd multiplies 4 unsigned bytes of A by 4 signed bytes of W
// into each int32 lane. A is signed, so each broadcast is flipped to x + 128 (xor 0x80) and the packed bias already
// holds −(zp_x + 128)·Σw (ukernels_isa.h). 16 accumulators, 2 weight vectors and a broadcast fit the 32 zmm
// registers; two weight loads and eight broadcasts feed sixteen vpdpbusd.
//
// The accumulators and row pointers are named variables, not arrays, and vpdpbusd is eb_dpbusd_avx512: with an
// array and the intrinsic, GCC 12 copied every accumulator around the loop and spilled some (217 vs 234 GMAC/s).
#include <immintrin.h>
#include <string.h>

#include "../requant/requant__avx512vnni.h"
#include "edgebuild/ukernels_isa.h"

namespace {
constexpr size_t kNR = 32;

inline __m512i broadcast_flipped(const int8_t* p, __m512i flip) {
  int32_t v;
  memcpy(&v, p, 4);
  return _mm512_xor_si512(_mm512_set1_epi32(v), flip);
}

// Requantizes one 16-column half of the tile's MR rows and stores it. mult points at the half's multipliers in the
// packed header; its left shifts, right shifts and rq_u flags follow kNR, 2·kNR and 3·kNR entries later. Constants
// are loaded once per tile: eb_requantu_cols_avx512 when every column's rq_u is set (12 instructions per 16
// outputs), else eb_requant64_cols_avx512 when every column has a right shift (15), else eb_requant_cols_avx512.
template <size_t MR>
inline void store_half(int8_t* c, size_t c_stride, const __m512i (&acc)[MR], const int32_t* mult,
                       const eb_qs8_requant_params* rq, __mmask16 mask) {
  eb_requantu_cols_avx512 u;
  if (eb_requantu_cols_load_avx512(mult, mult + 2 * kNR, mult + 3 * kNR, mask, rq->lo, rq->hi, rq->output_zero_point,
                                   &u)) {
    for (size_t i = 0; i < MR; ++i)
      _mm_mask_storeu_epi8(c + i * c_stride, mask, _mm512_cvtsepi32_epi8(eb_requantu_apply_avx512(acc[i], &u)));
    return;
  }
  eb_requant64_cols_avx512 fast;
  if (eb_requant64_cols_load_avx512(mult, mult + kNR, mult + 2 * kNR, mask, rq->lo, rq->hi, rq->output_zero_point,
                                    &fast)) {
    for (size_t i = 0; i < MR; ++i)
      _mm_mask_storeu_epi8(c + i * c_stride, mask, _mm512_cvtsepi32_epi8(eb_requant64_apply_avx512(acc[i], &fast)));
    return;
  }
  const eb_requant_cols_avx512 cols =
      eb_requant_cols_load_avx512(mult, mult + kNR, mult + 2 * kNR, rq->lo, rq->hi, rq->output_zero_point);
  for (size_t i = 0; i < MR; ++i)
    _mm_mask_storeu_epi8(c + i * c_stride, mask, _mm512_cvtepi32_epi8(eb_requant_apply_avx512(acc[i], &cols)));
}

// One tile of exactly MR rows (1 <= MR <= 8): a remainder tile of M computes only its own rows, so a layer with
// M = 49 (ResNet-18's 7×7 stage) pays for 49 rows, not 56.
template <size_t MR>
void gemm_tile(size_t nc, size_t kc, const int8_t* a, size_t a_stride, const void* w, int8_t* c, size_t c_stride,
               const eb_qs8_requant_params* rq) {
  const int8_t* a0 = a;
  const int8_t* a1 = a0 + (MR > 1 ? a_stride : 0);
  const int8_t* a2 = a1 + (MR > 2 ? a_stride : 0);
  const int8_t* a3 = a2 + (MR > 3 ? a_stride : 0);
  const int8_t* a4 = a3 + (MR > 4 ? a_stride : 0);
  const int8_t* a5 = a4 + (MR > 5 ? a_stride : 0);
  const int8_t* a6 = a5 + (MR > 6 ? a_stride : 0);
  const int8_t* a7 = a6 + (MR > 7 ? a_stride : 0);
  const int32_t* header = static_cast<const int32_t*>(w);
  __m512i c0l = _mm512_loadu_si512(header), c0h = _mm512_loadu_si512(header + 16);
  __m512i c1l = c0l, c1h = c0h, c2l = c0l, c2h = c0h, c3l = c0l, c3h = c0h;
  __m512i c4l = c0l, c4h = c0h, c5l = c0l, c5h = c0h, c6l = c0l, c6h = c0h, c7l = c0l, c7h = c0h;
  const int8_t* wp = static_cast<const int8_t*>(w) + 20 * kNR;  // after the five header arrays
  const __m512i flip = _mm512_set1_epi32((int32_t)0x80808080);
  for (size_t k = 0; k < kc; k += 4, wp += 4 * kNR) {
    const __m512i wl = _mm512_loadu_si512(wp), wh = _mm512_loadu_si512(wp + 64);
    __m512i x = broadcast_flipped(a0 + k, flip);
    c0l = eb_dpbusd_avx512(c0l, x, wl);
    c0h = eb_dpbusd_avx512(c0h, x, wh);
    if constexpr (MR > 1) {
      x = broadcast_flipped(a1 + k, flip);
      c1l = eb_dpbusd_avx512(c1l, x, wl);
      c1h = eb_dpbusd_avx512(c1h, x, wh);
    }
    if constexpr (MR > 2) {
      x = broadcast_flipped(a2 + k, flip);
      c2l = eb_dpbusd_avx512(c2l, x, wl);
      c2h = eb_dpbusd_avx512(c2h, x, wh);
    }
    if constexpr (MR > 3) {
      x = broadcast_flipped(a3 + k, flip);
      c3l = eb_dpbusd_avx512(c3l, x, wl);
      c3h = eb_dpbusd_avx512(c3h, x, wh);
    }
    if constexpr (MR > 4) {
      x = broadcast_flipped(a4 + k, flip);
      c4l = eb_dpbusd_avx512(c4l, x, wl);
      c4h = eb_dpbusd_avx512(c4h, x, wh);
    }
    if constexpr (MR > 5) {
      x = broadcast_flipped(a5 + k, flip);
      c5l = eb_dpbusd_avx512(c5l, x, wl);
      c5h = eb_dpbusd_avx512(c5h, x, wh);
    }
    if constexpr (MR > 6) {
      x = broadcast_flipped(a6 + k, flip);
      c6l = eb_dpbusd_avx512(c6l, x, wl);
      c6h = eb_dpbusd_avx512(c6h, x, wh);
    }
    if constexpr (MR > 7) {
      x = broadcast_flipped(a7 + k, flip);
      c7l = eb_dpbusd_avx512(c7l, x, wl);
      c7h = eb_dpbusd_avx512(c7h, x, wh);
    }
  }
  const __mmask32 mask = nc >= kNR ? 0xFFFFFFFFu : (__mmask32)((1u << nc) - 1);
  const __m512i all_l[8] = {c0l, c1l, c2l, c3l, c4l, c5l, c6l, c7l};
  const __m512i all_h[8] = {c0h, c1h, c2h, c3h, c4h, c5h, c6h, c7h};
  __m512i lows[MR], highs[MR];
  for (size_t i = 0; i < MR; ++i) {
    lows[i] = all_l[i];
    highs[i] = all_h[i];
  }
  store_half<MR>(c, c_stride, lows, header + kNR, rq, (__mmask16)mask);
  if (nc > 16) store_half<MR>(c + 16, c_stride, highs, header + kNR + 16, rq, (__mmask16)(mask >> 16));
}
}  // namespace

extern "C" void eb_qs8_gemm_minmax_ukernel_8x32c4__avx512vnni(size_t mr, size_t nc, size_t kc, const int8_t* a,
                                                              size_t a_stride, const void* w, int8_t* c,
                                                              size_t c_stride, const eb_qs8_requant_params* rq) {
  switch (mr) {
    case 1: return gemm_tile<1>(nc, kc, a, a_stride, w, c, c_stride, rq);
    case 2: return gemm_tile<2>(nc, kc, a, a_stride, w, c, c_stride, rq);
    case 3: return gemm_tile<3>(nc, kc, a, a_stride, w, c, c_stride, rq);
    case 4: return gemm_tile<4>(nc, kc, a, a_stride, w, c, c_stride, rq);
    case 5: return gemm_tile<5>(nc, kc, a, a_stride, w, c, c_stride, rq);
    case 6: return gemm_tile<6>(nc, kc, a, a_stride, w, c, c_stride, rq);
    case 7: return gemm_tile<7>(nc, kc, a, a_stride, w, c, c_stride, rq);
    default: return gemm_tile<8>(nc, kc, a, a_stride, w, c, c_stride, rq);
  }
}
