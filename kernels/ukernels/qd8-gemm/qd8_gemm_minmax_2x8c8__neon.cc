// qd8_gemm_minmax_2x8c8__neon.cc: DYNAMIC_FULLY_CONNECTED's product for NEON cores without the dot product
// (Cortex-A53/A72 on arm64, armv7), docs/quantization.md (15).
// Reference twin: eb_qd8_gemm_ref (qd8-gemm/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc).
//
// The integer part is qs8_gemm_minmax_2x8c8__neon's: 2 rows × 8 columns of the c8 packing ([kc / 8][8][8]), K in
// steps of 8: vmull_s8 forms 8 exact int16 products and vpadalq_s16 adds their pairs into int32 lanes (one product
// per int16 lane: two could overflow with −128 weights, which validation does not exclude); 16 accumulators of 4
// partial sums each, reduced once after the K loop. Then −zp[m] · Σ_k q_w[n, k] (int32, wrapping as the reference's
// subtraction; the exact value fits) and (15)'s float steps in the reference's order: t = float(acc),
// u = s[m] · s_w[n], y = t · u, y + b[n] (−0 packed without a bias), the bounds as compare-and-select.
// On arm64 the float steps are NEON (IEEE, subnormals kept: FPCR.FZ is 0). armv7 NEON flushes subnormal inputs and
// results to zero (u = s · s_w is subnormal for a small enough row scale), so there they are scalar VFP operations,
// the reference's own: 16 outputs per tile, a few percent of the tile's work at MiniLM's K.
#include <arm_neon.h>
#include <string.h>

#include "edgebuild/ukernels_isa.h"

namespace {
constexpr size_t kNR = 8;

inline int32x4_t reduce4(int32x4_t a, int32x4_t b, int32x4_t c, int32x4_t d) {
  const int32x2_t sa = vadd_s32(vget_low_s32(a), vget_high_s32(a)), sb = vadd_s32(vget_low_s32(b), vget_high_s32(b));
  const int32x2_t sc = vadd_s32(vget_low_s32(c), vget_high_s32(c)), sd = vadd_s32(vget_low_s32(d), vget_high_s32(d));
  return vcombine_s32(vpadd_s32(sa, sb), vpadd_s32(sc, sd));
}

// The 8 outputs of one row of one block: (15) from the row's reduced int32 sums (zero-point term included).
inline void finish_row(int32x4_t acc_lo, int32x4_t acc_hi, float s, const float* w_scale, const float* bias, float lo,
                       float hi, float* c, size_t nc) {
  float y[kNR];
#if defined(__aarch64__)
  const float32x4_t vlo = vdupq_n_f32(lo), vhi = vdupq_n_f32(hi);
  float32x4_t v0 = vmulq_f32(vcvtq_f32_s32(acc_lo), vmulq_n_f32(vld1q_f32(w_scale), s));
  float32x4_t v1 = vmulq_f32(vcvtq_f32_s32(acc_hi), vmulq_n_f32(vld1q_f32(w_scale + 4), s));
  v0 = vaddq_f32(v0, vld1q_f32(bias)), v1 = vaddq_f32(v1, vld1q_f32(bias + 4));
  v0 = vbslq_f32(vcltq_f32(v0, vlo), vlo, v0), v1 = vbslq_f32(vcltq_f32(v1, vlo), vlo, v1);
  v0 = vbslq_f32(vcgtq_f32(v0, vhi), vhi, v0), v1 = vbslq_f32(vcgtq_f32(v1, vhi), vhi, v1);
  vst1q_f32(y, v0), vst1q_f32(y + 4, v1);
#else
  int32_t acc[kNR];
  vst1q_s32(acc, acc_lo), vst1q_s32(acc + 4, acc_hi);
  for (size_t j = 0; j < kNR; ++j) {
    float v = (float)acc[j] * (s * w_scale[j]) + bias[j];  // -ffp-contract=off: mul, mul, add, each rounded
    v = v < lo ? lo : v;
    y[j] = v > hi ? hi : v;
  }
#endif
  memcpy(c, y, nc * sizeof(float));
}
}  // namespace

// GCC's first scheduling pass hoists the 32 multiplies of a step above their accumulations: more live registers than
// there are, and a spill per step; without it each SMULL stays next to its SADALP.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-schedule-insns")
#endif
extern "C" void eb_qd8_gemm_minmax_ukernel_2x8c8__neon(size_t mr, size_t nc, size_t kc, const void* a, size_t a_stride,
                                                       const eb_qd8_row_params* rows, const void* w, float* c,
                                                       size_t c_stride, float output_min, float output_max) {
  const int8_t* a0 = static_cast<const int8_t*>(a);
  const int8_t* a1 = mr > 1 ? a0 + a_stride : a0;
  const size_t block_bytes = eb_qd8_block_bytes(kNR, kc, 1);
  for (const uint8_t* block = static_cast<const uint8_t*>(w);; block += block_bytes) {
    int32x4_t acc0[kNR], acc1[kNR];
    for (size_t j = 0; j < kNR; ++j) acc0[j] = acc1[j] = vdupq_n_s32(0);
    const int8_t* wp = reinterpret_cast<const int8_t*>(block + 12 * kNR);
#if defined(__aarch64__)
    // Each row's 8 bytes in both halves of a register, so SMULL and SMULL2 take two columns from one 16-byte weight
    // register: per 8 k, 2 row loads and 1 weight load (64 bytes) for 32 multiplies. Named accumulators: GCC 12
    // keeps an array of them in memory, a store per accumulator per step.
    {
      int32x4_t p0 = acc0[0], p1 = p0, p2 = p0, p3 = p0, p4 = p0, p5 = p0, p6 = p0, p7 = p0;
      int32x4_t q0 = p0, q1 = p0, q2 = p0, q3 = p0, q4 = p0, q5 = p0, q6 = p0, q7 = p0;
      for (size_t k = 0; k < kc; k += 8, wp += 8 * kNR) {
        int64_t v0, v1;
        memcpy(&v0, a0 + k, 8), memcpy(&v1, a1 + k, 8);
        const int8x16_t x0 = vreinterpretq_s8_s64(vdupq_n_s64(v0)), x1 = vreinterpretq_s8_s64(vdupq_n_s64(v1));
        const int8x16x4_t b = vld1q_s8_x4(wp);
#define EB_PAIR(j, lo0, hi0, lo1, hi1)                                      \
  lo0 = vpadalq_s16(lo0, vmull_s8(vget_low_s8(x0), vget_low_s8(b.val[j]))), \
  hi0 = vpadalq_s16(hi0, vmull_high_s8(x0, b.val[j])),                      \
  lo1 = vpadalq_s16(lo1, vmull_s8(vget_low_s8(x1), vget_low_s8(b.val[j]))), \
  hi1 = vpadalq_s16(hi1, vmull_high_s8(x1, b.val[j]))
        EB_PAIR(0, p0, p1, q0, q1), EB_PAIR(1, p2, p3, q2, q3), EB_PAIR(2, p4, p5, q4, q5), EB_PAIR(3, p6, p7, q6, q7);
#undef EB_PAIR
      }
      acc0[0] = p0, acc0[1] = p1, acc0[2] = p2, acc0[3] = p3, acc0[4] = p4, acc0[5] = p5, acc0[6] = p6, acc0[7] = p7;
      acc1[0] = q0, acc1[1] = q1, acc1[2] = q2, acc1[3] = q3, acc1[4] = q4, acc1[5] = q5, acc1[6] = q6, acc1[7] = q7;
    }
#else
    for (size_t k = 0; k < kc; k += 8, wp += 8 * kNR) {
      const int8x8_t x0 = vld1_s8(a0 + k), x1 = vld1_s8(a1 + k);
#pragma GCC unroll 8
      for (size_t j = 0; j < kNR; ++j) {
        const int8x8_t wj = vld1_s8(wp + 8 * j);
        acc0[j] = vpadalq_s16(acc0[j], vmull_s8(x0, wj));
        acc1[j] = vpadalq_s16(acc1[j], vmull_s8(x1, wj));
      }
    }
#endif
    const int32_t* wsum = reinterpret_cast<const int32_t*>(block);
    const float* w_scale = reinterpret_cast<const float*>(block) + kNR;
    const float* bias = w_scale + kNR;
    const int32x4_t ws_lo = vld1q_s32(wsum), ws_hi = vld1q_s32(wsum + 4);
    const size_t n = nc < kNR ? nc : kNR;
    for (size_t i = 0; i < mr; ++i) {  // mr <= 2
      const int32x4_t* acc = i == 0 ? acc0 : acc1;
      const int32x4_t nzp = vdupq_n_s32(-rows[i].zero_point);
      const int32x4_t lo = vmlaq_s32(reduce4(acc[0], acc[1], acc[2], acc[3]), ws_lo, nzp);  // (15), exact mod 2^32
      const int32x4_t hi = vmlaq_s32(reduce4(acc[4], acc[5], acc[6], acc[7]), ws_hi, nzp);
      finish_row(lo, hi, rows[i].scale, w_scale, bias, output_min, output_max, c + i * c_stride, n);
    }
    if (nc <= kNR) return;
    nc -= kNR;
    c += kNR;
  }
}
