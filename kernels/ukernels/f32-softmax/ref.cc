// f32-softmax/ref.cc: reference float32 SOFTMAX over the last axis (attention probabilities).
#include "edgebuild/f32math.h"
#include "edgebuild/ukernels.h"

// docs/artifact.md SOFTMAX: y[r, c] = e[r, c] / Σ_c e[r, c] with e = exp(x − max_c x[r, c]) (the max keeps every
// exponent <= 0, so nothing overflows); exp from f32math.h, the sum in double.
extern "C" void eb_f32_softmax_ref(size_t rows, size_t cols, const float* input, float* output) {
  for (size_t r = 0; r < rows; ++r) {
    const float* x = input + r * cols;
    float* y = output + r * cols;
    float mx = x[0];
    for (size_t c = 1; c < cols; ++c) mx = x[c] > mx ? x[c] : mx;
    double sum = 0.0;
    for (size_t c = 0; c < cols; ++c) {
      y[c] = eb_f32_exp(x[c] - mx);
      sum += (double)y[c];
    }
    const double inv = 1.0 / sum;
    for (size_t c = 0; c < cols; ++c) y[c] = (float)((double)y[c] * inv);
  }
}
