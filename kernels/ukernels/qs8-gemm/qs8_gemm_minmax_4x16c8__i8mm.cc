// qs8_gemm_minmax_4x16c8__i8mm.cc: int8 GEMM microkernel for armv8.6 cores with I8MM (Cortex-A510/A710/X2 and
// later, Neoverse N2/V1/V2).
// Reference twin: eb_qs8_gemm_ref (qs8-gemm/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc).
//
// SMMLA (vmmlaq_s32) multiplies a 2×8 int8 block of A (two rows, 8 k) by an 8×2 block of B (two columns, 8 k) into a
// 2×2 int32 block: 32 exact MACs per instruction, twice SDOT. The packed weights are the c8 layout every kr = 8
// kernel uses ([kc / 8][nr][8], ukernels_isa.h): the 16 bytes of columns j and j+1 at one k step are exactly the B
// operand, so packing needs nothing new. A pair of rows is one A operand: one 16-byte load per row covers two k
// steps, zip1 / zip2 of the 64-bit halves make the two operands. Per 16 k: 4 row loads, 4 zips, 8 ldp of weights,
// 32 SMMLA for 1024 MACs (52 instructions with the loop: 1.63× MACs / 32). 4x8 would issue 56 per 1024 and 8x8 52;
// 6x16 or 8x12 (≈ 46) need 24 of the 32 vector registers for accumulators (docs/kernel-naming.md). Accumulators
// start from the packed bias, duplicated into the 2×2 layout; the 2×2 blocks are unzipped into rows before the
// requantization of docs/quantization.md (5), (6) (requant__neon.h).
#include <arm_neon.h>
#include <string.h>

#include "../requant/requant__neon.h"
#include "edgebuild/ukernels_isa.h"

namespace {
constexpr size_t kMR = 4, kNR = 16;

// [b[j], b[j + 1], b[j], b[j + 1]]: the bias of columns j, j + 1 in SMMLA's 2×2 layout (rows r, r + 1).
inline int32x4_t bias_pair(const int32_t* b) {
  int64_t v;
  memcpy(&v, b, 8);
  return vreinterpretq_s32_s64(vdupq_n_s64(v));
}

// Rows r, r + 1 of one 8-k step: 8 bytes of each (the A operand of SMMLA).
inline int8x16_t pair8(const int8_t* r0, const int8_t* r1) { return vcombine_s8(vld1_s8(r0), vld1_s8(r1)); }

// Half h of two 16-byte row loads: rows r, r + 1 at k + 8h (zip1 / zip2 of the 64-bit halves).
inline int8x16_t pair_half(int8x16_t r0, int8x16_t r1, int h) {
  const int64x2_t u = vreinterpretq_s64_s8(r0), v = vreinterpretq_s64_s8(r1);
  return vreinterpretq_s8_s64(h ? vzip2q_s64(u, v) : vzip1q_s64(u, v));
}

// acc += x · bᵀ (SMMLA). GCC 12 turns vmmlaq_s32 on 16 live accumulators into extra register copies in the k loop;
// the in-place asm keeps each accumulator in one register (the same fix as eb_dpbusd_avx512).
inline int32x4_t smmla(int32x4_t acc, int8x16_t x, int8x16_t b) {
#if defined(__GNUC__) && !defined(__clang__)
  __asm__("smmla %0.4s, %1.16b, %2.16b" : "+w"(acc) : "w"(x), "w"(b));
  return acc;
#else
  return vmmlaq_s32(acc, x, b);
#endif
}
}  // namespace

extern "C" void eb_qs8_gemm_minmax_ukernel_4x16c8__i8mm(size_t mr, size_t nc, size_t kc, const int8_t* a,
                                                        size_t a_stride, const void* w, int8_t* c, size_t c_stride,
                                                        const eb_qs8_requant_params* rq) {
  // Rows past mr repeat the last valid row (computed, never stored).
  const int8_t* a0 = a;
  const int8_t* a1 = mr > 1 ? a0 + a_stride : a0;
  const int8_t* a2 = mr > 2 ? a1 + a_stride : a1;
  const int8_t* a3 = mr > 3 ? a2 + a_stride : a2;
  const int32_t* header = static_cast<const int32_t*>(w);
  // accP_Q: rows 2P, 2P + 1 × columns 2Q, 2Q + 1 as [r0c0, r0c1, r1c0, r1c1], starting from the bias. Named
  // registers, not an array: GCC 12 keeps these in registers (an array's copies cost movs in the loop).
  int32x4_t acc0_0 = bias_pair(header + 0), acc0_1 = bias_pair(header + 2), acc0_2 = bias_pair(header + 4);
  int32x4_t acc0_3 = bias_pair(header + 6), acc0_4 = bias_pair(header + 8), acc0_5 = bias_pair(header + 10);
  int32x4_t acc0_6 = bias_pair(header + 12), acc0_7 = bias_pair(header + 14);
  int32x4_t acc1_0 = acc0_0, acc1_1 = acc0_1, acc1_2 = acc0_2, acc1_3 = acc0_3;
  int32x4_t acc1_4 = acc0_4, acc1_5 = acc0_5, acc1_6 = acc0_6, acc1_7 = acc0_7;
  const int8_t* wp = reinterpret_cast<const int8_t*>(header + 4 * kNR);
// One 8-k step of the tile: x01, x23 = rows (0, 1) and (2, 3); p = [16 columns][8 k].
#define EB_I8MM_STEP(x01, x23, p)                                                        \
  do {                                                                                   \
    const int8x16_t b0 = vld1q_s8(p), b1 = vld1q_s8(p + 16), b2 = vld1q_s8(p + 32);      \
    const int8x16_t b3 = vld1q_s8(p + 48), b4 = vld1q_s8(p + 64), b5 = vld1q_s8(p + 80); \
    const int8x16_t b6 = vld1q_s8(p + 96), b7 = vld1q_s8(p + 112);                       \
    acc0_0 = smmla(acc0_0, x01, b0);                                                     \
    acc1_0 = smmla(acc1_0, x23, b0);                                                     \
    acc0_1 = smmla(acc0_1, x01, b1);                                                     \
    acc1_1 = smmla(acc1_1, x23, b1);                                                     \
    acc0_2 = smmla(acc0_2, x01, b2);                                                     \
    acc1_2 = smmla(acc1_2, x23, b2);                                                     \
    acc0_3 = smmla(acc0_3, x01, b3);                                                     \
    acc1_3 = smmla(acc1_3, x23, b3);                                                     \
    acc0_4 = smmla(acc0_4, x01, b4);                                                     \
    acc1_4 = smmla(acc1_4, x23, b4);                                                     \
    acc0_5 = smmla(acc0_5, x01, b5);                                                     \
    acc1_5 = smmla(acc1_5, x23, b5);                                                     \
    acc0_6 = smmla(acc0_6, x01, b6);                                                     \
    acc1_6 = smmla(acc1_6, x23, b6);                                                     \
    acc0_7 = smmla(acc0_7, x01, b7);                                                     \
    acc1_7 = smmla(acc1_7, x23, b7);                                                     \
  } while (0)
  // Two k steps per iteration: one 16-byte load per row feeds both (zip1 / zip2): 4 + 4 + 8 + 32 instructions per
  // 1024 MACs instead of 2 × (4 loads + 2 inserts + 4 + 16).
  const size_t k16 = kc & ~static_cast<size_t>(15);
  size_t k = 0;
  for (; k < k16; k += 16, wp += 16 * kNR) {
    const int8x16_t r0 = vld1q_s8(a0 + k), r1 = vld1q_s8(a1 + k), r2 = vld1q_s8(a2 + k), r3 = vld1q_s8(a3 + k);
    const int8x16_t x01 = pair_half(r0, r1, 0), x23 = pair_half(r2, r3, 0);
    EB_I8MM_STEP(x01, x23, wp);
    const int8x16_t y01 = pair_half(r0, r1, 1), y23 = pair_half(r2, r3, 1);
    EB_I8MM_STEP(y01, y23, wp + 8 * kNR);
  }
  if (kc & 8) {  // kc is a multiple of 8
    const int8x16_t x01 = pair8(a0 + k, a1 + k), x23 = pair8(a2 + k, a3 + k);
    EB_I8MM_STEP(x01, x23, wp);
  }
#undef EB_I8MM_STEP
  const int32x4_t acc[2][8] = {{acc0_0, acc0_1, acc0_2, acc0_3, acc0_4, acc0_5, acc0_6, acc0_7},
                               {acc1_0, acc1_1, acc1_2, acc1_3, acc1_4, acc1_5, acc1_6, acc1_7}};

  // docs/quantization.md (5), (6) on every row, one group of 4 columns at a time (its constants loaded once, its
  // accumulators then dead: no spills), then the mr valid rows are stored. eb_mbqm_rshl_neon and
  // eb_narrow16_zp_neon are (5) and (6) in fewer instructions (requant__neon.h says why they are equal).
  const int16x8_t zp = vdupq_n_s16(static_cast<int16_t>(rq->output_zero_point));
  const int8x16_t act_min = vdupq_n_s8(static_cast<int8_t>(rq->lo + rq->output_zero_point));
  const int8x16_t act_max = vdupq_n_s8(static_cast<int8_t>(rq->hi + rq->output_zero_point));
  int32x4_t y[kMR][4];
#pragma GCC unroll 4
  for (size_t t = 0; t < 4; ++t) {
    const int32x4_t mult = vld1q_s32(header + kNR + 4 * t), left = vld1q_s32(header + 2 * kNR + 4 * t);
    const int32x4_t neg_right = vnegq_s32(vld1q_s32(header + 3 * kNR + 4 * t));
#pragma GCC unroll 4
    for (size_t i = 0; i < kMR; ++i) {
      const int64x2_t l = vreinterpretq_s64_s32(acc[i / 2][2 * t]);
      const int64x2_t r = vreinterpretq_s64_s32(acc[i / 2][2 * t + 1]);
      const int32x4_t row = vreinterpretq_s32_s64(i % 2 ? vzip2q_s64(l, r) : vzip1q_s64(l, r));
      y[i][t] = eb_mbqm_rshl_neon(row, mult, left, neg_right);
    }
  }
  int8x16_t out[kMR];
#pragma GCC unroll 4
  for (size_t i = 0; i < kMR; ++i)
    out[i] = eb_narrow16_zp_neon(y[i][0], y[i][1], y[i][2], y[i][3], zp, act_min, act_max);
  for (size_t i = 0; i < mr; ++i) {
    if (nc == kNR) {
      vst1q_s8(c + i * c_stride, out[i]);
    } else {
      int8_t tmp[kNR];
      vst1q_s8(tmp, out[i]);
      memcpy(c + i * c_stride, tmp, nc);
    }
  }
}
