// f32_gemm__avx2.cc: float32 FULLY_CONNECTED for AVX2 cores. Reference twin: eb_f32_gemm_ref
// (f32-gemm/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc).
//
// y = x · wᵀ + bias is the float BATCH_MATMUL's product with B = wᵀ (transposed, [N, K] as stored), the bias as
// each sum's start value, alpha 1 (exact: multiplying a double by 1 returns it) and the clamp: the matrix core of
// f32-bmm/f32_bmm__avx2.cc, whose opening comment says why its double FMAs give the twin's bits.
#include "edgebuild/ukernels_isa.h"

// docs/artifact.md FULLY_CONNECTED (float), as eb_f32_gemm_ref; scratch: EB_F32_MM_SCRATCH_BYTES(k), 64-aligned.
extern "C" void eb_f32_gemm_ukernel__avx2(size_t m, size_t n, size_t k, const float* input, const float* weights,
                                          const float* bias, float output_min, float output_max, float* output,
                                          void* scratch) {
  eb_f32_bmm_matrix__avx2(m, n, k, 1, input, weights, bias, 1.0f, output_min, output_max, output, scratch);
}
