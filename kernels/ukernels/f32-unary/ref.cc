// f32-unary/ref.cc: reference float32 UNARY (the float fallback of the int8 table ops), PyTorch's formulas.
//
// Piecewise-linear functions in float32 as PyTorch writes them; transcendental ones in double from
// edgebuild/f32math.h (no libm, no FMA) and rounded once, so every target gives the same bits. sqrt, floor, ceil,
// trunc and nearbyint are exact IEEE operations (the same bits from any conforming implementation).
#include "edgebuild/f32math.h"
#include "edgebuild/ukernels.h"

namespace {

float clamp06(float v) { return v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v); }

// round-half-to-even to an integer (torch.round), exact: nearbyint in the default rounding mode.
float round_even(float x) { return __builtin_nearbyintf(x); }

// torch.pow(x, alpha): the exponents torch's CPU kernel computes as products, quotients or square roots give those
// float32 operations' bits; any other exponent is eb_f64_pow rounded once.
float pow_scalar(float x, float e) {
  if (e == 2.0f) return x * x;
  if (e == 3.0f) return x * x * x;
  if (e == 0.5f) return __builtin_sqrtf(x);
  if (e == -0.5f) return 1.0f / __builtin_sqrtf(x);
  if (e == -1.0f) return 1.0f / x;
  if (e == -2.0f) return 1.0f / (x * x);
  return (float)eb_f64_pow((double)x, (double)e);
}

// torch.maximum / torch.minimum: NaN in either operand gives NaN.
float max_nan(float a, float b) { return a != a || b != b ? a + b : (a > b ? a : b); }
float min_nan(float a, float b) { return a != a || b != b ? a + b : (a < b ? a : b); }

// The functions with SIMD variants (f32_unary__<isa>.cc): f32math.h's templates in double, rounded once; a NaN input
// comes back quiet, a NaN they make is 0x7fc00000 (x86 and ARM make different default NaNs).
template <double (*F)(double)>
float lanes_fn(float x) {
  if (x != x) return eb_f32_quiet(x);
  const float y = (float)F((double)x);
  return y != y ? eb_f32_nan() : y;
}

// GELU in float32 (f32math.h eb_gelu_f32), the NaN rules of lanes_fn.
float gelu_f32(float x) {
  if (x != x) return eb_f32_quiet(x);
  const float y = eb_gelu_f32<float, int32_t, uint32_t>(x);
  return y != y ? eb_f32_nan() : y;
}

float apply(int32_t func, float x, float alpha) {
  const double xd = (double)x;
  switch (func) {
    case EB_UNARY_HARDSWISH: return x * clamp06(x + 3.0f) / 6.0f;
    case EB_UNARY_HARDSIGMOID: return clamp06(x + 3.0f) / 6.0f;
    case EB_UNARY_SIGMOID: return lanes_fn<eb_sigmoid<double>>(x);
    case EB_UNARY_SILU: return lanes_fn<eb_silu<double>>(x);
    case EB_UNARY_GELU: return gelu_f32(x);
    case EB_UNARY_GELU_TANH: return lanes_fn<eb_gelu_tanh<double>>(x);
    case EB_UNARY_TANH: return lanes_fn<eb_tanh<double>>(x);
    case EB_UNARY_LEAKY_RELU:
    case EB_UNARY_PRELU: return x > 0.0f ? x : x * alpha;
    case EB_UNARY_RECIPROCAL: return 1.0f / x;  // IEEE division: correctly rounded, the same bits on every target
    case EB_UNARY_EXP: return lanes_fn<eb_exp_f32<double>>(x);
    case EB_UNARY_LOG: return (float)eb_f64_log(xd);
    case EB_UNARY_LOG2: return (float)eb_f64_log_base(xd, 2);
    case EB_UNARY_LOG10: return (float)eb_f64_log_base(xd, 10);
    case EB_UNARY_LOG1P: return (float)eb_f64_log1p(xd);
    case EB_UNARY_EXPM1: return (float)eb_f64_expm1(xd);
    case EB_UNARY_SQRT: return __builtin_sqrtf(x);          // IEEE: correctly rounded
    case EB_UNARY_RSQRT: return 1.0f / __builtin_sqrtf(x);  // as torch computes it: two IEEE roundings
    case EB_UNARY_ERF: return lanes_fn<eb_erf<double>>(x);
    case EB_UNARY_SIN: return (float)eb_f64_trig(xd, 0);
    case EB_UNARY_COS: return (float)eb_f64_trig(xd, 1);
    case EB_UNARY_TAN: return (float)eb_f64_trig(xd, 2);
    case EB_UNARY_ASIN: return (float)eb_f64_asin(xd);
    case EB_UNARY_ACOS: return (float)eb_f64_acos(xd);
    case EB_UNARY_ATAN: return (float)eb_f64_atan(xd);
    case EB_UNARY_SINH: return (float)eb_f64_sinh(xd);
    case EB_UNARY_COSH: return (float)eb_f64_cosh(xd);
    case EB_UNARY_ASINH: return (float)eb_f64_asinh(xd);
    case EB_UNARY_ACOSH: return (float)eb_f64_acosh(xd);
    case EB_UNARY_ATANH: return (float)eb_f64_atanh(xd);
    case EB_UNARY_ABS: return x < 0.0f || (x == 0.0f && 1.0f / x < 0.0f) ? -x : x;
    case EB_UNARY_SIGN: return (float)((0.0f < x) - (x < 0.0f));  // torch: 0 for ±0 and NaN
    case EB_UNARY_NEG: return -x;
    case EB_UNARY_FLOOR: return __builtin_floorf(x);  // exact IEEE operations
    case EB_UNARY_CEIL: return __builtin_ceilf(x);
    case EB_UNARY_ROUND: return round_even(x);
    case EB_UNARY_TRUNC: return __builtin_truncf(x);
    case EB_UNARY_ELU: return x > 0.0f ? x : (float)((double)alpha * eb_f64_expm1(xd));
    case EB_UNARY_POW_SCALAR: return pow_scalar(x, alpha);
    case EB_UNARY_ADD_SCALAR: return x + alpha;
    case EB_UNARY_MUL_SCALAR: return x * alpha;
    case EB_UNARY_RSUB_SCALAR: return alpha - x;
    case EB_UNARY_DIV_SCALAR: return x / alpha;
    case EB_UNARY_RDIV_SCALAR: return alpha / x;
    case EB_UNARY_MAX_SCALAR: return max_nan(x, alpha);
    case EB_UNARY_MIN_SCALAR: return min_nan(x, alpha);
    default: return x;  // unreachable: the loader checks func
  }
}

}  // namespace

// y = f(x); PRELU takes alpha = slope[c] (one slope, or one per channel = last-dim index).
extern "C" void eb_f32_unary_ref(int32_t func, size_t count, size_t channels, size_t slopes, const float* slope,
                                 float alpha, const float* input, float* output) {
  for (size_t i = 0; i < count; ++i) {
    const float a = func == EB_UNARY_PRELU ? slope[slopes == 1 ? 0 : i % channels] : alpha;
    output[i] = apply(func, input[i], a);
  }
}
