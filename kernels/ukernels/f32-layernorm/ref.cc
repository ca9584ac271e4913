// f32-layernorm/ref.cc: reference float32 LAYER_NORM over the last axis (transformer blocks).
#include <math.h>

#include "edgebuild/ukernels.h"

// docs/artifact.md LAYER_NORM: mean and biased variance of each row in double, then
// y = (x − mean) / sqrt(var + eps) · gamma + beta, rounded once (sqrt is IEEE-exact on every target).
extern "C" void eb_f32_layernorm_ref(size_t rows, size_t cols, const float* input, const float* gamma,
                                     const float* beta, float eps, float* output) {
  for (size_t r = 0; r < rows; ++r) {
    const float* x = input + r * cols;
    float* y = output + r * cols;
    double mean = 0.0;
    for (size_t c = 0; c < cols; ++c) mean += (double)x[c];
    mean /= (double)cols;
    double var = 0.0;
    for (size_t c = 0; c < cols; ++c) var += ((double)x[c] - mean) * ((double)x[c] - mean);
    var /= (double)cols;
    const double inv = 1.0 / sqrt(var + (double)eps);
    for (size_t c = 0; c < cols; ++c) {
      double v = ((double)x[c] - mean) * inv;
      if (gamma != NULL) v *= (double)gamma[c];
      if (beta != NULL) v += (double)beta[c];
      y[c] = (float)v;
    }
  }
}
