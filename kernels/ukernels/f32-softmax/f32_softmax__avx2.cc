// f32_softmax__avx2.cc: float32 SOFTMAX over the last axis for AVX2: 4 double lanes in a ymm (no FMA: -mavx2 only).
// Reference twin: eb_f32_softmax_ref (f32-softmax/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc): the
// shared lane code of edgebuild/f32lanes.h says why.
#include "edgebuild/f32lanes.h"
#include "edgebuild/ukernels_isa.h"

extern "C" void eb_f32_softmax_ukernel__avx2(size_t rows, size_t cols, const float* input, float* output) {
  eb_lanes::Lanes<4>::softmax(rows, cols, input, output);
}
