// f32_softmax__avx512vnni.cc: float32 SOFTMAX over the last axis for AVX-512: 16 float lanes in a zmm, a row's 16
// partials in one register. Reference twin: eb_f32_softmax_ref (f32-softmax/ref.cc), the same template
// (f32math.h eb_f32_softmax_rows) on one float per lane: equal bit for bit (kernels/test/ukernel_tester.cc).
#include "edgebuild/f32lanes.h"
#include "edgebuild/ukernels_isa.h"

extern "C" void eb_f32_softmax_ukernel__avx512vnni(size_t rows, size_t cols, const float* input, float* output) {
  eb_f32_softmax_rows<eb_f32x16, eb_i32x16, eb_u32x16>(rows, cols, input, output);
}
