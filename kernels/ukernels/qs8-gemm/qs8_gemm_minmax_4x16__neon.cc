// qs8_gemm_minmax_4x16__neon.cc: int8 GEMM microkernel for NEON cores without dot product, small-K layers.
// Reference twin: eb_qs8_gemm_ref (qs8-gemm/ref.cc); equal bit for bit for any int8 weights
// (kernels/test/ukernel_tester.cc).
//
// 4 rows × 16 columns, one k a step: weights packed as int16 ([kc][16], GemmKernel w_elem 2), 8 activations of a row
// widened once per 8 k, then SMLAL by lane: 4 exact MACs per instruction into int32, no reduction. Per MAC that is
// 31% more than 2x8c16's SMULL + SMLAL2 + SADALP, but a call yields 64 outputs instead of 16: where K is small
// (MobileNetV2's 1×1 expansions, K = 16..32) the per-call work (the executor's loop, the block header, the
// requantization constants) and 2x8c16's reduction outweigh the K loop, and K needs no padding to 16 (K = 24 runs
// direct). kernels/runtime/cpu.cc gemm_kernel_for_layer picks it by K. Requantization: docs/quantization.md (5) as
// eb_mbqm_rshl_neon, then (6) with a saturating narrow. The accumulators start at bias'.
#include <arm_neon.h>

#include "../requant/requant__neon.h"
#include "edgebuild/ukernels_isa.h"

namespace {
constexpr size_t kMR = 4, kNR = 16;

// acc[0..3] += the 16 int16 weights at w times lane L of x (4 MACs per instruction).
template <int L>
inline void mac16(int32x4_t* acc, const int16_t* w, int16x4_t x) {
  const int16x8_t w0 = vld1q_s16(w), w1 = vld1q_s16(w + 8);
  acc[0] = vmlal_lane_s16(acc[0], vget_low_s16(w0), x, L);
  acc[1] = vmlal_lane_s16(acc[1], vget_high_s16(w0), x, L);
  acc[2] = vmlal_lane_s16(acc[2], vget_low_s16(w1), x, L);
  acc[3] = vmlal_lane_s16(acc[3], vget_high_s16(w1), x, L);
}

#if defined(__aarch64__)
// One k of the 4×16 tile: weights of 16 columns in wa (columns 0..7) and wb (8..15), row i's 8 widened activations in
// v<i> (lane L = this k; by-lane SMLAL takes its lane operand from v0..v15 only), 4 SMLAL per row.
// clang-format off
#define EB_ROW(i, L, wa, wb)                                  \
  "smlal %[c" i "0].4s, " wa ".4h, v" i ".h[" L "]\n"         \
  "smlal2 %[c" i "1].4s, " wa ".8h, v" i ".h[" L "]\n"        \
  "smlal %[c" i "2].4s, " wb ".4h, v" i ".h[" L "]\n"         \
  "smlal2 %[c" i "3].4s, " wb ".8h, v" i ".h[" L "]\n"
#define EB_K(L, wa, wb) EB_ROW("0", L, wa, wb) EB_ROW("1", L, wa, wb) EB_ROW("2", L, wa, wb) EB_ROW("3", L, wa, wb)
// 8 k: the weights of two k a load (LD1 of 4 registers), two k ahead of their SMLAL.
#define EB_GEMM_8K                                                 \
  "ldr d0, [%[pa0]], #8\n"                                         \
  "ldr d1, [%[pa1]], #8\n"                                         \
  "ldr d2, [%[pa2]], #8\n"                                         \
  "ldr d3, [%[pa3]], #8\n"                                         \
  "ld1 {v4.8h, v5.8h, v6.8h, v7.8h}, [%[pw]], #64\n"               \
  "sxtl v0.8h, v0.8b\n"                                            \
  "sxtl v1.8h, v1.8b\n"                                            \
  "sxtl v2.8h, v2.8b\n"                                            \
  "sxtl v3.8h, v3.8b\n"                                            \
  "ld1 {v8.8h, v9.8h, v10.8h, v11.8h}, [%[pw]], #64\n"             \
  EB_K("0", "v4", "v5") EB_K("1", "v6", "v7")                      \
  "ld1 {v4.8h, v5.8h, v6.8h, v7.8h}, [%[pw]], #64\n"               \
  EB_K("2", "v8", "v9") EB_K("3", "v10", "v11")                    \
  "ld1 {v8.8h, v9.8h, v10.8h, v11.8h}, [%[pw]], #64\n"             \
  EB_K("4", "v4", "v5") EB_K("5", "v6", "v7")                      \
  EB_K("6", "v8", "v9") EB_K("7", "v10", "v11")
// clang-format on
#endif

// The first n (< 16) bytes of v to p.
inline void store_partial(int8_t* p, int8x16_t v, size_t n) {
  int8x8_t lo = vget_low_s8(v);
  if (n & 8) {
    vst1_s8(p, lo);
    p += 8;
    lo = vget_high_s8(v);
  }
  if (n & 4) {
    vst1_lane_s32(reinterpret_cast<int32_t*>(p), vreinterpret_s32_s8(lo), 0);  // st1 takes any address
    p += 4;
    lo = vext_s8(lo, lo, 4);
  }
  if (n & 2) {
    vst1_lane_s16(reinterpret_cast<int16_t*>(p), vreinterpret_s16_s8(lo), 0);
    p += 2;
    lo = vext_s8(lo, lo, 2);
  }
  if (n & 1) vst1_lane_s8(p, lo, 0);
}
// The per-column requantization constants of a 16-column block and the op's output constants.
struct Requant16 {
  int32x4_t m0, m1, m2, m3, l0, l1, l2, l3, r0, r1, r2, r3;  // mult, left, −right
  int16x8_t zp;
  int8x16_t act_min, act_max;
};

// docs/quantization.md (5); without kLeft (every exponent <= 0) the left shift is left out.
template <bool kLeft>
inline int32x4_t mbqm(int32x4_t acc, int32x4_t mult, int32x4_t left, int32x4_t neg_right) {
  return kLeft ? eb_mbqm_rshl_neon(acc, mult, left, neg_right) : eb_mbqm_rshr_neon(acc, mult, neg_right);
}

// One row of 16 accumulators to bytes: docs/quantization.md (5), then (6).
template <bool kLeft>
inline void store_row(const Requant16& r, int32x4_t a0, int32x4_t a1, int32x4_t a2, int32x4_t a3, int8_t* out,
                      size_t nc) {
  const int8x16_t y = eb_narrow16_zp_neon(mbqm<kLeft>(a0, r.m0, r.l0, r.r0), mbqm<kLeft>(a1, r.m1, r.l1, r.r1),
                                          mbqm<kLeft>(a2, r.m2, r.l2, r.r2), mbqm<kLeft>(a3, r.m3, r.l3, r.r3), r.zp,
                                          r.act_min, r.act_max);
  if (nc == kNR) {
    vst1q_s8(out, y);
  } else {
    store_partial(out, y, nc);
  }
}
}  // namespace

namespace {
// kLeft = false: every column's exponent is <= 0 (left shifts all 0), so sat32(acc · 2^0) = acc is skipped.
template <bool kLeft>
inline void gemm_4x16(size_t mr, size_t nc, size_t kc, const int8_t* a, size_t a_stride, const void* w, int8_t* c,
                      size_t c_stride, const eb_qs8_requant_params* rq) {
  // Rows past mr repeat the last valid one (computed, not stored).
  const int8_t* a0 = a;
  const int8_t* a1 = mr > 1 ? a0 + a_stride : a0;
  const int8_t* a2 = mr > 2 ? a1 + a_stride : a1;
  const int8_t* a3 = mr > 3 ? a2 + a_stride : a2;
  const int32_t* header = static_cast<const int32_t*>(w);
  const int16_t* wp = reinterpret_cast<const int16_t*>(header + 4 * kNR);
  int32x4_t acc[kMR][4];
#if defined(__aarch64__)
  // All of the K loop in assembly: from intrinsics GCC 12 keeps the accumulators in a stack array and shuffles them
  // with MOVs inside the loop. The accumulators start at bias' (16 instructions); then 8 k per iteration, 142
  // instructions (with the loop branch): 4 loads and 4 SXTL of activations, 4 LD1 of weights, 128 SMLAL (512 MACs;
  // 173 cycles on cortex-a53 under llvm-mca); then K % 8 one k at a time (the 3-channel stem's K = 27).
  size_t k = kc;
  __asm__ volatile(
      "ldp %q[c00], %q[c01], [%[hdr]]\n"
      "ldp %q[c02], %q[c03], [%[hdr], #32]\n"
      "lsr x16, %[k], #3\n"
      "mov %[c10].16b, %[c00].16b\n"
      "mov %[c11].16b, %[c01].16b\n"
      "mov %[c12].16b, %[c02].16b\n"
      "mov %[c13].16b, %[c03].16b\n"
      "mov %[c20].16b, %[c00].16b\n"
      "mov %[c21].16b, %[c01].16b\n"
      "mov %[c22].16b, %[c02].16b\n"
      "mov %[c23].16b, %[c03].16b\n"
      "mov %[c30].16b, %[c00].16b\n"
      "mov %[c31].16b, %[c01].16b\n"
      "mov %[c32].16b, %[c02].16b\n"
      "mov %[c33].16b, %[c03].16b\n"
      "cbz x16, 3f\n"
      "1:\n" EB_GEMM_8K
      "subs x16, x16, #1\n"
      "b.ne 1b\n"
      "3:\n"
      "ands %[k], %[k], #7\n"
      "b.eq 4f\n"
      "2:\n"
      "ldrsb w16, [%[pa0]], #1\n"
      "ldrsb w17, [%[pa1]], #1\n"
      "ldp q4, q5, [%[pw]], #32\n"
      "dup v0.4h, w16\n"
      "dup v1.4h, w17\n"
      "ldrsb w16, [%[pa2]], #1\n"
      "ldrsb w17, [%[pa3]], #1\n"
      "dup v2.4h, w16\n"
      "dup v3.4h, w17\n" EB_K("0", "v4", "v5")
      "subs %[k], %[k], #1\n"
      "b.ne 2b\n"
      "4:\n"
      : [c00] "=&w"(acc[0][0]), [c01] "=&w"(acc[0][1]), [c02] "=&w"(acc[0][2]), [c03] "=&w"(acc[0][3]),
        [c10] "=&w"(acc[1][0]), [c11] "=&w"(acc[1][1]), [c12] "=&w"(acc[1][2]), [c13] "=&w"(acc[1][3]),
        [c20] "=&w"(acc[2][0]), [c21] "=&w"(acc[2][1]), [c22] "=&w"(acc[2][2]), [c23] "=&w"(acc[2][3]),
        [c30] "=&w"(acc[3][0]), [c31] "=&w"(acc[3][1]), [c32] "=&w"(acc[3][2]), [c33] "=&w"(acc[3][3]),
        [pa0] "+r"(a0), [pa1] "+r"(a1), [pa2] "+r"(a2), [pa3] "+r"(a3), [pw] "+r"(wp), [k] "+r"(k)
      : [hdr] "r"(header)
      : "cc", "memory", "x16", "x17", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10",
        "v11");
#else
  for (size_t q = 0; q < 4; ++q) acc[0][q] = acc[1][q] = acc[2][q] = acc[3][q] = vld1q_s32(header + 4 * q);  // bias'
  size_t k = kc;
  for (; k >= 8; k -= 8, wp += 8 * kNR) {
    const int16x8_t x0 = vmovl_s8(vld1_s8(a0)), x1 = vmovl_s8(vld1_s8(a1));
    const int16x8_t x2 = vmovl_s8(vld1_s8(a2)), x3 = vmovl_s8(vld1_s8(a3));
    a0 += 8, a1 += 8, a2 += 8, a3 += 8;
    const int16x4_t x[2][4] = {{vget_low_s16(x0), vget_low_s16(x1), vget_low_s16(x2), vget_low_s16(x3)},
                               {vget_high_s16(x0), vget_high_s16(x1), vget_high_s16(x2), vget_high_s16(x3)}};
    for (size_t h = 0; h < 2; ++h) {
      const int16_t* wk = wp + 4 * kNR * h;
      for (size_t i = 0; i < kMR; ++i) {
        mac16<0>(acc[i], wk, x[h][i]);
        mac16<1>(acc[i], wk + kNR, x[h][i]);
        mac16<2>(acc[i], wk + 2 * kNR, x[h][i]);
        mac16<3>(acc[i], wk + 3 * kNR, x[h][i]);
      }
    }
  }
  for (; k != 0; --k, wp += kNR) {  // K % 8
    mac16<0>(acc[0], wp, vdup_n_s16(*a0++));
    mac16<0>(acc[1], wp, vdup_n_s16(*a1++));
    mac16<0>(acc[2], wp, vdup_n_s16(*a2++));
    mac16<0>(acc[3], wp, vdup_n_s16(*a3++));
  }
#endif
  // docs/quantization.md (5): MBQM per column, then (6): + zp_y and the clamp as eb_narrow16_zp_neon.
  const Requant16 r = {
      vld1q_s32(header + kNR),
      vld1q_s32(header + kNR + 4),
      vld1q_s32(header + kNR + 8),
      vld1q_s32(header + kNR + 12),
      vld1q_s32(header + 2 * kNR),
      vld1q_s32(header + 2 * kNR + 4),
      vld1q_s32(header + 2 * kNR + 8),
      vld1q_s32(header + 2 * kNR + 12),
      vnegq_s32(vld1q_s32(header + 3 * kNR)),
      vnegq_s32(vld1q_s32(header + 3 * kNR + 4)),
      vnegq_s32(vld1q_s32(header + 3 * kNR + 8)),
      vnegq_s32(vld1q_s32(header + 3 * kNR + 12)),
      vdupq_n_s16((int16_t)rq->output_zero_point),
      vdupq_n_s8((int8_t)(rq->lo + rq->output_zero_point)),
      vdupq_n_s8((int8_t)(rq->hi + rq->output_zero_point)),
  };
  store_row<kLeft>(r, acc[0][0], acc[0][1], acc[0][2], acc[0][3], c, nc);
  if (mr > 1) store_row<kLeft>(r, acc[1][0], acc[1][1], acc[1][2], acc[1][3], c + c_stride, nc);
  if (mr > 2) store_row<kLeft>(r, acc[2][0], acc[2][1], acc[2][2], acc[2][3], c + 2 * c_stride, nc);
  if (mr > 3) store_row<kLeft>(r, acc[3][0], acc[3][1], acc[3][2], acc[3][3], c + 3 * c_stride, nc);
}
}  // namespace

extern "C" void eb_qs8_gemm_minmax_ukernel_4x16__neon(size_t mr, size_t nc, size_t kc, const int8_t* a, size_t a_stride,
                                                      const void* w, int8_t* c, size_t c_stride,
                                                      const eb_qs8_requant_params* rq) {
  gemm_4x16<true>(mr, nc, kc, a, a_stride, w, c, c_stride, rq);
}

// The same for a layer whose exponents are all <= 0 (kernels/runtime/cpu.cc gemm_kernel_for_layer): 16 instructions
// fewer per 64 outputs.
extern "C" void eb_qs8_gemm_minmax_rshift_ukernel_4x16__neon(size_t mr, size_t nc, size_t kc, const int8_t* a,
                                                             size_t a_stride, const void* w, int8_t* c, size_t c_stride,
                                                             const eb_qs8_requant_params* rq) {
  gemm_4x16<false>(mr, nc, kc, a, a_stride, w, c, c_stride, rq);
}
