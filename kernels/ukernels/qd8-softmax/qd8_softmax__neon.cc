// qd8_softmax__neon.cc: ATTENTION's scores to quantized probabilities for arm64 NEON (every arm64 qd8 path): the
// mask add, SOFTMAX and (14) of the probabilities in one walk over a row, which stays in L1.
// Reference twin: eb_qd8_softmax_ref (qd8-softmax/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc).
// Stores int8 q, as eb_qd8_quantize_ukernel__neon does (Qd8Kernel a_offset 0), rows q_stride bytes apart.
//
// Why the bits are the reference's (as in qd8_softmax__avx512vnni.cc):
// - v = x + mask, m, e = exp(v − m) and Σ e are f32math.h's eb_f32_softmax_exps on 4 float lanes (its one instance,
//   eb_f32_softmax_exps__neon in f32_softmax__neon.cc), the template that eb_f32_softmax_ref runs on one float per
//   lane, e kept in x; P = e / Σ e is the softmax's last step (FDIV);
// - (14) of P needs no range pass: every P is finite and >= +0 (Σ e in [1, k] holds exp(+0) = 1 of the row's
//   maximum, every e is in [+0, 1]), so lo = +0, zp = −128, and hi = max P = fl(1 / Σ e) (a correctly rounded
//   division by a positive number is monotonic, the largest e is 1); the codes are the quantize variant's steps
//   (FMUL, FCVTNS, UZP1 to int16, + zp, SQXTN: its saturation is the clamp);
// - a 16-float block whose exps were all +0 (a masked or padded key) has P = +0, code sat(zp) = −128 in every lane;
// - a row whose Σ e is NaN is SOFTMAX's row of NaN: (14) gives scale NaN, zp 0, q 0.
// Not for armv7: its NEON flushes subnormals (an e or a P can be subnormal) and has no FDIV or FCVTNS; the attention
// op runs the unfused steps there (Qd8Kernel::softmax NULL).
#include <float.h>
#include <math.h>
#include <string.h>

#include "edgebuild/f32lanes.h"
#include "edgebuild/ukernels_isa.h"

#if defined(__aarch64__)
namespace {

constexpr size_t kGroup = 4;            // rows whose per-row scalar steps run as one 4-lane vector
constexpr size_t kMaxFlagBlocks = 128;  // rows up to 2048 scores skip the division of their all-zero blocks

// 16 codes of P = e / sum (14): FDIV, FMUL by inv, FCVTNS, UZP1, + zp, SQXTN.
inline int8x16_t codes16(const float* e, float32x4_t sum, float32x4_t inv, int16x8_t zp) {
  const float32x4x4_t v = vld1q_f32_x4(e);
  const int32x4_t q0 = vcvtnq_s32_f32(vmulq_f32(vdivq_f32(v.val[0], sum), inv));
  const int32x4_t q1 = vcvtnq_s32_f32(vmulq_f32(vdivq_f32(v.val[1], sum), inv));
  const int32x4_t q2 = vcvtnq_s32_f32(vmulq_f32(vdivq_f32(v.val[2], sum), inv));
  const int32x4_t q3 = vcvtnq_s32_f32(vmulq_f32(vdivq_f32(v.val[3], sum), inv));
  const int16x8_t lo = vaddq_s16(vuzp1q_s16(vreinterpretq_s16_s32(q0), vreinterpretq_s16_s32(q1)), zp);
  const int16x8_t hi = vaddq_s16(vuzp1q_s16(vreinterpretq_s16_s32(q2), vreinterpretq_s16_s32(q3)), zp);
  return vqmovn_high_s16(vqmovn_s16(lo), hi);
}

}  // namespace

// Rows go in groups of 4: the exps of each row, the group's scalar steps of (14) in 4 lanes (each lane the
// reference's statement), then each row's codes.
extern "C" void eb_qd8_softmax_ukernel__neon(size_t m, size_t k, float* x, size_t x_stride, const float* mask,
                                             size_t mask_stride, void* qv, size_t q_stride, eb_qd8_row_params* params) {
  int8_t* q = static_cast<int8_t*>(qv);
  const size_t blocks = (k + 15) / 16, body = k / 16, tail = k % 16;
  const bool flagged = blocks <= kMaxFlagBlocks;
  uint8_t zero[kGroup][kMaxFlagBlocks];
  for (size_t r0 = 0; r0 < m; r0 += kGroup) {
    const size_t n = m - r0 < kGroup ? m - r0 : kGroup;
    float sums[kGroup];
    for (size_t j = 0; j < kGroup; ++j) {
      float* xr = x + (r0 + j) * x_stride;
      const float* mr = mask != NULL ? mask + (r0 + j) * mask_stride : NULL;
      sums[j] = j < n ? eb_f32_softmax_exps__neon(k, xr, mr, xr, flagged ? zero[j] : NULL) : 1.0f;
    }
    // (14) of P's rows: lo = +0, hi = fl(1 / Σ e), s = (hi − lo) / 255, zp = −128 − rne(lo / s) = −128, inv = 1 / s.
    const float32x4_t hi = vdivq_f32(vdupq_n_f32(1.0f), vld1q_f32(sums));
    float ss[kGroup], invs[kGroup];
    const float32x4_t sc = vdivq_f32(vsubq_f32(hi, vdupq_n_f32(0.0f)), vdupq_n_f32(255.0f));
    vst1q_f32(ss, sc);
    vst1q_f32(invs, vdivq_f32(vdupq_n_f32(1.0f), sc));
    for (size_t j = 0; j < n; ++j) {
      const float sum = sums[j], s = ss[j];
      eb_qd8_row_params& p = params[r0 + j];
      int8_t* qr = q + (r0 + j) * q_stride;
      if (sum != sum || !(s >= FLT_MIN)) {  // (14): a row of NaN (s NaN) or a range below FLT_MIN (s 1): q = 0
        p.scale = sum != sum ? NAN : 1.0f;
        p.zero_point = 0;
        memset(qr, 0, k);
        continue;
      }
      const int32_t zp = -128;
      p.scale = s;
      p.zero_point = zp;
      const float* e = x + (r0 + j) * x_stride;
      const float32x4_t vsum = vdupq_n_f32(sum), vinv = vdupq_n_f32(invs[j]);
      const int16x8_t vzp = vdupq_n_s16((int16_t)zp);
      const int8x16_t zero_code = vdupq_n_s8((int8_t)zp);  // P = +0: sat(rne(0) + zp) = zp (in int8)
      for (size_t b = 0; b < body; ++b)
        vst1q_s8(qr + b * 16, flagged && zero[j][b] != 0 ? zero_code : codes16(e + b * 16, vsum, vinv, vzp));
      if (tail != 0) {
        float last[16] = {0};  // the row's last k mod 16 e, then zeros (their codes are not stored)
        memcpy(last, e + body * 16, tail * sizeof(float));
        int8_t bytes[16];
        vst1q_s8(bytes, codes16(last, vsum, vinv, vzp));
        memcpy(qr + body * 16, bytes, tail);
      }
    }
  }
}
#endif  // __aarch64__
