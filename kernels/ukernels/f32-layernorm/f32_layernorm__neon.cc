// f32_layernorm__neon.cc: float32 LAYER_NORM over the last axis for arm64 NEON (every arm64 path): 4 float lanes in
// a q register. armv7 keeps the reference: its NEON flushes subnormals. Reference twin: eb_f32_layernorm_ref
// (f32-layernorm/ref.cc), the same template (f32math.h eb_f32_layernorm_rows) on one float per lane: equal bit for
// bit (kernels/test/ukernel_tester.cc).
#include "edgebuild/f32lanes.h"
#include "edgebuild/ukernels_isa.h"

#if defined(__aarch64__)
extern "C" void eb_f32_layernorm_ukernel__neon(size_t rows, size_t cols, const float* input, const float* gamma,
                                               const float* beta, float eps, float* output) {
  eb_f32_layernorm_rows<eb_f32x4, eb_i32x4>(rows, cols, input, gamma, beta, eps, output);
}
#endif
