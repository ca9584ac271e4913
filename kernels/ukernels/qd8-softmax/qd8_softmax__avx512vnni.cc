// qd8_softmax__avx512vnni.cc: ATTENTION's scores to quantized probabilities for AVX-512 cores (Ice Lake+, Zen 4+):
// the mask add, SOFTMAX and (14) of the probabilities in one walk over a row, which stays in L1.
// Reference twin: eb_qd8_softmax_ref (qd8-softmax/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc).
// Stores q + 128 as uint8, as eb_qd8_quantize_ukernel__avx512vnni does (Qd8Kernel a_offset 128), for the GEMM of the
// same table entry (qd8_gemm_minmax_8x32c4__avx512vnni.cc).
//
// Why the bits are the reference's:
// - v = x + mask, m, e = exp(v − m) and Σ e are f32math.h's eb_f32_softmax_exps on 16 float lanes, the template that
//   eb_f32_softmax_ref runs on one float per lane (the same operations in the same order), e kept in x;
// - P = e / Σ e is the softmax's last step (one vdivps);
// - (14) of a row of P without its range pass: every P is finite and >= +0 (Σ e is in [1, k]: it holds exp(+0) = 1
//   of the row's maximum, and every e is in [+0, 1], eb_exp_f32_nonpos checked over every float <= 0), so lo = +0;
//   and hi = max P = fl(1 / Σ e), because a correctly rounded division by a positive number is monotonic and the
//   largest e is exactly 1. s, zp and inv are then the reference's statements; the codes are the quantize variant's
//   steps (x · inv, vcvtps2dq, + zp, signed saturation to int8, xor 0x80);
// - a 16-float block whose exps were all +0 (eb_f32_softmax_exps's zero flags: a masked or padded key) has P = +0,
//   whose code is sat(rne(0) + zp) ^ 0x80 for every lane: stored without the division;
// - a row whose Σ e is NaN is SOFTMAX's row of NaN, which (14) quantizes to scale NaN, zp 0, q 0.
#include <float.h>
#include <math.h>
#include <string.h>

#include "edgebuild/f32lanes.h"
#include "edgebuild/ukernels_isa.h"

namespace {

constexpr size_t kGroup = 8;            // rows whose per-row scalar steps (three divisions each) run as one vector
constexpr size_t kMaxFlagBlocks = 128;  // rows up to 2048 scores skip the division of their all-zero blocks

}  // namespace

// Rows go in groups of up to 8: the exps of each row, then the groups' scalar steps of (14) in 8 float lanes (each
// lane the reference's statement, so the same IEEE result; the divisions of 8 rows overlap instead of chaining), then
// each row's codes.
extern "C" void eb_qd8_softmax_ukernel__avx512vnni(size_t m, size_t k, float* x, size_t x_stride, const float* mask,
                                                   size_t mask_stride, void* qv, size_t q_stride,
                                                   eb_qd8_row_params* params) {
  uint8_t* q = static_cast<uint8_t*>(qv);
  const size_t blocks = (k + 15) / 16, tail = k % 16;
  const bool flagged = blocks <= kMaxFlagBlocks;
  uint8_t zero[kGroup][kMaxFlagBlocks];
  const __m128i flip = _mm_set1_epi8((char)0x80);
  for (size_t r0 = 0; r0 < m; r0 += kGroup) {
    const size_t n = m - r0 < kGroup ? m - r0 : kGroup;
    float sums[kGroup];
    for (size_t j = 0; j < kGroup; ++j) {
      float* xr = x + (r0 + j) * x_stride;
      const float* mr = mask != NULL ? mask + (r0 + j) * mask_stride : NULL;
      sums[j] =
          j < n ? eb_f32_softmax_exps<eb_f32x16, eb_i32x16, eb_u32x16>(k, xr, mr, xr, flagged ? zero[j] : NULL) : 1.0f;
    }
    // (14) of P's rows: lo = +0 and hi = fl(1 / Σ e) (the file's opening comment), s = (hi − lo) / 255,
    // zp = −128 − rne(lo / s) = −128 (lo / s = +0 for every s > 0), inv = 1 / s.
    const __m256 vsum = _mm256_loadu_ps(sums);
    const __m256 hi = _mm256_div_ps(_mm256_set1_ps(1.0f), vsum);
    const __m256 sc = _mm256_div_ps(_mm256_sub_ps(hi, _mm256_setzero_ps()), _mm256_set1_ps(255.0f));
    const __m256 iv = _mm256_div_ps(_mm256_set1_ps(1.0f), sc);
    float ss[kGroup], invs[kGroup];
    _mm256_storeu_ps(ss, sc);
    _mm256_storeu_ps(invs, iv);
    for (size_t j = 0; j < n; ++j) {
      const float sum = sums[j], s = ss[j];
      eb_qd8_row_params& p = params[r0 + j];
      uint8_t* qr = q + (r0 + j) * q_stride;
      if (sum != sum) {  // SOFTMAX's row of NaN; (14): s = NaN, zp = 0, q = 0 (stored as 0x80)
        p.scale = NAN;
        p.zero_point = 0;
        memset(qr, 0x80, k);
        continue;
      }
      if (!(s >= FLT_MIN)) {  // (14): a range below FLT_MIN (not for k < 2^24: s >= 1 / (255 k))
        p.scale = 1.0f;
        p.zero_point = 0;
        memset(qr, 0x80, k);
        continue;
      }
      const int32_t zp = -128;
      p.scale = s;
      p.zero_point = zp;
      const float* e = x + (r0 + j) * x_stride;
      const __m512 bsum = _mm512_set1_ps(sum), binv = _mm512_set1_ps(invs[j]);
      const __m512i vzp = _mm512_set1_epi32(zp);
      // P = +0's code: (zp saturated to int8) ^ 0x80
      const __m128i zero_code = _mm_xor_si128(_mm512_cvtsepi32_epi8(vzp), flip);
      for (size_t b = 0; b < blocks; ++b) {
        const __mmask16 lanes = tail != 0 && b + 1 == blocks ? (__mmask16)((1u << tail) - 1) : (__mmask16)0xFFFF;
        __m128i code = zero_code;
        if (!flagged || zero[j][b] == 0) {
          const __m512 pb = _mm512_div_ps(_mm512_maskz_loadu_ps(lanes, e + b * 16), bsum);
          const __m512i c = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(pb, binv)), vzp);
          code = _mm_xor_si128(_mm512_cvtsepi32_epi8(c), flip);
        }
        _mm_mask_storeu_epi8(qr + b * 16, lanes, code);
      }
    }
  }
}
