// requant__neon.h: docs/quantization.md (4a), (4b), (5), (6) on 4 int32 lanes, for the neon / neondot kernels
// (armv7 and armv8). vqshlq_s32 is sat32(x · 2^left); vqrdmulhq_s32 is SRDHM (eq. 4a) exactly (it saturates only
// for −2^31 · −2^31, and m > 0); RDBPOT (eq. 4b) is spelled out as in requant.h.
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

static inline int32x4_t eb_requant_neon(int32x4_t acc, int32x4_t mult, int32x4_t left, int32x4_t right,
                                        int32x4_t lo, int32x4_t hi, int32x4_t zp) {
  const int32x4_t q = eb_mbqm_neon(acc, mult, left, right);
  return vaddq_s32(vmaxq_s32(vminq_s32(q, hi), lo), zp);
}

// Eight requantized lanes (already within int8) to bytes.
static inline int8x8_t eb_narrow8_neon(int32x4_t a, int32x4_t b) {
  return vqmovn_s16(vcombine_s16(vqmovn_s32(a), vqmovn_s32(b)));
}

#endif  // EDGEBUILD_REQUANT_NEON_H_
