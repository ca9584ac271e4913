// mcu_harness.c: bench/mcu.py's driver of a generated model (model.h) under qemu-system-arm: fills the int8 inputs
// with a fixed pattern, runs eb_model_run once between the instruction-count markers (model.c, compiled with
// -DEB_MODEL_PROFILE, calls them), and prints the output bytes and the deepest stack the run reached:
//   out <input> <hex bytes of each output, in order>
//   stack <bytes>
// The input pattern is an LCG (bench/mcu.py computes the same bytes to check the outputs against the host runtime).
// The stack below main's frame is painted before the run; the lowest word no longer holding the paint marks the depth.
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "model.h"

// The instruction-count plugin's markers, found by address: noipa keeps them out of line and apart.
__attribute__((noipa)) void eb_profile_invoke_begin(void) { __asm__ volatile(""); }
__attribute__((noipa)) void eb_profile_invoke_end(void) { __asm__ volatile(""); }
__attribute__((noipa)) void eb_profile_op_begin(void) { __asm__ volatile(""); }
__attribute__((noipa)) void eb_profile_op_end(void) { __asm__ volatile(""); }

enum { kPaintBytes = 64 * 1024 };  // below this frame; the boards' stacks (top of data RAM) are larger
static const uint32_t kPaint = 0xEB5EA1EDu;

// Paints, runs and measures in one noipa function so that its own frame is fixed while the paint is read.
__attribute__((noipa)) static uint32_t run_measured(void) {
  uint32_t* top;
  __asm__ volatile("mov %0, sp" : "=r"(top));  // eb_model_run's frames go below this frame's stack pointer
  uint32_t* bottom = top - kPaintBytes / 4;
  for (uint32_t* p = bottom; p < top; ++p) *(volatile uint32_t*)p = kPaint;
  eb_model_run();
  uint32_t* p = bottom;
  while (p < top && *(volatile uint32_t*)p == kPaint) ++p;
  return (uint32_t)((char*)top - (char*)p);
}

int main(void) {
  uint32_t state = 12345u;
  for (int i = 0; i < EB_MODEL_NUM_INPUTS; ++i) {
    int8_t* x = (int8_t*)eb_model_input(i);
    for (size_t j = 0; j < eb_model_input_bytes(i); ++j) {
      state = state * 1664525u + 1013904223u;  // Numerical Recipes' LCG; the top byte as the int8 code
      x[j] = (int8_t)(state >> 24);
    }
  }
  const uint32_t stack = run_measured();
  for (int i = 0; i < EB_MODEL_NUM_OUTPUTS; ++i) {
    const uint8_t* y = (const uint8_t*)eb_model_output(i);
    printf("out %d ", i);
    for (size_t j = 0; j < eb_model_output_bytes(i); ++j) printf("%02x", y[j]);
    printf("\n");
  }
  printf("stack %lu\n", (unsigned long)stack);
  return 0;
}
