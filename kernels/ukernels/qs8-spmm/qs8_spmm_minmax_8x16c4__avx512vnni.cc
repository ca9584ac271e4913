// qs8_spmm_minmax_8x16c4__avx512vnni.cc: int8 block-sparse GEMM microkernel for AVX-512 VNNI cores (Ice Lake+, Zen 4+).
//
// 8 rows × 16 columns; only the stored 16×4 weight slices of the strip are visited (ukernels_isa.h, sparse strip).
// Each entry names a tap and a channel offset, so rows are read through per-pixel tap pointers and no im2col copy is
// made. Per entry: one weight vector, and per row one 4-byte broadcast flipped to x + 128 and one vpdpbusd (the
// packed bias holds −(zp_x + 128)·Σw). Work is proportional to the non-zero slices, not to K.
#include <immintrin.h>
#include <string.h>

#include "../requant/requant__avx512vnni.h"
#include "edgebuild/ukernels_isa.h"

namespace {
constexpr size_t kMR = 8, kNR = 16;

inline int32_t load_u32(const int8_t* p) {
  int32_t v;
  memcpy(&v, p, 4);
  return v;
}
}  // namespace

extern "C" void eb_qs8_spmm_minmax_ukernel_8x16c4__avx512vnni(size_t mr, size_t nc, const int8_t* const* a,
                                                              size_t taps, const void* w, int8_t* c, size_t c_stride,
                                                              const eb_qs8_requant_params* rq) {
  const int8_t* const* rows[kMR];
  for (size_t i = 0; i < kMR; ++i) rows[i] = a + (i < mr ? i : mr - 1) * taps;  // extra rows repeat the last
  const int32_t* header = static_cast<const int32_t*>(w);
  const __m512i bias = _mm512_loadu_si512(header);
  __m512i acc[kMR];
#pragma GCC unroll 8
  for (size_t i = 0; i < kMR; ++i) acc[i] = bias;
  const int32_t count = header[4 * kNR];
  const int32_t* idx = header + 4 * kNR + 16;
  const int8_t* wp = reinterpret_cast<const int8_t*>(idx) + ((size_t)count * 8 + 63) / 64 * 64;
  const __m512i flip = _mm512_set1_epi32((int32_t)0x80808080);
  for (int32_t e = 0; e < count; ++e, wp += 4 * kNR) {
    const size_t tap = (size_t)idx[2 * e], off = (size_t)idx[2 * e + 1];
    const __m512i wv = _mm512_loadu_si512(wp);
#pragma GCC unroll 8
    for (size_t i = 0; i < kMR; ++i) {
      const __m512i x = _mm512_xor_si512(_mm512_set1_epi32(load_u32(rows[i][tap] + off)), flip);
      acc[i] = _mm512_dpbusd_epi32(acc[i], x, wv);
    }
  }
  const __m512i mult = _mm512_loadu_si512(header + kNR);
  const __m512i left = _mm512_loadu_si512(header + 2 * kNR), right = _mm512_loadu_si512(header + 3 * kNR);
  const __m512i lo = _mm512_set1_epi32(rq->lo), hi = _mm512_set1_epi32(rq->hi);
  const __m512i zp = _mm512_set1_epi32(rq->output_zero_point);
  const __mmask16 store_mask = nc >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nc) - 1);
  for (size_t i = 0; i < mr; ++i)
    _mm_mask_storeu_epi8(c + i * c_stride, store_mask,
                         _mm512_cvtepi32_epi8(eb_requant_avx512(acc[i], mult, left, right, lo, hi, zp)));
}
