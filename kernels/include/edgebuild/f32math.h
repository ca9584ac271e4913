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

// ---- issue 16, elementwise: the double helpers of UNARY's elementwise functions (f32-unary). Each is accurate to a
// few double ulps on the float inputs it gets, so the one rounding to float is correct except within ~1e-14
// (relative) of a rounding boundary: at most 1 float ulp from the correctly rounded value. ----

static inline double eb_f64_inf(void) { return 1.0 / 0.0; }
static inline double eb_f64_nan(void) { return 0.0 / 0.0; }

// x = m·2^e with m in [√½, √2) (x > 0, finite; subnormals scaled first): frexp without libm.
static inline double eb_f64_split(double x, int* e) {
  uint64_t b;
  memcpy(&b, &x, sizeof b);
  int adj = 0;
  if (((b >> 52) & 0x7ff) == 0) {
    x *= 18014398509481984.0;  // 2^54
    memcpy(&b, &x, sizeof b);
    adj = -54;
  }
  int ex = (int)((b >> 52) & 0x7ff) - 1022;  // x = m'·2^ex, m' in [½, 1)
  b = (b & 0x000FFFFFFFFFFFFFull) | (0x3FEull << 52);
  double m;
  memcpy(&m, &b, sizeof m);
  if (m < 0.70710678118654752) {
    m *= 2.0;
    ex -= 1;
  }
  *e = ex + adj;
  return m;
}

// log(m), m in [√½, √2]: 2·atanh(s) = 2·Σ s^(2k+1)/(2k+1), s = (m−1)/(m+1), |s| <= 0.1716 (s² <= 0.0295: 16 terms
// reach 2^-80). m − 1 is exact (Sterbenz), so log(m) keeps its relative accuracy near m = 1.
static inline double eb_f64_log_kernel(double m) {
  const double s = (m - 1.0) / (m + 1.0), s2 = s * s;
  double sum = 0.0;
  for (int k = 16; k >= 0; --k) sum = sum * s2 + 1.0 / (double)(2 * k + 1);
  return 2.0 * s * sum;
}

// Natural log; base 0 = e, 2, 10 (log2 and log10 keep exact powers exact: e + log(m)/ln b).
static inline double eb_f64_log_base(double x, int base) {
  if (x != x || x < 0.0) return eb_f64_nan();
  if (x == 0.0) return -eb_f64_inf();
  if (x == eb_f64_inf()) return x;
  int e;
  const double m = eb_f64_split(x, &e), lm = eb_f64_log_kernel(m);
  if (base == 2) return (double)e + lm * 1.4426950408889634;
  if (base == 10) return (double)e * 0.30102999566398120 + lm * 0.43429448190325183;
  return (double)e * 0.69314718055994531 + lm;
}
static inline double eb_f64_log(double x) { return eb_f64_log_base(x, 0); }

// log(1 + x): u = 1 + x rounded, then log(u)·x/(u − 1), which cancels u's rounding error (Goldberg).
static inline double eb_f64_log1p(double x) {
  if (x != x || x < -1.0) return eb_f64_nan();
  if (x == eb_f64_inf()) return x;
  const double u = 1.0 + x;
  if (u == 1.0) return x;
  if (u == 0.0) return -eb_f64_inf();
  return eb_f64_log(u) * x / (u - 1.0);
}

// exp(x) − 1: the Taylor series for |x| < ½ (no cancellation), exp(x) − 1 beyond.
static inline double eb_f64_expm1(double x) {
  if (x != x) return x;
  const double ax = x < 0.0 ? -x : x;
  if (ax >= 0.5) return eb_f64_exp(x) - 1.0;
  double term = x, sum = x;
  for (int k = 2; k <= 22; ++k) {
    term *= x / (double)k;
    sum += term;
  }
  return sum;
}

// sin(r), cos(r) for |r| <= π/4 (+ rounding): Taylor to degree 27 (truncation < 1e-30).
static inline double eb_f64_sin_kernel(double r) {
  const double r2 = r * r;
  double term = r, sum = r;
  for (int k = 1; k <= 13; ++k) {
    term *= -r2 / (double)((2 * k) * (2 * k + 1));
    sum += term;
  }
  return sum;
}
static inline double eb_f64_cos_kernel(double r) {
  const double r2 = r * r;
  double term = 1.0, sum = 1.0;
  for (int k = 1; k <= 13; ++k) {
    term *= -r2 / (double)((2 * k - 1) * (2 * k));
    sum += term;
  }
  return sum;
}

// x = q·π/2 + r, |r| <= π/4 (+ rounding), quadrant q mod 4 (Cody–Waite with π/2 in four pieces; the first three
// have 26 significant bits, so k·P is exact for |k| < 2^27 and each subtraction is exact or accurate relative to its
// result). Accurate for |x| < 2^27 (≈ 1.3e8); beyond, the result is deterministic (the same bits on every target)
// but the reduction loses accuracy (no Payne–Hanek reduction: models do not feed such angles).
static inline double eb_f64_reduce_half_pi(double x, int* quadrant) {
  const double t = x * 0.63661977236758134;  // 2/π
  const double k = (double)(int64_t)(t >= 0.0 ? t + 0.5 : t - 0.5);
  double r = x - k * 0x1.921fb58000000p+0;
  r -= k * -0x1.dde9740000000p-27;
  r -= k * 0x1.1a62630000000p-54;
  r -= k * 0x1.8a2e03707344ap-81;
  *quadrant = (int)((int64_t)k & 3);
  return r;
}

// which: 0 sin, 1 cos, 2 tan.
static inline double eb_f64_trig(double x, int which) {
  if (x != x || x == eb_f64_inf() || x == -eb_f64_inf()) return eb_f64_nan();
  if (x > 9.2e18 || x < -9.2e18) x = 0.0;  // int64 range of the quadrant: unreachable from float inputs < 2^63
  int q;
  const double r = eb_f64_reduce_half_pi(x, &q);
  const double s = eb_f64_sin_kernel(r), c = eb_f64_cos_kernel(r);
  // sin(r + qπ/2), cos(r + qπ/2)
  const double sq = q == 0 ? s : (q == 1 ? c : (q == 2 ? -s : -c));
  const double cq = q == 0 ? c : (q == 1 ? -s : (q == 2 ? -c : s));
  if (which == 0) return sq;
  if (which == 1) return cq;
  return sq / cq;
}

// atan: |x| > 1 -> π/2 − atan(1/x); a > tan(π/12) -> π/6 + atan((a√3 − 1)/(a + √3)); then the series on
// |a| <= 0.268 (a² <= 0.072: 24 terms reach 1e-28).
static inline double eb_f64_atan(double x) {
  if (x != x) return x;
  const bool neg = x < 0.0;
  double a = neg ? -x : x;
  const bool inv = a > 1.0;
  if (inv) a = 1.0 / a;
  const bool shift = a > 0.26794919243112270;
  if (shift) a = (a * 1.7320508075688772 - 1.0) / (a + 1.7320508075688772);
  const double a2 = a * a;
  double sum = 0.0;
  for (int k = 24; k >= 0; --k) sum = -sum * a2 + 1.0 / (double)(2 * k + 1);
  double t = a * sum;
  if (shift) t += 0.52359877559829887;  // π/6
  if (inv) t = 1.5707963267948966 - t;
  return neg ? -t : t;
}

// atan2(y, x) with C99's signed zeros and infinities.
static inline double eb_f64_atan2(double y, double x) {
  const double pi = 3.1415926535897932, inf = eb_f64_inf();
  if (x != x || y != y) return eb_f64_nan();
  const bool yneg = y < 0.0 || (y == 0.0 && 1.0 / y < 0.0), xneg = x < 0.0 || (x == 0.0 && 1.0 / x < 0.0);
  double t;
  if (y == 0.0) {
    t = xneg ? pi : 0.0;
  } else if (x == 0.0) {
    t = pi / 2;
  } else if (x == inf || x == -inf) {
    if (y == inf || y == -inf) {
      t = xneg ? 3 * pi / 4 : pi / 4;
    } else {
      t = xneg ? pi : 0.0;
    }
  } else if (y == inf || y == -inf) {
    t = pi / 2;
  } else {
    const double ay = yneg ? -y : y;
    t = eb_f64_atan(ay / (xneg ? -x : x));
    if (xneg) t = pi - t;
  }
  return yneg ? -t : t;
}

// asin(x) = atan(x / √((1 − x)(1 + x))), acos(x) = 2·atan(√((1 − x)/(1 + x))); 1 ± x is exact for float x.
static inline double eb_f64_asin(double x) {
  if (x != x || x > 1.0 || x < -1.0) return eb_f64_nan();
  return eb_f64_atan(x / __builtin_sqrt((1.0 - x) * (1.0 + x)));
}
static inline double eb_f64_acos(double x) {
  if (x != x || x > 1.0 || x < -1.0) return eb_f64_nan();
  return 2.0 * eb_f64_atan(__builtin_sqrt((1.0 - x) / (1.0 + x)));
}

// sinh: its Taylor series for |x| < 1, (e − 1/e)/2 beyond; cosh = (e + 1/e)/2.
static inline double eb_f64_sinh(double x) {
  if (x != x) return x;
  const double ax = x < 0.0 ? -x : x;
  double t;
  if (ax < 1.0) {
    const double x2 = ax * ax;
    double term = ax;
    t = ax;
    for (int k = 1; k <= 12; ++k) {
      term *= x2 / (double)((2 * k) * (2 * k + 1));
      t += term;
    }
  } else {
    const double e = eb_f64_exp(ax);
    t = 0.5 * (e - 1.0 / e);
  }
  return x < 0.0 ? -t : t;
}
static inline double eb_f64_cosh(double x) {
  if (x != x) return x;
  const double e = eb_f64_exp(x < 0.0 ? -x : x);
  return 0.5 * (e + 1.0 / e);
}

// asinh(x) = log1p(a + a²/(1 + √(1 + a²))), a = |x|, signed.
static inline double eb_f64_asinh(double x) {
  if (x != x) return x;
  const double a = x < 0.0 ? -x : x;
  if (a == eb_f64_inf()) return x;
  const double t = eb_f64_log1p(a + a * a / (1.0 + __builtin_sqrt(1.0 + a * a)));
  return x < 0.0 ? -t : t;
}
// acosh(x) = log1p(t + √(t·(x + 1))), t = x − 1 (exact), x >= 1.
static inline double eb_f64_acosh(double x) {
  if (x != x || x < 1.0) return eb_f64_nan();
  if (x == eb_f64_inf()) return x;
  const double t = x - 1.0;
  return eb_f64_log1p(t + __builtin_sqrt(t * (x + 1.0)));
}
// atanh(x) = ½·log1p(2a/(1 − a)), a = |x| <= 1, signed.
static inline double eb_f64_atanh(double x) {
  if (x != x || x > 1.0 || x < -1.0) return eb_f64_nan();
  const double a = x < 0.0 ? -x : x;
  const double t = a == 1.0 ? eb_f64_inf() : 0.5 * eb_f64_log1p(2.0 * a / (1.0 - a));
  return x < 0.0 ? -t : t;
}

// erf: the Maclaurin series for |x| < 2, 1 − erfc beyond (as eb_f64_one_plus_erf, without adding 1 near 0).
static inline double eb_f64_erf(double x) {
  if (x != x) return x;
  if (x <= -2.0) return eb_f64_erfc_large(-x) - 1.0;
  if (x >= 2.0) return 1.0 - eb_f64_erfc_large(x);
  double term = x, sum = x;
  const double x2 = x * x;
  for (int n = 1; n < 60; ++n) {
    term *= -x2 / (double)n;
    sum += term / (double)(2 * n + 1);
  }
  return 1.1283791670955126 * sum;
}

// Is y an integer, and an odd one? (|y| >= 2^53 is even.)
static inline int eb_f64_int_kind(double y) {
  const double ay = y < 0.0 ? -y : y;
  if (ay != ay || ay == eb_f64_inf()) return 0;
  if (ay >= 9007199254740992.0) return 2;
  const int64_t i = (int64_t)ay;
  if ((double)i != ay) return 0;
  return (i & 1) ? 1 : 2;  // 1 odd integer, 2 even integer, 0 not an integer
}

// pow(x, y) with C99's special cases (what std::pow, and so torch.pow, gives), else ±exp(y·log|x|).
static inline double eb_f64_pow(double x, double y) {
  const double inf = eb_f64_inf();
  if (y == 0.0 || x == 1.0) return 1.0;
  if (x != x || y != y) return eb_f64_nan();
  const int yk = eb_f64_int_kind(y);
  const double ax = x < 0.0 ? -x : x;
  if (y == inf || y == -inf) {
    if (ax == 1.0) return 1.0;
    return (ax < 1.0) == (y > 0.0) ? 0.0 : inf;
  }
  if (x == 0.0) {
    const bool neg = 1.0 / x < 0.0 && yk == 1;
    const double r = y > 0.0 ? 0.0 : inf;
    return neg ? -r : r;
  }
  if (ax == inf) {
    const double r = y > 0.0 ? inf : 0.0;
    return x < 0.0 && yk == 1 ? -r : r;
  }
  if (x < 0.0 && yk == 0) return eb_f64_nan();
  const double r = eb_f64_exp(y * eb_f64_log(ax));
  return x < 0.0 && yk == 1 ? -r : r;
}

#endif  // EDGEBUILD_F32MATH_H_
