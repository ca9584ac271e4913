// qs8-clamp/ref.cc: reference CLAMP of int8 values to [output_min, output_max] (a fused activation, eq. 8).
#include "edgebuild/requant.h"
#include "edgebuild/ukernels.h"

extern "C" void eb_qs8_clamp_ref(size_t count, const int8_t* input, int8_t* output, int32_t output_min,
                                 int32_t output_max) {
  for (size_t i = 0; i < count; ++i) output[i] = eb_clamp_s8(input[i], output_min, output_max);
}
