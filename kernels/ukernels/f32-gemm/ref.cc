// f32-gemm/ref.cc: reference float32 FULLY_CONNECTED (the float fallback of qs8-gemm), y = x · w^T + bias.
#include "edgebuild/ukernels.h"

namespace {

constexpr size_t kBlock = 8;  // output columns per pass, one double accumulator each (as f32-bmm)

float clampf(float y, float lo, float hi) { return y < lo ? lo : (y > hi ? hi : y); }

}  // namespace

// docs/artifact.md FULLY_CONNECTED (float): y[m, n] = clamp(bias[n] + Σ_k x[m, k] · w[n, k]), the sum in double
// over k in order (kBlock independent columns at a time: the same bits as one at a time, but pipelined).
extern "C" void eb_f32_gemm_ref(size_t m, size_t n, size_t k, const float* input, const float* weights,
                                const float* bias, float output_min, float output_max, float* output) {
  for (size_t i = 0; i < m; ++i) {
    const float* x = input + i * k;
    for (size_t j0 = 0; j0 < n; j0 += kBlock) {
      const size_t nb = n - j0 < kBlock ? n - j0 : kBlock;
      double acc[kBlock];
      for (size_t jj = 0; jj < nb; ++jj) acc[jj] = bias != NULL ? (double)bias[j0 + jj] : 0.0;
      for (size_t t = 0; t < k; ++t) {
        const double xv = (double)x[t];
        for (size_t jj = 0; jj < nb; ++jj) acc[jj] += xv * (double)weights[(j0 + jj) * k + t];
      }
      for (size_t jj = 0; jj < nb; ++jj) output[i * n + j0 + jj] = clampf((float)acc[jj], output_min, output_max);
    }
  }
}
