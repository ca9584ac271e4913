// requant/requant__dsp.h: the Cortex-M DSP-extension lanes of edgebuild/requant.h, shared by the __dsp kernels.
//
// MBQM (docs/quantization.md (5)) in one 64-bit multiply-accumulate and one shift, for a channel whose multiplier m
// is positive and whose exponent e lies in [-23, -1] (every layer the lowering emits: (3) gives 2^30 <= m < 2^31 and
// the scales of conv, depthwise and ADD outputs give e < 0). With n = -e:
//   SRDHM(x, m) = floor((x·m + 2^30) / 2^31)  exactly: for x·m >= 0 the truncating division of (4a) is a floor; for
//     x·m < 0 it truncates (x·m + 1 − 2^30) / 2^31, i.e. floor((x·m + 1 − 2^30 + 2^31 − 1) / 2^31), the same floor.
//     (The one saturating input, x = m = −2^31, needs m < 0.)
//   RDBPOT(t, n) = floor((t + 2^(n−1) − [t < 0]) / 2^n) for n >= 1 (4b's threshold moved into the numerator), and
//     [t < 0] may read [x < 0]: with m > 0 they differ only when t = 0, where both give 0.
//   Nested floors merge: floor((floor(P / 2^31) + k) / 2^n) = floor((P + k·2^31) / 2^(31+n)). So
//     MBQM(x, m, e) + zp = (x·m + K + [x >= 0]·2^31) >> (31 + n),   K = 2^30 + 2^(n+30) − 2^31 + zp·2^(31+n),
//   whose every term fits int64 for n <= 23 and |zp| <= 128 (|x·m| < 2^62, |K| < 2^61 + 2^30), and whose result
//   is (high word) >> (n − 1). K is computed at build time (edgebuild/mcu/variants/dsp_*.py, eb_dsp_rq_*).
// [x >= 0]·2^31 = 2·(−2^15)·(−2^15) when x >= 0: one SMLALD of the halfword pair 0x80008000 masked by x's sign.
#ifndef EDGEBUILD_REQUANT_DSP_H_
#define EDGEBUILD_REQUANT_DSP_H_

#include <arm_acle.h>
#include <stdint.h>
#include <string.h>

#include "edgebuild/requant.h"

// The per-channel constants of the fast form: K (low word, high word), m, and n − 1; n − 1 = −1 marks a channel
// outside the fast form's domain (m <= 0, e >= 0 or e < −23), which takes the reference's eb_mbqm.
typedef struct eb_dsp_rq {
  uint32_t k_lo;
  int32_t k_hi;
  int32_t multiplier;
  int32_t shift_m1;
} eb_dsp_rq;

// MBQM(x, m, e) + zp saturated to int8 (the clamp to [act_min, act_max] follows, bytewise): the fast form when
// rq->shift_m1 >= 0, else (5) as the reference computes it (sat32(q + zp), then [−128, 127]).
static inline int32_t eb_dsp_requant_s8(int32_t x, const eb_dsp_rq* rq, int32_t multiplier, int32_t shift,
                                        int32_t zero_point) {
  const int32_t sh = rq->shift_m1;
  if (__builtin_expect(sh < 0, 0)) {
    const int32_t q = eb_sat32((int64_t)eb_mbqm(x, multiplier, shift) + zero_point);
    return q < -128 ? -128 : (q > 127 ? 127 : q);
  }
  int64_t k = (int64_t)(((uint64_t)(uint32_t)rq->k_hi << 32) | rq->k_lo);
  const uint32_t pos = 0x80008000u & ~(uint32_t)(x >> 31);  // two halfwords −2^15 when x >= 0, else 0
  k = __smlald((int16x2_t)pos, (int16x2_t)pos, k);            // + [x >= 0]·2^31
  k += (int64_t)x * rq->multiplier;                           // SMLAL
  return __ssat((int32_t)(k >> 32) >> sh, 8);
}

// sxtb16 of x rotated right by 8 (bytes 1 and 3, sign-extended to halfwords). ACLE's __sxtb16 has no rotation
// operand and GCC 12 does not fold a separate rotate into it (one instruction more per word), hence the asm.
static inline int32_t eb_dsp_sxtb16_ror8(uint32_t x) {
  int32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
  return r;
}

// sxtab16 with the rotated operand: acc's halfwords + bytes 1 and 3 of x (same reason for the asm).
static inline int32_t eb_dsp_sxtab16_ror8(int32_t acc, uint32_t x) {
  int32_t r;
  __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(acc), "r"(x));
  return r;
}

static inline uint32_t eb_dsp_load32(const void* p) {
  uint32_t v;
  memcpy(&v, p, 4);  // LDR: the M4/M7/M33 allow unaligned word loads
  return v;
}

static inline void eb_dsp_store32(void* p, uint32_t v) { memcpy(p, &v, 4); }

static inline uint32_t eb_dsp_splat8(int32_t v) { return (uint32_t)(uint8_t)v * 0x01010101u; }

// Bytewise clamp exactly as eb_clamp_s8: x < lo ? lo : (x > hi ? hi : x) (also when lo > hi).
static inline uint32_t eb_dsp_clamp4(uint32_t x, uint32_t lo4, uint32_t hi4) {
  __ssub8((int8x4_t)x, (int8x4_t)hi4);                       // GE where x >= hi
  const uint32_t m = (uint32_t)__sel((int8x4_t)hi4, (int8x4_t)x);  // min(x, hi)
  __ssub8((int8x4_t)x, (int8x4_t)lo4);                       // GE where x >= lo
  return (uint32_t)__sel((int8x4_t)m, (int8x4_t)lo4);
}

// Four int8-saturated values, byte 0 first.
static inline uint32_t eb_dsp_pack4(int32_t b0, int32_t b1, int32_t b2, int32_t b3) {
  return (uint32_t)(uint8_t)b0 | (uint32_t)(uint8_t)b1 << 8 | (uint32_t)(uint8_t)b2 << 16 | (uint32_t)b3 << 24;
}

#endif  // EDGEBUILD_REQUANT_DSP_H_
