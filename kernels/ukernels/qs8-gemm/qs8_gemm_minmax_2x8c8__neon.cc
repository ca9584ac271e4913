// qs8_gemm_minmax_2x8c8__neon.cc: int8 GEMM microkernel for NEON cores without dot product (Cortex-A53/A72, armv7).
// Reference twin: eb_qs8_gemm_ref (qs8-gemm/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc).
//
// 2 rows × 8 columns, K in steps of 8: vmull_s8 forms 8 exact int16 products and vpadalq_s16 adds their pairs into
// int32 lanes (one product per int16: two could overflow when a hostile file has −128 weights). 16 accumulators
// hold 4 partial sums each, reduced once after the K loop. Same intrinsics on armv7 and armv8.
#include <arm_neon.h>
#include <string.h>

#include "../requant/requant__neon.h"
#include "edgebuild/ukernels_isa.h"

namespace {
constexpr size_t kMR = 2, kNR = 8;

inline int32x4_t reduce4(int32x4_t a, int32x4_t b, int32x4_t c, int32x4_t d) {
  const int32x2_t sa = vadd_s32(vget_low_s32(a), vget_high_s32(a)), sb = vadd_s32(vget_low_s32(b), vget_high_s32(b));
  const int32x2_t sc = vadd_s32(vget_low_s32(c), vget_high_s32(c)), sd = vadd_s32(vget_low_s32(d), vget_high_s32(d));
  return vcombine_s32(vpadd_s32(sa, sb), vpadd_s32(sc, sd));
}
}  // namespace

extern "C" void eb_qs8_gemm_minmax_ukernel_2x8c8__neon(size_t mr, size_t nc, size_t kc, const int8_t* a,
                                                       size_t a_stride, const void* w, int8_t* c, size_t c_stride,
                                                       const eb_qs8_requant_params* rq) {
  const int8_t* a0 = a;
  const int8_t* a1 = mr > 1 ? a + a_stride : a;
  const int32_t* header = static_cast<const int32_t*>(w);
  int32x4_t acc0[kNR], acc1[kNR];
  for (size_t j = 0; j < kNR; ++j) acc0[j] = acc1[j] = vdupq_n_s32(0);
  const int8_t* wp = reinterpret_cast<const int8_t*>(header + 4 * kNR);
  for (size_t k = 0; k < kc; k += 8, wp += 8 * kNR) {
    const int8x8_t x0 = vld1_s8(a0 + k), x1 = vld1_s8(a1 + k);
#pragma GCC unroll 8
    for (size_t j = 0; j < kNR; ++j) {
      const int8x8_t wj = vld1_s8(wp + 8 * j);
      acc0[j] = vpadalq_s16(acc0[j], vmull_s8(x0, wj));
      acc1[j] = vpadalq_s16(acc1[j], vmull_s8(x1, wj));
    }
  }
  const int32x4_t bias_lo = vld1q_s32(header), bias_hi = vld1q_s32(header + 4);
  const int32x4_t mult_lo = vld1q_s32(header + kNR), mult_hi = vld1q_s32(header + kNR + 4);
  const int32x4_t left_lo = vld1q_s32(header + 2 * kNR), left_hi = vld1q_s32(header + 2 * kNR + 4);
  const int32x4_t right_lo = vld1q_s32(header + 3 * kNR), right_hi = vld1q_s32(header + 3 * kNR + 4);
  const int32x4_t lo = vdupq_n_s32(rq->lo), hi = vdupq_n_s32(rq->hi), zp = vdupq_n_s32(rq->output_zero_point);
  for (size_t i = 0; i < mr; ++i) {
    const int32x4_t* acc = i == 0 ? acc0 : acc1;
    const int32x4_t y_lo = eb_requant_neon(vaddq_s32(reduce4(acc[0], acc[1], acc[2], acc[3]), bias_lo), mult_lo,
                                           left_lo, right_lo, lo, hi, zp);
    const int32x4_t y_hi = eb_requant_neon(vaddq_s32(reduce4(acc[4], acc[5], acc[6], acc[7]), bias_hi), mult_hi,
                                           left_hi, right_hi, lo, hi, zp);
    int8_t out[8];
    vst1_s8(out, eb_narrow8_neon(y_lo, y_hi));
    memcpy(c + i * c_stride, out, nc);
  }
}
