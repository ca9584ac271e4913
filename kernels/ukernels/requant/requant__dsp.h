// requant/requant__dsp.h: the Cortex-M DSP-extension lanes of edgebuild/requant.h, shared by the __dsp kernels.
//
// MBQM (docs/quantization.md (5)) in one 64-bit multiply-accumulate and one shift, for a channel whose multiplier m
// is positive and whose exponent e lies in [-23, -1] (the usual case: (3) gives 2^30 <= m < 2^31, and depthwise and
// ADD outputs have M < 1/2; other channels take the reference's eb_mbqm). With n = -e:
//   SRDHM(x, m) = floor((x·m + 2^30) / 2^31)  exactly: for x·m >= 0 the truncating division of (4a) is a floor; for
//     x·m < 0 the numerator v = x·m + 1 − 2^30 is negative, so truncation is a ceiling, ceil(v / 2^31) =
//     floor((v + 2^31 − 1) / 2^31) = floor((x·m + 2^30) / 2^31).
//     (The one saturating input, x = m = −2^31, needs m < 0.)
//   RDBPOT(t, n) = floor((t + 2^(n−1) − [t < 0]) / 2^n) for n >= 1 (4b's threshold moved into the numerator), and
//     [t < 0] may read [x < 0]: with m > 0 they differ only when t = 0, where both give 0.
//   Nested floors merge: floor((floor(P / 2^31) + k) / 2^n) = floor((P + k·2^31) / 2^(31+n)). So
//     MBQM(x, m, e) + zp = (x·m + K + [x >= 0]·2^31) >> (31 + n),   K = 2^30 + 2^(n+30) − 2^31 + zp·2^(31+n),
//   which fits int64 for n <= 23 and |zp| <= 128 (|x·m| < 2^62, |K| + 2^31 < 2^61 + 2^54), and whose result is
//   (high word) >> (n − 1). K is computed at build time (edgebuild/mcu/variants/_dsp_requant.py, requant_words).
// [x >= 0]·2^31 = 2·(−2^15)·(−2^15) when x >= 0: one SMLALD of the halfword pair 0x80008000 masked by x's sign.
#ifndef EDGEBUILD_REQUANT_DSP_H_
#define EDGEBUILD_REQUANT_DSP_H_

#include <arm_acle.h>
#include <stdint.h>
#include <string.h>

#include "edgebuild/requant.h"

// The per-channel constants of the fast form: K (low word, high word), m, and n − 1; n − 1 = −1 marks a channel
// outside the fast form's domain (m <= 0, e >= 0 or e < −23), which takes the reference's eb_mbqm.
// The build emits it as int32 words [k_lo, k_hi, m, n − 1] (K little-endian).
typedef struct eb_dsp_rq {
  uint32_t k_lo;
  int32_t k_hi;
  int32_t multiplier;
  int32_t shift_m1;
} eb_dsp_rq;

// The reference's (5) for a channel outside the fast form: sat32(MBQM(x, m, e) + zp), saturated to [−128, 127].
static inline int32_t eb_dsp_requant_ref_s8(int32_t x, int32_t multiplier, int32_t shift, int32_t zero_point) {
  const int32_t q = eb_sat32((int64_t)eb_mbqm(x, multiplier, shift) + zero_point);
  return q < -128 ? -128 : (q > 127 ? 127 : q);
}

// MBQM(x, m, e) + zp saturated to int8 in the fast form (rq->shift_m1 >= 0; the clamp to [act_min, act_max]
// follows, bytewise). `pos_pair` is 0x80008000 (the caller keeps it in a register).
// The two multiply-accumulates are asm: GCC 12 keeps an int64 in an even/odd register pair and, with four channels
// in flight, moves those pairs through the stack (~8 instructions more per output); SMLALD / SMLAL take any two
// registers as RdLo, RdHi.
static inline int32_t eb_dsp_requant_fast_s8(int32_t x, const eb_dsp_rq* rq, uint32_t pos_pair) {
  uint32_t lo = rq->k_lo;
  int32_t hi = rq->k_hi;
  const uint32_t pos = pos_pair & ~(uint32_t)(x >> 31);  // two halfwords −2^15 when x >= 0, else 0 (BIC)
  __asm__(
      "smlald %0, %1, %2, %2\n\t"  // + [x >= 0]·2^31
      "smlal %0, %1, %3, %4"       // + x·m
      : "+&r"(lo), "+&r"(hi)
      : "r"(pos), "r"(x), "r"(rq->multiplier));
  return __ssat(hi >> rq->shift_m1, 8);
}

// 0x80008000 in a register the compiler cannot rematerialize as an immediate operand (BIC takes the register form).
static inline uint32_t eb_dsp_pos_pair(void) {
  uint32_t v = 0x80008000u;
  __asm__("" : "+r"(v));
  return v;
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
  __ssub8((int8x4_t)x, (int8x4_t)hi4);                             // GE where x >= hi
  const uint32_t m = (uint32_t)__sel((int8x4_t)hi4, (int8x4_t)x);  // min(x, hi)
  __ssub8((int8x4_t)x, (int8x4_t)lo4);                             // GE where x >= lo
  return (uint32_t)__sel((int8x4_t)m, (int8x4_t)lo4);
}

// Four int8-saturated values, byte 0 first: PKHBT pairs (b0, b2) and (b1, b3) into halfwords, UXTB16 keeps their
// low bytes, one ORR interleaves them. GCC 12's arm_acle.h has no __pkhbt (and does not form PKHBT from the
// shift-and-mask C), hence the asm.
static inline uint32_t eb_dsp_pkhbt16(int32_t lo, int32_t hi) {
  uint32_t r;
  __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(lo), "r"(hi));
  return r;
}

static inline uint32_t eb_dsp_pack4(int32_t b0, int32_t b1, int32_t b2, int32_t b3) {
  return (uint32_t)__uxtb16((int8x4_t)eb_dsp_pkhbt16(b0, b2)) | (uint32_t)__uxtb16((int8x4_t)eb_dsp_pkhbt16(b1, b3))
                                                                    << 8;
}

// Whether every channel takes the fast form (then the kernels run without the per-channel test).
static inline int eb_dsp_all_fast(const eb_dsp_rq* rq, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (rq[i].shift_m1 < 0) return 0;
  return 1;
}

#endif  // EDGEBUILD_REQUANT_DSP_H_
