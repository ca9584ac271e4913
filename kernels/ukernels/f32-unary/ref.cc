// f32-unary/ref.cc: reference float32 UNARY (the float fallback of the int8 table ops), PyTorch's formulas.
#include <math.h>

#include "edgebuild/ukernels.h"

namespace {

float apply(int32_t func, float x, float alpha) {
  switch (func) {
    case EB_UNARY_HARDSWISH: return x * fminf(fmaxf(x + 3.0f, 0.0f), 6.0f) / 6.0f;
    case EB_UNARY_HARDSIGMOID: return fminf(fmaxf(x + 3.0f, 0.0f), 6.0f) / 6.0f;
    case EB_UNARY_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case EB_UNARY_SILU: return x / (1.0f + expf(-x));
    case EB_UNARY_GELU: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    case EB_UNARY_GELU_TANH: {
      const float inner = 0.79788456080286536f * (x + 0.044715f * x * x * x);
      return 0.5f * x * (1.0f + tanhf(inner));
    }
    case EB_UNARY_TANH: return tanhf(x);
    case EB_UNARY_LEAKY_RELU:
    case EB_UNARY_PRELU: return x > 0.0f ? x : x * alpha;
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
