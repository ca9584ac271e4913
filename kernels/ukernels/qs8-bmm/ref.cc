// qs8-bmm/ref.cc: reference int8 BATCH_MATMUL of two activations (attention scores and context): plain loops.
#include "edgebuild/requant.h"
#include "edgebuild/ukernels.h"

// docs/artifact.md BATCH_MATMUL (int8) and docs/quantization.md (6) with one multiplier for the whole tensor:
//   acc = Σ_t (a[b, i, t] − zp_a) · (B[b, t, j] − zp_b),  y = clamp(MBQM(acc, mult, shift) + zp_y, act_min, act_max)
// with B = b[b] ([K, N]) or b[b]^T (transpose_b). |a − zp_a|, |b − zp_b| <= 255: the loader bounds K so that acc
// fits int32; a hostile file wraps (eb_add_wrap_s32), never undefined.
extern "C" void eb_qs8_bmm_ref(const eb_qs8_bmm_params* p, const int8_t* a, const int8_t* b, int8_t* output) {
  const size_t m = p->m, n = p->n, k = p->k;
  const size_t sj = p->transpose_b ? k : 1, st = p->transpose_b ? 1 : n;
  for (size_t s = 0; s < p->batch; ++s) {
    const int8_t* as = a + s * m * k;
    const int8_t* bs = b + s * k * n;
    for (size_t i = 0; i < m; ++i) {
      for (size_t j = 0; j < n; ++j) {
        int32_t acc = 0;
        for (size_t t = 0; t < k; ++t)
          acc = eb_add_wrap_s32(
              acc, ((int32_t)as[i * k + t] - p->a_zero_point) * ((int32_t)bs[t * st + j * sj] - p->b_zero_point));
        const int32_t q = eb_mbqm(acc, p->multiplier, p->shift);
        *output++ = eb_clamp_s8(eb_sat32((int64_t)q + p->output_zero_point), p->output_min, p->output_max);
      }
    }
  }
}
