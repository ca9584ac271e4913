// f32-add/ref.cc: reference float32 ADD of same-shape tensors (the float fallback of qs8-vadd).
#include "edgebuild/ukernels.h"

extern "C" void eb_f32_add_ref(size_t count, const float* a, const float* b, float output_min, float output_max,
                               float* output) {
  for (size_t i = 0; i < count; ++i) {
    float y = a[i] + b[i];
    y = y < output_min ? output_min : y;
    output[i] = y > output_max ? output_max : y;
  }
}
