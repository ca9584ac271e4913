// f32-add/ref.cc: reference float32 ADD of same-shape tensors (the float fallback of qs8-vadd, and every float
// residual ADD of a transformer).
#include <string.h>

#include "edgebuild/ukernels.h"

// y = min(max(a + b, output_min), output_max), element by element (a NaN sum stays NaN: both comparisons are false).
// On arm64 and x86 the loop runs on GCC vectors of 4 floats: each lane does the scalar loop's operations on its own
// element, so the bits are the same (no reassociation, no FMA). armv7 (its NEON flushes subnormals) and the
// microcontrollers keep the scalar loop. The output may be one of the inputs (in-place ADD): every vector is loaded
// before it is stored.
extern "C" void eb_f32_add_ref(size_t count, const float* a, const float* b, float output_min, float output_max,
                               float* output) {
  size_t i = 0;
#if defined(__aarch64__) || defined(__SSE2__)
  typedef float v4f __attribute__((vector_size(16)));
  const v4f lo = {output_min, output_min, output_min, output_min};
  const v4f hi = {output_max, output_max, output_max, output_max};
  for (; i + 8 <= count; i += 8) {
    v4f a0, a1, b0, b1;
    memcpy(&a0, a + i, sizeof a0);
    memcpy(&a1, a + i + 4, sizeof a1);
    memcpy(&b0, b + i, sizeof b0);
    memcpy(&b1, b + i + 4, sizeof b1);
    v4f y0 = a0 + b0, y1 = a1 + b1;
    y0 = y0 < lo ? lo : y0;
    y1 = y1 < lo ? lo : y1;
    y0 = y0 > hi ? hi : y0;
    y1 = y1 > hi ? hi : y1;
    memcpy(output + i, &y0, sizeof y0);
    memcpy(output + i + 4, &y1, sizeof y1);
  }
#endif
  for (; i < count; ++i) {
    float y = a[i] + b[i];
    y = y < output_min ? output_min : y;
    output[i] = y > output_max ? output_max : y;
  }
}
