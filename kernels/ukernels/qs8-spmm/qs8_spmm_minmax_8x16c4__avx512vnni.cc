// qs8_spmm_minmax_8x16c4__avx512vnni.cc: int8 block-sparse GEMM microkernel for AVX-512 VNNI cores (Ice Lake+, Zen 4+).
// Reference twin: eb_qs8_spmm_ref (qs8-spmm/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc).
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
constexpr size_t kNR = 16;

inline __m512i broadcast_flipped(const int8_t* p, __m512i flip) {
  int32_t v;
  memcpy(&v, p, 4);
  return _mm512_xor_si512(_mm512_set1_epi32(v), flip);
}
}  // namespace

// Accumulators and row tap tables are named variables, not arrays (see the 8x32c4 GEMM kernel: GCC 12 copies an
// unrolled array of zmm accumulators around the loop).
extern "C" void eb_qs8_spmm_minmax_ukernel_8x16c4__avx512vnni(size_t mr, size_t nc, const int8_t* const* a, size_t taps,
                                                              const void* w, int8_t* c, size_t c_stride,
                                                              const eb_qs8_requant_params* rq) {
  // Rows past mr repeat the last row (their results are not stored).
  const int8_t* const* a0 = a;
  const int8_t* const* a1 = mr > 1 ? a0 + taps : a0;
  const int8_t* const* a2 = mr > 2 ? a1 + taps : a1;
  const int8_t* const* a3 = mr > 3 ? a2 + taps : a2;
  const int8_t* const* a4 = mr > 4 ? a3 + taps : a3;
  const int8_t* const* a5 = mr > 5 ? a4 + taps : a4;
  const int8_t* const* a6 = mr > 6 ? a5 + taps : a5;
  const int8_t* const* a7 = mr > 7 ? a6 + taps : a6;
  const int32_t* header = static_cast<const int32_t*>(w);
  __m512i c0 = _mm512_loadu_si512(header);
  __m512i c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
  const int32_t count = header[4 * kNR];
  const int32_t* idx = header + 4 * kNR + 16;
  const int8_t* wp = reinterpret_cast<const int8_t*>(idx) + ((size_t)count * 8 + 63) / 64 * 64;
  const __m512i flip = _mm512_set1_epi32((int32_t)0x80808080);
  for (int32_t e = 0; e < count; ++e, wp += 4 * kNR) {
    const size_t tap = (size_t)idx[2 * e], off = (size_t)idx[2 * e + 1];
    const __m512i wv = _mm512_loadu_si512(wp);
    c0 = eb_dpbusd_avx512(c0, broadcast_flipped(a0[tap] + off, flip), wv);
    c1 = eb_dpbusd_avx512(c1, broadcast_flipped(a1[tap] + off, flip), wv);
    c2 = eb_dpbusd_avx512(c2, broadcast_flipped(a2[tap] + off, flip), wv);
    c3 = eb_dpbusd_avx512(c3, broadcast_flipped(a3[tap] + off, flip), wv);
    c4 = eb_dpbusd_avx512(c4, broadcast_flipped(a4[tap] + off, flip), wv);
    c5 = eb_dpbusd_avx512(c5, broadcast_flipped(a5[tap] + off, flip), wv);
    c6 = eb_dpbusd_avx512(c6, broadcast_flipped(a6[tap] + off, flip), wv);
    c7 = eb_dpbusd_avx512(c7, broadcast_flipped(a7[tap] + off, flip), wv);
  }
  const eb_requant_cols_avx512 cols = eb_requant_cols_load_avx512(header + kNR, header + 2 * kNR, header + 3 * kNR,
                                                                  rq->lo, rq->hi, rq->output_zero_point);
  const __mmask16 mask = nc >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nc) - 1);
  const __m512i acc[8] = {c0, c1, c2, c3, c4, c5, c6, c7};
  for (size_t i = 0; i < mr; ++i)
    _mm_mask_storeu_epi8(c + i * c_stride, mask, _mm512_cvtepi32_epi8(eb_requant_apply_avx512(acc[i], &cols)));
}
