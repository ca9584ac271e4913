// f32-bmm/ref.cc: reference float32 BATCH_MATMUL (attention scores and context), y[b] = alpha · a[b] · b[b](^T).
#include "edgebuild/ukernels.h"

namespace {

// Outputs are computed kBlock columns at a time with one double accumulator each: every output is still the sum
// over t = 0 .. k−1 in order (the same bits as one column at a time), but the independent chains pipeline and, for
// a row-major b, vectorize (a lane per column; -ffp-contract=off keeps mul and add separate on every target).
constexpr size_t kBlock = 8;

}  // namespace

// docs/artifact.md BATCH_MATMUL (float): y[b, i, j] = float(Σ_t a[b, i, t] · B[b, t, j] · alpha) with
// B = b[b] ([K, N]) or b[b]^T (b[b] is [N, K] when transpose_b); the sum in double, rounded once.
extern "C" void eb_f32_bmm_ref(size_t batch, size_t m, size_t n, size_t k, int transpose_b, float alpha, const float* a,
                               const float* b, float* output) {
  const size_t sj = transpose_b ? k : 1, st = transpose_b ? 1 : n;  // element (t, j) of B is bs[t·st + j·sj]
  for (size_t s = 0; s < batch; ++s) {
    const float* as = a + s * m * k;
    const float* bs = b + s * k * n;
    for (size_t i = 0; i < m; ++i, output += n) {
      const float* ar = as + i * k;
      for (size_t j0 = 0; j0 < n; j0 += kBlock) {
        const size_t nb = n - j0 < kBlock ? n - j0 : kBlock;
        double acc[kBlock] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (size_t t = 0; t < k; ++t) {
          const double x = (double)ar[t];
          const float* br = bs + t * st + j0 * sj;
          for (size_t jj = 0; jj < nb; ++jj) acc[jj] += x * (double)br[jj * sj];
        }
        for (size_t jj = 0; jj < nb; ++jj) output[j0 + jj] = (float)(acc[jj] * (double)alpha);
      }
    }
  }
}
