// qd8-gemm/ref.cc: reference DYNAMIC_FULLY_CONNECTED product, int8 rows (quantized per row at run time) times int8
// per-channel weights, scaled back to float32, docs/quantization.md (15). These bits define every variant's.
#include "edgebuild/ukernels.h"

extern "C" void eb_qd8_gemm_ref(size_t m, size_t n, size_t k, const int8_t* q, const eb_qd8_row_params* params,
                                const int8_t* w, const float* w_scale, const float* bias, float output_min,
                                float output_max, float* y, size_t y_stride) {
  for (size_t r = 0; r < m; ++r, q += k, y += y_stride) {
    const float s = params[r].scale;
    const int32_t zp = params[r].zero_point;
    for (size_t c = 0; c < n; ++c) {
      const int8_t* wc = w + c * k;
      int32_t acc = 0, wsum = 0;
      for (size_t i = 0; i < k; ++i) {
        acc += (int32_t)q[i] * (int32_t)wc[i];
        wsum += wc[i];
      }
      acc -= zp * wsum;  // (15): exact in int32
      const float u = s * w_scale[c];
      float v = (float)acc * u;  // two roundings, in this order, on every ISA (-ffp-contract=off)
      if (bias != NULL) v = v + bias[c];
      v = v < output_min ? output_min : v;
      y[c] = v > output_max ? output_max : v;
    }
  }
}
