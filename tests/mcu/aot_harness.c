// aot_harness.c: the host test's driver of a generated model (tests/mcu/test_aot.py). Usage:
//   harness f in.bin out.bin   float32 inputs -> eb_model_set_input_f32, eb_model_run, eb_model_get_output_f32
//   harness q in.bin out.bin   int8 input tensors -> eb_model_input, eb_model_run, eb_model_output bytes
// Inputs and outputs are concatenated in model order.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  const int f32 = argv[1][0] == 'f';
  FILE* in = fopen(argv[2], "rb");
  FILE* out = fopen(argv[3], "wb");
  if (in == NULL || out == NULL) return 3;
  for (int i = 0; i < EB_MODEL_NUM_INPUTS; ++i) {
    if (f32) {
      const size_t n = eb_model_input_f32_count(i);
      float* x = (float*)malloc(n * sizeof(float) + 1);
      if (fread(x, sizeof(float), n, in) != n) return 4;
      eb_model_set_input_f32(i, x);
      free(x);
    } else {
      const size_t n = eb_model_input_bytes(i);
      if (fread(eb_model_input(i), 1, n, in) != n) return 4;
    }
  }
  eb_model_run();
  for (int i = 0; i < EB_MODEL_NUM_OUTPUTS; ++i) {
    if (f32) {
      const size_t n = eb_model_output_f32_count(i);
      float* y = (float*)malloc(n * sizeof(float) + 1);
      eb_model_get_output_f32(i, y);
      fwrite(y, sizeof(float), n, out);
      free(y);
    } else {
      fwrite(eb_model_output(i), 1, eb_model_output_bytes(i), out);
    }
  }
  fclose(in);
  return fclose(out) == 0 ? 0 : 5;
}
