// f32-layernorm/ref.cc: reference float32 LAYER_NORM over the last axis (transformer blocks).
#include "edgebuild/f32math.h"
#include "edgebuild/ukernels.h"

// docs/artifact.md LAYER_NORM: mean and biased variance of each row in double, each sum over 8 interleaved partials
// (element c into partial c % 8) combined in a fixed tree (f32math.h eb_tree8_sum), the order the SIMD variants
// (f32_layernorm__<isa>.cc) compute in; then y = ((x − mean)·(1 / sqrt(var + eps)))·gamma + beta in double, rounded
// once (sqrt and division are IEEE-exact on every target). A NaN result is 0x7fc00000.
extern "C" void eb_f32_layernorm_ref(size_t rows, size_t cols, const float* input, const float* gamma,
                                     const float* beta, float eps, float* output) {
  for (size_t r = 0; r < rows; ++r) {
    const float* x = input + r * cols;
    float* y = output + r * cols;
    double sp[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    for (size_t c = 0; c < cols; ++c) sp[c % 8] += (double)x[c];
    const double mean = eb_tree8_sum(sp) / (double)cols;
    double vp[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    for (size_t c = 0; c < cols; ++c) {
      const double d = (double)x[c] - mean;
      vp[c % 8] += d * d;
    }
    const double var = eb_tree8_sum(vp) / (double)cols;
    const double inv = 1.0 / __builtin_sqrt(var + (double)eps);
    for (size_t c = 0; c < cols; ++c) {
      double v = ((double)x[c] - mean) * inv;
      if (gamma != NULL) v = v * (double)gamma[c];
      if (beta != NULL) v = v + (double)beta[c];
      y[c] = v != v ? eb_f32_nan() : (float)v;
    }
  }
}
