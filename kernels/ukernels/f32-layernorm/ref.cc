// f32-layernorm/ref.cc: reference float32 LAYER_NORM over the last axis (transformer blocks).
#include "edgebuild/f32math.h"
#include "edgebuild/ukernels.h"

// docs/artifact.md LAYER_NORM: float32 arithmetic throughout (issue 19): mean, the corrected two-pass variance and
// y = (((x − mean) − c) · (1 / sqrt(var + eps))) · gamma + beta, the sums over 16 interleaved partials (element c into
// partial c % 16) meeting in SOFTMAX's tree. The code is f32math.h's eb_f32_layernorm_rows with one float per lane;
// the SIMD variants (f32_layernorm__<isa>.cc) run the same template on 16, 8 or 4 float lanes, so they equal this
// bit for bit. A NaN result is 0x7fc00000.
extern "C" void eb_f32_layernorm_ref(size_t rows, size_t cols, const float* input, const float* gamma,
                                     const float* beta, float eps, float* output) {
  eb_f32_layernorm_rows<float, int32_t>(rows, cols, input, gamma, beta, eps, output);
}
