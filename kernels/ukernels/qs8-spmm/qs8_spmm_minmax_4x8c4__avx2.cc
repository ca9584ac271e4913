// qs8_spmm_minmax_4x8c4__avx2.cc: int8 block-sparse GEMM microkernel for AVX2 cores without VNNI (Haswell to Zen 3).
// Reference twin: eb_qs8_spmm_ref (qs8-spmm/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc).
//
// 4 rows × 8 columns over the stored 8×4 weight slices of a strip (ukernels_isa.h). As in the dense AVX2 kernel,
// inputs are sign-extended to int16 and multiplied by int16 weights with vpmaddwd (exact pair sums; vpmaddubsw would
// saturate). An entry's weights are [2][8 columns][2 k]: two vpmaddwd per row against the broadcast pairs (x0, x1)
// and (x2, x3). The packed bias holds −zp_x·Σw (a_offset 0).
#include <immintrin.h>
#include <string.h>

#include "../requant/requant__avx2.h"
#include "edgebuild/ukernels_isa.h"

namespace {
constexpr size_t kMR = 4, kNR = 8;
// acc + x[0..3] · w for one stored 8×4 slice: x sign-extended to int16, pairs (x0, x1) and (x2, x3) broadcast.
inline __m256i entry(__m256i acc, const int8_t* x, __m256i w01, __m256i w23) {
  int32_t v;
  memcpy(&v, x, 4);
  const __m128i x16 = _mm_cvtepi8_epi16(_mm_cvtsi32_si128(v));  // x0 x1 x2 x3 as int16
  const __m256i x01 = _mm256_broadcastd_epi32(x16);
  const __m256i x23 = _mm256_broadcastd_epi32(_mm_srli_si128(x16, 4));
  return _mm256_add_epi32(acc, _mm256_add_epi32(_mm256_madd_epi16(x01, w01), _mm256_madd_epi16(x23, w23)));
}
}  // namespace

extern "C" void eb_qs8_spmm_minmax_ukernel_4x8c4__avx2(size_t mr, size_t nc, const int8_t* const* a, size_t taps,
                                                       const void* w, int8_t* c, size_t c_stride,
                                                       const eb_qs8_requant_params* rq) {
  // Rows past mr repeat the last row (their results are not stored); named accumulators (GCC 12 copies an array).
  const int8_t* const* a0 = a;
  const int8_t* const* a1 = mr > 1 ? a0 + taps : a0;
  const int8_t* const* a2 = mr > 2 ? a1 + taps : a1;
  const int8_t* const* a3 = mr > 3 ? a2 + taps : a2;
  const int32_t* header = static_cast<const int32_t*>(w);
  __m256i c0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(header)), c1 = c0, c2 = c0, c3 = c0;
  const int32_t count = header[4 * kNR];
  const int32_t* idx = header + 4 * kNR + 16;
  const int16_t* wp =
      reinterpret_cast<const int16_t*>(reinterpret_cast<const uint8_t*>(idx) + ((size_t)count * 8 + 63) / 64 * 64);
  for (int32_t e = 0; e < count; ++e, wp += 4 * kNR) {
    const size_t tap = (size_t)idx[2 * e], off = (size_t)idx[2 * e + 1];
    const __m256i w01 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp));
    const __m256i w23 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp + 16));
    c0 = entry(c0, a0[tap] + off, w01, w23);
    c1 = entry(c1, a1[tap] + off, w01, w23);
    c2 = entry(c2, a2[tap] + off, w01, w23);
    c3 = entry(c3, a3[tap] + off, w01, w23);
  }
  const __m256i acc[kMR] = {c0, c1, c2, c3};
  const __m256i mult = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(header + kNR));
  const __m256i left = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(header + 2 * kNR));
  const __m256i right = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(header + 3 * kNR));
  const __m256i lo = _mm256_set1_epi32(rq->lo), hi = _mm256_set1_epi32(rq->hi);
  const __m256i zp = _mm256_set1_epi32(rq->output_zero_point);
  for (size_t i = 0; i < mr; ++i) {
    const __m256i q = eb_requant_avx2(acc[i], mult, left, right, lo, hi, zp);
    // Lanes are within int8 after the clamp: pack without saturation effects.
    const __m128i p16 = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
    int8_t out[16];
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_packs_epi16(p16, p16));
    memcpy(c + i * c_stride, out, nc);
  }
}
