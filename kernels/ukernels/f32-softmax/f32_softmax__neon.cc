// f32_softmax__neon.cc: float32 SOFTMAX over the last axis for arm64 NEON (every arm64 path): 4 float lanes in a q
// register, a row's 16 partials in four. armv7 keeps the reference: its NEON flushes subnormals (exp of x − max
// below −87.3 is subnormal) and has no vector divide. Reference twin: eb_f32_softmax_ref (f32-softmax/ref.cc), the
// same template (f32math.h eb_f32_softmax_rows) on one float per lane: equal bit for bit
// (kernels/test/ukernel_tester.cc).
#include "edgebuild/f32lanes.h"
#include "edgebuild/ukernels_isa.h"

#if defined(__aarch64__)
extern "C" void eb_f32_softmax_ukernel__neon(size_t rows, size_t cols, const float* input, float* output) {
  eb_f32_softmax_rows<eb_f32x4, eb_i32x4, eb_u32x4>(rows, cols, input, output);
}
#endif
