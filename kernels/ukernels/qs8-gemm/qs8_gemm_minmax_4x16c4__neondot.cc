// qs8_gemm_minmax_4x16c4__neondot.cc: int8 GEMM microkernel for armv8.2 cores with the dot product (Cortex-A55,
// Cortex-A76/A77/A78, Neoverse N1: the big and little cores of most phones and the Raspberry Pi 5).
// Reference twin: eb_qs8_gemm_ref (qs8-gemm/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc).
//
// 4 rows × 16 columns, the c4 packing ([kc / 4][16][4], ukernels_isa.h). The lane-indexed SDOT (vdotq_laneq_s32)
// multiplies 4 columns × 4 k of packed weights by the 4 bytes of one row in lane l of a register holding 16 k of
// that row, so a row is loaded once per 16 k (no broadcasts) and the weights of one 4-k step, all 16 columns, are
// one 64-byte ld1 {4 registers}. The k loop takes 32 k per iteration: 4 row loads (one 32-byte ldp each), 8 weight
// loads, 128 SDOTs for 2048 MACs, 142 instructions with the loop control (1.11× MACs / 16; the broadcast 4x8c4
// kernel it replaces issued 2.6×). 16 accumulators, 8 row halves and 8 weight registers (each load one 4-k step
// ahead of its SDOTs, for in-order cores) use all 32 vector registers; 8x8 needs as many loads per MAC, 6x16 (24
// accumulators) leaves no room for a 4-register weight load. llvm-mca: 66 cycles per iteration on Cortex-A76 (the
// two SDOT pipes' bound is 64), 170 on Cortex-A55. K need not be a multiple of 32: 16-, 8- and 4-k steps follow
// (kc is a multiple of 4).
//
// Per-call overhead matters in the small-K 1×1 layers of MobileNetV2 (K = 16..96), so one call takes every tile of
// 4 rows of a chunk (mr > 4, GemmKernel::nc_any = 2) across every block of columns the executor hands it (nc > 16),
// the output constants built once per call; tiles of 1 or 2 rows (the last tile of a 7×7 layer, FULLY_CONNECTED with
// M = 1) compute only their rows, and a last block of at most 8 columns (24-channel projections) runs gemm_half4.
//
// Requantization, docs/quantization.md (5), (6): SQRDMULH is SRDHM (4a) exactly; RDBPOT (4b) is "q − 1 where q < 0
// and n > 0" (AND with −n, then SSRA by 31) and SRSHL by −n. That is requant__neon.h's eb_mbqm_rshl_neon with its
// saturating add made plain: SQRDMULH's result is ≥ −(2^31 − 1) (m < 2^31), so q − 1 cannot wrap. The packed header
// holds −n and the block's EB_GEMM_BLOCK_* flags (GemmKernel::flags, computed once at load): the left shift (e > 0,
// rare: a multiplier ≥ 1) is applied only when a column of the block has one, and when every column has n > 0 (the
// usual case) the AND is left out: 3 instructions per 4 outputs (4 otherwise), no negation and no shift test per
// block (25 fewer instructions per 64 outputs than before the flags). When the output's clamp starts at or above
// zp_y (a ReLU or ReLU6: Out::form's kNoFix, per call) the "q − 1" is left out altogether, 2 instructions per 4
// outputs (the note after fix_r says why the bytes are the same): MobileNetV2's K = 16 block 183 -> 167 instructions.
#include <arm_neon.h>
#include <string.h>

#include "edgebuild/ukernels_isa.h"

namespace {
constexpr size_t kNR = 16;

// acc += the 4 columns × 4 k of b dotted with the 4 bytes in lane L of x (SDOT by element). GCC 12 compiles
// vdotq_laneq_s32 on 16 live accumulators with register copies and spills in the k loop; the in-place asm keeps
// each accumulator in one register (as the i8mm kernel's smmla).
template <int L>
inline int32x4_t dotq(int32x4_t acc, int8x16_t b, int8x16_t x) {
#if defined(__GNUC__) && !defined(__clang__)
  __asm__("sdot %0.4s, %1.16b, %2.4b[%3]" : "+w"(acc) : "w"(b), "w"(x), "i"(L));
  return acc;
#else
  return vdotq_laneq_s32(acc, b, x, L);
#endif
}
template <int L>
inline int32x4_t dot(int32x4_t acc, int8x16_t b, int8x8_t x) {
#if defined(__GNUC__) && !defined(__clang__)
  __asm__("sdot %0.4s, %1.16b, %2.4b[%3]" : "+w"(acc) : "w"(b), "w"(x), "i"(L));
  return acc;
#else
  return vdotq_lane_s32(acc, b, x, L);
#endif
}

// The 64 bytes at p (16 columns × 4 k) into 4 consecutive registers, p advanced past them: one post-indexed ld1.
// vld1q_s8_x4 gives the same load, but GCC 12 then addresses the four loads of a 16-k step from one base with an
// add or mov before each (4 extra instructions per 64 SDOTs).
inline int8x16x4_t load_w(const int8_t*& p) {
#if defined(__GNUC__) && !defined(__clang__)
  int8x16x4_t b;
  __asm__("ld1 {%S0.16b - %V0.16b}, [%1], 64" : "=w"(b), "+r"(p) : "m"(*reinterpret_cast<const int8_t(*)[64]>(p)));
  return b;
#else
  const int8x16x4_t b = vld1q_s8_x4(p);
  p += 64;
  return b;
#endif
}

// Columns 0-7 of a 4-k step (the first 32 of its 64 bytes) into 2 registers, p advanced past all 64.
inline int8x16x2_t load_w8(const int8_t*& p) {
#if defined(__GNUC__) && !defined(__clang__)
  int8x16x2_t b;
  __asm__("ld1 {%S0.16b - %T0.16b}, [%1], %2"
          : "=w"(b), "+r"(p)
          : "r"(static_cast<size_t>(64)), "m"(*reinterpret_cast<const int8_t(*)[32]>(p)));
  return b;
#else
  const int8x16x2_t b = vld1q_s8_x2(p);
  p += 64;
  return b;
#endif
}

// 32 bytes of a row (k and k + 16) with one post-indexed ldp; GCC 12 emits the ldp but a separate add per row.
inline void load_row32(const int8_t*& p, int8x16_t& lo, int8x16_t& hi) {
#if defined(__GNUC__) && !defined(__clang__)
  __asm__("ldp %q0, %q1, [%2], 32" : "=w"(lo), "=w"(hi), "+r"(p) : "m"(*reinterpret_cast<const int8_t(*)[32]>(p)));
#else
  lo = vld1q_s8(p);
  hi = vld1q_s8(p + 16);
  p += 32;
#endif
}

// The bias of columns 0-7 or 8-15 (p) into two accumulators with one ldp. volatile: GCC would otherwise load the 16
// bias values once and copy them into each row's accumulators (1 + 12 instructions instead of 8 ldp per tile).
// O: the first column (0 or 8), an immediate offset of the ldp (GCC would otherwise add it to p before 4 of them).
template <int O = 0>
inline void load_bias(const int32_t* p, int32x4_t& lo, int32x4_t& hi) {
#if defined(__GNUC__) && !defined(__clang__)
  __asm__ volatile("ldp %q0, %q1, [%2, %3]"
                   : "=w"(lo), "=w"(hi)
                   : "r"(p), "i"(4 * O), "m"(*reinterpret_cast<const int32_t(*)[16]>(p)));
#else
  lo = vld1q_s32(p + O);
  hi = vld1q_s32(p + O + 4);
#endif
}

// MBQM (5) on vectors of 4 columns whose left shift is applied already (or 0), in three steps so that the two
// forms of the middle one share the others: q = SRDHM (4a) (vqrdmulhq_s32); RDBPOT (4b)'s "q − 1 where q < 0 and
// n > 0" (fix: AND with −n, then SSRA by 31); SRSHL by −n. That is requant__neon.h's eb_mbqm_rshl_neon with its
// saturating add made plain: SQRDMULH's result is ≥ −(2^31 − 1) (m < 2^31), so q − 1 cannot wrap.
inline int32x4_t fix(int32x4_t q, int32x4_t neg_right) { return vsraq_n_s32(q, vandq_s32(q, neg_right), 31); }
// For columns that all have e < 0 (right = n >= 1, left = 0; EB_GEMM_BLOCK_RSHIFT) the fix needs no test of n, so
// the AND is left out: SSRA of q by 31 onto itself (3 instructions per 4 outputs instead of 4).
inline int32x4_t fix_r(int32x4_t q) { return vsraq_n_s32(q, q, 31); }
// Where the output's clamp starts at or above zp_y (rq->lo >= 0: a ReLU or ReLU6, most of MobileNetV2's and
// SqueezeNet's outputs; Out::form bit kNoFix) the fix is left out: 2 instructions per 4 outputs. It changes only
// some q < 0, and there both forms are <= 0, so q + zp_y <= zp_y <= act_min: the clamp gives act_min either way
// (each narrowing below is monotone), bit for bit the reference's bytes.

// One row's 16 requantized lanes to bytes: (6) as sat8(sat16(sat16(q) + zp_y)) clamped to [act_min, act_max]
// (requant__neon.h eb_narrow16_zp_neon says why this equals clamp(q + zp_y, act_min, act_max)).
inline int8x16_t narrow(int32x4_t q0, int32x4_t q1, int32x4_t q2, int32x4_t q3, int16x8_t zp, int8x16_t act_min,
                        int8x16_t act_max) {
  const int16x8_t lo = vqaddq_s16(vqmovn_high_s32(vqmovn_s32(q0), q1), zp);
  const int16x8_t hi = vqaddq_s16(vqmovn_high_s32(vqmovn_s32(q2), q3), zp);
  return vminq_s8(vmaxq_s8(vqmovn_high_s16(vqmovn_s16(lo), hi), act_min), act_max);
}

// narrow when [act_min, act_max] is all of int8 (the clamp is the identity): 8 instructions per row instead of 10.
inline int8x16_t narrow_full(int32x4_t q0, int32x4_t q1, int32x4_t q2, int32x4_t q3, int16x8_t zp) {
  const int16x8_t lo = vqaddq_s16(vqmovn_high_s32(vqmovn_s32(q0), q1), zp);
  const int16x8_t hi = vqaddq_s16(vqmovn_high_s32(vqmovn_s32(q2), q3), zp);
  return vqmovn_high_s16(vqmovn_s16(lo), hi);
}

// narrow_full for zp_y = −128 (the ReLU and ReLU6 outputs, whose range starts at 0: most of MobileNetV2's and
// SqueezeNet's outputs). With s = sat16(q), sat8(sat16(s − 128)) is −128 for s ≤ 0, 127 for s ≥ 255 and s − 128
// between: SQXTUN's clamp(s, 0, 255) with its top bit flipped (sign80 = 0x80 in every byte, the layer's act_min).
// 7 instructions per row instead of 10.
inline int8x16_t narrow_relu(int32x4_t q0, int32x4_t q1, int32x4_t q2, int32x4_t q3, int8x16_t sign80) {
  const int16x8_t lo = vqmovn_high_s32(vqmovn_s32(q0), q1);
  const int16x8_t hi = vqmovn_high_s32(vqmovn_s32(q2), q3);
  return veorq_s8(vreinterpretq_s8_u8(vqmovun_high_s16(vqmovun_s16(lo), hi)), sign80);
}

// The first nc < 16 bytes of v to p.
inline void store_partial(int8_t* p, int8x16_t v, size_t nc) {
  int8x8_t h = vget_low_s8(v);
  if (nc & 8) {
    vst1_s8(p, h);
    p += 8;
    h = vget_high_s8(v);
  }
  if (nc & 4) {
    vst1_lane_s32(reinterpret_cast<int32_t*>(p), vreinterpret_s32_s8(h), 0);
    p += 4;
    h = vext_s8(h, h, 4);
  }
  if (nc & 2) {
    vst1_lane_s16(reinterpret_cast<int16_t*>(p), vreinterpret_s16_s8(h), 0);
    p += 2;
    h = vext_s8(h, h, 2);
  }
  if (nc & 1) vst1_lane_s8(p, h, 0);
}
}  // namespace

constexpr int kNoFix = 4;  // Out::form

// The output constants of a call (docs/quantization.md (6)), built once per call, not per tile of rows.
struct Out {
  int16x8_t zp;
  int8x16_t act_min, act_max;
  // bits 0-1: the narrowing (2: narrow_relu, 1: narrow_full, 0: narrow with its clamp); bit 2 (kNoFix): the clamp
  // starts at or above zp_y, so RDBPOT's fix is left out. One register for both (a flag of its own cost a spill per
  // tile of rows).
  int form;
  explicit Out(const eb_qs8_requant_params* rq)
      : zp(vdupq_n_s16(static_cast<int16_t>(rq->output_zero_point))),
        act_min(vdupq_n_s8(static_cast<int8_t>(rq->lo + rq->output_zero_point))),
        act_max(vdupq_n_s8(static_cast<int8_t>(rq->hi + rq->output_zero_point))) {
    const int8_t lo = static_cast<int8_t>(rq->lo + rq->output_zero_point);
    const int8_t hi = static_cast<int8_t>(rq->hi + rq->output_zero_point);
    form = lo == -128 && hi == 127 ? (rq->output_zero_point == -128 ? 2 : 1) : 0;
    if (rq->lo >= 0) form |= kNoFix;
  }
};

// GCC's first scheduling pass hoists the four weight loads of a 16-k step to its top, which needs 16 weight registers
// beside the 16 accumulators and spills; without it each 4-register load stays next to its 16 SDOTs.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-schedule-insns", "no-ivopts")
#endif
namespace {
// The last block of a tile of 3 or 4 rows when it has at most 8 columns (nc <= 8: MobileNetV2's 24-channel
// projections, a 1000-class FULLY_CONNECTED): the same k steps and requantization on columns 0-7 only, 8
// accumulators, so half the SDOTs and half the epilogue of a full block (the padded columns 8-15 are never read).
// Two rows share each narrowing (row i in bytes 0-7, row i + 1 in bytes 8-15). Inlined into gemm_rows<4> only: as a
// call inside its block loop it cost the full blocks registers (~5% more instructions in the K = 16..32 layers).
inline __attribute__((always_inline)) void gemm_half4(size_t nc, size_t kc, const int8_t* a0, const int8_t* a1,
                                                      const int8_t* a2, const int8_t* a3, const uint8_t* block,
                                                      int8_t* c0, int8_t* c1, int8_t* c2, int8_t* c3, const Out& out) {
  const int32_t* header = reinterpret_cast<const int32_t*>(block);
  int32x4_t acc00, acc01, acc10, acc11, acc20, acc21, acc30, acc31;
  load_bias(header, acc00, acc01), load_bias(header, acc10, acc11);
  load_bias(header, acc20, acc21), load_bias(header, acc30, acc31);
  const int8_t* wp = reinterpret_cast<const int8_t*>(block + 320);
#define EB_DOT_STEP8(dot, b, x0, x1, x2, x3, l) \
  do {                                          \
    acc00 = dot<l>(acc00, b.val[0], x0);        \
    acc01 = dot<l>(acc01, b.val[1], x0);        \
    acc10 = dot<l>(acc10, b.val[0], x1);        \
    acc11 = dot<l>(acc11, b.val[1], x1);        \
    acc20 = dot<l>(acc20, b.val[0], x2);        \
    acc21 = dot<l>(acc21, b.val[1], x2);        \
    acc30 = dot<l>(acc30, b.val[0], x3);        \
    acc31 = dot<l>(acc31, b.val[1], x3);        \
  } while (0)
  for (size_t n = kc >> 5; n != 0; --n) {
    int8x16_t x0, y0, x1, y1, x2, y2, x3, y3;
    load_row32(a0, x0, y0), load_row32(a1, x1, y1), load_row32(a2, x2, y2), load_row32(a3, x3, y3);
    const int8x16x2_t b0 = load_w8(wp);
    const int8x16x2_t b1 = load_w8(wp);
    EB_DOT_STEP8(dotq, b0, x0, x1, x2, x3, 0);
    const int8x16x2_t b2 = load_w8(wp);
    EB_DOT_STEP8(dotq, b1, x0, x1, x2, x3, 1);
    const int8x16x2_t b3 = load_w8(wp);
    EB_DOT_STEP8(dotq, b2, x0, x1, x2, x3, 2);
    const int8x16x2_t b4 = load_w8(wp);
    EB_DOT_STEP8(dotq, b3, x0, x1, x2, x3, 3);
    const int8x16x2_t b5 = load_w8(wp);
    EB_DOT_STEP8(dotq, b4, y0, y1, y2, y3, 0);
    const int8x16x2_t b6 = load_w8(wp);
    EB_DOT_STEP8(dotq, b5, y0, y1, y2, y3, 1);
    const int8x16x2_t b7 = load_w8(wp);
    EB_DOT_STEP8(dotq, b6, y0, y1, y2, y3, 2);
    EB_DOT_STEP8(dotq, b7, y0, y1, y2, y3, 3);
  }
  if (kc & 16) {
    const int8x16_t x0 = vld1q_s8(a0), x1 = vld1q_s8(a1), x2 = vld1q_s8(a2), x3 = vld1q_s8(a3);
    a0 += 16, a1 += 16, a2 += 16, a3 += 16;
    const int8x16x2_t b0 = load_w8(wp);
    const int8x16x2_t b1 = load_w8(wp);
    EB_DOT_STEP8(dotq, b0, x0, x1, x2, x3, 0);
    const int8x16x2_t b2 = load_w8(wp);
    EB_DOT_STEP8(dotq, b1, x0, x1, x2, x3, 1);
    const int8x16x2_t b3 = load_w8(wp);
    EB_DOT_STEP8(dotq, b2, x0, x1, x2, x3, 2);
    EB_DOT_STEP8(dotq, b3, x0, x1, x2, x3, 3);
  }
  if (kc & 8) {
    const int8x8_t x0 = vld1_s8(a0), x1 = vld1_s8(a1), x2 = vld1_s8(a2), x3 = vld1_s8(a3);
    a0 += 8, a1 += 8, a2 += 8, a3 += 8;
    const int8x16x2_t b0 = load_w8(wp);
    const int8x16x2_t b1 = load_w8(wp);
    EB_DOT_STEP8(dot, b0, x0, x1, x2, x3, 0);
    EB_DOT_STEP8(dot, b1, x0, x1, x2, x3, 1);
  }
  if (kc & 4) {
    int32_t v0, v1, v2, v3;
    memcpy(&v0, a0, 4), memcpy(&v1, a1, 4), memcpy(&v2, a2, 4), memcpy(&v3, a3, 4);
    const int8x8_t x0 = vreinterpret_s8_s32(vdup_n_s32(v0)), x1 = vreinterpret_s8_s32(vdup_n_s32(v1));
    const int8x8_t x2 = vreinterpret_s8_s32(vdup_n_s32(v2)), x3 = vreinterpret_s8_s32(vdup_n_s32(v3));
    const int8x16x2_t b0 = load_w8(wp);
    EB_DOT_STEP8(dot, b0, x0, x1, x2, x3, 0);
  }
#undef EB_DOT_STEP8
  const int32_t flags = header[4 * kNR];
  if (flags & EB_GEMM_BLOCK_LSHIFT) {
    const int32x4_t l0 = vld1q_s32(header + 2 * kNR), l1 = vld1q_s32(header + 2 * kNR + 4);
    acc00 = vqshlq_s32(acc00, l0), acc01 = vqshlq_s32(acc01, l1), acc10 = vqshlq_s32(acc10, l0);
    acc11 = vqshlq_s32(acc11, l1), acc20 = vqshlq_s32(acc20, l0), acc21 = vqshlq_s32(acc21, l1);
    acc30 = vqshlq_s32(acc30, l0), acc31 = vqshlq_s32(acc31, l1);
  }
  const int32x4_t m0 = vld1q_s32(header + kNR), m1 = vld1q_s32(header + kNR + 4);
  const int32x4_t nr0 = vld1q_s32(header + 3 * kNR), nr1 = vld1q_s32(header + 3 * kNR + 4);
#define EB_ROWS(M) M(0), M(1), M(2), M(3)
#define EB_Q(i) acc##i##0 = vqrdmulhq_s32(acc##i##0, m0), acc##i##1 = vqrdmulhq_s32(acc##i##1, m1)
#define EB_FIX_R(i) acc##i##0 = fix_r(acc##i##0), acc##i##1 = fix_r(acc##i##1)
#define EB_FIX(i) acc##i##0 = fix(acc##i##0, nr0), acc##i##1 = fix(acc##i##1, nr1)
#define EB_SHIFT(i) acc##i##0 = vrshlq_s32(acc##i##0, nr0), acc##i##1 = vrshlq_s32(acc##i##1, nr1)
  EB_ROWS(EB_Q);
  if (!(out.form & kNoFix)) {
    if (flags & EB_GEMM_BLOCK_RSHIFT) {
      EB_ROWS(EB_FIX_R);
    } else {
      EB_ROWS(EB_FIX);
    }
  }
  EB_ROWS(EB_SHIFT);
#undef EB_Q
#undef EB_FIX_R
#undef EB_FIX
#undef EB_SHIFT
#undef EB_ROWS
  const int16x8_t zp = out.zp;
  const int8x16_t act_min = out.act_min, act_max = out.act_max;
  const int form = out.form;
  int8x16_t y01, y23;
  if (form & 2) {
    y01 = narrow_relu(acc00, acc01, acc10, acc11, act_min), y23 = narrow_relu(acc20, acc21, acc30, acc31, act_min);
  } else if (form & 1) {
    y01 = narrow_full(acc00, acc01, acc10, acc11, zp), y23 = narrow_full(acc20, acc21, acc30, acc31, zp);
  } else {
    y01 = narrow(acc00, acc01, acc10, acc11, zp, act_min, act_max);
    y23 = narrow(acc20, acc21, acc30, acc31, zp, act_min, act_max);
  }
  // Rows last to first: a repeated row (a tile of 3) gets its own bytes last.
  if (nc == 8) {
    vst1_s8(c3, vget_high_s8(y23)), vst1_s8(c2, vget_low_s8(y23));
    vst1_s8(c1, vget_high_s8(y01)), vst1_s8(c0, vget_low_s8(y01));
  } else {
    store_partial(c3, vextq_s8(y23, y23, 8), nc), store_partial(c2, y23, nc);
    store_partial(c1, vextq_s8(y01, y01, 8), nc), store_partial(c0, y01, nc);
  }
}

// Rows r0..r3 (R of them; rows past R are neither computed nor stored) × all nc columns. R = 4 also serves a tile of
// 3 rows (r3 = r2, c3 = c2: the repeated row stores its own bytes twice).
template <int R>
inline __attribute__((always_inline)) void gemm_rows(size_t nc, size_t kc, const int8_t* const r0, const int8_t* r1,
                                                     const int8_t* r2, const int8_t* r3, const void* w, int8_t* c0,
                                                     int8_t* c1, int8_t* c2, int8_t* c3, const Out& out) {
  if (R < 2) r1 = r0;  // the loads and SDOTs of unused rows are dead code the compiler drops
  if (R < 3) r2 = r0;
  if (R < 4) r3 = r0;
  // header_arrays = 5 with GemmKernel::flags (ukernels_isa.h): 320 bytes; kc·16 is a multiple of 64.
  constexpr size_t kHeaderBytes = 320;
  const size_t block_bytes = kHeaderBytes + kc * kNR;
  const int16x8_t zp = out.zp;
  const int8x16_t act_min = out.act_min, act_max = out.act_max;
  const int form = out.form;  // the narrowing form (per call)
  // nc may exceed 16 (GemmKernel::nc_any): the blocks of 16 columns are consecutive in the packed weights.
  for (const uint8_t* block = static_cast<const uint8_t*>(w);; block += block_bytes) {
    if (R == 4 && nc <= 8) return gemm_half4(nc, kc, r0, r1, r2, r3, block, c0, c1, c2, c3, out);
    const int32_t* header = reinterpret_cast<const int32_t*>(block);
    int32x4_t acc00, acc01, acc02, acc03, acc10, acc11, acc12, acc13;
    int32x4_t acc20, acc21, acc22, acc23, acc30, acc31, acc32, acc33;
    load_bias(header, acc00, acc01), load_bias<8>(header, acc02, acc03);
    acc10 = acc11 = acc12 = acc13 = acc20 = acc21 = acc22 = acc23 = acc30 = acc31 = acc32 = acc33 =
        acc00;  // dead if unused
    if (R > 1) load_bias(header, acc10, acc11), load_bias<8>(header, acc12, acc13);
    if (R > 2) load_bias(header, acc20, acc21), load_bias<8>(header, acc22, acc23);
    if (R > 3) load_bias(header, acc30, acc31), load_bias<8>(header, acc32, acc33);
    const int8_t *a0 = r0, *a1 = r1, *a2 = r2, *a3 = r3;
    const int8_t* wp = reinterpret_cast<const int8_t*>(block + kHeaderBytes);
// One 4-k step: b = the 16 columns × 4 k; x0..x3 the rows, l the lane holding this step's 4 k.
#define EB_DOT_STEP(dot, b, x0, x1, x2, x3, l) \
  do {                                         \
    acc00 = dot<l>(acc00, b.val[0], x0);       \
    acc01 = dot<l>(acc01, b.val[1], x0);       \
    acc02 = dot<l>(acc02, b.val[2], x0);       \
    acc03 = dot<l>(acc03, b.val[3], x0);       \
    acc10 = dot<l>(acc10, b.val[0], x1);       \
    acc11 = dot<l>(acc11, b.val[1], x1);       \
    acc12 = dot<l>(acc12, b.val[2], x1);       \
    acc13 = dot<l>(acc13, b.val[3], x1);       \
    acc20 = dot<l>(acc20, b.val[0], x2);       \
    acc21 = dot<l>(acc21, b.val[1], x2);       \
    acc22 = dot<l>(acc22, b.val[2], x2);       \
    acc23 = dot<l>(acc23, b.val[3], x2);       \
    acc30 = dot<l>(acc30, b.val[0], x3);       \
    acc31 = dot<l>(acc31, b.val[1], x3);       \
    acc32 = dot<l>(acc32, b.val[2], x3);       \
    acc33 = dot<l>(acc33, b.val[3], x3);       \
  } while (0)
    // Each weight load is issued one 4-k step ahead of its SDOTs (8 weight registers), for in-order cores (A55).
    // 32 k per iteration: each row is one 32-byte ldp (4 row loads and 8 weight loads per 128 SDOTs), and all 32
    // vector registers are in use (16 accumulators, 8 row halves, 8 weights).
    for (size_t n = kc >> 5; n != 0; --n) {
      int8x16_t x0, y0, x1, y1, x2, y2, x3, y3;
      load_row32(a0, x0, y0), load_row32(a1, x1, y1), load_row32(a2, x2, y2), load_row32(a3, x3, y3);
      const int8x16x4_t b0 = load_w(wp);
      const int8x16x4_t b1 = load_w(wp);
      EB_DOT_STEP(dotq, b0, x0, x1, x2, x3, 0);
      const int8x16x4_t b2 = load_w(wp);
      EB_DOT_STEP(dotq, b1, x0, x1, x2, x3, 1);
      const int8x16x4_t b3 = load_w(wp);
      EB_DOT_STEP(dotq, b2, x0, x1, x2, x3, 2);
      const int8x16x4_t b4 = load_w(wp);
      EB_DOT_STEP(dotq, b3, x0, x1, x2, x3, 3);
      const int8x16x4_t b5 = load_w(wp);
      EB_DOT_STEP(dotq, b4, y0, y1, y2, y3, 0);
      const int8x16x4_t b6 = load_w(wp);
      EB_DOT_STEP(dotq, b5, y0, y1, y2, y3, 1);
      const int8x16x4_t b7 = load_w(wp);
      EB_DOT_STEP(dotq, b6, y0, y1, y2, y3, 2);
      EB_DOT_STEP(dotq, b7, y0, y1, y2, y3, 3);
    }
    if (kc & 16) {
      const int8x16_t x0 = vld1q_s8(a0), x1 = vld1q_s8(a1), x2 = vld1q_s8(a2), x3 = vld1q_s8(a3);
      a0 += 16, a1 += 16, a2 += 16, a3 += 16;
      const int8x16x4_t b0 = load_w(wp);
      const int8x16x4_t b1 = load_w(wp);
      EB_DOT_STEP(dotq, b0, x0, x1, x2, x3, 0);
      const int8x16x4_t b2 = load_w(wp);
      EB_DOT_STEP(dotq, b1, x0, x1, x2, x3, 1);
      const int8x16x4_t b3 = load_w(wp);
      EB_DOT_STEP(dotq, b2, x0, x1, x2, x3, 2);
      EB_DOT_STEP(dotq, b3, x0, x1, x2, x3, 3);
    }
    if (kc & 8) {
      const int8x8_t x0 = vld1_s8(a0), x1 = vld1_s8(a1), x2 = vld1_s8(a2), x3 = vld1_s8(a3);
      a0 += 8, a1 += 8, a2 += 8, a3 += 8;
      const int8x16x4_t b0 = load_w(wp);
      const int8x16x4_t b1 = load_w(wp);
      EB_DOT_STEP(dot, b0, x0, x1, x2, x3, 0);
      EB_DOT_STEP(dot, b1, x0, x1, x2, x3, 1);
    }
    if (kc & 4) {
      int32_t v0, v1, v2, v3;
      memcpy(&v0, a0, 4), memcpy(&v1, a1, 4), memcpy(&v2, a2, 4), memcpy(&v3, a3, 4);
      const int8x8_t x0 = vreinterpret_s8_s32(vdup_n_s32(v0)), x1 = vreinterpret_s8_s32(vdup_n_s32(v1));
      const int8x8_t x2 = vreinterpret_s8_s32(vdup_n_s32(v2)), x3 = vreinterpret_s8_s32(vdup_n_s32(v3));
      const int8x16x4_t b0 = load_w(wp);
      EB_DOT_STEP(dot, b0, x0, x1, x2, x3, 0);
    }
#undef EB_DOT_STEP

    // docs/quantization.md (5). The block's flags (packed once, at load) say which form its columns need.
    const int32_t flags = header[4 * kNR];
    if (flags & EB_GEMM_BLOCK_LSHIFT) {  // the left shift, only where a column has one (e > 0)
      const int32x4x4_t left = vld1q_s32_x4(header + 2 * kNR);
#define EB_LSHIFT(r, t) r = vqshlq_s32(r, left.val[t])
      EB_LSHIFT(acc00, 0), EB_LSHIFT(acc01, 1), EB_LSHIFT(acc02, 2), EB_LSHIFT(acc03, 3);
      EB_LSHIFT(acc10, 0), EB_LSHIFT(acc11, 1), EB_LSHIFT(acc12, 2), EB_LSHIFT(acc13, 3);
      EB_LSHIFT(acc20, 0), EB_LSHIFT(acc21, 1), EB_LSHIFT(acc22, 2), EB_LSHIFT(acc23, 3);
      EB_LSHIFT(acc30, 0), EB_LSHIFT(acc31, 1), EB_LSHIFT(acc32, 2), EB_LSHIFT(acc33, 3);
#undef EB_LSHIFT
    }
    // Plain q loads (GCC pairs them into ldp): a 4-register struct's lanes go through the stack here.
    const int32x4_t m0 = vld1q_s32(header + kNR), m1 = vld1q_s32(header + kNR + 4);
    const int32x4_t m2 = vld1q_s32(header + kNR + 8), m3 = vld1q_s32(header + kNR + 12);
    const int32x4_t nr0 = vld1q_s32(header + 3 * kNR), nr1 = vld1q_s32(header + 3 * kNR + 4);  // −right
    const int32x4_t nr2 = vld1q_s32(header + 3 * kNR + 8), nr3 = vld1q_s32(header + 3 * kNR + 12);
#define EB_COLS(f, i) \
  acc##i##0 = f(acc##i##0, 0), acc##i##1 = f(acc##i##1, 1), acc##i##2 = f(acc##i##2, 2), acc##i##3 = f(acc##i##3, 3)
#define EB_Q(a, j) vqrdmulhq_s32(a, m##j)
#define EB_FIX_R(a, j) fix_r(a)
#define EB_FIX(a, j) fix(a, nr##j)
#define EB_SHIFT(a, j) vrshlq_s32(a, nr##j)
    EB_COLS(EB_Q, 0), EB_COLS(EB_Q, 1), EB_COLS(EB_Q, 2), EB_COLS(EB_Q, 3);
    if (!(form & kNoFix)) {
      if (flags & EB_GEMM_BLOCK_RSHIFT) {
        EB_COLS(EB_FIX_R, 0), EB_COLS(EB_FIX_R, 1), EB_COLS(EB_FIX_R, 2), EB_COLS(EB_FIX_R, 3);
      } else {
        EB_COLS(EB_FIX, 0), EB_COLS(EB_FIX, 1), EB_COLS(EB_FIX, 2), EB_COLS(EB_FIX, 3);
      }
    }
    EB_COLS(EB_SHIFT, 0), EB_COLS(EB_SHIFT, 1), EB_COLS(EB_SHIFT, 2), EB_COLS(EB_SHIFT, 3);
#undef EB_COLS
#undef EB_Q
#undef EB_FIX_R
#undef EB_FIX
#undef EB_SHIFT
    int8x16_t y0, y1, y2, y3;
    if (form & 2) {
#define EB_ROW(i) narrow_relu(acc##i##0, acc##i##1, acc##i##2, acc##i##3, act_min)
      y0 = EB_ROW(0), y1 = EB_ROW(1), y2 = EB_ROW(2), y3 = EB_ROW(3);
#undef EB_ROW
    } else if (form & 1) {
#define EB_ROW(i) narrow_full(acc##i##0, acc##i##1, acc##i##2, acc##i##3, zp)
      y0 = EB_ROW(0), y1 = EB_ROW(1), y2 = EB_ROW(2), y3 = EB_ROW(3);
#undef EB_ROW
    } else {
#define EB_ROW(i) narrow(acc##i##0, acc##i##1, acc##i##2, acc##i##3, zp, act_min, act_max)
      y0 = EB_ROW(0), y1 = EB_ROW(1), y2 = EB_ROW(2), y3 = EB_ROW(3);
#undef EB_ROW
    }
    if (nc <= kNR) {
      // Rows are stored last to first: a repeated row (mr < 4) gets its own bytes last.
      if (nc == kNR) {
        if (R > 3) vst1q_s8(c3, y3);
        if (R > 2) vst1q_s8(c2, y2);
        if (R > 1) vst1q_s8(c1, y1);
        vst1q_s8(c0, y0);
      } else {
        if (R > 3) store_partial(c3, y3, nc);
        if (R > 2) store_partial(c2, y2, nc);
        if (R > 1) store_partial(c1, y1, nc);
        store_partial(c0, y0, nc);
      }
      return;
    }
    if (R > 3) vst1q_s8(c3, y3);
    if (R > 2) vst1q_s8(c2, y2);
    if (R > 1) vst1q_s8(c1, y1);
    vst1q_s8(c0, y0);
    c0 += kNR, c1 += kNR, c2 += kNR, c3 += kNR;
    nc -= kNR;
  }
}
}  // namespace

extern "C" void eb_qs8_gemm_minmax_ukernel_4x16c4__neondot(size_t mr, size_t nc, size_t kc, const int8_t* a,
                                                           size_t a_stride, const void* w, int8_t* c, size_t c_stride,
                                                           const eb_qs8_requant_params* rq) {
  // mr may exceed 4 (GemmKernel::nc_any = 2): tiles of 4 rows one after another, the last of 1-4 rows, all through
  // one call site of each gemm_rows (inlined, so a second site would copy it).
  const Out out(rq);
  for (;;) {
    const int8_t* r1 = a + a_stride;
    int8_t* c1 = c + c_stride;
    if (mr >= 3) {  // a tile of 3 repeats its last row
      const int8_t* r2 = r1 + a_stride;
      int8_t* c2 = c1 + c_stride;
      gemm_rows<4>(nc, kc, a, r1, r2, mr > 3 ? r2 + a_stride : r2, w, c, c1, c2, mr > 3 ? c2 + c_stride : c2, out);
    } else if (mr == 2) {
      gemm_rows<2>(nc, kc, a, r1, r1, r1, w, c, c1, c1, c1, out);
    } else {
      gemm_rows<1>(nc, kc, a, a, a, a, w, c, c, c, c, out);
    }
    if (mr <= 4) return;
    mr -= 4, a += 4 * a_stride, c += 4 * c_stride;
  }
}
