// qs8-gemm/ref.cc: reference int8 FULLY_CONNECTED, y[M, N] = x[M, K] · w[N, K]^T: plain loops, the spec.
#include "edgebuild/requant.h"
#include "edgebuild/ukernels.h"

// docs/artifact.md FULLY_CONNECTED and docs/quantization.md (6):
//   acc = bias[n] + Σ_k (x[m,k] − zp_x) · w[n,k],  y = clamp(MBQM(acc, mult[n], shift[n]) + zp_y, act_min, act_max).
extern "C" void eb_qs8_gemm_ref(const eb_qs8_gemm_params* p, const int8_t* input, const int8_t* weights,
                                const int32_t* bias, const int32_t* multiplier, const int32_t* shift, int8_t* output) {
  for (size_t m = 0; m < p->m; ++m) {
    const int8_t* x = input + m * p->k;
    for (size_t n = 0; n < p->n; ++n) {
      const int8_t* w = weights + n * p->k;
      int32_t acc = bias != NULL ? bias[n] : 0;
      for (size_t k = 0; k < p->k; ++k) {
        // The sum wraps only for a hostile file (see eb_add_wrap_s32).
        acc = eb_add_wrap_s32(acc, ((int32_t)x[k] - p->input_zero_point) * (int32_t)w[k]);
      }
      const int32_t q = eb_mbqm(acc, multiplier[n], shift[n]);  // docs/quantization.md (5)
      output[m * p->n + n] = eb_clamp_s8(eb_sat32((int64_t)q + p->output_zero_point), p->output_min, p->output_max);
    }
  }
}
