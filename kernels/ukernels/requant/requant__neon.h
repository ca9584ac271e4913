// requant__neon.h: docs/quantization.md (4a), (4b), (5), (6) on 4 int32 lanes, for the neon / neondot / i8mm
// kernels (armv7 and armv8). vqshlq_s32 is sat32(x · 2^left); vqrdmulhq_s32 is SRDHM (eq. 4a) exactly (it saturates
// only for −2^31 · −2^31, and m > 0); RDBPOT (eq. 4b) is spelled out as in requant.h.
// Reference twin: eb_srdhm, eb_rdbpot, eb_mbqm in edgebuild/requant.h, which every lane equals bit for bit.
#ifndef EDGEBUILD_REQUANT_NEON_H_
#define EDGEBUILD_REQUANT_NEON_H_

#include <arm_neon.h>

// MBQM(acc, mult, e) of docs/quantization.md (5), exactly as eb_mbqm (left = max(e, 0), right = max(−e, 0)).
static inline int32x4_t eb_mbqm_neon(int32x4_t acc, int32x4_t mult, int32x4_t left, int32x4_t right) {
  const int32x4_t one = vdupq_n_s32(1);
  int32x4_t q = vqrdmulhq_s32(vqshlq_s32(acc, left), mult);
  const int32x4_t mask = vsubq_s32(vshlq_s32(one, right), one);
  const int32x4_t rem = vandq_s32(q, mask);
  const int32x4_t threshold = vsubq_s32(vshrq_n_s32(mask, 1), vshrq_n_s32(q, 31));
  q = vshlq_s32(q, vnegq_s32(right));  // arithmetic shift right by `right`
  return vsubq_s32(q, vreinterpretq_s32_u32(vcgtq_s32(rem, threshold)));
}

static inline int32x4_t eb_requant_neon(int32x4_t acc, int32x4_t mult, int32x4_t left, int32x4_t right, int32x4_t lo,
                                        int32x4_t hi, int32x4_t zp) {
  const int32x4_t q = eb_mbqm_neon(acc, mult, left, right);
  return vaddq_s32(vmaxq_s32(vminq_s32(q, hi), lo), zp);
}

// MBQM as above with RDBPOT (4b) as a saturating "x − 1 when x < 0" and SRSHL by −n (rounds half up, summing in
// infinite precision): for x = q·2^n + r, 0 ≤ r < 2^n, x < 0 gives q + [r − 1 + 2^(n−1) ≥ 2^n] = q + [r > 2^(n−1)],
// x ≥ 0 gives q + [r ≥ 2^(n−1)]: (4b)'s r > t in both cases; x = INT32_MIN saturates to itself and gives q, as (4b)
// does (r = 0); n = 0 adds 0 and shifts by 0. neg_right = −max(−e, 0) per lane. 4 instructions instead of 6, and
// the per-column constant is one negation.
static inline int32x4_t eb_mbqm_rshl_neon(int32x4_t acc, int32x4_t mult, int32x4_t left, int32x4_t neg_right) {
  const int32x4_t q = vqrdmulhq_s32(vqshlq_s32(acc, left), mult);
  const int32x4_t fixup = vshrq_n_s32(vandq_s32(q, neg_right), 31);  // −1 where q < 0 and n > 0
  return vrshlq_s32(vqaddq_s32(q, fixup), neg_right);
}

// eb_mbqm_rshl_neon for columns whose exponent e <= 0 (left = 0): sat32(acc · 2^0) = acc, so the SQSHL is left out.
static inline int32x4_t eb_mbqm_rshr_neon(int32x4_t acc, int32x4_t mult, int32x4_t neg_right) {
  const int32x4_t q = vqrdmulhq_s32(acc, mult);
  const int32x4_t fixup = vshrq_n_s32(vandq_s32(q, neg_right), 31);
  return vrshlq_s32(vqaddq_s32(q, fixup), neg_right);
}

// Sixteen MBQM results to bytes: docs/quantization.md (6) as sat8(sat16(sat16(q) + zp_y)) clamped to
// [act_min, act_max]. Equal to clamp(q + zp_y, act_min, act_max) for every int32 q: |zp_y| ≤ 128, so a q that
// saturates int16 lands beyond int8 on the same side either way.
static inline int8x16_t eb_narrow16_zp_neon(int32x4_t q0, int32x4_t q1, int32x4_t q2, int32x4_t q3, int16x8_t zp,
                                            int8x16_t act_min, int8x16_t act_max) {
  const int16x8_t lo = vqaddq_s16(vcombine_s16(vqmovn_s32(q0), vqmovn_s32(q1)), zp);
  const int16x8_t hi = vqaddq_s16(vcombine_s16(vqmovn_s32(q2), vqmovn_s32(q3)), zp);
  return vminq_s8(vmaxq_s8(vcombine_s8(vqmovn_s16(lo), vqmovn_s16(hi)), act_min), act_max);
}

// Eight requantized lanes (already within int8) to bytes.
static inline int8x8_t eb_narrow8_neon(int32x4_t a, int32x4_t b) {
  return vqmovn_s16(vcombine_s16(vqmovn_s32(a), vqmovn_s32(b)));
}

#endif  // EDGEBUILD_REQUANT_NEON_H_
