// requant.h: the integer requantization of docs/quantization.md, eqs (4a), (4b), (5), (9), shared by all kernels.
//
// Every function is defined for every input (no signed overflow, no out-of-range shift, no left shift of a negative
// number) and equals the equation exactly wherever the equation is defined; outside that domain (a shift outside
// [-31, 30], which the loader rejects) it still returns a well-defined value. Usable from C99 and C++.
#ifndef EDGEBUILD_REQUANT_H_
#define EDGEBUILD_REQUANT_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// sat32 of docs/quantization.md (5).
static inline int32_t eb_sat32(int64_t x) {
  return x > INT32_MAX ? INT32_MAX : (x < INT32_MIN ? INT32_MIN : (int32_t)x);
}

// Clamp to [lo, hi] and narrow; callers pass lo, hi within int8.
static inline int8_t eb_clamp_s8(int32_t x, int32_t lo, int32_t hi) {
  return (int8_t)(x < lo ? lo : (x > hi ? hi : x));
}

// docs/quantization.md (4a): SRDHM(a, b) = saturate((a·b + nudge) / 2^31), truncating division, in int64.
// The only input that saturates is a = b = -2^31 (result 2^31 - 1).
static inline int32_t eb_srdhm(int32_t a, int32_t b) {
  const int64_t ab = (int64_t)a * (int64_t)b;  // |ab| <= 2^62: no overflow
  const int64_t nudge = ab >= 0 ? ((int64_t)1 << 30) : 1 - ((int64_t)1 << 30);
  return eb_sat32((ab + nudge) / ((int64_t)1 << 31));  // C division truncates toward zero
}

// docs/quantization.md (4b): RDBPOT(x, n) = (x >> n) + (r > t), r = x & (2^n - 1),
// t = ((2^n - 1) >> 1) + (x < 0): divide by 2^n rounding to nearest, ties away from zero.
// Computed in int64 so that any n is defined; n is clamped to [0, 62], which changes no result for int32 x.
static inline int32_t eb_rdbpot(int32_t x, int32_t n) {
  const int s = n < 0 ? 0 : (n > 62 ? 62 : (int)n);
  const int64_t mask = ((int64_t)1 << s) - 1;
  const int64_t r = (int64_t)x & mask;
  const int64_t t = (mask >> 1) + (x < 0 ? 1 : 0);
  // `>>` of a negative int64 is an arithmetic shift on every compiler edgebuild supports (and defined in C++20).
  return (int32_t)(((int64_t)x >> s) + (r > t ? 1 : 0));
}

// docs/quantization.md (5): MBQM(x, m, e) = RDBPOT(SRDHM(sat32(x·2^max(e,0)), m), max(-e,0)).
// The left shift is a multiplication in int64 (|x|·2^32 < 2^63); e > 32 saturates exactly as e = 32 does.
static inline int32_t eb_mbqm(int32_t x, int32_t m, int32_t e) {
  const int left = e > 0 ? (e > 32 ? 32 : (int)e) : 0;
  const int32_t right = e < 0 ? (e < -62 ? 62 : -e) : 0;
  const int32_t shifted = eb_sat32((int64_t)x * ((int64_t)1 << left));
  return eb_rdbpot(eb_srdhm(shifted, m), right);
}

// docs/quantization.md (9): round_half_away(a / n) for n > 0, integer division truncating toward zero.
static inline int64_t eb_div_round_half_away(int64_t a, int64_t n) {
  return a >= 0 ? (a + n / 2) / n : (a - n / 2) / n;
}

// Wrapping int32 addition: the accumulators of (6) never overflow for a layer the lowering accepts (at most
// 65 000 taps), but a hostile artifact could make them; wrapping keeps that defined and changes no valid result.
static inline int32_t eb_add_wrap_s32(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }

#ifdef __cplusplus
}  // extern "C"
#endif

#endif  // EDGEBUILD_REQUANT_H_
