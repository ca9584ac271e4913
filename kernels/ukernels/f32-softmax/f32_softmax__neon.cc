// f32_softmax__neon.cc: float32 SOFTMAX over the last axis for arm64 NEON (every arm64 path): 4 float lanes in a q
// register, a row's 16 partials in four. armv7 keeps the reference: its NEON flushes subnormals (exp of x − max
// below −87.3 is subnormal) and has no vector divide. Reference twin: eb_f32_softmax_ref (f32-softmax/ref.cc), the
// same template (f32math.h eb_f32_softmax_rows) on one float per lane: equal bit for bit
// (kernels/test/ukernel_tester.cc).
#include "edgebuild/f32lanes.h"
#include "edgebuild/ukernels_isa.h"

#if defined(__aarch64__)
// SOFTMAX's exp pass (f32math.h eb_f32_softmax_exps) on 4 float lanes, once in the library: this kernel and ATTENTION's
// qd8_softmax__neon.cc both call it (a second inlined copy would be ~1.5 KiB of the arm64 budget).
extern "C" __attribute__((noinline)) float eb_f32_softmax_exps__neon(size_t cols, const float* x, const float* mask,
                                                                     float* y, uint8_t* zero) {
  return eb_f32_softmax_exps<eb_f32x4, eb_i32x4, eb_u32x4>(cols, x, mask, y, zero);
}

extern "C" void eb_f32_softmax_ukernel__neon(size_t rows, size_t cols, const float* input, float* output) {
  eb_f32_softmax_rows<eb_f32x4, eb_i32x4, eb_u32x4, eb_f32_softmax_exps__neon>(rows, cols, input, output);
}
#endif
