// qs8_vadd_minmax__neon.cc: int8 elementwise ADD for NEON cores (armv7 and armv8, every ARM path).
// Reference twin: eb_qs8_vadd_ref (qs8-vadd/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc).
//
// Exactly eb_qs8_vadd_ref (docs/quantization.md (7)) lane by lane, for any loader-valid parameters. Every ADD the
// lowering emits (left_shift L = 20; the input with the larger scale has M = 0.5, i.e. m = 2^30, e = 0; the other
// e <= −1; the output e_y <= −1) takes the kFast loop, 16 lanes a step in ~50 instructions; other parameters take the
// general loop (the three MBQMs with every sat32 spelled out, 8 lanes a step).
//
// kFast, for 1 <= L <= 21, input a "linear" (m_a = 2^30, e_a = 0), input b linear or with e_b <= −1, e_y <= −1, and
// the bound below on |y|. d = x − zp in [−255, 255] (vsubl_s8: exact in int16). Why it is exact:
//  - sat32 does nothing on the input side: |d · 2^L| <= 255 · 2^21 < 2^31.
//  - Linear input: a' = SRDHM(d · 2^L, 2^30) = floor((d · 2^L · 2^30 + 2^30) / 2^31) = d · 2^(L−1) (RDBPOT by 0 is
//    the identity), formed as (d · 2^pa) · 2^(L−1−pa) with pa = max(L − 15, 0): |d · 2^pa| <= 255 · 64 fits int16,
//    2^(L−1−pa) <= 2^14 too, so one vmlal_s16 / vmull_s16 adds it in int32.
//  - Other input (r = −e_b >= 1): d · 2^L as vmull_s16 of d · 2^pb (pb = max(L − 14, 0), <= 255 · 128) and
//    2^(L−pb) <= 2^14; vqrdmulhq_s32 is SRDHM (4a) exactly (requant__neon.h); RDBPOT (4b) by r >= 1 is
//    vrshlq_s32(q − [q < 0], −r) (qs8_dwconv_minmax_2x16__neon.cc says why; q >= −2^31 + 1 as m <= 2^31 − 1).
//  - sum = a' + b': |a'| <= 255 · 2^(L−1) and an MBQM with e <= 0 does not grow its input (|b'| <= 255 · 2^L), so
//    |sum| < 2^31: the reference's sat32 does nothing and the int32 sum is exact. Both linear: sum = (d_a + d_b) ·
//    2^(L−1), with |d_a + d_b| · 2^pa <= 510 · 64 in int16.
//  - Output: u = SRDHM(sum, m_y) (e_y <= 0: no left shift), y = RDBPOT(u, r_y) as above. The caller checks
//    |y| + 128 <= 32767 from the bound on |sum| (fast_applies), so the low halves of the int32 lanes (uzp1 / vmovn)
//    are y exactly and y + zp_y is exact in int16; then sat8 and the clamp: clamp(y + zp_y, lo, hi) for
//    −128 <= lo <= hi <= 127, as the reference's eb_clamp_s8(eb_sat32(y + zp_y)).
//
// kLut (arm64, when the op planned a table: eb_qs8_vadd_table_neon, ~31 instructions per 16 outputs). The inputs
// are int8, so a' and b' each take 256 values A_i, B_j, and with r = −e_y >= 0, N = 31 + r, K = 2^30 + 2^(30+r)
// (2^30 when r = 0) the output of (7) before the clamp is floor((A·m_y + B·m_y + K) / 2^N) + zp_y (SRDHM's floor
// and RDBPOT's rounding folded into one floor; the round-half-away fix-up for u < 0 is left out, and the check
// below rejects the rare parameters where it matters). Split P = A·m_y and Q = B·m_y + K into floor(·/2^N) and the
// remainder mod 2^N: y = X_i + G_j + [φ_i >= 2^N − ψ_j]. The carry compares 256 numbers with 256 numbers, so only
// their order matters: R_i = #{j : θ_j <= φ_i} and R'_j = #{j' : θ_j' < θ_j} (θ = 2^N − ψ) give carry = [R_i > R'_j]
// in bytes (R_i = 256 is carry 1 always: X_i + 1, R_i = 0). X and G are then clamped to where they can change
// clamp(y, lo, hi) and shifted by ±t into int8 (X <= 126, so X + carry does not wrap). Four 256-byte tables
// (X, R, G, R'), indexed by the input bytes, looked up with TBL / TBX over four 64-byte chunks; then
// y = sqadd(X − mask, G) and the clamp. When X and G do not both fit int8 that way (an output scale that spreads one
// input over more than 256 codes: half of ResNet-18's ADDs), the wide mode (~37 per 16) keeps U = X − min X in
// [0, 254] and splits V = G + min X + 128 in [−255, 255] into two tables G+ − G−, and forms y + 128 in unsigned
// bytes: uqsub(uqadd(U + carry, G+), G−) = clamp(U + carry + V, 0, 255) as one of G+, G− is 0. When neither fits
// (both inputs over more than 254 codes) there is no table. The builder checks the result, lane by lane as the
// loop computes it, against eb_qs8_vadd_requant_ref on all 65536 input pairs and gives up (no table, the loops
// above) when any differs: exact by construction and by that check. Building costs ~65536 reference evaluations per
// ADD op, once, at load.
#include <arm_neon.h>
#include <string.h>

#include "../requant/requant__neon.h"
#include "edgebuild/requant.h"
#include "edgebuild/ukernels.h"
#include "edgebuild/ukernels_isa.h"

namespace {

#if defined(__aarch64__)
inline int16x8_t subl_hi(int8x16_t x, int8x16_t zp) { return vsubl_high_s8(x, zp); }
inline int16x8_t addl_hi(int8x16_t x, int8x16_t y) { return vaddl_high_s8(x, y); }
inline int32x4_t mull_hi(int16x8_t x, int16x4_t c) { return vmull_high_s16(x, vcombine_s16(c, c)); }
inline int32x4_t mlal_hi(int32x4_t a, int16x8_t x, int16x4_t c) { return vmlal_high_s16(a, x, vcombine_s16(c, c)); }
inline int16x8_t low_halves(int32x4_t a, int32x4_t b) {
  return vuzp1q_s16(vreinterpretq_s16_s32(a), vreinterpretq_s16_s32(b));
}
#else
inline int16x8_t subl_hi(int8x16_t x, int8x16_t zp) { return vsubl_s8(vget_high_s8(x), vget_high_s8(zp)); }
inline int16x8_t addl_hi(int8x16_t x, int8x16_t y) { return vaddl_s8(vget_high_s8(x), vget_high_s8(y)); }
inline int32x4_t mull_hi(int16x8_t x, int16x4_t c) { return vmull_s16(vget_high_s16(x), c); }
inline int32x4_t mlal_hi(int32x4_t a, int16x8_t x, int16x4_t c) { return vmlal_s16(a, vget_high_s16(x), c); }
inline int16x8_t low_halves(int32x4_t a, int32x4_t b) { return vcombine_s16(vmovn_s32(a), vmovn_s32(b)); }
#endif

// RDBPOT(SRDHM(x, m), r) for r >= 1 (the top of the file); neg_r = −r.
inline int32x4_t srdhm_rdbpot(int32x4_t x, int32x4_t m, int32x4_t neg_r) {
  const int32x4_t q = vqrdmulhq_s32(x, m);
  return vrshlq_s32(vsraq_n_s32(q, q, 31), neg_r);
}

struct Fast {
  int8x16_t zp_a, zp_b, lo, hi;
  int16x8_t pre_a, pre_b, zp_y, zp_ab;
  int16x4_t c_a, c_b;
  int32x4_t m_b, nr_b, m_y, nr_y;
};

// Sixteen outputs of the kFast loop (kLinB: both inputs linear).
template <bool kLinB>
inline int8x16_t fast16(const Fast& f, int8x16_t va, int8x16_t vb) {
  int32x4_t sum[4];
  if (kLinB) {  // (d_a + d_b) · 2^(L−1)
    const int16x8_t s0 = vshlq_s16(vsubq_s16(vaddl_s8(vget_low_s8(va), vget_low_s8(vb)), f.zp_ab), f.pre_a);
    const int16x8_t s1 = vshlq_s16(vsubq_s16(addl_hi(va, vb), f.zp_ab), f.pre_a);
    sum[0] = vmull_s16(vget_low_s16(s0), f.c_a);
    sum[1] = mull_hi(s0, f.c_a);
    sum[2] = vmull_s16(vget_low_s16(s1), f.c_a);
    sum[3] = mull_hi(s1, f.c_a);
  } else {
    const int16x8_t a0 = vshlq_s16(vsubl_s8(vget_low_s8(va), vget_low_s8(f.zp_a)), f.pre_a);
    const int16x8_t a1 = vshlq_s16(subl_hi(va, f.zp_a), f.pre_a);
    const int16x8_t b0 = vshlq_s16(vsubl_s8(vget_low_s8(vb), vget_low_s8(f.zp_b)), f.pre_b);
    const int16x8_t b1 = vshlq_s16(subl_hi(vb, f.zp_b), f.pre_b);
    sum[0] = vmlal_s16(srdhm_rdbpot(vmull_s16(vget_low_s16(b0), f.c_b), f.m_b, f.nr_b), vget_low_s16(a0), f.c_a);
    sum[1] = mlal_hi(srdhm_rdbpot(mull_hi(b0, f.c_b), f.m_b, f.nr_b), a0, f.c_a);
    sum[2] = vmlal_s16(srdhm_rdbpot(vmull_s16(vget_low_s16(b1), f.c_b), f.m_b, f.nr_b), vget_low_s16(a1), f.c_a);
    sum[3] = mlal_hi(srdhm_rdbpot(mull_hi(b1, f.c_b), f.m_b, f.nr_b), a1, f.c_a);
  }
  const int16x8_t y0 =
      vaddq_s16(low_halves(srdhm_rdbpot(sum[0], f.m_y, f.nr_y), srdhm_rdbpot(sum[1], f.m_y, f.nr_y)), f.zp_y);
  const int16x8_t y1 =
      vaddq_s16(low_halves(srdhm_rdbpot(sum[2], f.m_y, f.nr_y), srdhm_rdbpot(sum[3], f.m_y, f.nr_y)), f.zp_y);
  int8x16_t y = vcombine_s8(vqmovn_s16(y0), vqmovn_s16(y1));
  y = vminq_s8(vmaxq_s8(y, f.lo), f.hi);  // always: one instantiation less (size budget); a no-op for all of int8
  return y;
}

template <bool kLinB>
void vadd_fast(const eb_qs8_vadd_params* p, size_t count, const int8_t* a, const int8_t* b, int8_t* output) {
  const int32_t L = p->left_shift, pa = L > 15 ? L - 15 : 0, pb = L > 14 ? L - 14 : 0;
  Fast f;
  f.zp_a = vdupq_n_s8((int8_t)p->a_zero_point);
  f.zp_b = vdupq_n_s8((int8_t)p->b_zero_point);
  f.zp_ab = vdupq_n_s16((int16_t)(p->a_zero_point + p->b_zero_point));
  f.lo = vdupq_n_s8((int8_t)p->output_min);
  f.hi = vdupq_n_s8((int8_t)p->output_max);
  f.pre_a = vdupq_n_s16((int16_t)pa);
  f.pre_b = vdupq_n_s16((int16_t)pb);
  f.zp_y = vdupq_n_s16((int16_t)p->output_zero_point);
  f.c_a = vdup_n_s16((int16_t)(1 << (L - 1 - pa)));
  f.c_b = vdup_n_s16((int16_t)(1 << (L - pb)));
  f.m_b = vdupq_n_s32(p->b_multiplier);
  f.nr_b = vdupq_n_s32(p->b_shift);  // e_b = −r_b
  f.m_y = vdupq_n_s32(p->output_multiplier);
  f.nr_y = vdupq_n_s32(p->output_shift);
  size_t i = 0;
  for (; count - i >= 32; i += 32) {  // two independent chains (in-order cores wait on each one's latency)
    const int8x16_t y0 = fast16<kLinB>(f, vld1q_s8(a + i), vld1q_s8(b + i));
    const int8x16_t y1 = fast16<kLinB>(f, vld1q_s8(a + i + 16), vld1q_s8(b + i + 16));
    vst1q_s8(output + i, y0);
    vst1q_s8(output + i + 16, y1);
  }
  for (; count - i >= 16; i += 16) vst1q_s8(output + i, fast16<kLinB>(f, vld1q_s8(a + i), vld1q_s8(b + i)));
  if (i < count) {  // the tail through a 16-byte stack copy
    int8_t ta[16] = {0}, tb[16] = {0}, ty[16];
    memcpy(ta, a + i, count - i);
    memcpy(tb, b + i, count - i);
    vst1q_s8(ty, fast16<kLinB>(f, vld1q_s8(ta), vld1q_s8(tb)));
    memcpy(output + i, ty, count - i);
  }
}

bool linear(int32_t m, int32_t e) { return m == (1 << 30) && e == 0; }

// The kFast conditions of the top of the file, with a linear (a linear or with e_b <= −1).
bool fast_applies(const eb_qs8_vadd_params* p) {
  const int32_t L = p->left_shift;
  if (L < 1 || L > 21 || p->output_shift > -1 || !linear(p->a_multiplier, p->a_shift)) return false;
  if (!linear(p->b_multiplier, p->b_shift) && p->b_shift > -1) return false;
  // |sum| <= 255 · 2^(L−1) + 255 · 2^L; |u| <= |sum| · m_y / 2^31 + 1; |y| <= |u| / 2^r_y + 1.
  const uint64_t sum = (uint64_t)255 * 3 << (L - 1);
  const uint64_t u = (sum * (uint64_t)(uint32_t)p->output_multiplier >> 31) + 1;
  return (u >> -p->output_shift) + 1 + 128 <= 32767;
}

// The general loop: every parameter the loader accepts, 8 lanes a step.
void vadd_general(const eb_qs8_vadd_params* p, size_t count, const int8_t* a, const int8_t* b, int8_t* output) {
  const int16x8_t zp_a = vdupq_n_s16((int16_t)p->a_zero_point), zp_b = vdupq_n_s16((int16_t)p->b_zero_point);
  const int32x4_t ls = vdupq_n_s32(p->left_shift);
  const int32x4_t m_a = vdupq_n_s32(p->a_multiplier), m_b = vdupq_n_s32(p->b_multiplier);
  const int32x4_t m_y = vdupq_n_s32(p->output_multiplier);
  const int32x4_t l_a = vdupq_n_s32(p->a_shift > 0 ? p->a_shift : 0);
  const int32x4_t r_a = vdupq_n_s32(p->a_shift < 0 ? -p->a_shift : 0);
  const int32x4_t l_b = vdupq_n_s32(p->b_shift > 0 ? p->b_shift : 0);
  const int32x4_t r_b = vdupq_n_s32(p->b_shift < 0 ? -p->b_shift : 0);
  const int32x4_t l_y = vdupq_n_s32(p->output_shift > 0 ? p->output_shift : 0);
  const int32x4_t r_y = vdupq_n_s32(p->output_shift < 0 ? -p->output_shift : 0);
  const int32x4_t zp_y = vdupq_n_s32(p->output_zero_point);
  const int32x4_t lo = vdupq_n_s32(p->output_min - p->output_zero_point);
  const int32x4_t hi = vdupq_n_s32(p->output_max - p->output_zero_point);
  for (size_t i = 0; i < count; i += 8) {
    const size_t n = count - i < 8 ? count - i : 8;
    int8x8_t va, vb;
    if (n == 8) {
      va = vld1_s8(a + i);
      vb = vld1_s8(b + i);
    } else {
      int8_t ta[8] = {0}, tb[8] = {0};
      memcpy(ta, a + i, n);
      memcpy(tb, b + i, n);
      va = vld1_s8(ta);
      vb = vld1_s8(tb);
    }
    // q − zp fits int16 (|.| <= 255); widen to int32 before the saturating shift. vqshlq_s32 is the reference's
    // sat32(x · 2^left_shift), vqaddq_s32 its sat32(a' + b'), and eb_mbqm_neon its MBQM.
    const int16x8_t xa = vsubq_s16(vmovl_s8(va), zp_a), xb = vsubq_s16(vmovl_s8(vb), zp_b);
    int32x4_t y[2];
    for (int h = 0; h < 2; ++h) {
      const int32x4_t wa = vmovl_s16(h ? vget_high_s16(xa) : vget_low_s16(xa));
      const int32x4_t wb = vmovl_s16(h ? vget_high_s16(xb) : vget_low_s16(xb));
      const int32x4_t ra = eb_mbqm_neon(vqshlq_s32(wa, ls), m_a, l_a, r_a);
      const int32x4_t rb = eb_mbqm_neon(vqshlq_s32(wb, ls), m_b, l_b, r_b);
      y[h] = eb_requant_neon(vqaddq_s32(ra, rb), m_y, l_y, r_y, lo, hi, zp_y);
    }
    const int8x8_t bytes = eb_narrow8_neon(y[0], y[1]);
    if (n == 8) {
      vst1_s8(output + i, bytes);
    } else {
      int8_t t[8];
      vst1_s8(t, bytes);
      memcpy(output + i, t, n);
    }
  }
}

template <bool kLinB>
void vadd_fast_range(const eb_qs8_vadd_params* p, size_t count, const int8_t* a, const int8_t* b, int8_t* output) {
  vadd_fast<kLinB>(p, count, a, b, output);
}

#if defined(__aarch64__)
// kLut's loop, 64 outputs a step, in inline asm: with intrinsics GCC 12 spills (the four-register TBL tables need
// consecutive registers; measured 219 instructions per 64 outputs, most of them moves and spills). One table pointer
// walks the table in the order they are used (build_table's layout: for a, per chunk c of 64 entries, X then R;
// then for b, G then R'), so every table load is one post-incremented ld1. Chunk c's index is the byte − 64c
// (>= 64, TBX keeps the lane, outside the chunk). v8–v11 X, v12–v15 R, v16–v19 G, v20–v23 R'; v4–v7 the indices.
#define EB_VADD_LUT_SIDE(X0, X1, X2, X3, R0, R1, R2, R3)                              \
  "ld1 {v0.16b-v3.16b}, [%[tp]], #64\n"                                               \
  "tbl " X0 ".16b, {v0.16b-v3.16b}, v4.16b\n tbl " X1                                 \
  ".16b, {v0.16b-v3.16b}, v5.16b\n"                                                   \
  "tbl " X2 ".16b, {v0.16b-v3.16b}, v6.16b\n tbl " X3                                 \
  ".16b, {v0.16b-v3.16b}, v7.16b\n"                                                   \
  "ld1 {v0.16b-v3.16b}, [%[tp]], #64\n"                                               \
  "tbl " R0 ".16b, {v0.16b-v3.16b}, v4.16b\n tbl " R1                                 \
  ".16b, {v0.16b-v3.16b}, v5.16b\n"                                                   \
  "tbl " R2 ".16b, {v0.16b-v3.16b}, v6.16b\n tbl " R3                                 \
  ".16b, {v0.16b-v3.16b}, v7.16b\n" EB_VADD_LUT_CHUNK(X0, X1, X2, X3, R0, R1, R2, R3) \
      EB_VADD_LUT_CHUNK(X0, X1, X2, X3, R0, R1, R2, R3) EB_VADD_LUT_CHUNK(X0, X1, X2, X3, R0, R1, R2, R3)
#define EB_VADD_LUT_CHUNK(X0, X1, X2, X3, R0, R1, R2, R3)       \
  "sub v4.16b, v4.16b, v24.16b\n sub v5.16b, v5.16b, v24.16b\n" \
  "sub v6.16b, v6.16b, v24.16b\n sub v7.16b, v7.16b, v24.16b\n" \
  "ld1 {v0.16b-v3.16b}, [%[tp]], #64\n"                         \
  "tbx " X0 ".16b, {v0.16b-v3.16b}, v4.16b\n tbx " X1           \
  ".16b, {v0.16b-v3.16b}, v5.16b\n"                             \
  "tbx " X2 ".16b, {v0.16b-v3.16b}, v6.16b\n tbx " X3           \
  ".16b, {v0.16b-v3.16b}, v7.16b\n"                             \
  "ld1 {v0.16b-v3.16b}, [%[tp]], #64\n"                         \
  "tbx " R0 ".16b, {v0.16b-v3.16b}, v4.16b\n tbx " R1           \
  ".16b, {v0.16b-v3.16b}, v5.16b\n"                             \
  "tbx " R2 ".16b, {v0.16b-v3.16b}, v6.16b\n tbx " R3 ".16b, {v0.16b-v3.16b}, v7.16b\n"
#define EB_VADD_LUT_BODY \
  "mov %[tp], %[t]\n"                                                                                        \
  "ld1 {v4.16b-v7.16b}, [%[a]], #64\n" EB_VADD_LUT_SIDE("v8", "v9", "v10", "v11", "v12", "v13", "v14", "v15") \
  "ld1 {v4.16b-v7.16b}, [%[b]], #64\n" EB_VADD_LUT_SIDE("v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23") \
  "cmhi v12.16b, v12.16b, v20.16b\n cmhi v13.16b, v13.16b, v21.16b\n"                                        \
  "cmhi v14.16b, v14.16b, v22.16b\n cmhi v15.16b, v15.16b, v23.16b\n"                                        \
  "sub v8.16b, v8.16b, v12.16b\n sub v9.16b, v9.16b, v13.16b\n"                                              \
  "sub v10.16b, v10.16b, v14.16b\n sub v11.16b, v11.16b, v15.16b\n"                                          \
  "sqadd v8.16b, v8.16b, v16.16b\n sqadd v9.16b, v9.16b, v17.16b\n"                                          \
  "sqadd v10.16b, v10.16b, v18.16b\n sqadd v11.16b, v11.16b, v19.16b\n"
// Wide mode (build_table): b's side has three tables, G+ (v16–v19), G− (v25–v28) and R' (v20–v23), and the sum is
// formed in the unsigned domain y + 128: uqsub(uqadd(U − mask, G+), G−) (one of G+, G− is 0 in every entry), then
// eor 0x80 (v29) gives y.
#define EB_VADD_LUT_LOOK(OP, Y0, Y1, Y2, Y3)                                                  \
  "ld1 {v0.16b-v3.16b}, [%[tp]], #64\n" OP " " Y0 ".16b, {v0.16b-v3.16b}, v4.16b\n" OP " " Y1 \
  ".16b, {v0.16b-v3.16b}, v5.16b\n" OP " " Y2 ".16b, {v0.16b-v3.16b}, v6.16b\n" OP " " Y3     \
  ".16b, {v0.16b-v3.16b}, v7.16b\n"
#define EB_VADD_LUT_NEXT                                        \
  "sub v4.16b, v4.16b, v24.16b\n sub v5.16b, v5.16b, v24.16b\n" \
  "sub v6.16b, v6.16b, v24.16b\n sub v7.16b, v7.16b, v24.16b\n"
#define EB_VADD_LUT_CHUNK3(OP)                     \
  EB_VADD_LUT_LOOK(OP, "v16", "v17", "v18", "v19") \
  EB_VADD_LUT_LOOK(OP, "v25", "v26", "v27", "v28") EB_VADD_LUT_LOOK(OP, "v20", "v21", "v22", "v23")
#define EB_VADD_LUT_BODY_WIDE \
  "mov %[tp], %[t]\n"                                                                                        \
  "ld1 {v4.16b-v7.16b}, [%[a]], #64\n" EB_VADD_LUT_SIDE("v8", "v9", "v10", "v11", "v12", "v13", "v14", "v15") \
  "ld1 {v4.16b-v7.16b}, [%[b]], #64\n" EB_VADD_LUT_CHUNK3("tbl") EB_VADD_LUT_NEXT EB_VADD_LUT_CHUNK3("tbx")    \
  EB_VADD_LUT_NEXT EB_VADD_LUT_CHUNK3("tbx") EB_VADD_LUT_NEXT EB_VADD_LUT_CHUNK3("tbx")                      \
  "cmhi v12.16b, v12.16b, v20.16b\n cmhi v13.16b, v13.16b, v21.16b\n"                                        \
  "cmhi v14.16b, v14.16b, v22.16b\n cmhi v15.16b, v15.16b, v23.16b\n"                                        \
  "sub v8.16b, v8.16b, v12.16b\n sub v9.16b, v9.16b, v13.16b\n"                                              \
  "sub v10.16b, v10.16b, v14.16b\n sub v11.16b, v11.16b, v15.16b\n"                                          \
  "uqadd v8.16b, v8.16b, v16.16b\n uqadd v9.16b, v9.16b, v17.16b\n"                                          \
  "uqadd v10.16b, v10.16b, v18.16b\n uqadd v11.16b, v11.16b, v19.16b\n"                                      \
  "uqsub v8.16b, v8.16b, v25.16b\n uqsub v9.16b, v9.16b, v26.16b\n"                                          \
  "uqsub v10.16b, v10.16b, v27.16b\n uqsub v11.16b, v11.16b, v28.16b\n"                                      \
  "eor v8.16b, v8.16b, v29.16b\n eor v9.16b, v9.16b, v29.16b\n"                                              \
  "eor v10.16b, v10.16b, v29.16b\n eor v11.16b, v11.16b, v29.16b\n"
#define EB_VADD_LUT_CLAMP                                                 \
  "smax v8.16b, v8.16b, %[lo].16b\n smax v9.16b, v9.16b, %[lo].16b\n"     \
  "smax v10.16b, v10.16b, %[lo].16b\n smax v11.16b, v11.16b, %[lo].16b\n" \
  "smin v8.16b, v8.16b, %[hi].16b\n smin v9.16b, v9.16b, %[hi].16b\n"     \
  "smin v10.16b, v10.16b, %[hi].16b\n smin v11.16b, v11.16b, %[hi].16b\n"
#define EB_VADD_LUT_CLOBBERS                                                                                     \
  "memory", "cc", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v14", \
      "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29"

// n >= 1 steps of 64 outputs.
template <bool kClamp, bool kWide>
void lut64(const uint8_t* t, size_t n, const int8_t* a, const int8_t* b, int8_t* y, int8x16_t lo, int8x16_t hi) {
  const uint8_t* tp;
#define EB_VADD_LUT_ASM(BODY)                                              \
  __asm__ volatile(                                                        \
      "movi v24.16b, #64\n movi v29.16b, #0x80\n"                          \
      "1:\n" BODY                                                          \
      "st1 {v8.16b-v11.16b}, [%[y]], #64\n"                                \
      "subs %[n], %[n], #1\n"                                              \
      "b.ne 1b\n"                                                          \
      : [a] "+r"(a), [b] "+r"(b), [y] "+r"(y), [n] "+r"(n), [tp] "=&r"(tp) \
      : [t] "r"(t), [lo] "w"(lo), [hi] "w"(hi)                             \
      : EB_VADD_LUT_CLOBBERS)
  if (kWide && kClamp) EB_VADD_LUT_ASM(EB_VADD_LUT_BODY_WIDE EB_VADD_LUT_CLAMP);
  if (kWide && !kClamp) EB_VADD_LUT_ASM(EB_VADD_LUT_BODY_WIDE);
  if (!kWide && kClamp) EB_VADD_LUT_ASM(EB_VADD_LUT_BODY EB_VADD_LUT_CLAMP);
  if (!kWide && !kClamp) EB_VADD_LUT_ASM(EB_VADD_LUT_BODY);
#undef EB_VADD_LUT_ASM
}

template <bool kClamp, bool kWide>
void vadd_lut(const eb_qs8_vadd_params* p, size_t count, const int8_t* a, const int8_t* b, int8_t* output) {
  const int8x16_t lo = vdupq_n_s8((int8_t)p->output_min), hi = vdupq_n_s8((int8_t)p->output_max);
  const size_t n = count / 64, i = n * 64;
  if (n > 0) lut64<kClamp, kWide>(p->table, n, a, b, output, lo, hi);
  if (i < count) {  // the tail through 64-byte stack copies
    int8_t ta[64] = {0}, tb[64] = {0}, ty[64];
    memcpy(ta, a + i, count - i);
    memcpy(tb, b + i, count - i);
    lut64<kClamp, kWide>(p->table, 1, ta, tb, ty, lo, hi);
    memcpy(output + i, ty, count - i);
  }
}

// build_table's layout (the order EB_VADD_LUT_BODY loads it): entry i of X, R (input a), G, R' (input b).
inline size_t at_x(int i) { return (size_t)(128 * (i / 64) + i % 64); }
inline size_t at_r(int i) { return at_x(i) + 64; }
inline size_t at_g(int i) { return at_x(i) + 512; }
inline size_t at_rb(int i) { return at_x(i) + 576; }
// Wide mode: b's side per chunk G+, G−, R' (192 bytes); the mode byte after both layouts.
inline size_t at_gp(int i) { return (size_t)(512 + 192 * (i / 64) + i % 64); }
inline size_t at_gn(int i) { return at_gp(i) + 64; }
inline size_t at_rbw(int i) { return at_gp(i) + 128; }
constexpr size_t kModeByte = 1280;
static_assert(kModeByte < EB_QS8_VADD_TABLE_BYTES, "the table ends with its mode byte");

// kLut's tables: the comment at the top of the file. The scalar reference math (requant.h) gives a' and b'.
int build_table(const eb_qs8_vadd_params* p, uint8_t* table) {
  const int32_t m = p->output_multiplier, r = -p->output_shift;
  if (p->output_shift > 0 || r > 31 || m < (1 << 30)) return 0;
  const int32_t N = 31 + r;
  const uint64_t one = (uint64_t)1 << N, mask = one - 1;
  const int64_t K = ((int64_t)1 << 30) + (r > 0 ? (int64_t)1 << (30 + r) : 0);
  const int64_t scale_up = (int64_t)1 << p->left_shift;
  int64_t X[256], G[256];
  uint64_t phi[256], theta[256], sorted[256];
  for (int i = 0; i < 256; ++i) {
    const int32_t q = (int8_t)(uint8_t)i;  // entry i: the input byte i
    const int32_t A = eb_mbqm(eb_sat32(((int64_t)q - p->a_zero_point) * scale_up), p->a_multiplier, p->a_shift);
    const int32_t B = eb_mbqm(eb_sat32(((int64_t)q - p->b_zero_point) * scale_up), p->b_multiplier, p->b_shift);
    if (A >= (1 << 30) || A <= -(1 << 30) || B >= (1 << 30) || B <= -(1 << 30)) return 0;  // |P|, |Q| < 2^62
    const int64_t P = (int64_t)A * m, Q = (int64_t)B * m + K;
    X[i] = P >> N;  // arithmetic shift: floor
    phi[i] = (uint64_t)P & mask;
    G[i] = (Q >> N) + p->output_zero_point;
    theta[i] = one - ((uint64_t)Q & mask);
    sorted[i] = theta[i];
  }
  for (int i = 1; i < 256; ++i) {  // insertion sort
    const uint64_t v = sorted[i];
    int j = i;
    for (; j > 0 && sorted[j - 1] > v; --j) sorted[j] = sorted[j - 1];
    sorted[j] = v;
  }
  uint8_t R[256], Rb[256];
  for (int i = 0; i < 256; ++i) {
    int lo = 0, hi = 256;  // #{θ <= φ_i}
    while (lo < hi) {
      const int mid = (lo + hi) / 2;
      if (sorted[mid] <= phi[i])
        lo = mid + 1;
      else
        hi = mid;
    }
    if (lo == 256) X[i] += 1, lo = 0;
    R[i] = (uint8_t)lo;
    lo = 0, hi = 256;  // #{θ < θ_i}
    while (lo < hi) {
      const int mid = (lo + hi) / 2;
      if (sorted[mid] < theta[i])
        lo = mid + 1;
      else
        hi = mid;
    }
    Rb[i] = (uint8_t)lo;
  }
  // Clamp X and G to where they can still change clamp(X + G + carry, lo, hi), then shift into int8.
  const int64_t ylo = p->output_min, yhi = p->output_max;
  int64_t gmin = G[0], gmax = G[0];
  for (int i = 1; i < 256; ++i) gmin = G[i] < gmin ? G[i] : gmin, gmax = G[i] > gmax ? G[i] : gmax;
  int64_t xmin = INT64_MAX, xmax = INT64_MIN;
  for (int i = 0; i < 256; ++i) {
    X[i] = X[i] < ylo - 1 - gmax ? ylo - 1 - gmax : (X[i] > yhi - gmin ? yhi - gmin : X[i]);
    xmin = X[i] < xmin ? X[i] : xmin, xmax = X[i] > xmax ? X[i] : xmax;
  }
  gmin = INT64_MAX, gmax = INT64_MIN;
  for (int i = 0; i < 256; ++i) {
    G[i] = G[i] < ylo - 1 - xmax ? ylo - 1 - xmax : (G[i] > yhi - xmin ? yhi - xmin : G[i]);
    gmin = G[i] < gmin ? G[i] : gmin, gmax = G[i] > gmax ? G[i] : gmax;
  }
  const int64_t t_lo = -128 - xmin > gmax - 127 ? -128 - xmin : gmax - 127;
  const int64_t t_hi = 126 - xmax < gmin + 128 ? 126 - xmax : gmin + 128;
  const bool wide = t_lo > t_hi;
  if (wide) {  // U = X − xmin in [0, 254], V = G + xmin + 128 in [−255, 255] as G+ − G−
    if (xmax - xmin > 254 || gmin + xmin + 128 < -255 || gmax + xmin + 128 > 255) return 0;
    for (int i = 0; i < 256; ++i) {
      const int64_t v = G[i] + xmin + 128;
      table[at_x(i)] = (uint8_t)(X[i] - xmin);
      table[at_r(i)] = R[i];
      table[at_gp(i)] = (uint8_t)(v > 0 ? v : 0);
      table[at_gn(i)] = (uint8_t)(v < 0 ? -v : 0);
      table[at_rbw(i)] = Rb[i];
    }
  } else {
    for (int i = 0; i < 256; ++i) {
      table[at_x(i)] = (uint8_t)(int8_t)(X[i] + t_lo);
      table[at_r(i)] = R[i];
      table[at_g(i)] = (uint8_t)(int8_t)(G[i] - t_lo);
      table[at_rb(i)] = Rb[i];
    }
  }
  table[kModeByte] = wide ? 1 : 0;
  // The check: lut64's arithmetic, lane by lane, against the reference on every input pair.
  for (int i = 0; i < 256; ++i) {
    for (int j = 0; j < 256; ++j) {
      int32_t s;
      if (wide) {
        s = table[at_x(i)] + (table[at_r(i)] > table[at_rbw(j)] ? 1 : 0) + table[at_gp(j)];
        s = (s > 255 ? 255 : s) - table[at_gn(j)];
        s = (s < 0 ? 0 : s) - 128;
      } else {
        s = (int8_t)table[at_x(i)] + (table[at_r(i)] > table[at_rb(j)] ? 1 : 0) + (int8_t)table[at_g(j)];
        s = s < -128 ? -128 : (s > 127 ? 127 : s);
      }
      if (eb_clamp_s8(s, p->output_min, p->output_max) !=
          eb_qs8_vadd_requant_ref(p, (int8_t)(uint8_t)i, (int8_t)(uint8_t)j, 0))
        return 0;
    }
  }
  return 1;
}
#endif
}  // namespace

extern "C" int eb_qs8_vadd_table_neon(const eb_qs8_vadd_params* p, uint8_t* table) {
#if defined(__aarch64__)
  return build_table(p, table);
#else
  (void)p, (void)table;
  return 0;  // armv7 has no 64-byte TBL: the SIMD loops
#endif
}

extern "C" void eb_qs8_vadd_minmax_ukernel__neon(const eb_qs8_vadd_params* p, size_t count, const int8_t* a,
                                                 const int8_t* b, int8_t* output) {
#if defined(__aarch64__)
  if (p->table != NULL) {
    const bool full = p->output_min == -128 && p->output_max == 127;
    if (p->table[kModeByte]) {
      if (full) return vadd_lut<false, true>(p, count, a, b, output);
      return vadd_lut<true, true>(p, count, a, b, output);
    }
    if (full) return vadd_lut<false, false>(p, count, a, b, output);
    return vadd_lut<true, false>(p, count, a, b, output);
  }
#endif
  if (!linear(p->a_multiplier, p->a_shift) && linear(p->b_multiplier, p->b_shift)) {
    eb_qs8_vadd_params q = *p;  // a' + b' = b' + a': the linear input first
    q.a_zero_point = p->b_zero_point;
    q.a_multiplier = p->b_multiplier;
    q.a_shift = p->b_shift;
    q.b_zero_point = p->a_zero_point;
    q.b_multiplier = p->a_multiplier;
    q.b_shift = p->a_shift;
    if (fast_applies(&q)) return vadd_fast_range<false>(&q, count, b, a, output);
  } else if (fast_applies(p)) {
    if (linear(p->b_multiplier, p->b_shift)) return vadd_fast_range<true>(p, count, a, b, output);
    return vadd_fast_range<false>(p, count, a, b, output);
  }
  vadd_general(p, count, a, b, output);
}
