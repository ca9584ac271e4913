// aot_fake_variants.cc: stand-in kernel variants for tests/mcu/test_aot.py, which checks that the code generator
// calls a variant by the registry's convention (edgebuild/mcu/variants/__init__.py): the reference's parameter
// struct and arguments, packed weights in place of the reference layout, the extra constant arrays, then scratch.
// Each one checks what it was given and writes a wrong output when something is off, so the test can fail.
#include <string.h>

#include "edgebuild/ukernels.h"

extern "C" {

// weights packed reversed (flat), extra[0] = per-output-channel sums of the weights; scratch holds the weights
// restored to the reference layout (scratch_bytes = the weights' size), then the reference kernel runs.
void eb_test_conv_variant(const eb_qs8_conv_params* p, const int8_t* input, const int8_t* packed, const int32_t* bias,
                          const int32_t* multiplier, const int32_t* shift, int8_t* output, const int32_t* sums,
                          void* scratch) {
  const size_t per_oc = (size_t)p->kernel_height * (size_t)p->kernel_width * (size_t)(p->input_channels / p->groups);
  const size_t n = per_oc * (size_t)p->output_channels;
  int8_t* w = (int8_t*)scratch;
  for (size_t i = 0; i < n; ++i) w[i] = packed[n - 1 - i];
  int ok = 1;
  for (size_t oc = 0; oc < (size_t)p->output_channels; ++oc) {
    int32_t s = 0;
    for (size_t k = 0; k < per_oc; ++k) s += w[oc * per_oc + k];
    ok &= s == sums[oc];
  }
  eb_qs8_conv_ref(p, input, w, bias, multiplier, shift, output);
  if (!ok) output[0] ^= 0x55;
}

// extra[0] = {a_zero_point, b_zero_point} (an op without constants), no scratch.
void eb_test_add_variant(const eb_qs8_vadd_params* p, size_t count, const int8_t* a, const int8_t* b, int8_t* out,
                         const int32_t* zps) {
  eb_qs8_vadd_ref(p, count, a, b, out);
  if (zps[0] != p->a_zero_point || zps[1] != p->b_zero_point) out[0] ^= 0x55;
}

// extra[0] = {n, k}: checked against the parameters.
void eb_test_fc_variant(const eb_qs8_gemm_params* p, const int8_t* input, const int8_t* weights, const int32_t* bias,
                        const int32_t* multiplier, const int32_t* shift, int8_t* output, const int32_t* nk) {
  eb_qs8_gemm_ref(p, input, weights, bias, multiplier, shift, output);
  if (nk[0] != (int32_t)p->n || nk[1] != (int32_t)p->k) output[0] ^= 0x55;
}

}  // extern "C"
