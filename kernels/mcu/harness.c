// harness.c: the test firmware's main around an ahead-of-time compiled model (model.h), for `edgebuild run`,
// `edgebuild profile` and the build's smoke run under qemu-system-arm (edgebuild/mcu/firmware.py builds it; the
// bundle's firmware.elf is this file + startup.c + the model, linked with the board's linker script).
//
//   firmware.elf INPUT OUTPUT [ITERATIONS]
//
// INPUT holds the model's float32 inputs, little-endian, one after another in input order (eb_model_input_f32_count
// values each); OUTPUT gets the float32 outputs the same way. Both are host files, read and written with
// semihosting calls (SYS_OPEN, SYS_READ, SYS_WRITE: the debugger, here QEMU, does the I/O). Not through newlib's
// stdio, which allocates its FILE buffers from the heap, and newlib's semihosting sbrk refuses a heap above the stack
// (where mps3-an547.ld puts .bss). It prints one line (SYS_WRITE0: QEMU's stderr),
//   {"status":"ok","iterations":N,"arena_bytes":A,"stack_bytes":S}
// or {"status":"error","code":C,"message":"..."} and exits 1 — the Linux runner's contract (edgebuild/run/), so the
// same parser reads both. stack_bytes is the deepest stack eb_model_run reached: the stack below main's frame is
// painted with a pattern before the first run, and the lowest word no longer holding it marks the depth.
//
// Not the model's code: a firmware project replaces this file with its own main (docs/microcontrollers.md). No heap.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

#ifdef EB_MODEL_PROFILE
// The instruction-count plugin's markers (kernels/tools/qemu-insn-count.c): model.c calls them around eb_model_run's
// body and around each op; the plugin finds them by address in the ELF's symbol table. noipa: never inlined, and
// never folded into one another by identical-code folding (four empty functions would otherwise share one address).
__attribute__((noipa)) void eb_profile_invoke_begin(void) { __asm__ volatile(""); }
__attribute__((noipa)) void eb_profile_invoke_end(void) { __asm__ volatile(""); }
__attribute__((noipa)) void eb_profile_op_begin(void) { __asm__ volatile(""); }
__attribute__((noipa)) void eb_profile_op_end(void) { __asm__ volatile(""); }
#endif

enum { kStackPaintBytes = 96 * 1024 };  // below main's frame; the boards' stacks are larger (boards/*.ld)
static const uint32_t kPaint = 0xEB5EA1EDu;

// One float buffer for the inputs, then the outputs. Every int8 input (output) tensor lives in the arena at once
// before (after) a run, so the model's float counts, one per tensor element, sum to at most EB_MODEL_ARENA_BYTES.
static float io[EB_MODEL_ARENA_BYTES > 0 ? EB_MODEL_ARENA_BYTES : 1];

// ARM semihosting (the "Semihosting for AArch32 and AArch64" specification): operation in r0, argument block in r1.
enum { kSysOpen = 0x01, kSysClose = 0x02, kSysWrite0 = 0x04, kSysWrite = 0x05, kSysRead = 0x06, kSysFlen = 0x0C };
enum { kModeRb = 1, kModeWb = 5 };  // fopen modes "rb", "wb"

static int semihost(int op, void* arg) {
  register int r0 __asm__("r0") = op;
  register void* r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

static int host_open(const char* name, int mode) {
  uint32_t block[3] = {(uint32_t)(uintptr_t)name, (uint32_t)mode, (uint32_t)strlen(name)};
  return semihost(kSysOpen, block);
}

static int host_close(int handle) {
  uint32_t block[1] = {(uint32_t)handle};
  return semihost(kSysClose, block);
}

static long host_length(int handle) {
  uint32_t block[1] = {(uint32_t)handle};
  return semihost(kSysFlen, block);
}

// Both return the bytes NOT transferred (0: all of them), as the specification says.
static int host_read(int handle, void* data, size_t bytes) {
  uint32_t block[3] = {(uint32_t)handle, (uint32_t)(uintptr_t)data, (uint32_t)bytes};
  return semihost(kSysRead, block);
}

static int host_write(int handle, const void* data, size_t bytes) {
  uint32_t block[3] = {(uint32_t)handle, (uint32_t)(uintptr_t)data, (uint32_t)bytes};
  return semihost(kSysWrite, block);
}

static char line[256];

static void print_line(void) { semihost(kSysWrite0, line); }

static int fail(int code, const char* message) {
  snprintf(line, sizeof line, "{\"status\":\"error\",\"code\":%d,\"message\":\"%s\"}\n", code, message);
  print_line();
  return 1;
}

static uint32_t* stack_pointer(void) {
  uint32_t* sp;
  __asm__ volatile("mov %0, sp" : "=r"(sp));
  return sp;
}

int main(int argc, char** argv) {
  if (argc < 3) return fail(2, "usage: firmware.elf INPUT OUTPUT [ITERATIONS]");
  const int iterations = argc > 3 ? atoi(argv[3]) : 1;
  if (iterations < 1) return fail(2, "ITERATIONS must be >= 1");

  size_t in_total = 0, out_total = 0;
  for (int i = 0; i < EB_MODEL_NUM_INPUTS; ++i) in_total += eb_model_input_f32_count(i);
  for (int i = 0; i < EB_MODEL_NUM_OUTPUTS; ++i) out_total += eb_model_output_f32_count(i);
  if (in_total > sizeof io / sizeof io[0] || out_total > sizeof io / sizeof io[0])
    return fail(3, "the model's float inputs or outputs exceed the harness's buffer");
  float* const in = io;
  float* const out = io;

  int f = host_open(argv[1], kModeRb);
  if (f < 0) return fail(4, "cannot open the input file");
  const long length = host_length(f);
  const int unread = length == (long)(in_total * sizeof(float)) ? host_read(f, in, in_total * sizeof(float)) : -1;
  host_close(f);
  if (unread != 0) return fail(5, "the input file does not hold the model's float32 inputs");

  // Paint the stack below this frame (this loop's own locals are in the frame already allocated).
  uint32_t* const top = stack_pointer();
  uint32_t* const bottom = top - kStackPaintBytes / 4;
  for (volatile uint32_t* p = bottom; p < top; ++p) *p = kPaint;

  for (int it = 0; it < iterations; ++it) {
    // Every iteration from the same inputs: the memory plan may reuse an input's arena bytes once it is consumed.
    const float* x = in;
    for (int i = 0; i < EB_MODEL_NUM_INPUTS; ++i) {
      eb_model_set_input_f32(i, x);
      x += eb_model_input_f32_count(i);
    }
    eb_model_run();
  }

  const uint32_t* low = bottom;
  while (low < top && *low == kPaint) ++low;
  const unsigned long stack_bytes = (unsigned long)((const char*)stack_pointer() - (const char*)low);

  float* y = out;
  for (int i = 0; i < EB_MODEL_NUM_OUTPUTS; ++i) {
    eb_model_get_output_f32(i, y);
    y += eb_model_output_f32_count(i);
  }
  f = host_open(argv[2], kModeWb);
  if (f < 0) return fail(4, "cannot create the output file");
  const int unwritten = host_write(f, out, out_total * sizeof(float));
  if (host_close(f) != 0 || unwritten != 0) return fail(6, "cannot write the output file");
  snprintf(line, sizeof line,
           "{\"status\":\"ok\",\"iterations\":%d,\"arena_bytes\":%lu,\"stack_bytes\":%lu,"
           "\"stack_painted_bytes\":%d}\n",
           iterations, (unsigned long)EB_MODEL_ARENA_BYTES, stack_bytes, kStackPaintBytes);
  print_line();
  return 0;
}
