// mve_dw_test.cc: bare-metal tester of the Cortex-M55 MVE depthwise, ADD and pooling variants against their reference
// kernels, bit for bit (tests/mcu/test_mve_dw.py builds it for mps3-an547 and runs it under qemu-system-arm).
//
// The cases come from a file the Python test writes (semihosting fopen), so the build-time arguments the variants
// take (packed weights, folded bias, split shifts) are the ones edgebuild/mcu/variants/mve_*.py computes: the test
// covers those functions too. The file is a sequence of little-endian int32 records, each starting with its family
// (0 ends the file); arrays are padded to 4 bytes:
//   1 dwconv   20 eb_qs8_conv_params fields, has_bias; input, weights [C][KH·KW], packed weights [⌈C/4⌉][KH·KW][4],
//              bias (if has_bias), multiplier, shift (int32 [C] each), consts (int32 [⌈C/4⌉][4][4])
//   2 add      12 eb_qs8_vadd_params fields (table NULL), count, alias (0: own output, 1: output = a, 2: = b); a, b,
//              table_a, table_b (int32 [256] each)
//   3 avgpool  16 eb_qs8_avgpool_params fields; input
//   4 maxpool  16 eb_qs8_maxpool_params fields; input
// Usage: mve_dw_test <file> check      every case, reference vs variant; exit 1 on any difference
//        mve_dw_test <file> ref|mve    the first case only, once, between eb_profile_invoke_begin / _end
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "edgebuild/ukernels.h"

extern "C" {
void eb_qs8_conv_dw_minmax_ukernel__mve(const eb_qs8_conv_params* p, const int8_t* input, const int8_t* weights,
                                        const int32_t* bias, const int32_t* multiplier, const int32_t* shift,
                                        int8_t* output, const int32_t* consts);
void eb_qs8_vadd_minmax_ukernel__mve(const eb_qs8_vadd_params* p, size_t count, const int8_t* a, const int8_t* b,
                                     int8_t* output, const int32_t* table_a, const int32_t* table_b);
void eb_qs8_avgpool_minmax_ukernel__mve(const eb_qs8_avgpool_params* p, const int8_t* input, int8_t* output);
void eb_qs8_maxpool_minmax_ukernel__mve(const eb_qs8_maxpool_params* p, const int8_t* input, int8_t* output);
__attribute__((noinline)) void eb_profile_invoke_begin(void) { __asm__ volatile(""); }
__attribute__((noinline)) void eb_profile_invoke_end(void) { __asm__ volatile(""); }
}

namespace {

constexpr size_t kFileBytes = 1536 * 1024, kOutBytes = 512 * 1024;
alignas(16) uint8_t file_bytes[kFileBytes];
alignas(16) int8_t out_ref[kOutBytes], out_mve[kOutBytes], alias_buf[kOutBytes];

struct Reader {
  const uint8_t* p;
  int32_t i32() {
    int32_t v;
    memcpy(&v, p, 4);
    p += 4;
    return v;
  }
  template <typename T>
  const T* array(size_t count) {
    const T* a = reinterpret_cast<const T*>(p);
    p += (count * sizeof(T) + 3) & ~(size_t)3;
    return a;
  }
};

enum Mode { kCheck, kRef, kMve };

// The cases file through semihosting calls (SYS_OPEN, SYS_FLEN, SYS_READ, SYS_CLOSE): newlib's fopen needs a heap,
// which its sbrk refuses here (.bss lies above the stack on mps3-an547).
int semihost(int op, const void* arg) {
  register int r0 __asm__("r0") = op;
  register const void* r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

long read_file(const char* path, uint8_t* buf, size_t capacity) {
  const uint32_t open_args[3] = {(uint32_t)(uintptr_t)path, 1 /* "rb" */, (uint32_t)strlen(path)};
  const int handle = semihost(0x01, open_args);
  if (handle < 0) return -1;
  const uint32_t handle_arg[1] = {(uint32_t)handle};
  const int size = semihost(0x0C, handle_arg);
  if (size < 0 || (size_t)size > capacity) {
    semihost(0x02, handle_arg);
    return -1;
  }
  const uint32_t read_args[3] = {(uint32_t)handle, (uint32_t)(uintptr_t)buf, (uint32_t)size};
  const int left = semihost(0x06, read_args);
  semihost(0x02, handle_arg);
  return left == 0 ? size : -1;
}

int compare(int index, const char* family, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (out_ref[i] != out_mve[i]) {
      printf("case %d (%s): byte %u of %u: reference %d, mve %d\n", index, family, (unsigned)i, (unsigned)n, out_ref[i],
             out_mve[i]);
      return 1;
    }
  }
  return 0;
}

int dwconv(Reader& r, Mode mode, int index) {
  eb_qs8_conv_params p;
  int32_t* f = &p.batch;
  for (int i = 0; i < 20; ++i) f[i] = r.i32();
  const int32_t has_bias = r.i32();
  const size_t C = (size_t)p.input_channels, taps = (size_t)p.kernel_height * (size_t)p.kernel_width;
  const int8_t* input = r.array<int8_t>((size_t)p.batch * p.input_height * p.input_width * C);
  const int8_t* weights = r.array<int8_t>(C * taps);
  const size_t blocks = (C + 3) / 4;
  const int8_t* packed = r.array<int8_t>(blocks * 4 * taps);
  const int32_t* bias = has_bias ? r.array<int32_t>(C) : NULL;
  const int32_t* mult = r.array<int32_t>(C);
  const int32_t* shift = r.array<int32_t>(C);
  const int32_t* consts = r.array<int32_t>(blocks * 16);
  const size_t n = (size_t)p.batch * p.output_height * p.output_width * C;
  if (mode == kRef || mode == kCheck) {
    if (mode == kRef) eb_profile_invoke_begin();
    eb_qs8_conv_ref(&p, input, weights, bias, mult, shift, out_ref);
    if (mode == kRef) eb_profile_invoke_end();
  }
  if (mode == kMve || mode == kCheck) {
    if (mode == kMve) eb_profile_invoke_begin();
    eb_qs8_conv_dw_minmax_ukernel__mve(&p, input, packed, bias, mult, shift, out_mve, consts);
    if (mode == kMve) eb_profile_invoke_end();
  }
  return mode == kCheck ? compare(index, "dwconv", n) : 0;
}

int add(Reader& r, Mode mode, int index) {
  eb_qs8_vadd_params p;
  int32_t* f = &p.a_zero_point;
  for (int i = 0; i < 12; ++i) f[i] = r.i32();
  p.table = NULL;
  const size_t count = (size_t)r.i32();
  const int32_t alias = r.i32();
  const int8_t* a = r.array<int8_t>(count);
  const int8_t* b = r.array<int8_t>(count);
  const int32_t* table_a = r.array<int32_t>(256);
  const int32_t* table_b = r.array<int32_t>(256);
  if (mode == kRef || mode == kCheck) {
    if (mode == kRef) eb_profile_invoke_begin();
    eb_qs8_vadd_ref(&p, count, a, b, out_ref);
    if (mode == kRef) eb_profile_invoke_end();
  }
  if (mode == kMve || mode == kCheck) {
    // Aliasing: the output is a copy of a (or b) passed as that input too.
    const int8_t* a_in = a;
    const int8_t* b_in = b;
    int8_t* out = out_mve;
    if (alias != 0) {
      memcpy(alias_buf, alias == 1 ? a : b, count);
      (alias == 1 ? a_in : b_in) = alias_buf;
      out = alias_buf;
    }
    if (mode == kMve) eb_profile_invoke_begin();
    eb_qs8_vadd_minmax_ukernel__mve(&p, count, a_in, b_in, out, table_a, table_b);
    if (mode == kMve) eb_profile_invoke_end();
    if (alias != 0) memcpy(out_mve, alias_buf, count);
  }
  return mode == kCheck ? compare(index, alias ? "add, aliased" : "add", count) : 0;
}

template <typename Params, typename Fn>
int pool(Reader& r, Mode mode, int index, const char* name, Fn ref, Fn mve) {
  Params p;
  int32_t* f = &p.batch;
  for (int i = 0; i < 16; ++i) f[i] = r.i32();
  const int8_t* input = r.array<int8_t>((size_t)p.batch * p.input_height * p.input_width * p.channels);
  const size_t n = (size_t)p.batch * p.output_height * p.output_width * p.channels;
  if (mode == kRef || mode == kCheck) {
    if (mode == kRef) eb_profile_invoke_begin();
    ref(&p, input, out_ref);
    if (mode == kRef) eb_profile_invoke_end();
  }
  if (mode == kMve || mode == kCheck) {
    if (mode == kMve) eb_profile_invoke_begin();
    mve(&p, input, out_mve);
    if (mode == kMve) eb_profile_invoke_end();
  }
  return mode == kCheck ? compare(index, name, n) : 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    printf("usage: mve_dw_test <cases file> check|ref|mve\n");
    return 2;
  }
  if (read_file(argv[1], file_bytes, kFileBytes) < 0) {
    printf("cannot read %s (or larger than %u bytes)\n", argv[1], (unsigned)kFileBytes);
    return 2;
  }
  const Mode mode = strcmp(argv[2], "ref") == 0 ? kRef : (strcmp(argv[2], "mve") == 0 ? kMve : kCheck);
  Reader r{file_bytes};
  int failures = 0, index = 0;
  for (;; ++index) {
    const int32_t family = r.i32();
    if (family == 0) break;
    switch (family) {
      case 1: failures += dwconv(r, mode, index); break;
      case 2: failures += add(r, mode, index); break;
      case 3:
        failures += pool<eb_qs8_avgpool_params>(r, mode, index, "avgpool", eb_qs8_avgpool_ref,
                                                eb_qs8_avgpool_minmax_ukernel__mve);
        break;
      case 4:
        failures += pool<eb_qs8_maxpool_params>(r, mode, index, "maxpool", eb_qs8_maxpool_ref,
                                                eb_qs8_maxpool_minmax_ukernel__mve);
        break;
      default: printf("case %d: unknown family %d\n", index, (int)family); return 2;
    }
    if (mode != kCheck) break;
  }
  printf("%d cases, %d failed\n", index, failures);
  return failures == 0 ? 0 : 1;
}
