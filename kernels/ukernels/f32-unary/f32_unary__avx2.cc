// f32_unary__avx2.cc: float32 UNARY for AVX2: 4 double lanes in a ymm (no FMA: -mavx2 only): GELU, GELU_TANH, TANH,
// SILU, SIGMOID, EXP and ERF in lanes, every other function through the reference. Reference twin: eb_f32_unary_ref
// (f32-unary/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc): the shared lane code of edgebuild/f32lanes.h
// says why.
#include "edgebuild/f32lanes.h"
#include "edgebuild/ukernels_isa.h"

extern "C" void eb_f32_unary_ukernel__avx2(int32_t func, size_t count, size_t channels, size_t slopes,
                                           const float* slope, float alpha, const float* input, float* output) {
  eb_lanes::Lanes<4>::unary(func, count, channels, slopes, slope, alpha, input, output);
}
