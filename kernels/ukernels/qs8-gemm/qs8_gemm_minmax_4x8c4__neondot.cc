// qs8_gemm_minmax_4x8c4__neondot.cc: int8 GEMM microkernel for armv8.2 cores with the dot product (Cortex-A55/A76+).
// Reference twin: eb_qs8_gemm_ref (qs8-gemm/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc).
//
// 4 rows × 8 columns, K in steps of 4: SDOT adds four int8 products into each int32 lane (exact), with the packed
// weights of 4 columns × 4 k in one q register and 4 bytes of a row broadcast to every lane. 8 accumulators start
// from the packed bias; no reduction is needed. Reaches MACs / 16 instructions in its inner loop (2 SDOT per row).
#include <arm_neon.h>
#include <string.h>

#include "../requant/requant__neon.h"
#include "edgebuild/ukernels_isa.h"

namespace {
constexpr size_t kMR = 4, kNR = 8;

inline int8x16_t broadcast4(const int8_t* p) {
  int32_t v;
  memcpy(&v, p, 4);
  return vreinterpretq_s8_s32(vdupq_n_s32(v));
}
}  // namespace

extern "C" void eb_qs8_gemm_minmax_ukernel_4x8c4__neondot(size_t mr, size_t nc, size_t kc, const int8_t* a,
                                                          size_t a_stride, const void* w, int8_t* c, size_t c_stride,
                                                          const eb_qs8_requant_params* rq) {
  const int8_t* rows[kMR];
  for (size_t i = 0; i < kMR; ++i) rows[i] = a + (i < mr ? i : mr - 1) * a_stride;
  const int32_t* header = static_cast<const int32_t*>(w);
  int32x4_t acc_lo[kMR], acc_hi[kMR];
  for (size_t i = 0; i < kMR; ++i) {
    acc_lo[i] = vld1q_s32(header);
    acc_hi[i] = vld1q_s32(header + 4);
  }
  const int8_t* wp = reinterpret_cast<const int8_t*>(header + 4 * kNR);
  for (size_t k = 0; k < kc; k += 4, wp += 4 * kNR) {
    const int8x16_t w_lo = vld1q_s8(wp), w_hi = vld1q_s8(wp + 16);
#pragma GCC unroll 4
    for (size_t i = 0; i < kMR; ++i) {
      const int8x16_t x = broadcast4(rows[i] + k);
      acc_lo[i] = vdotq_s32(acc_lo[i], w_lo, x);
      acc_hi[i] = vdotq_s32(acc_hi[i], w_hi, x);
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
