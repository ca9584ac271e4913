// f32_layernorm__avx512vnni.cc: float32 LAYER_NORM over the last axis for AVX-512: 16 float lanes in a zmm.
// Reference twin: eb_f32_layernorm_ref (f32-layernorm/ref.cc), the same template (f32math.h eb_f32_layernorm_rows)
// on one float per lane: equal bit for bit (kernels/test/ukernel_tester.cc).
#include "edgebuild/f32lanes.h"
#include "edgebuild/ukernels_isa.h"

extern "C" void eb_f32_layernorm_ukernel__avx512vnni(size_t rows, size_t cols, const float* input, const float* gamma,
                                                     const float* beta, float eps, float* output) {
  eb_f32_layernorm_rows<eb_f32x16, eb_i32x16>(rows, cols, input, gamma, beta, eps, output);
}
