// f32math.h: float functions the f32 kernels need, in plain IEEE double arithmetic so every target gives the same
// bits (libm's expf differs between glibc builds and may use FMA; kernels are compiled with -ffp-contract=off).
#ifndef EDGEBUILD_F32MATH_H_
#define EDGEBUILD_F32MATH_H_

#include <stdint.h>
#include <string.h>

// exp(x) rounded to float: x = k·ln2 + r with |r| <= ln2/2, exp(r) by its Taylor series to degree 13 (truncation
// error < 2^-52 relative), times 2^k built from the exponent bits, then one rounding double -> float.
static inline float eb_f32_exp(float x) {
  if (x != x) return x;                 // NaN
  if (x > 88.7228394f) return 1.0f / 0.0f;  // exp(x) > FLT_MAX
  if (x < -103.972084f) return 0.0f;    // exp(x) < half the smallest subnormal
  const double xd = (double)x;
  const double t = xd * 1.4426950408889634;  // x / ln2
  const int64_t k = (int64_t)(t >= 0.0 ? t + 0.5 : t - 0.5);
  const double r = xd - (double)k * 0.6931471805599453;
  // Horner form of Σ r^i / i!: p = 1 + r/1·(1 + r/2·(1 + … (1 + r/13))), with the reciprocals as constants.
  static const double kInv[14] = {0.0,       1.0,       1.0 / 2,  1.0 / 3,  1.0 / 4,  1.0 / 5,  1.0 / 6,
                                  1.0 / 7,   1.0 / 8,   1.0 / 9,  1.0 / 10, 1.0 / 11, 1.0 / 12, 1.0 / 13};
  double p = 1.0;
  for (int i = 13; i >= 1; --i) p = 1.0 + p * r * kInv[i];
  const uint64_t bits = (uint64_t)(k + 1023) << 52;             // 2^k; -150 <= k <= 128 stays a normal double
  double scale;
  memcpy(&scale, &bits, sizeof scale);
  return (float)(p * scale);
}

#endif  // EDGEBUILD_F32MATH_H_
