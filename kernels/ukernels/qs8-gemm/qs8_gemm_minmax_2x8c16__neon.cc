// qs8_gemm_minmax_2x8c16__neon.cc: int8 GEMM microkernel for NEON cores without dot product (Cortex-A53/A72).
// Reference twin: eb_qs8_gemm_ref (qs8-gemm/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc) for weights
// in [−127, 127], the range docs/quantization.md gives them; the runtime runs 2x8c8__neon for a layer holding a −128
// weight (kernels/runtime/cpu.cc gemm_kernel_for_weights).
//
// 2 rows × 8 columns, K in steps of 16 (packed [kc / 16][8][16]): SMULL of k 0..7 and SMLAL2 of k 8..15 put two
// exact products in each int16 lane (|x·w| ≤ 128·127 = 16256, so a pair stays within ±32512), and SADALP adds
// adjacent lanes into the int32 accumulator: 3 instructions per 16 MACs, against 4 for an SMLAL by lane on widened
// operands (Cortex-A53: ~85 cycles per 256 MACs under llvm-mca, against ~100 for the by-lane form). 16 accumulators
// hold 4 partial sums each, reduced once after the K loop with ADDP. The first K block starts them with SADDLP
// instead of zeroing them. Requantization: docs/quantization.md (5) as eb_mbqm_rshl_neon, then (6) with a saturating
// narrow. aarch64 only in the dispatch (armv7 has 16 q registers: the 16 accumulators would spill), but the
// intrinsics are armv7's too, so the file builds there.
#include <arm_neon.h>

#include "../requant/requant__neon.h"
#include "edgebuild/ukernels_isa.h"

namespace {
constexpr size_t kNR = 8, kKR = 16;

#if defined(__aarch64__)
// One 16-k block of the 2×8 tile (x0 = v0, x1 = v1; the weights of 4 columns in v2..v5, loaded by one LD1; products
// in v6/v7/v16/v17 and v18..v21): for each column pair, 4 SMULL (k 0..7), 4 SMLAL2 (k 8..15), then `op` (SADDLP on the
// first block, SADALP after) into the accumulators, the next pair's multiplies issued between a pair's SMLAL2 and
// its SADALP. 52 instructions per 256 MACs.
// clang-format off
#define EB_MUL4(ins, half, wa, wb, p0, p1, p2, p3)          \
  ins " " p0 ".8h, v0." half ", " wa "." half "\n"          \
  ins " " p1 ".8h, v1." half ", " wa "." half "\n"          \
  ins " " p2 ".8h, v0." half ", " wb "." half "\n"          \
  ins " " p3 ".8h, v1." half ", " wb "." half "\n"
#define EB_ACC4(op, p0, p1, p2, p3, j, jj)                   \
  op " %[a0" j "].4s, " p0 ".8h\n"                          \
  op " %[a1" j "].4s, " p1 ".8h\n"                          \
  op " %[a0" jj "].4s, " p2 ".8h\n"                         \
  op " %[a1" jj "].4s, " p3 ".8h\n"
#define EB_GEMM_BLOCK(op)                                          \
  "ldr q0, [%[pa0]], #16\n"                                        \
  "ldr q1, [%[pa1]], #16\n"                                        \
  "ld1 {v2.16b, v3.16b, v4.16b, v5.16b}, [%[pw]], #64\n"           \
  EB_MUL4("smull", "8b", "v2", "v3", "v6", "v7", "v16", "v17")     \
  EB_MUL4("smlal2", "16b", "v2", "v3", "v6", "v7", "v16", "v17")   \
  EB_MUL4("smull", "8b", "v4", "v5", "v18", "v19", "v20", "v21")   \
  EB_ACC4(op, "v6", "v7", "v16", "v17", "0", "1")                  \
  EB_MUL4("smlal2", "16b", "v4", "v5", "v18", "v19", "v20", "v21") \
  "ld1 {v2.16b, v3.16b, v4.16b, v5.16b}, [%[pw]], #64\n"           \
  EB_ACC4(op, "v18", "v19", "v20", "v21", "2", "3")                \
  EB_MUL4("smull", "8b", "v2", "v3", "v6", "v7", "v16", "v17")     \
  EB_MUL4("smlal2", "16b", "v2", "v3", "v6", "v7", "v16", "v17")   \
  EB_MUL4("smull", "8b", "v4", "v5", "v18", "v19", "v20", "v21")   \
  EB_ACC4(op, "v6", "v7", "v16", "v17", "4", "5")                  \
  EB_MUL4("smlal2", "16b", "v4", "v5", "v18", "v19", "v20", "v21") \
  EB_ACC4(op, "v18", "v19", "v20", "v21", "6", "7")
// One 16-k block of a single row (x0 = v0): the same products for 8 columns, no second row.
#define EB_GEMM_BLOCK1(op)                                        \
  "ldr q0, [%[pa0]], #16\n"                                        \
  "ld1 {v2.16b, v3.16b, v4.16b, v5.16b}, [%[pw]], #64\n"           \
  EB_MUL1("smull", "8b", "v6", "v7", "v16", "v17")                 \
  EB_MUL1("smlal2", "16b", "v6", "v7", "v16", "v17")               \
  "ld1 {v2.16b, v3.16b, v4.16b, v5.16b}, [%[pw]], #64\n"           \
  EB_ACC1(op, "v6", "v7", "v16", "v17", "0", "1", "2", "3")        \
  EB_MUL1("smull", "8b", "v6", "v7", "v16", "v17")                 \
  EB_MUL1("smlal2", "16b", "v6", "v7", "v16", "v17")               \
  EB_ACC1(op, "v6", "v7", "v16", "v17", "4", "5", "6", "7")
#define EB_MUL1(ins, half, p0, p1, p2, p3)                  \
  ins " " p0 ".8h, v0." half ", v2." half "\n"              \
  ins " " p1 ".8h, v0." half ", v3." half "\n"              \
  ins " " p2 ".8h, v0." half ", v4." half "\n"              \
  ins " " p3 ".8h, v0." half ", v5." half "\n"
#define EB_ACC1(op, p0, p1, p2, p3, j0, j1, j2, j3)         \
  op " %[a0" j0 "].4s, " p0 ".8h\n"                         \
  op " %[a0" j1 "].4s, " p1 ".8h\n"                         \
  op " %[a0" j2 "].4s, " p2 ".8h\n"                         \
  op " %[a0" j3 "].4s, " p3 ".8h\n"
// clang-format on
#else
// Σ of the 16 products x[k]·w[k] in 8 int16 lanes, lane i = x[i]·w[i] + x[i + 8]·w[i + 8] (exact: see above).
inline int16x8_t dot_pairs(int8x16_t x, int8x16_t w) {
  return vmlal_s8(vmull_s8(vget_low_s8(x), vget_low_s8(w)), vget_high_s8(x), vget_high_s8(w));
}
#endif

// Lane j = the sum of the 4 lanes of v_j.
inline int32x4_t reduce4(int32x4_t a, int32x4_t b, int32x4_t c, int32x4_t d) {
#if defined(__aarch64__)
  return vpaddq_s32(vpaddq_s32(a, b), vpaddq_s32(c, d));
#else
  const int32x2_t sa = vadd_s32(vget_low_s32(a), vget_high_s32(a)), sb = vadd_s32(vget_low_s32(b), vget_high_s32(b));
  const int32x2_t sc = vadd_s32(vget_low_s32(c), vget_high_s32(c)), sd = vadd_s32(vget_low_s32(d), vget_high_s32(d));
  return vcombine_s32(vpadd_s32(sa, sb), vpadd_s32(sc, sd));
#endif
}

// The first nc (< 8) bytes of v to p.
inline void store_partial(int8_t* p, int8x8_t v, size_t nc) {
  if (nc & 4) {
    vst1_lane_s32(reinterpret_cast<int32_t*>(p), vreinterpret_s32_s8(v), 0);  // unaligned: st1 takes any address
    p += 4;
    v = vext_s8(v, v, 4);
  }
  if (nc & 2) {
    vst1_lane_s16(reinterpret_cast<int16_t*>(p), vreinterpret_s16_s8(v), 0);
    p += 2;
    v = vext_s8(v, v, 2);
  }
  if (nc & 1) vst1_lane_s8(p, v, 0);
}
// docs/quantization.md (5); without kLeft (every exponent <= 0) the left shift is left out.
template <bool kLeft>
inline int32x4_t mbqm(int32x4_t acc, int32x4_t mult, int32x4_t left, int32x4_t neg_right) {
  return kLeft ? eb_mbqm_rshl_neon(acc, mult, left, neg_right) : eb_mbqm_rshr_neon(acc, mult, neg_right);
}
}  // namespace

namespace {
// docs/quantization.md (5) and (6) for the 2×8 tile: reduce the accumulators (4 partial sums each), add bias', MBQM
// per column, + zp_y, clamp, store mr rows. kLeft = false: every column's exponent is <= 0 (left shifts all 0), so
// sat32(acc · 2^0) = acc is skipped.
template <bool kLeft>
inline void finish(const int32x4_t* acc0, const int32x4_t* acc1, size_t mr, size_t nc, const int32_t* header, int8_t* c,
                   size_t c_stride, const eb_qs8_requant_params* rq) {
  // bias' has zp_x folded in (ukernels_isa.h).
  const int32x4_t bias_lo = vld1q_s32(header), bias_hi = vld1q_s32(header + 4);
  const int32x4_t mult_lo = vld1q_s32(header + kNR), mult_hi = vld1q_s32(header + kNR + 4);
  const int32x4_t left_lo = vld1q_s32(header + 2 * kNR), left_hi = vld1q_s32(header + 2 * kNR + 4);  // unused: !kLeft
  const int32x4_t nright_lo = vnegq_s32(vld1q_s32(header + 3 * kNR));
  const int32x4_t nright_hi = vnegq_s32(vld1q_s32(header + 3 * kNR + 4));
  const int32x4_t q00 =
      mbqm<kLeft>(vaddq_s32(reduce4(acc0[0], acc0[1], acc0[2], acc0[3]), bias_lo), mult_lo, left_lo, nright_lo);
  const int32x4_t q01 =
      mbqm<kLeft>(vaddq_s32(reduce4(acc0[4], acc0[5], acc0[6], acc0[7]), bias_hi), mult_hi, left_hi, nright_hi);
  const int32x4_t q10 =
      mbqm<kLeft>(vaddq_s32(reduce4(acc1[0], acc1[1], acc1[2], acc1[3]), bias_lo), mult_lo, left_lo, nright_lo);
  const int32x4_t q11 =
      mbqm<kLeft>(vaddq_s32(reduce4(acc1[4], acc1[5], acc1[6], acc1[7]), bias_hi), mult_hi, left_hi, nright_hi);
  // (6): + zp_y and the clamp, as eb_narrow16_zp_neon: row 0 in the low 8 bytes, row 1 in the high 8.
  const int8x16_t y = eb_narrow16_zp_neon(q00, q01, q10, q11, vdupq_n_s16((int16_t)rq->output_zero_point),
                                          vdupq_n_s8((int8_t)(rq->lo + rq->output_zero_point)),
                                          vdupq_n_s8((int8_t)(rq->hi + rq->output_zero_point)));
  if (nc == kNR) {
    vst1_s8(c, vget_low_s8(y));
    if (mr > 1) vst1_s8(c + c_stride, vget_high_s8(y));
  } else {
    store_partial(c, vget_low_s8(y), nc);
    if (mr > 1) store_partial(c + c_stride, vget_high_s8(y), nc);
  }
}

template <bool kLeft>
inline void gemm_2x8c16(size_t mr, size_t nc, size_t kc, const int8_t* a, size_t a_stride, const void* w, int8_t* c,
                        size_t c_stride, const eb_qs8_requant_params* rq) {
  const int8_t* a0 = a;
  const int32_t* header = static_cast<const int32_t*>(w);
  const int8_t* wp = reinterpret_cast<const int8_t*>(header + 4 * kNR);
#if defined(__aarch64__)
  // The K loop in assembly: GCC 12 either spills 4 of the 16 accumulators to the stack inside the loop (its pre-RA
  // scheduler hoists the 8 weight loads and 16 products) or, without that pass, chains every product through one
  // register, which stalls an in-order core at each step. Here each SMULL → SMLAL2 → SADALP chain has 4-8
  // independent instructions between its steps, and the second half's weights load while the first half's products
  // accumulate (Cortex-A53 under llvm-mca: 75 cycles per 16 k, 256 MACs, with the loop branch).
  size_t blocks = kc / kKR - 1;  // kc is a positive multiple of 16 (K >= 1): the first block always exists
  if (mr > 1) {
    const int8_t* a1 = a + a_stride;
    int32x4_t acc0[kNR], acc1[kNR];
    __asm__ volatile(EB_GEMM_BLOCK("saddlp") "cbz %[blocks], 2f\n"
                     "1:\n" EB_GEMM_BLOCK("sadalp") "subs %[blocks], %[blocks], #1\n"
                     "b.ne 1b\n"
                     "2:\n"
                     : [a00] "=&w"(acc0[0]), [a01] "=&w"(acc0[1]), [a02] "=&w"(acc0[2]), [a03] "=&w"(acc0[3]),
                       [a04] "=&w"(acc0[4]), [a05] "=&w"(acc0[5]), [a06] "=&w"(acc0[6]), [a07] "=&w"(acc0[7]),
                       [a10] "=&w"(acc1[0]), [a11] "=&w"(acc1[1]), [a12] "=&w"(acc1[2]), [a13] "=&w"(acc1[3]),
                       [a14] "=&w"(acc1[4]), [a15] "=&w"(acc1[5]), [a16] "=&w"(acc1[6]), [a17] "=&w"(acc1[7]),
                       [pa0] "+r"(a0), [pa1] "+r"(a1), [pw] "+r"(wp), [blocks] "+r"(blocks)
                     :
                     : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v16", "v17", "v18", "v19",
                       "v20", "v21");
    finish<kLeft>(acc0, acc1, mr, nc, header, c, c_stride, rq);
  } else {  // one row (FULLY_CONNECTED on one pixel, the last tile of an odd M): half the work, 27 per 16 k
    int32x4_t acc0[kNR];
    __asm__ volatile(EB_GEMM_BLOCK1("saddlp") "cbz %[blocks], 2f\n"
                     "1:\n" EB_GEMM_BLOCK1("sadalp") "subs %[blocks], %[blocks], #1\n"
                     "b.ne 1b\n"
                     "2:\n"
                     : [a00] "=&w"(acc0[0]), [a01] "=&w"(acc0[1]), [a02] "=&w"(acc0[2]), [a03] "=&w"(acc0[3]),
                       [a04] "=&w"(acc0[4]), [a05] "=&w"(acc0[5]), [a06] "=&w"(acc0[6]), [a07] "=&w"(acc0[7]),
                       [pa0] "+r"(a0), [pw] "+r"(wp), [blocks] "+r"(blocks)
                     :
                     : "cc", "memory", "v0", "v2", "v3", "v4", "v5", "v6", "v7", "v16", "v17");
    finish<kLeft>(acc0, acc0, 1, nc, header, c, c_stride, rq);  // row 1 repeats row 0, not stored
  }
#else
  const int8_t* a1 = mr > 1 ? a + a_stride : a;
  int32x4_t acc0[kNR], acc1[kNR];
  {
    const int8x16_t x0 = vld1q_s8(a0), x1 = vld1q_s8(a1);
#pragma GCC unroll 8
    for (size_t j = 0; j < kNR; ++j) {
      const int8x16_t wj = vld1q_s8(wp + kKR * j);
      acc0[j] = vpaddlq_s16(dot_pairs(x0, wj));
      acc1[j] = vpaddlq_s16(dot_pairs(x1, wj));
    }
    wp += kKR * kNR;
  }
  for (size_t k = kKR; k < kc; k += kKR, wp += kKR * kNR) {
    const int8x16_t x0 = vld1q_s8(a0 + k), x1 = vld1q_s8(a1 + k);
#pragma GCC unroll 8
    for (size_t j = 0; j < kNR; ++j) {
      const int8x16_t wj = vld1q_s8(wp + kKR * j);
      acc0[j] = vpadalq_s16(acc0[j], dot_pairs(x0, wj));
      acc1[j] = vpadalq_s16(acc1[j], dot_pairs(x1, wj));
    }
  }
  finish<kLeft>(acc0, acc1, mr, nc, header, c, c_stride, rq);
#endif
}
}  // namespace

extern "C" void eb_qs8_gemm_minmax_ukernel_2x8c16__neon(size_t mr, size_t nc, size_t kc, const int8_t* a,
                                                        size_t a_stride, const void* w, int8_t* c, size_t c_stride,
                                                        const eb_qs8_requant_params* rq) {
  gemm_2x8c16<true>(mr, nc, kc, a, a_stride, w, c, c_stride, rq);
}
