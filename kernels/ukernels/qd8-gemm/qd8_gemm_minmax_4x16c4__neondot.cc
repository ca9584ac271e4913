// qd8_gemm_minmax_4x16c4__neondot.cc: DYNAMIC_FULLY_CONNECTED's product for armv8.2 cores with the dot product
// (Cortex-A76/A77/A78, Neoverse N1, Cortex-A55): int8 rows quantized per row at run time times int8 per-channel
// weights, scaled back to float32, docs/quantization.md (15).
// Reference twin: eb_qd8_gemm_ref (qd8-gemm/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc).
//
// The integer part is qs8_gemm_minmax_4x16c4__neondot's: 4 rows × 16 columns of the c4 packing ([kc / 4][16][4]),
// the lane-indexed SDOT multiplying 4 columns × 4 k of weights by the 4 bytes of one row in lane l of a register
// holding 16 k of that row; 32 k per iteration: 4 row ldp, 8 weight ld1 (64 bytes each), 128 SDOTs for 2048 MACs,
// 142 instructions with the loop control (1.11× MACs / 16). 16 accumulators, 8 row halves and 8 weight registers
// (each weight load one 4-k step ahead of its SDOTs) use all 32 vector registers. llvm-mca (LLVM 14, -mcpu=cortex-a76
// -mattr=+dotprod): 65 cycles per iteration (the two SDOT pipes' bound is 64); on Cortex-A55, 170. The last kc mod 32
// k go 4 at a time through one small loop. Measured under qemu (cortex-a76) on MiniLM's linear layers, quantization
// included: 0.080 instructions per MAC at K = N = 384, 0.076 at 384 → 1536 and 1536 → 384 (ideal MACs / 16 = 0.0625).
//
// (15)'s zero-point term −zp[m] · Σ_k q_w[n, k] is the accumulators' start value (one MUL by element per 4
// columns: Σ_k q_w is packed in the block's header), so nothing is subtracted after the loop. int32 arithmetic wraps
// alike in any order, and the exact sum fits in int32 (quantization.md (15)), so this equals the reference's
// `acc -= zp * wsum`. The float epilogue is (15) step by step, one IEEE operation each, in the reference's order:
// t = SCVTF (int32 → float32, round to nearest even under the default FPCR), u = s[m] · s_w[n] (FMUL by element),
// y = t · u, y = y + b[n] (FMUL then FADD: never FMLA, which rounds once), then the bounds as the reference's
// compare-and-select (x < lo ? lo : x): FMAX would turn −0 into +0 at a bound of +0. An op without a bias has −0
// packed as its bias (y + (−0) = y, bit for bit); the bounds are skipped when both are infinite (a transformer's
// linear layers), where the reference's compares never select one.
//
// One call takes a tile of rows across every block of columns (nc > 16: the blocks follow one another in w), as the
// qs8 kernel does. Code size counts (the arm64 library's budget, tests/footprint): two instances, 1 row and 4 rows
// (tiles of 2 and 3 repeat their last row: MiniLM's row counts are multiples of 4), and the last block's partial
// stores and the bounds are one out-of-line helper: 2.5 KB of code.
#include <arm_neon.h>
#include <string.h>

#include "edgebuild/ukernels_isa.h"

namespace {
constexpr size_t kNR = 16;
constexpr size_t kHeaderBytes = 12 * kNR;  // wsum, w_scale, bias (ukernels_isa.h "qd8")

// acc += the 4 columns × 4 k of b dotted with the 4 bytes in lane L of x (SDOT by element). As in the qs8 kernel,
// GCC 12 compiles vdotq_laneq_s32 on 16 live accumulators with register copies and spills; the asm keeps each
// accumulator in its register.
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

// The 64 bytes at p (16 columns × 4 k) into 4 consecutive registers with one post-indexed ld1 (GCC 12 would add an
// address computation before each vld1q_s8_x4).
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

// 32 bytes of a row (k and k + 16) with one post-indexed ldp.
inline void load_row32(const int8_t*& p, int8x16_t& lo, int8x16_t& hi) {
#if defined(__GNUC__) && !defined(__clang__)
  __asm__("ldp %q0, %q1, [%2], 32" : "=w"(lo), "=w"(hi), "+r"(p) : "m"(*reinterpret_cast<const int8_t(*)[32]>(p)));
#else
  lo = vld1q_s8(p);
  hi = vld1q_s8(p + 16);
  p += 32;
#endif
}

// y < lo ? lo : y, then y > hi ? hi : y, as the reference clamps (NaN passes; −0 stays −0 at a bound of +0).
inline float32x4_t clamp(float32x4_t y, float32x4_t lo, float32x4_t hi) {
  y = vbslq_f32(vcltq_f32(y, lo), lo, y);
  return vbslq_f32(vcgtq_f32(y, hi), hi, y);
}

// Rows c[0..3] of a block, nc (<= 16) floats each: copied from the stack tile (rows 16 floats apart) when there is
// one (a last block of nc < 16 columns), and clamped to [lo, hi] when bounded (a repeated row is written twice with
// the same bits). Out of line, so that each row-count instance of the kernel carries neither the partial stores nor
// the clamp: a bounded op is rare among a transformer's linear layers, and the copy happens once per tile of rows.
__attribute__((noinline, noclone, optimize("Os"))) void finish_rows(float* const (&c)[4], size_t rows,
                                                                    const float* tile, size_t nc, bool bounded,
                                                                    float32x4_t lo, float32x4_t hi) {
  for (size_t i = rows; i-- != 0;) {  // last to first: a repeated row gets its own values last
    const float* src = tile != nullptr ? tile + 16 * i : c[i];
    size_t j = 0;
    for (; j + 4 <= nc; j += 4) {
      const float32x4_t v = vld1q_f32(src + j);
      vst1q_f32(c[i] + j, bounded ? clamp(v, lo, hi) : v);
    }
    for (; j < nc; ++j) {
      const float32x4_t v = vld1q_dup_f32(src + j);
      vst1q_lane_f32(c[i] + j, bounded ? clamp(v, lo, hi) : v, 0);
    }
  }
}
}  // namespace

// GCC's first scheduling pass hoists the four weight loads of a 16-k step to its top, which needs 16 weight registers
// beside the 16 accumulators and spills (the qs8 kernel says more).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-schedule-insns", "no-ivopts")
#endif
namespace {
// Rows r0..r3 (R of them; rows past R are neither computed nor stored) × all nc columns. R = 4 also serves a tile of
// 3 rows (r3 = r2, c3 = c2, rp3 = rp2).
template <int R>
void gemm_rows(size_t nc, size_t kc, const int8_t* const r0, const int8_t* r1, const int8_t* r2, const int8_t* r3,
               float32x4_t scale, int32x4_t neg_zp, const void* w, float* c0, float* c1, float* c2, float* c3,
               float output_min, float output_max) {
  if (R < 2) r1 = r0;  // the loads and SDOTs of unused rows are dead code the compiler drops
  if (R < 3) r2 = r0;
  if (R < 4) r3 = r0;
  const size_t block_bytes = eb_qd8_block_bytes(kNR, kc, 1);  // kHeaderBytes + kc · 16: a multiple of 64
  const float32x4_t lo = vdupq_n_f32(output_min), hi = vdupq_n_f32(output_max);
  // No bounds when both are infinite: the reference's compares then never select one.
  const bool bounded = !(output_min == -__builtin_inff() && output_max == __builtin_inff());
  for (const uint8_t* block = static_cast<const uint8_t*>(w);; block += block_bytes) {
    const int32_t* wsum = reinterpret_cast<const int32_t*>(block);
    // (15): acc starts at −zp[m] · Σ_k q_w[n, k] (exact modulo 2^32, as the reference's subtraction).
    int32x4_t acc00, acc01, acc02, acc03, acc10, acc11, acc12, acc13;
    int32x4_t acc20, acc21, acc22, acc23, acc30, acc31, acc32, acc33;
    {
      const int32x4_t s0 = vld1q_s32(wsum), s1 = vld1q_s32(wsum + 4);
      const int32x4_t s2 = vld1q_s32(wsum + 8), s3 = vld1q_s32(wsum + 12);
#define EB_INIT(i)                                                                        \
  acc##i##0 = vmulq_laneq_s32(s0, neg_zp, i), acc##i##1 = vmulq_laneq_s32(s1, neg_zp, i), \
  acc##i##2 = vmulq_laneq_s32(s2, neg_zp, i), acc##i##3 = vmulq_laneq_s32(s3, neg_zp, i)
      EB_INIT(0);
      acc10 = acc11 = acc12 = acc13 = acc20 = acc21 = acc22 = acc23 = acc30 = acc31 = acc32 = acc33 =
          acc00;  // dead if unused
      if (R > 1) EB_INIT(1);
      if (R > 2) EB_INIT(2);
      if (R > 3) EB_INIT(3);
#undef EB_INIT
    }
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
    // The last kc mod 32 k (a multiple of 4), 4 at a time: one loop instead of 16-, 8- and 4-k steps keeps the code
    // small (MiniLM's K, 384 and 1536, has no tail).
    for (size_t n = (kc & 31) >> 2; n != 0; --n) {
      int32_t v0, v1, v2, v3;
      memcpy(&v0, a0, 4), memcpy(&v1, a1, 4), memcpy(&v2, a2, 4), memcpy(&v3, a3, 4);
      a0 += 4, a1 += 4, a2 += 4, a3 += 4;
      const int8x8_t x0 = vreinterpret_s8_s32(vdup_n_s32(v0)), x1 = vreinterpret_s8_s32(vdup_n_s32(v1));
      const int8x8_t x2 = vreinterpret_s8_s32(vdup_n_s32(v2)), x3 = vreinterpret_s8_s32(vdup_n_s32(v3));
      const int8x16x4_t b0 = load_w(wp);
      EB_DOT_STEP(dot, b0, x0, x1, x2, x3, 0);
    }
#undef EB_DOT_STEP

    // (15) in the reference's order: t = float(acc), u = s[m] · s_w[n], y = t · u, y + b[n], the bounds.
    const float* w_scale = reinterpret_cast<const float*>(block) + kNR;
    const float32x4_t ws0 = vld1q_f32(w_scale), ws1 = vld1q_f32(w_scale + 4);
    const float32x4_t ws2 = vld1q_f32(w_scale + 8), ws3 = vld1q_f32(w_scale + 12);
    // The packed bias is −0 for an op without one: y + (−0) = y for every y (−0 and NaN included).
    const float* bias = w_scale + kNR;
    const float32x4_t b0 = vld1q_f32(bias), b1 = vld1q_f32(bias + 4), b2 = vld1q_f32(bias + 8);
    const float32x4_t b3 = vld1q_f32(bias + 12);
#define EB_Y(i, j, ws, b) \
  float32x4_t y##i##j = vaddq_f32(vmulq_f32(vcvtq_f32_s32(acc##i##j), vmulq_laneq_f32(ws, scale, i)), b)
#define EB_ROW(i)      \
  EB_Y(i, 0, ws0, b0); \
  EB_Y(i, 1, ws1, b1); \
  EB_Y(i, 2, ws2, b2); \
  EB_Y(i, 3, ws3, b3)
    EB_ROW(0);
    EB_ROW(1);
    EB_ROW(2);
    EB_ROW(3);
#undef EB_ROW
#undef EB_Y
    float* const rows[4] = {c0, c1, c2, c3};
    if (nc < kNR) {  // through the stack: finish_rows stores the first nc floats of each row
      float tile[4 * kNR];
#define EB_STORE(i)                                                                                                   \
  vst1q_f32(tile + kNR * i, y##i##0), vst1q_f32(tile + kNR * i + 4, y##i##1), vst1q_f32(tile + kNR * i + 8, y##i##2), \
      vst1q_f32(tile + kNR * i + 12, y##i##3)
      EB_STORE(0);
      if (R > 1) EB_STORE(1), EB_STORE(2), EB_STORE(3);  // R = 1: rows 1..3 are neither computed nor stored
#undef EB_STORE
      finish_rows(rows, R, tile, nc, bounded, lo, hi);
      return;
    }
    // Rows are stored last to first: a repeated row (mr = 2, 3) gets its own values last.
#define EB_STORE(i) \
  vst1q_f32(c##i, y##i##0), vst1q_f32(c##i + 4, y##i##1), vst1q_f32(c##i + 8, y##i##2), vst1q_f32(c##i + 12, y##i##3)
    if (R > 3) EB_STORE(3);
    if (R > 2) EB_STORE(2);
    if (R > 1) EB_STORE(1);
    EB_STORE(0);
#undef EB_STORE
    if (bounded) finish_rows(rows, R, nullptr, kNR, true, lo, hi);
    if (nc == kNR) return;
    c0 += kNR, c1 += kNR, c2 += kNR, c3 += kNR;
    nc -= kNR;
  }
}

}  // namespace

extern "C" void eb_qd8_gemm_minmax_ukernel_4x16c4__neondot(size_t mr, size_t nc, size_t kc, const void* a_,
                                                           size_t a_stride, const eb_qd8_row_params* rows,
                                                           const void* w, float* c, size_t c_stride, float output_min,
                                                           float output_max) {
  const int8_t* a = static_cast<const int8_t*>(a_);
  // The tile's row scales and negated zero points, one lane per row (a repeated row's lanes are its own): the 4
  // (scale, zp) pairs de-interleaved by one LD2.
  eb_qd8_row_params p4[4];
  for (size_t i = 0; i < 4; ++i) p4[i] = rows[i < mr ? i : mr - 1];
  const float32x4x2_t sz = vld2q_f32(reinterpret_cast<const float*>(p4));
  const float32x4_t scale = sz.val[0];
  const int32x4_t neg_zp = vnegq_s32(vreinterpretq_s32_f32(sz.val[1]));
  const int8_t* r1 = a + a_stride;
  float* c1 = c + c_stride;
  if (mr >= 2) {  // a tile of 2 or 3 repeats its last row (one instance for 2..4 rows: the code stays small)
    const int8_t* r2 = mr > 2 ? r1 + a_stride : r1;
    float* c2 = mr > 2 ? c1 + c_stride : c1;
    gemm_rows<4>(nc, kc, a, r1, r2, mr > 3 ? r2 + a_stride : r2, scale, neg_zp, w, c, c1, c2,
                 mr > 3 ? c2 + c_stride : c2, output_min, output_max);
  } else {
    gemm_rows<1>(nc, kc, a, a, a, a, scale, neg_zp, w, c, c, c, c, output_min, output_max);
  }
}
