// f32_layernorm__neon.cc: float32 LAYER_NORM over the last axis for arm64 NEON (every arm64 path): 2 double lanes in a
// q register; armv7 keeps the reference. Reference twin: eb_f32_layernorm_ref (f32-layernorm/ref.cc); equal bit for bit
// (kernels/test/ukernel_tester.cc): the shared lane code of edgebuild/f32lanes.h says why.
#include "edgebuild/f32lanes.h"
#include "edgebuild/ukernels_isa.h"

#if defined(__aarch64__)  // armv7 NEON flushes subnormals and has no double lanes: it keeps the reference
extern "C" void eb_f32_layernorm_ukernel__neon(size_t rows, size_t cols, const float* input, const float* gamma,
                                               const float* beta, float eps, float* output) {
  eb_lanes::Lanes<2>::layernorm(rows, cols, input, gamma, beta, eps, output);
}
#endif
