// qd8_gemm_minmax_4x16c2__avx2.cc: DYNAMIC_FULLY_CONNECTED's GEMM for AVX2 cores (Haswell-Skylake, Zen 1-3).
// Reference twin: eb_qd8_gemm_ref (qd8-gemm/ref.cc), docs/quantization.md (15); equal bit for bit
// (kernels/test/ukernel_tester.cc).
//
// A holds q as int16 (qd8_quantize__avx2.cc) and the weights are packed as int16 pairs [kc / 2][16][2]: per 2 k, one
// 4-byte broadcast per row and two weight loads feed eight vpmaddwd (one exact int32 sum of two products per lane;
// vpmaddubsw would saturate). Accumulators start at −zp·Σw (Σw packed per column), so they end at (15)'s acc; the
// epilogue is (15)'s float steps in order, as in the avx512vnni variant (that file says why vmaxps(lo, y) then
// vminps(hi, y) keep the reference's NaN and signed-zero results, and why a −0 bias stands for none).
#include <immintrin.h>
#include <string.h>

#include "edgebuild/ukernels_isa.h"

namespace {
constexpr size_t kNR = 16;

inline __m256i broadcast(const uint8_t* p) {
  int32_t v;
  memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

inline void store_row(float* c, __m256i acc, float s, __m256 w_scale, __m256 bias, __m256 lo, __m256 hi, size_t cols) {
  const __m256 u = _mm256_mul_ps(_mm256_set1_ps(s), w_scale);
  __m256 y = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), u);
  y = _mm256_add_ps(y, bias);
  y = _mm256_min_ps(hi, _mm256_max_ps(lo, y));
  if (cols >= 8) {
    _mm256_storeu_ps(c, y);
  } else {
    float t[8];
    _mm256_storeu_ps(t, y);
    memcpy(c, t, cols * sizeof(float));
  }
}

template <size_t MR>
void gemm_tile(size_t nc, size_t kc, const uint8_t* a, size_t a_stride, const eb_qd8_row_params* params,
               const uint8_t* w, float* c, size_t c_stride, float output_min, float output_max) {
  const uint8_t* a0 = a;
  const uint8_t* a1 = a0 + (MR > 1 ? a_stride : 0);
  const uint8_t* a2 = a1 + (MR > 2 ? a_stride : 0);
  const uint8_t* a3 = a2 + (MR > 3 ? a_stride : 0);
  const size_t block_bytes = eb_qd8_block_bytes(kNR, kc, 2);
  const __m256 lo = _mm256_set1_ps(output_min), hi = _mm256_set1_ps(output_max);
  for (size_t n0 = 0; n0 < nc; n0 += kNR, w += block_bytes, c += kNR) {
    const int32_t* header = reinterpret_cast<const int32_t*>(w);
    const __m256i sum_l = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(header));
    const __m256i sum_h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(header + 8));
    __m256i c0l, c0h, c1l, c1h, c2l, c2h, c3l, c3h;  // start at −zp·Σw, (15)
    __m256i corr = _mm256_set1_epi32(-params[0].zero_point);
    c0l = _mm256_mullo_epi32(sum_l, corr);
    c0h = _mm256_mullo_epi32(sum_h, corr);
    c1l = c1h = c2l = c2h = c3l = c3h = _mm256_setzero_si256();
    if constexpr (MR > 1) {
      corr = _mm256_set1_epi32(-params[1].zero_point);
      c1l = _mm256_mullo_epi32(sum_l, corr);
      c1h = _mm256_mullo_epi32(sum_h, corr);
    }
    if constexpr (MR > 2) {
      corr = _mm256_set1_epi32(-params[2].zero_point);
      c2l = _mm256_mullo_epi32(sum_l, corr);
      c2h = _mm256_mullo_epi32(sum_h, corr);
    }
    if constexpr (MR > 3) {
      corr = _mm256_set1_epi32(-params[3].zero_point);
      c3l = _mm256_mullo_epi32(sum_l, corr);
      c3h = _mm256_mullo_epi32(sum_h, corr);
    }
    const uint8_t* wp = w + 12 * kNR;
    for (size_t k = 0; k < kc; k += 2, wp += 4 * kNR) {
      const __m256i wl = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp));
      const __m256i wh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp + 32));
      __m256i x = broadcast(a0 + 2 * k);
      c0l = _mm256_add_epi32(c0l, _mm256_madd_epi16(x, wl));
      c0h = _mm256_add_epi32(c0h, _mm256_madd_epi16(x, wh));
      if constexpr (MR > 1) {
        x = broadcast(a1 + 2 * k);
        c1l = _mm256_add_epi32(c1l, _mm256_madd_epi16(x, wl));
        c1h = _mm256_add_epi32(c1h, _mm256_madd_epi16(x, wh));
      }
      if constexpr (MR > 2) {
        x = broadcast(a2 + 2 * k);
        c2l = _mm256_add_epi32(c2l, _mm256_madd_epi16(x, wl));
        c2h = _mm256_add_epi32(c2h, _mm256_madd_epi16(x, wh));
      }
      if constexpr (MR > 3) {
        x = broadcast(a3 + 2 * k);
        c3l = _mm256_add_epi32(c3l, _mm256_madd_epi16(x, wl));
        c3h = _mm256_add_epi32(c3h, _mm256_madd_epi16(x, wh));
      }
    }
    const float* fh = reinterpret_cast<const float*>(w);
    const __m256 sc_l = _mm256_loadu_ps(fh + kNR), sc_h = _mm256_loadu_ps(fh + kNR + 8);
    const __m256 b_l = _mm256_loadu_ps(fh + 2 * kNR), b_h = _mm256_loadu_ps(fh + 2 * kNR + 8);
    const size_t cols = nc - n0 < kNR ? nc - n0 : kNR;
    const __m256i all_l[4] = {c0l, c1l, c2l, c3l};
    const __m256i all_h[4] = {c0h, c1h, c2h, c3h};
    for (size_t i = 0; i < MR; ++i) {
      store_row(c + i * c_stride, all_l[i], params[i].scale, sc_l, b_l, lo, hi, cols);
      if (cols > 8) store_row(c + i * c_stride + 8, all_h[i], params[i].scale, sc_h, b_h, lo, hi, cols - 8);
    }
  }
}
}  // namespace

extern "C" void eb_qd8_gemm_minmax_ukernel_4x16c2__avx2(size_t mr, size_t nc, size_t kc, const void* a, size_t a_stride,
                                                        const eb_qd8_row_params* params, const void* w, float* c,
                                                        size_t c_stride, float output_min, float output_max) {
  const uint8_t* au = static_cast<const uint8_t*>(a);
  const uint8_t* wu = static_cast<const uint8_t*>(w);
  switch (mr) {
    case 1: return gemm_tile<1>(nc, kc, au, a_stride, params, wu, c, c_stride, output_min, output_max);
    case 2: return gemm_tile<2>(nc, kc, au, a_stride, params, wu, c, c_stride, output_min, output_max);
    case 3: return gemm_tile<3>(nc, kc, au, a_stride, params, wu, c, c_stride, output_min, output_max);
    default: return gemm_tile<4>(nc, kc, au, a_stride, params, wu, c, c_stride, output_min, output_max);
  }
}
