// f32-gemm/ref.cc: reference float32 FULLY_CONNECTED (the float fallback of qs8-gemm), y = x · w^T + bias.
#include "edgebuild/ukernels.h"

// docs/artifact.md FULLY_CONNECTED (float): y[m, n] = clamp(bias[n] + Σ_k x[m, k] · w[n, k]), the sum in double.
extern "C" void eb_f32_gemm_ref(size_t m, size_t n, size_t k, const float* input, const float* weights,
                                const float* bias, float output_min, float output_max, float* output) {
  for (size_t i = 0; i < m; ++i) {
    const float* x = input + i * k;
    for (size_t j = 0; j < n; ++j) {
      const float* w = weights + j * k;
      double acc = bias != NULL ? (double)bias[j] : 0.0;
      for (size_t t = 0; t < k; ++t) acc += (double)x[t] * (double)w[t];
      float y = (float)acc;
      y = y < output_min ? output_min : y;
      output[i * n + j] = y > output_max ? output_max : y;
    }
  }
}
