// qd8-softmax/ref.cc: reference of the ATTENTION op's middle step on its qd8 path (issue 19): per row of scores,
// the mask added (the ADD float op with bounds ±inf: the plain IEEE sum), SOFTMAX float (eb_f32_softmax_ref) and the
// probabilities quantized per row for the P·V product, docs/quantization.md (14) (eb_qd8_quantize_ref). The unfused
// ops' composition, so these bits are the fused op's by definition (ops/attention.cc), and every variant's.
#include "edgebuild/ukernels.h"

extern "C" void eb_qd8_softmax_ref(size_t m, size_t k, float* x, size_t x_stride, const float* mask, size_t mask_stride,
                                   int8_t* q, size_t q_stride, eb_qd8_row_params* params) {
  for (size_t r = 0; r < m; ++r, x += x_stride, q += q_stride) {
    if (mask != NULL)
      for (size_t c = 0; c < k; ++c) x[c] = x[c] + mask[r * mask_stride + c];
    eb_f32_softmax_ref(1, k, x, x);  // in place: each element is read before it is written
    eb_qd8_quantize_ref(1, k, x, k, q, params + r);
  }
}
