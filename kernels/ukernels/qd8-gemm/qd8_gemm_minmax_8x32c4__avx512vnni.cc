// qd8_gemm_minmax_8x32c4__avx512vnni.cc: DYNAMIC_FULLY_CONNECTED's GEMM for AVX-512 VNNI cores (Ice Lake+, Zen 4+).
// Reference twin: eb_qd8_gemm_ref (qd8-gemm/ref.cc), docs/quantization.md (15); equal bit for bit
// (kernels/test/ukernel_tester.cc).
//
// A holds q + 128 as uint8 (qd8_quantize__avx512vnni.cc), so vpdpbusd takes its broadcast as is: per 4 k, two
// weight loads and eight 4-byte broadcasts feed sixteen vpdpbusd (no flip, unlike the qs8 kernel). The sum it
// builds is Σ (q + 128)·w = Σ q·w + 128·Σw, so each accumulator starts at −(zp + 128)·Σw (Σw packed per column):
// the result is (15)'s acc exactly, and no partial sum leaves int32 (|start| and |Σ (q + 128)·w| are each at most
// 255·127·K < 2^30 for K <= 16384). The epilogue is (15)'s float steps in its order with separate instructions:
// t = vcvtdq2ps(acc), u = s·s_w, y = t·u, y = y + b (b = −0 without a bias, which leaves every y as it is), then
// vmaxps(lo, y) and vminps(hi, y), which keep a NaN y as the reference's comparisons do.
//
// One call walks every 32-column block of its nc; a tile of MR < 8 rows computes only its rows. Accumulators are
// named variables and vpdpbusd is eb_dpbusd_avx512 (requant__avx512vnni.h says why).
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "../requant/requant__avx512vnni.h"
#include "edgebuild/ukernels_isa.h"

namespace {
constexpr size_t kNR = 32;

inline __m512i broadcast(const uint8_t* p) {
  int32_t v;
  memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

// (15)'s float steps for one 16-column half of a row, stored under mask. Without bounds (lo = −inf, hi = +inf, the
// transformer linears) the clamp is the identity for every y, NaN included, and is left out.
template <bool kClamp>
inline void store_row(float* c, __m512i acc, float s, __m512 w_scale, __m512 bias, __m512 lo, __m512 hi,
                      __mmask16 mask) {
  const __m512 u = _mm512_mul_ps(_mm512_set1_ps(s), w_scale);
  __m512 y = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), u);
  y = _mm512_add_ps(y, bias);
  if (kClamp) y = _mm512_min_ps(hi, _mm512_max_ps(lo, y));
  _mm512_mask_storeu_ps(c, mask, y);
}

template <size_t MR, bool kClamp>
void gemm_tile(size_t nc, size_t kc, const uint8_t* a, size_t a_stride, const eb_qd8_row_params* params,
               const uint8_t* w, float* c, size_t c_stride, float output_min, float output_max) {
  const uint8_t* a0 = a;
  const uint8_t* a1 = a0 + (MR > 1 ? a_stride : 0);
  const uint8_t* a2 = a1 + (MR > 2 ? a_stride : 0);
  const uint8_t* a3 = a2 + (MR > 3 ? a_stride : 0);
  const uint8_t* a4 = a3 + (MR > 4 ? a_stride : 0);
  const uint8_t* a5 = a4 + (MR > 5 ? a_stride : 0);
  const uint8_t* a6 = a5 + (MR > 6 ? a_stride : 0);
  const uint8_t* a7 = a6 + (MR > 7 ? a_stride : 0);
  const size_t block_bytes = eb_qd8_block_bytes(kNR, kc, 1);
  const __m512 lo = _mm512_set1_ps(output_min), hi = _mm512_set1_ps(output_max);
  // The same bytes of the next call's columns, if the runtime calls the kernel on runs of nc columns (Qd8Kernel
  // nc_blocks): fetched while this call and the group's other row tiles compute.
  const size_t ahead = (nc + kNR - 1) / kNR * block_bytes;
  for (size_t n0 = 0; n0 < nc; n0 += kNR, w += block_bytes, c += kNR) {
    const int32_t* header = reinterpret_cast<const int32_t*>(w);
    const __m512i sum_l = _mm512_loadu_si512(header), sum_h = _mm512_loadu_si512(header + 16);
    // acc starts at −(zp + 128)·Σw: (15)'s −zp·Σw, and the 128 the unsigned rows add.
    __m512i corr = _mm512_set1_epi32(-(params[0].zero_point + 128));
    __m512i c0l = _mm512_mullo_epi32(sum_l, corr), c0h = _mm512_mullo_epi32(sum_h, corr);
    __m512i c1l, c1h, c2l, c2h, c3l, c3h, c4l, c4h, c5l, c5h, c6l, c6h, c7l, c7h;
#define EB_QD8_INIT(i)                                       \
  if constexpr (MR > i) {                                    \
    corr = _mm512_set1_epi32(-(params[i].zero_point + 128)); \
    c##i##l = _mm512_mullo_epi32(sum_l, corr);               \
    c##i##h = _mm512_mullo_epi32(sum_h, corr);               \
  } else {                                                   \
    c##i##l = c##i##h = _mm512_setzero_si512();              \
  }
    EB_QD8_INIT(1)
    EB_QD8_INIT(2)
    EB_QD8_INIT(3)
    EB_QD8_INIT(4)
    EB_QD8_INIT(5)
    EB_QD8_INIT(6)
    EB_QD8_INIT(7)
#undef EB_QD8_INIT
    const uint8_t* wp = w + 12 * kNR;  // after wsum, w_scale, bias
    for (size_t k = 0; k < kc; k += 4, wp += 4 * kNR) {
      const __m512i wl = _mm512_loadu_si512(wp), wh = _mm512_loadu_si512(wp + 64);
      _mm_prefetch(reinterpret_cast<const char*>(wp + ahead), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(wp + ahead + 64), _MM_HINT_T0);
      __m512i x = broadcast(a0 + k);
      c0l = eb_dpbusd_avx512(c0l, x, wl);
      c0h = eb_dpbusd_avx512(c0h, x, wh);
#define EB_QD8_STEP(i)                          \
  if constexpr (MR > i) {                       \
    x = broadcast(a##i + k);                    \
    c##i##l = eb_dpbusd_avx512(c##i##l, x, wl); \
    c##i##h = eb_dpbusd_avx512(c##i##h, x, wh); \
  }
      EB_QD8_STEP(1)
      EB_QD8_STEP(2)
      EB_QD8_STEP(3)
      EB_QD8_STEP(4)
      EB_QD8_STEP(5)
      EB_QD8_STEP(6)
      EB_QD8_STEP(7)
#undef EB_QD8_STEP
    }
    const float* fh = reinterpret_cast<const float*>(w);
    const __m512 sc_l = _mm512_loadu_ps(fh + kNR), sc_h = _mm512_loadu_ps(fh + kNR + 16);
    const __m512 b_l = _mm512_loadu_ps(fh + 2 * kNR), b_h = _mm512_loadu_ps(fh + 2 * kNR + 16);
    const size_t cols = nc - n0 < kNR ? nc - n0 : kNR;
    const __mmask32 mask = cols == kNR ? 0xFFFFFFFFu : (__mmask32)((1u << cols) - 1);
    const __mmask16 ml = (__mmask16)mask, mh = (__mmask16)(mask >> 16);
    const __m512i all_l[8] = {c0l, c1l, c2l, c3l, c4l, c5l, c6l, c7l};
    const __m512i all_h[8] = {c0h, c1h, c2h, c3h, c4h, c5h, c6h, c7h};
    for (size_t i = 0; i < MR; ++i) {
      store_row<kClamp>(c + i * c_stride, all_l[i], params[i].scale, sc_l, b_l, lo, hi, ml);
      if (mh != 0) store_row<kClamp>(c + i * c_stride + 16, all_h[i], params[i].scale, sc_h, b_h, lo, hi, mh);
    }
  }
}
}  // namespace

extern "C" void eb_qd8_gemm_minmax_ukernel_8x32c4__avx512vnni(size_t mr, size_t nc, size_t kc, const void* a,
                                                              size_t a_stride, const eb_qd8_row_params* params,
                                                              const void* w, float* c, size_t c_stride,
                                                              float output_min, float output_max) {
  const uint8_t* au = static_cast<const uint8_t*>(a);
  const uint8_t* wu = static_cast<const uint8_t*>(w);
  const bool clamp = !(output_min == -INFINITY && output_max == INFINITY);
  if (clamp) {
    switch (mr) {
      case 1: return gemm_tile<1, true>(nc, kc, au, a_stride, params, wu, c, c_stride, output_min, output_max);
      case 2: return gemm_tile<2, true>(nc, kc, au, a_stride, params, wu, c, c_stride, output_min, output_max);
      case 3: return gemm_tile<3, true>(nc, kc, au, a_stride, params, wu, c, c_stride, output_min, output_max);
      case 4: return gemm_tile<4, true>(nc, kc, au, a_stride, params, wu, c, c_stride, output_min, output_max);
      case 5: return gemm_tile<5, true>(nc, kc, au, a_stride, params, wu, c, c_stride, output_min, output_max);
      case 6: return gemm_tile<6, true>(nc, kc, au, a_stride, params, wu, c, c_stride, output_min, output_max);
      case 7: return gemm_tile<7, true>(nc, kc, au, a_stride, params, wu, c, c_stride, output_min, output_max);
      default: return gemm_tile<8, true>(nc, kc, au, a_stride, params, wu, c, c_stride, output_min, output_max);
    }
  }
  switch (mr) {
    case 1: return gemm_tile<1, false>(nc, kc, au, a_stride, params, wu, c, c_stride, output_min, output_max);
    case 2: return gemm_tile<2, false>(nc, kc, au, a_stride, params, wu, c, c_stride, output_min, output_max);
    case 3: return gemm_tile<3, false>(nc, kc, au, a_stride, params, wu, c, c_stride, output_min, output_max);
    case 4: return gemm_tile<4, false>(nc, kc, au, a_stride, params, wu, c, c_stride, output_min, output_max);
    case 5: return gemm_tile<5, false>(nc, kc, au, a_stride, params, wu, c, c_stride, output_min, output_max);
    case 6: return gemm_tile<6, false>(nc, kc, au, a_stride, params, wu, c, c_stride, output_min, output_max);
    case 7: return gemm_tile<7, false>(nc, kc, au, a_stride, params, wu, c, c_stride, output_min, output_max);
    default: return gemm_tile<8, false>(nc, kc, au, a_stride, params, wu, c, c_stride, output_min, output_max);
  }
}
