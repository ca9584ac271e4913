// qs8-concat/ref.cc: reference CONCAT of one input into its slot of the output.
#include <string.h>

#include "edgebuild/requant.h"
#include "edgebuild/ukernels.h"

// docs/artifact.md CONCAT: multiplier 0 means the input already has the output's scale and zero point (a copy);
// otherwise docs/quantization.md (10): y = clamp(MBQM(q − zp_x, m, e) + zp_y, −128, 127).
extern "C" void eb_qs8_concat_ref(const eb_qs8_concat_params* p, const int8_t* input, int8_t* output) {
  for (size_t o = 0; o < p->outer; ++o) {
    const int8_t* x = input + o * p->input_row;
    int8_t* y = output + o * p->output_stride;
    if (p->multiplier == 0) {
      memmove(y, x, p->input_row);  // memmove: a crafted artifact may overlap input and output (fuzz finding)
      continue;
    }
    for (size_t i = 0; i < p->input_row; ++i) {
      const int32_t q = eb_mbqm((int32_t)x[i] - p->input_zero_point, p->multiplier, p->shift);
      y[i] = eb_clamp_s8(eb_sat32((int64_t)q + p->output_zero_point), -128, 127);
    }
  }
}
