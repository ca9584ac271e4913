// f32-softmax/ref.cc: reference float32 SOFTMAX over the last axis (attention probabilities).
#include "edgebuild/f32math.h"
#include "edgebuild/ukernels.h"

// docs/artifact.md SOFTMAX: float32 arithmetic throughout (issue 19): m = the row's max, e = exp(x − m) by f32math.h's
// float32 eb_exp_f32_nonpos, y = e / Σ e, the max and the sum over 16 interleaved partials (element c into partial
// c % 16) meeting in a fixed tree. The code is f32math.h's eb_f32_softmax_rows with one float per lane; the SIMD
// variants (f32_softmax__<isa>.cc) run the same template on 16, 8 or 4 float lanes, so they equal this bit for bit.
// A row holding a NaN (or +inf, or only −inf: x − m is NaN) gives a row of NaN (0x7fc00000).
extern "C" void eb_f32_softmax_ref(size_t rows, size_t cols, const float* input, float* output) {
  eb_f32_softmax_rows<float, int32_t, uint32_t>(rows, cols, input, output);
}
