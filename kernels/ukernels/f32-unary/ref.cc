// f32-unary/ref.cc: reference float32 UNARY (the float fallback of the int8 table ops), PyTorch's formulas.
//
// Piecewise-linear functions in float32 as PyTorch writes them; transcendental ones in double from
// edgebuild/f32math.h (no libm, no FMA) and rounded once, so every target gives the same bits.
#include "edgebuild/f32math.h"
#include "edgebuild/ukernels.h"

namespace {

float clamp06(float v) { return v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v); }

float apply(int32_t func, float x, float alpha) {
  const double xd = (double)x;
  switch (func) {
    case EB_UNARY_HARDSWISH: return x * clamp06(x + 3.0f) / 6.0f;
    case EB_UNARY_HARDSIGMOID: return clamp06(x + 3.0f) / 6.0f;
    case EB_UNARY_SIGMOID: return (float)(1.0 / (1.0 + eb_f64_exp(-xd)));
    case EB_UNARY_SILU: return (float)(xd / (1.0 + eb_f64_exp(-xd)));
    case EB_UNARY_GELU: return (float)(0.5 * xd * eb_f64_one_plus_erf(xd * 0.70710678118654752));
    case EB_UNARY_GELU_TANH: {
      const double inner = 0.79788456080286536 * (xd + 0.044715 * xd * xd * xd);
      return (float)(0.5 * xd * (1.0 + eb_f64_tanh(inner)));
    }
    case EB_UNARY_TANH: return (float)eb_f64_tanh(xd);
    case EB_UNARY_LEAKY_RELU:
    case EB_UNARY_PRELU: return x > 0.0f ? x : x * alpha;
    case EB_UNARY_RECIPROCAL: return 1.0f / x;  // IEEE division: correctly rounded, the same bits on every target
    default: return x;                          // unreachable: the loader checks func
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
