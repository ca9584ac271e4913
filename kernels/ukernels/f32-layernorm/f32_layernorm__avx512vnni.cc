// f32_layernorm__avx512vnni.cc: float32 LAYER_NORM over the last axis for AVX-512: 8 double lanes in a zmm.
// Reference twin: eb_f32_layernorm_ref (f32-layernorm/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc):
// the shared lane code of edgebuild/f32lanes.h says why.
#include "edgebuild/f32lanes.h"
#include "edgebuild/ukernels_isa.h"

extern "C" void eb_f32_layernorm_ukernel__avx512vnni(size_t rows, size_t cols, const float* input, const float* gamma,
                                                     const float* beta, float eps, float* output) {
  eb_lanes::Lanes<8>::layernorm(rows, cols, input, gamma, beta, eps, output);
}
