// qs8_gemm_minmax_4x4c8__avx2.cc: int8 GEMM microkernel for AVX2 cores without VNNI (Haswell to Skylake, Zen 1-3).
// Reference twin: eb_qs8_gemm_ref (qs8-gemm/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc).
//
// 4 rows × 4 columns, K in steps of 8. vpmaddubsw would saturate its int16 pair sums, so inputs are sign-extended
// to int16 and multiplied by int16 weights (packed as int16 at load) with vpmaddwd, whose pair sums are exact in
// int32. Each accumulator holds 4 partial sums for 2 columns; they are reduced once, after the K loop.
#include <immintrin.h>
#include <string.h>

#include "../requant/requant__avx2.h"
#include "edgebuild/ukernels_isa.h"

namespace {
constexpr size_t kMR = 4, kNR = 4;

inline __m256i load_row8(const int8_t* p) {
  const __m128i x = _mm_cvtepi8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  return _mm256_inserti128_si256(_mm256_castsi128_si256(x), x, 1);
}
}  // namespace

extern "C" void eb_qs8_gemm_minmax_ukernel_4x4c8__avx2(size_t mr, size_t nc, size_t kc, const int8_t* a,
                                                       size_t a_stride, const void* w, int8_t* c, size_t c_stride,
                                                       const eb_qs8_requant_params* rq) {
  // Rows past mr repeat the last row (their results are not stored). Accumulators are named variables: with arrays,
  // GCC 12 copied each of them once per k step.
  const int8_t* a0 = a;
  const int8_t* a1 = mr > 1 ? a0 + a_stride : a0;
  const int8_t* a2 = mr > 2 ? a1 + a_stride : a1;
  const int8_t* a3 = mr > 3 ? a2 + a_stride : a2;
  const int32_t* header = static_cast<const int32_t*>(w);
  __m256i c0_01 = _mm256_setzero_si256(), c0_23 = c0_01, c1_01 = c0_01, c1_23 = c0_01;
  __m256i c2_01 = c0_01, c2_23 = c0_01, c3_01 = c0_01, c3_23 = c0_01;
  const int16_t* wp = reinterpret_cast<const int16_t*>(header + 4 * kNR);
  for (size_t k = 0; k < kc; k += 8, wp += 8 * kNR) {
    const __m256i w01 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp));
    const __m256i w23 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp + 16));
    const __m256i x0 = load_row8(a0 + k), x1 = load_row8(a1 + k), x2 = load_row8(a2 + k), x3 = load_row8(a3 + k);
    c0_01 = _mm256_add_epi32(c0_01, _mm256_madd_epi16(x0, w01));
    c0_23 = _mm256_add_epi32(c0_23, _mm256_madd_epi16(x0, w23));
    c1_01 = _mm256_add_epi32(c1_01, _mm256_madd_epi16(x1, w01));
    c1_23 = _mm256_add_epi32(c1_23, _mm256_madd_epi16(x1, w23));
    c2_01 = _mm256_add_epi32(c2_01, _mm256_madd_epi16(x2, w01));
    c2_23 = _mm256_add_epi32(c2_23, _mm256_madd_epi16(x2, w23));
    c3_01 = _mm256_add_epi32(c3_01, _mm256_madd_epi16(x3, w01));
    c3_23 = _mm256_add_epi32(c3_23, _mm256_madd_epi16(x3, w23));
  }
  const __m256i acc01[kMR] = {c0_01, c1_01, c2_01, c3_01}, acc23[kMR] = {c0_23, c1_23, c2_23, c3_23};
  // Reduce to [c0 c1 c2 c3 | c0 c1 c2 c3] for rows (0, 1) and (2, 3); the bias and constants repeat per half.
  const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  const __m256i bias = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(header)));
  const __m256i mult = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(header + 4)));
  const __m256i left = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(header + 8)));
  const __m256i right = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(header + 12)));
  const __m256i lo = _mm256_set1_epi32(rq->lo), hi = _mm256_set1_epi32(rq->hi);
  const __m256i zp = _mm256_set1_epi32(rq->output_zero_point);
  for (size_t i = 0; i < kMR; i += 2) {
    const __m256i s0 = _mm256_hadd_epi32(acc01[i], acc23[i]);
    const __m256i s1 = _mm256_hadd_epi32(acc01[i + 1], acc23[i + 1]);
    __m256i v = _mm256_permutevar8x32_epi32(_mm256_hadd_epi32(s0, s1), perm);
    v = eb_requant_avx2(_mm256_add_epi32(v, bias), mult, left, right, lo, hi, zp);
    // Values are within int8 already: the saturating packs only narrow.
    const __m256i b = _mm256_packs_epi16(_mm256_packs_epi32(v, v), _mm256_setzero_si256());
    const int32_t r0 = _mm256_cvtsi256_si32(b), r1 = _mm256_extract_epi32(b, 4);
    if (i < mr) memcpy(c + i * c_stride, &r0, nc);
    if (i + 1 < mr) memcpy(c + (i + 1) * c_stride, &r1, nc);
  }
}
