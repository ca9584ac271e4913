// f32_layernorm__avx2.cc: float32 LAYER_NORM over the last axis for AVX2: 8 float lanes in a ymm (no FMA: -mavx2 only).
// Reference twin: eb_f32_layernorm_ref (f32-layernorm/ref.cc), the same template (f32math.h eb_f32_layernorm_rows)
// on one float per lane: equal bit for bit (kernels/test/ukernel_tester.cc).
#include "edgebuild/f32lanes.h"
#include "edgebuild/ukernels_isa.h"

extern "C" void eb_f32_layernorm_ukernel__avx2(size_t rows, size_t cols, const float* input, const float* gamma,
                                               const float* beta, float eps, float* output) {
  eb_f32_layernorm_rows<eb_f32x8, eb_i32x8>(rows, cols, input, gamma, beta, eps, output);
}
