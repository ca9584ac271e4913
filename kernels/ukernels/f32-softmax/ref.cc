// f32-softmax/ref.cc: reference float32 SOFTMAX over the last axis (attention probabilities).
#include "edgebuild/f32math.h"
#include "edgebuild/ukernels.h"

// docs/artifact.md SOFTMAX: y[r, c] = e[r, c] / Σ_c e[r, c] with e = exp(x − m) rounded to float, m the row's max (so
// every exponent is <= 0: nothing overflows). The max and the sum run over 8 interleaved partials (element c into
// partial c % 8) combined in a fixed tree (f32math.h eb_tree8_*), the sum in double: that order is what the SIMD
// variants (f32_softmax__<isa>.cc) compute with 8, 2×4 or 4×2 lanes, so they equal this bit for bit. A row holding a
// NaN (or +inf, or only −inf: x − m is NaN) gives a row of NaN (0x7fc00000).
extern "C" void eb_f32_softmax_ref(size_t rows, size_t cols, const float* input, float* output) {
  for (size_t r = 0; r < rows; ++r) {
    const float* x = input + r * cols;
    float* y = output + r * cols;
    float mp[8];
    for (int j = 0; j < 8; ++j) mp[j] = -1.0f / 0.0f;
    for (size_t c = 0; c < cols; ++c) mp[c % 8] = eb_max2(mp[c % 8], x[c]);
    const float mx = eb_tree8_max(mp);
    double sp[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    for (size_t c = 0; c < cols; ++c) {
      y[c] = (float)eb_exp_f32((double)(x[c] - mx));
      sp[c % 8] += (double)y[c];
    }
    const double sum = eb_tree8_sum(sp);
    if (sum != sum) {
      for (size_t c = 0; c < cols; ++c) y[c] = eb_f32_nan();
      continue;
    }
    const double inv = 1.0 / sum;
    for (size_t c = 0; c < cols; ++c) y[c] = (float)((double)y[c] * inv);
  }
}
