// qs8_spmm_minmax_4x8c4__neon.cc: int8 block-sparse GEMM microkernel for NEON cores without the dot product
// (Cortex-A7/A9/A15/A53/A72, armv7 and armv8).
// Reference twin: eb_qs8_spmm_ref (qs8-spmm/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc).
//
// 4 rows × 8 columns over the stored 8×4 weight slices of a strip (ukernels_isa.h). Weights are int16 [4 k][8
// columns] (widened at load); each input byte is sign-extended and multiplied into two int32x4 accumulators with
// vmlal_n_s16 (exact). The packed bias holds −zp_x·Σw (a_offset 0).
#include <arm_neon.h>
#include <string.h>

#include "../requant/requant__neon.h"
#include "edgebuild/ukernels_isa.h"

namespace {
constexpr size_t kMR = 4, kNR = 8;
}  // namespace

extern "C" void eb_qs8_spmm_minmax_ukernel_4x8c4__neon(size_t mr, size_t nc, const int8_t* const* a, size_t taps,
                                                       const void* w, int8_t* c, size_t c_stride,
                                                       const eb_qs8_requant_params* rq) {
  const int8_t* const* rows[kMR];
  for (size_t i = 0; i < kMR; ++i) rows[i] = a + (i < mr ? i : mr - 1) * taps;
  const int32_t* header = static_cast<const int32_t*>(w);
  int32x4_t acc_lo[kMR], acc_hi[kMR];
  for (size_t i = 0; i < kMR; ++i) {
    acc_lo[i] = vld1q_s32(header);
    acc_hi[i] = vld1q_s32(header + 4);
  }
  const int32_t count = header[4 * kNR];
  const int32_t* idx = header + 4 * kNR + 16;
  const int16_t* wp =
      reinterpret_cast<const int16_t*>(reinterpret_cast<const uint8_t*>(idx) + ((size_t)count * 8 + 63) / 64 * 64);
  for (int32_t e = 0; e < count; ++e, wp += 4 * kNR) {
    const size_t tap = (size_t)idx[2 * e], off = (size_t)idx[2 * e + 1];
    const int16x8_t w0 = vld1q_s16(wp), w1 = vld1q_s16(wp + 8), w2 = vld1q_s16(wp + 16), w3 = vld1q_s16(wp + 24);
#pragma GCC unroll 4
    for (size_t i = 0; i < kMR; ++i) {
      const int8_t* x = rows[i][tap] + off;
      const int16_t x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3];
      acc_lo[i] = vmlal_n_s16(acc_lo[i], vget_low_s16(w0), x0);
      acc_hi[i] = vmlal_n_s16(acc_hi[i], vget_high_s16(w0), x0);
      acc_lo[i] = vmlal_n_s16(acc_lo[i], vget_low_s16(w1), x1);
      acc_hi[i] = vmlal_n_s16(acc_hi[i], vget_high_s16(w1), x1);
      acc_lo[i] = vmlal_n_s16(acc_lo[i], vget_low_s16(w2), x2);
      acc_hi[i] = vmlal_n_s16(acc_hi[i], vget_high_s16(w2), x2);
      acc_lo[i] = vmlal_n_s16(acc_lo[i], vget_low_s16(w3), x3);
      acc_hi[i] = vmlal_n_s16(acc_hi[i], vget_high_s16(w3), x3);
    }
  }
  const int32x4_t mult_lo = vld1q_s32(header + kNR), mult_hi = vld1q_s32(header + kNR + 4);
  const int32x4_t left_lo = vld1q_s32(header + 2 * kNR), left_hi = vld1q_s32(header + 2 * kNR + 4);
  const int32x4_t right_lo = vld1q_s32(header + 3 * kNR), right_hi = vld1q_s32(header + 3 * kNR + 4);
  const int32x4_t lo = vdupq_n_s32(rq->lo), hi = vdupq_n_s32(rq->hi), zp = vdupq_n_s32(rq->output_zero_point);
  for (size_t i = 0; i < mr; ++i) {
    int8_t out[8];
    vst1_s8(out, eb_narrow8_neon(eb_requant_neon(acc_lo[i], mult_lo, left_lo, right_lo, lo, hi, zp),
                                 eb_requant_neon(acc_hi[i], mult_hi, left_hi, right_hi, lo, hi, zp)));
    memcpy(c + i * c_stride, out, nc);
  }
}
