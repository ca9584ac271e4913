// f32-clamp/ref.cc: reference float32 CLAMP (the float fallback of qs8-clamp).
#include "edgebuild/ukernels.h"

extern "C" void eb_f32_clamp_ref(size_t count, const float* input, float* output, float output_min, float output_max) {
  for (size_t i = 0; i < count; ++i) {
    const float x = input[i];
    output[i] = x < output_min ? output_min : (x > output_max ? output_max : x);
  }
}
