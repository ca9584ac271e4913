// f32math.h: float functions the f32 kernels need, in plain IEEE double arithmetic so every target gives the same
// bits (libm's expf differs between glibc builds and may use FMA; kernels are compiled with -ffp-contract=off).
#ifndef EDGEBUILD_F32MATH_H_
#define EDGEBUILD_F32MATH_H_

#include <stdint.h>
#include <string.h>

// exp(x) rounded to float: x = k·ln2 + r with |r| <= ln2/2, exp(r) by its Taylor series to degree 13 (truncation
// error < 2^-52 relative), times 2^k built from the exponent bits, then one rounding double -> float.
static inline float eb_f32_exp(float x) {
  if (x != x) return x;                     // NaN
  if (x > 88.7228394f) return 1.0f / 0.0f;  // exp(x) > FLT_MAX
  if (x < -103.972084f) return 0.0f;        // exp(x) < half the smallest subnormal
  const double xd = (double)x;
  const double t = xd * 1.4426950408889634;  // x / ln2
  const int64_t k = (int64_t)(t >= 0.0 ? t + 0.5 : t - 0.5);
  const double r = xd - (double)k * 0.6931471805599453;
  // Horner form of Σ r^i / i!: p = 1 + r/1·(1 + r/2·(1 + … (1 + r/13))), with the reciprocals as constants.
  static const double kInv[14] = {0.0,     1.0,     1.0 / 2, 1.0 / 3,  1.0 / 4,  1.0 / 5,  1.0 / 6,
                                  1.0 / 7, 1.0 / 8, 1.0 / 9, 1.0 / 10, 1.0 / 11, 1.0 / 12, 1.0 / 13};
  double p = 1.0;
  for (int i = 13; i >= 1; --i) p = 1.0 + p * r * kInv[i];
  const uint64_t bits = (uint64_t)(k + 1023) << 52;  // 2^k; -150 <= k <= 128 stays a normal double
  double scale;
  memcpy(&scale, &bits, sizeof scale);
  return (float)(p * scale);
}

// ---- double helpers for UNARY's float form (f32-unary): same construction, no libm, results rounded once ----

// exp(x) in double: the range reduction and series of eb_f32_exp without the final rounding to float.
static inline double eb_f64_exp(double x) {
  if (x != x) return x;
  if (x > 709.0) return 1.0 / 0.0;
  if (x < -708.0) return 0.0;  // below the smallest normal double; callers add it to 1 or divide by it
  const double t = x * 1.4426950408889634;
  const int64_t k = (int64_t)(t >= 0.0 ? t + 0.5 : t - 0.5);
  const double r = x - (double)k * 0.6931471805599453;
  double p = 1.0;
  for (int i = 13; i >= 1; --i) p = 1.0 + p * r / (double)i;
  const uint64_t bits = (uint64_t)(k + 1023) << 52;
  double scale;
  memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// tanh(x) = (1 − e)/(1 + e), e = exp(−2|x|), signed; x − x³/3 near 0 where 1 − e would cancel.
static inline double eb_f64_tanh(double x) {
  const double ax = x < 0.0 ? -x : x;
  if (x != x) return x;
  double t;
  if (ax > 20.0) {
    t = 1.0;
  } else if (ax < 1e-4) {
    t = ax - ax * ax * ax / 3.0;
  } else {
    const double e = eb_f64_exp(-2.0 * ax);
    t = (1.0 - e) / (1.0 + e);
  }
  return x < 0.0 ? -t : t;
}

// erfc(x) for x >= 2: exp(−x²)/√π divided by the continued fraction x + (1/2)/(x + 1/(x + (3/2)/(x + …))),
// evaluated backwards from 80 terms (converged to double precision for x >= 2).
static inline double eb_f64_erfc_large(double x) {
  double f = x;
  for (int k = 80; k >= 1; --k) f = x + (0.5 * (double)k) / f;
  return eb_f64_exp(-x * x) / (1.7724538509055160 * f);
}

// 1 + erf(x): the Maclaurin series for |x| < 2 (terms stay below 3: no cancellation), erfc otherwise.
static inline double eb_f64_one_plus_erf(double x) {
  if (x != x) return x;
  if (x <= -2.0) return eb_f64_erfc_large(-x);
  if (x >= 2.0) return 2.0 - eb_f64_erfc_large(x);
  double term = x, sum = x;  // Σ (−1)^n x^(2n+1) / (n! (2n+1))
  const double x2 = x * x;
  for (int n = 1; n < 60; ++n) {
    term *= -x2 / (double)n;
    sum += term / (double)(2 * n + 1);
  }
  return 1.0 + 1.1283791670955126 * sum;  // 2/√π
}

#endif  // EDGEBUILD_F32MATH_H_
