// aot_qemu_harness.c: tests/mcu/test_aot.py's driver of a generated model under qemu-system-arm: copies the int8
// input (inputs.h, written by the test) into eb_model_input(0), runs the model once and prints, with
// -DEB_MODEL_TRACE, an FNV-1a hash of every op's output as the op writes it ("op <index> <hash>"), then the output
// bytes ("out <hex>").
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "inputs.h"
#include "model.h"

static uint32_t fnv1a(const uint8_t* p, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 16777619u;
  return h;
}

void eb_model_trace(int op, const void* data, size_t bytes) {
  printf("op %d %08lx\n", op, (unsigned long)fnv1a((const uint8_t*)data, bytes));
}

int main(void) {
  memcpy(eb_model_input(0), eb_test_input, sizeof eb_test_input);
  eb_model_run();
  const uint8_t* y = (const uint8_t*)eb_model_output(0);
  printf("out ");
  for (size_t i = 0; i < eb_model_output_bytes(0); ++i) printf("%02x", y[i]);
  printf("\n");
  return 0;
}
