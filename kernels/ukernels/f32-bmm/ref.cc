// f32-bmm/ref.cc: reference float32 BATCH_MATMUL (attention scores and context), y[b] = alpha · a[b] · b[b](^T).
#include "edgebuild/ukernels.h"

// docs/artifact.md BATCH_MATMUL (float): y[b, i, j] = float(alpha · Σ_t a[b, i, t] · B[b, t, j]) with
// B = b[b] ([K, N]) or b[b]^T (b[b] is [N, K] when transpose_b); the sum in double, rounded once.
extern "C" void eb_f32_bmm_ref(size_t batch, size_t m, size_t n, size_t k, int transpose_b, float alpha,
                               const float* a, const float* b, float* output) {
  for (size_t s = 0; s < batch; ++s) {
    const float* as = a + s * m * k;
    const float* bs = b + s * k * n;
    for (size_t i = 0; i < m; ++i) {
      for (size_t j = 0; j < n; ++j) {
        double acc = 0.0;
        if (transpose_b) {
          for (size_t t = 0; t < k; ++t) acc += (double)as[i * k + t] * (double)bs[j * k + t];
        } else {
          for (size_t t = 0; t < k; ++t) acc += (double)as[i * k + t] * (double)bs[t * n + j];
        }
        *output++ = (float)(acc * (double)alpha);
      }
    }
  }
}
