// f32_unary__neon.cc: float32 UNARY for arm64 NEON (every arm64 path): 2 double lanes in a q register; armv7 keeps the
// reference: GELU, GELU_TANH, TANH, SILU, SIGMOID and EXP in lanes, every other function (ERF too: footprint) through
// the reference.
// Reference twin: eb_f32_unary_ref (f32-unary/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc): the shared
// lane code of edgebuild/f32lanes.h says why.
#include "edgebuild/f32lanes.h"
#include "edgebuild/ukernels_isa.h"

#if defined(__aarch64__)  // armv7 NEON flushes subnormals and has no double lanes: it keeps the reference
extern "C" void eb_f32_unary_ukernel__neon(int32_t func, size_t count, size_t channels, size_t slopes,
                                           const float* slope, float alpha, const float* input, float* output) {
  eb_lanes::Lanes<2>::unary(func, count, channels, slopes, slope, alpha, input, output);
}
#endif
