// requant__mve.h: docs/quantization.md (5) and (6)'s output step on four int32 lanes of Cortex-M55 MVE (Helium),
// bit-identical to eb_mbqm + zp + clamp (edgebuild/requant.h). Shared by the MVE depthwise and ADD kernels.
#ifndef EDGEBUILD_UKERNELS_REQUANT_MVE_H_
#define EDGEBUILD_UKERNELS_REQUANT_MVE_H_

#include <arm_mve.h>
#include <stdint.h>

// MBQM(x, m, e) per lane, with left = max(e, 0) and rneg = min(e, 0) (= −n, n the right shift):
//   s = vqshlq_s32(x, left)          sat32(x·2^left): VQSHL (register) saturates, eq. (5)
//   q = vqrdmulhq_s32(s, m)          SRDHM, eq. (4a): (2·s·m + 2^31) >> 32 = floor((s·m + 2^30) / 2^31), which equals
//                                    (4a)'s truncating division with its negative nudge, saturating only at −2^31·−2^31
//   q = q + ((q & rneg) >> 31)       q − [q < 0] when n > 0 (rneg's sign bit is set), unchanged when n = 0;
//                                    saturating, so q = −2^31 stays (its RDBPOT is the same: no tie at −2^31)
//   y = vrshlq_s32(q, rneg)          floor((q' + 2^(n−1)) / 2^n): MVE rounds half up, so subtracting 1 from a
//                                    negative q moves exactly its ties down, i.e. away from zero: RDBPOT, eq. (4b)
// (q = Q·2^n + R, 0 <= R < 2^n: q >= 0 gives Q + [R >= 2^(n−1)], q < 0 gives Q + [R > 2^(n−1)], (4b)'s r > t.)
static inline int32x4_t eb_mbqm_mve(int32x4_t x, int32x4_t m, int32x4_t left, int32x4_t rneg) {
  const int32x4_t q = vqrdmulhq_s32(vqshlq_s32(x, left), m);
  return vrshlq_s32(vqaddq_s32(q, vshrq_n_s32(vandq_s32(q, rneg), 31)), rneg);
}

// (6)'s output: clamp(sat32(q + zp_y), lo, hi), lanes still int32 (a narrowing store then writes the low bytes).
static inline int32x4_t eb_zp_clamp_mve(int32x4_t q, int32_t zp, int32x4_t lo, int32x4_t hi) {
  return vminq_s32(vmaxq_s32(vqaddq_n_s32(q, zp), lo), hi);
}

#endif  // EDGEBUILD_UKERNELS_REQUANT_MVE_H_
