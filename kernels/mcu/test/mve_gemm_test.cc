// mve_gemm_test.cc: bare-metal tester of the Cortex-M55 MVE CONV2D and FULLY_CONNECTED variants against their
// references (eb_qs8_conv_ref, eb_qs8_gemm_ref), byte for byte, and their instruction-count bench (run under
// qemu-system-arm -M mps3-an547 by tests/mcu/test_mve_gemm.py and tests/mcu/baremetal.py).
//
//   mve_gemm_test test SEED CASES     random cases that break kernels; prints the paths that ran, exits 1 on a mismatch
//   mve_gemm_test case FILE FUNCTION SCRATCH
//                                     one case written by the Python test: parameters, data and the records the
//                                     registry's `extra` computed it (edgebuild/mcu/variants/mve_*.py); runs FUNCTION
//                                     (the variant `choose` picked) with exactly SCRATCH bytes of scratch (its
//                                     `scratch_bytes`), checks the bytes after the scratch and the output are
//                                     untouched; exits 1 if not
//   mve_gemm_test bench conv ref|mve BxHxWxCxOCxKHxKWxSHxSWxPTxPLxPBxPR
//   mve_gemm_test bench fc ref|mve MxKxN
//                                     one call between eb_profile_invoke_begin / _end (the instruction counter's
//                                     markers)
//
// For `test` and `bench`, the variants' records (b' = b − zp_x·Σw, the zero-point fold of docs/quantization.md (6),
// with the multipliers and exponents) are built here as edgebuild/mcu/variants/mve_conv.py builds them at build
// time; `case` reads the registry's own.
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edgebuild/ukernels.h"

extern "C" {
void eb_qs8_gemm_minmax_ukernel_1x4c16__mve(const eb_qs8_gemm_params* p, const int8_t* input, const int8_t* weights,
                                            const int32_t* bias, const int32_t* multiplier, const int32_t* shift,
                                            int8_t* output, const int32_t* records);
void eb_qs8_conv_minmax_ukernel_1x1__mve(const eb_qs8_conv_params* p, const int8_t* input, const int8_t* weights,
                                         const int32_t* bias, const int32_t* multiplier, const int32_t* shift,
                                         int8_t* output, const int32_t* records);
void eb_qs8_conv_minmax_ukernel__mve(const eb_qs8_conv_params* p, const int8_t* input, const int8_t* weights,
                                     const int32_t* bias, const int32_t* multiplier, const int32_t* shift,
                                     int8_t* output, const int32_t* records, void* scratch);
size_t eb_qs8_conv_minmax_ukernel__mve_block(size_t k);
__attribute__((noinline)) void eb_profile_invoke_begin(void) { __asm__ volatile(""); }
__attribute__((noinline)) void eb_profile_invoke_end(void) { __asm__ volatile(""); }
}

namespace {

constexpr size_t kMaxIn = 192 * 1024, kMaxOut = 64 * 1024, kMaxW = 128 * 1024, kMaxOC = 1024, kMaxScratch = 8 * 1024;
int8_t g_input[kMaxIn], g_weights[kMaxW], g_out_ref[kMaxOut + 16], g_out_var[kMaxOut + 16];
int32_t g_bias[kMaxOC], g_mult[kMaxOC], g_shift[kMaxOC], g_records[3 * (kMaxOC + 3)];
alignas(16) int8_t g_scratch[kMaxScratch + 16];

uint32_t g_state = 1;
uint32_t next_u32() {  // xorshift32
  g_state ^= g_state << 13;
  g_state ^= g_state >> 17;
  g_state ^= g_state << 5;
  return g_state;
}
int32_t uniform(int32_t lo, int32_t hi) { return lo + (int32_t)(next_u32() % (uint32_t)(hi - lo + 1)); }
int32_t pick(const int32_t* values, int n) { return values[next_u32() % (uint32_t)n]; }

// The variants' per-channel records, as edgebuild/mcu/variants/mve_conv.py `records` builds them: per 4 channels
// b'[4] (b − zp_x·Σw, wrapping), multiplier[4], exponent[4]; channels past oc hold 0, 2^30, 0.
void build_records(size_t oc, size_t k, int32_t zp_x, const int32_t* bias) {
  for (size_t o = 0; o < (oc + 3) / 4 * 4; ++o) {
    int32_t* rec = g_records + (o / 4) * 12 + o % 4;
    if (o >= oc) {
      rec[0] = 0, rec[4] = 1 << 30, rec[8] = 0;
      continue;
    }
    int32_t sum = 0;
    for (size_t i = 0; i < k; ++i) sum += g_weights[o * k + i];
    const uint32_t b = bias != NULL ? (uint32_t)bias[o] : 0u;
    rec[0] = (int32_t)(b - (uint32_t)zp_x * (uint32_t)sum);
    rec[4] = g_mult[o];
    rec[8] = g_shift[o];
  }
}

// Random data for one case: inputs mostly uniform, sometimes all at one extreme; weights in [−127, 127] (−128 too,
// sometimes: the kernels do not rely on its absence); per-channel multipliers in [2^30, 2^31) with the ends, and
// exponents either anywhere in [−31, 30] or near the one that keeps outputs in range (small n: many RDBPOT ties).
void fill_case(size_t in_bytes, size_t w_bytes, size_t oc, size_t k, bool* has_bias) {
  const int mode = (int)(next_u32() % 8);
  for (size_t i = 0; i < in_bytes; ++i) {
    g_input[i] = (int8_t)(mode == 0 ? -128 : mode == 1 ? 127 : uniform(-128, 127));
  }
  const bool w128 = next_u32() % 4 == 0;
  for (size_t i = 0; i < w_bytes; ++i) g_weights[i] = (int8_t)uniform(w128 ? -128 : -127, 127);
  *has_bias = next_u32() % 5 != 0;
  const bool wide = next_u32() % 3 == 0;
  int32_t typical = 0;  // log2 of a typical |acc|
  for (size_t kk = k * 255 * 127; kk > 1; kk >>= 1) ++typical;
  for (size_t o = 0; o < oc; ++o) {
    const int32_t r = (int32_t)(next_u32() % 8);
    g_bias[o] = r == 0   ? INT32_MAX - uniform(0, 1000)
                : r == 1 ? INT32_MIN + uniform(0, 1000)
                         : uniform(-100000, 100000);
    const int32_t m = (int32_t)(next_u32() % 6);
    g_mult[o] = m == 0 ? (1 << 30) : m == 1 ? INT32_MAX : (int32_t)((1u << 30) + (next_u32() >> 2));
    if (wide) {
      g_shift[o] = uniform(-31, 30);
    } else {
      const int32_t e = 8 - typical + uniform(-3, 3);
      g_shift[o] = e < -31 ? -31 : (e > 30 ? 30 : e);
      if (next_u32() % 4 == 0) g_shift[o] = uniform(-4, -1);  // ties of (4b) for |acc| of a few units
    }
  }
}

void pick_output(int32_t* zp_y, int32_t* lo, int32_t* hi) {
  static const int32_t zps[] = {-128, 127, 0, -5, 33};
  *zp_y = next_u32() % 2 ? pick(zps, 5) : uniform(-128, 127);
  *lo = -128;
  *hi = 127;
  const int32_t c = (int32_t)(next_u32() % 4);
  if (c == 1) *lo = uniform(-128, 20);
  if (c == 2) *hi = uniform(-20, 127);
  if (c == 3) {
    *lo = uniform(-128, 0);
    *hi = uniform(*lo, 127);
  }
}

int32_t pick_zp_x() {
  static const int32_t zps[] = {-128, 127, 0, -1, 1};
  return next_u32() % 2 ? pick(zps, 5) : uniform(-128, 127);
}

int compare(const char* what, int index, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    if (g_out_ref[i] != g_out_var[i]) {
      printf("MISMATCH %s case %d at %u: ref %d mve %d\n", what, index, (unsigned)i, g_out_ref[i], g_out_var[i]);
      return 1;
    }
  }
  // Past the end of the output: untouched (the variants' predicated stores write only their columns).
  for (size_t i = count; i < count + 16; ++i) {
    if (g_out_var[i] != (int8_t)0x5a) {
      printf("MISMATCH %s case %d: wrote past the output (byte %u)\n", what, index, (unsigned)(i - count));
      return 1;
    }
  }
  return 0;
}

bool conv_1x1_applies(const eb_qs8_conv_params& p) {  // mirrors edgebuild/mcu/variants/mve_conv.py
  return p.kernel_height == 1 && p.kernel_width == 1 && p.pad_top == 0 && p.pad_left == 0 &&
         (p.output_height - 1) * p.stride_height < p.input_height &&
         (p.output_width - 1) * p.stride_width < p.input_width;
}

int run_conv(const eb_qs8_conv_params& p, bool has_bias, bool force_general, int index, int* paths) {
  const size_t out = (size_t)p.batch * p.output_height * p.output_width * p.output_channels;
  const size_t K = (size_t)p.kernel_height * p.kernel_width * p.input_channels;
  const int32_t* bias = has_bias ? g_bias : NULL;
  build_records((size_t)p.output_channels, K, p.input_zero_point, bias);
  eb_qs8_conv_ref(&p, g_input, g_weights, bias, g_mult, g_shift, g_out_ref);
  memset(g_out_var, 0x5a, out + 16);
  if (conv_1x1_applies(p) && !force_general) {
    ++paths[0];
    eb_qs8_conv_minmax_ukernel_1x1__mve(&p, g_input, g_weights, bias, g_mult, g_shift, g_out_var, g_records);
  } else {
    ++paths[1];
    memset(g_scratch, 0x77, sizeof g_scratch);  // the variant must not read stale patch bytes
    eb_qs8_conv_minmax_ukernel__mve(&p, g_input, g_weights, bias, g_mult, g_shift, g_out_var, g_records, g_scratch);
  }
  return compare("conv", index, out);
}

int conv_case(int index, int* paths) {
  eb_qs8_conv_params p;
  static const int32_t ks[] = {1, 1, 1, 2, 3, 3, 3, 5};
  const int shape = (int)(next_u32() % 10);
  p.kernel_height = pick(ks, 8);
  p.kernel_width = next_u32() % 3 ? p.kernel_height : pick(ks, 8);
  if (shape == 0) {  // KWS's first layer: 10×4 on one channel, stride 2
    p.kernel_height = 10;
    p.kernel_width = 4;
  }
  static const int32_t wide_c[] = {16, 31, 32, 33, 48};
  p.input_channels = shape == 1 ? pick(wide_c, 5) : uniform(1, 17);
  p.output_channels = uniform(1, 17);
  p.batch = next_u32() % 6 == 0 ? 3 : 1;
  p.groups = 1;
  p.stride_height = uniform(1, 2);
  p.stride_width = next_u32() % 2 ? p.stride_height : uniform(1, 2);
  p.dilation_height = next_u32() % 6 == 0 ? 2 : 1;
  p.dilation_width = next_u32() % 6 == 0 ? 2 : 1;
  const int32_t eff_h = (p.kernel_height - 1) * p.dilation_height + 1;
  const int32_t eff_w = (p.kernel_width - 1) * p.dilation_width + 1;
  p.input_height = uniform(1, 9) + (shape == 0 ? 6 : 0);
  p.input_width = uniform(1, 9);
  const bool pad = next_u32() % 3 != 0;
  p.pad_top = pad ? uniform(0, eff_h - 1) : 0;
  p.pad_left = pad ? uniform(0, eff_w - 1) : 0;
  const int32_t pad_bottom = pad ? uniform(0, eff_h - 1) : 0, pad_right = pad ? uniform(0, eff_w - 1) : 0;
  const int32_t span_h = p.input_height + p.pad_top + pad_bottom - eff_h;
  const int32_t span_w = p.input_width + p.pad_left + pad_right - eff_w;
  if (span_h < 0 || span_w < 0) return -1;  // no output: draw again
  p.output_height = span_h / p.stride_height + 1;
  p.output_width = span_w / p.stride_width + 1;
  p.input_zero_point = pick_zp_x();
  pick_output(&p.output_zero_point, &p.output_min, &p.output_max);
  const size_t K = (size_t)p.kernel_height * p.kernel_width * p.input_channels;
  bool has_bias;
  fill_case((size_t)p.batch * p.input_height * p.input_width * p.input_channels, K * p.output_channels,
            (size_t)p.output_channels, K, &has_bias);
  int bad = run_conv(p, has_bias, false, index, paths);
  if (conv_1x1_applies(p)) bad |= run_conv(p, has_bias, true, index, paths);  // the general path on 1×1 too
  return bad;
}

int fc_case(int index, int* paths) {
  eb_qs8_gemm_params p;
  static const int32_t ms[] = {1, 1, 2, 3, 4, 5};
  p.m = (size_t)pick(ms, 6);
  const int shape = (int)(next_u32() % 3);
  p.k = shape == 0 ? (size_t)uniform(1, 17) : (size_t)(16 * uniform(0, 4) + uniform(0, 15));
  if (p.k == 0) p.k = 1;
  p.n = (size_t)uniform(1, 19);
  p.input_zero_point = pick_zp_x();
  pick_output(&p.output_zero_point, &p.output_min, &p.output_max);
  bool has_bias;
  fill_case(p.m * p.k, p.n * p.k, p.n, p.k, &has_bias);
  const int32_t* bias = has_bias ? g_bias : NULL;
  build_records(p.n, p.k, p.input_zero_point, bias);
  eb_qs8_gemm_ref(&p, g_input, g_weights, bias, g_mult, g_shift, g_out_ref);
  memset(g_out_var, 0x5a, p.m * p.n + 16);
  eb_qs8_gemm_minmax_ukernel_1x4c16__mve(&p, g_input, g_weights, bias, g_mult, g_shift, g_out_var, g_records);
  ++paths[p.m % 2 == 0 ? 2 : 3];
  return compare("fc", index, p.m * p.n);
}

int run_tests(uint32_t seed, int cases) {
  g_state = seed != 0 ? seed : 1;
  int paths[4] = {0, 0, 0, 0}, bad = 0, done = 0;
  while (done < cases) {
    const int r = done % 2 == 0 ? conv_case(done, paths) : fc_case(done, paths);
    if (r < 0) continue;
    bad += r;
    ++done;
  }
  printf("paths: conv_1x1 %d, conv_im2col %d, fc_even_rows %d, fc_odd_rows %d\n", paths[0], paths[1], paths[2],
         paths[3]);
  printf("%d cases, %d mismatches\n", cases, bad);
  return bad == 0 && paths[0] > 0 && paths[1] > 0 && paths[2] > 0 && paths[3] > 0 ? 0 : 1;
}

// File layout (little-endian int32 unless said): kind (0 conv, 1 fc), has_bias, then 20 conv parameters in
// eb_qs8_conv_params order or m, n, k, zp_x, zp_y, min, max; the input and weight bytes; bias, multiplier, shift and
// the records (12 int32 per 4 channels).
// Read with open / read, not fopen: newlib's fopen mallocs its buffer, and rdimon's sbrk refuses a heap (.bss in
// ISRAM) above the stack (DTCM) on mps3-an547, so fopen fails with ENOMEM there.
bool read_all(int fd, void* dst, size_t bytes) {
  for (char* p = (char*)dst; bytes > 0;) {
    const int got = (int)read(fd, p, bytes);
    if (got <= 0) return false;
    p += got;
    bytes -= (size_t)got;
  }
  return true;
}

int run_case(const char* path, const char* function, size_t scratch_bytes) {
  const int f = open(path, O_RDONLY);
  if (f < 0) {
    printf("cannot open %s\n", path);
    return 2;
  }
  int32_t head[22];
  if (!read_all(f, head, sizeof head)) {
    printf("%s: short header\n", path);
    return 2;
  }
  const bool conv = head[0] == 0, has_bias = head[1] != 0;
  eb_qs8_conv_params cp;
  eb_qs8_gemm_params gp;
  size_t in = 0, oc = 0, k = 0, out = 0;
  if (conv) {
    memcpy(&cp, head + 2, sizeof cp);
    k = (size_t)cp.kernel_height * cp.kernel_width * cp.input_channels;
    oc = (size_t)cp.output_channels;
    in = (size_t)cp.batch * cp.input_height * cp.input_width * cp.input_channels;
    out = (size_t)cp.batch * cp.output_height * cp.output_width * oc;
  } else {
    gp.m = (size_t)head[2], gp.n = (size_t)head[3], gp.k = (size_t)head[4];
    gp.input_zero_point = head[5], gp.output_zero_point = head[6], gp.output_min = head[7], gp.output_max = head[8];
    k = gp.k, oc = gp.n, in = gp.m * gp.k, out = gp.m * gp.n;
  }
  if (in > kMaxIn || oc * k > kMaxW || oc > kMaxOC || out > kMaxOut || scratch_bytes > kMaxScratch) {
    printf("%s: case too large for the tester's buffers\n", path);
    return 2;
  }
  const bool ok = read_all(f, g_input, in) && read_all(f, g_weights, oc * k) && read_all(f, g_bias, 4 * oc) &&
                  read_all(f, g_mult, 4 * oc) && read_all(f, g_shift, 4 * oc) &&
                  read_all(f, g_records, 48 * ((oc + 3) / 4));
  close(f);
  if (!ok) {
    printf("%s: short file\n", path);
    return 2;
  }
  const int32_t* bias = has_bias ? g_bias : NULL;
  memset(g_out_var, 0x5a, out + 16);
  memset(g_scratch, 0x77, sizeof g_scratch);
  if (conv) {
    eb_qs8_conv_ref(&cp, g_input, g_weights, bias, g_mult, g_shift, g_out_ref);
    if (strcmp(function, "eb_qs8_conv_minmax_ukernel_1x1__mve") == 0) {
      eb_qs8_conv_minmax_ukernel_1x1__mve(&cp, g_input, g_weights, bias, g_mult, g_shift, g_out_var, g_records);
    } else if (strcmp(function, "eb_qs8_conv_minmax_ukernel__mve") == 0) {
      eb_qs8_conv_minmax_ukernel__mve(&cp, g_input, g_weights, bias, g_mult, g_shift, g_out_var, g_records,
                                      scratch_bytes > 0 ? g_scratch : NULL);
    } else {
      printf("unknown conv function %s\n", function);
      return 2;
    }
  } else {
    if (strcmp(function, "eb_qs8_gemm_minmax_ukernel_1x4c16__mve") != 0) {
      printf("unknown fc function %s\n", function);
      return 2;
    }
    eb_qs8_gemm_ref(&gp, g_input, g_weights, bias, g_mult, g_shift, g_out_ref);
    eb_qs8_gemm_minmax_ukernel_1x4c16__mve(&gp, g_input, g_weights, bias, g_mult, g_shift, g_out_var, g_records);
  }
  for (size_t i = scratch_bytes; i < sizeof g_scratch; ++i) {
    if (g_scratch[i] != 0x77) {
      printf("MISMATCH %s: wrote scratch byte %u of %u\n", function, (unsigned)i, (unsigned)scratch_bytes);
      return 1;
    }
  }
  const int bad = compare(function, 0, out);
  printf("%s: %u outputs, %s\n", function, (unsigned)out, bad ? "mismatch" : "bit-identical");
  return bad;
}

int bench(int argc, char** argv) {
  if (argc < 4) return 2;
  const bool conv = strcmp(argv[2], "conv") == 0, mve = strcmp(argv[3], "mve") == 0;
  // The shape is one argument, numbers joined by 'x' (semihosting passes at most 15 arguments; QEMU's option
  // syntax takes commas).
  int v[16] = {0};
  const char* s = argc > 4 ? argv[4] : "";
  for (int i = 0; i < 16 && *s != '\0'; ++i) {
    v[i] = (int)strtol(s, (char**)&s, 10);
    if (*s == 'x') ++s;
  }
  g_state = 12345;
  bool has_bias;
  if (conv) {
    eb_qs8_conv_params p;
    p.batch = v[0], p.input_height = v[1], p.input_width = v[2], p.input_channels = v[3], p.output_channels = v[4];
    p.kernel_height = v[5], p.kernel_width = v[6], p.stride_height = v[7], p.stride_width = v[8];
    p.pad_top = v[9], p.pad_left = v[10];
    p.groups = 1, p.dilation_height = 1, p.dilation_width = 1;
    p.output_height = (p.input_height + v[9] + v[11] - p.kernel_height) / p.stride_height + 1;
    p.output_width = (p.input_width + v[10] + v[12] - p.kernel_width) / p.stride_width + 1;
    p.input_zero_point = -3, p.output_zero_point = 5, p.output_min = -128, p.output_max = 127;
    const size_t K = (size_t)p.kernel_height * p.kernel_width * p.input_channels;
    const size_t in = (size_t)p.batch * p.input_height * p.input_width * p.input_channels;
    const size_t out = (size_t)p.batch * p.output_height * p.output_width * p.output_channels;
    if (in > kMaxIn || out > kMaxOut || K * p.output_channels > kMaxW || 2 * K > kMaxScratch) return 2;
    fill_case(in, K * p.output_channels, (size_t)p.output_channels, K, &has_bias);
    build_records((size_t)p.output_channels, K, p.input_zero_point, g_bias);
    const bool one = conv_1x1_applies(p);
    eb_profile_invoke_begin();
    if (!mve) {
      eb_qs8_conv_ref(&p, g_input, g_weights, g_bias, g_mult, g_shift, g_out_ref);
    } else if (one) {
      eb_qs8_conv_minmax_ukernel_1x1__mve(&p, g_input, g_weights, g_bias, g_mult, g_shift, g_out_var, g_records);
    } else {
      eb_qs8_conv_minmax_ukernel__mve(&p, g_input, g_weights, g_bias, g_mult, g_shift, g_out_var, g_records, g_scratch);
    }
    eb_profile_invoke_end();
    printf("macs %u path %s\n", (unsigned)(out * K), !mve ? "ref" : one ? "1x1" : "im2col");
  } else {
    eb_qs8_gemm_params p;
    p.m = (size_t)v[0], p.k = (size_t)v[1], p.n = (size_t)v[2];
    p.input_zero_point = -3, p.output_zero_point = 5, p.output_min = -128, p.output_max = 127;
    if (p.m * p.k > kMaxIn || p.m * p.n > kMaxOut || p.n * p.k > kMaxW || p.n > kMaxOC) return 2;
    fill_case(p.m * p.k, p.n * p.k, p.n, p.k, &has_bias);
    build_records(p.n, p.k, p.input_zero_point, g_bias);
    eb_profile_invoke_begin();
    if (!mve) {
      eb_qs8_gemm_ref(&p, g_input, g_weights, g_bias, g_mult, g_shift, g_out_ref);
    } else {
      eb_qs8_gemm_minmax_ukernel_1x4c16__mve(&p, g_input, g_weights, g_bias, g_mult, g_shift, g_out_var, g_records);
    }
    eb_profile_invoke_end();
    printf("macs %u path %s\n", (unsigned)(p.m * p.n * p.k), mve ? "mve" : "ref");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && strcmp(argv[1], "test") == 0) {
    return run_tests(argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 1u, argc > 3 ? atoi(argv[3]) : 200);
  }
  if (argc >= 2 && strcmp(argv[1], "bench") == 0) return bench(argc, argv);
  if (argc >= 5 && strcmp(argv[1], "case") == 0) return run_case(argv[2], argv[3], (size_t)strtoul(argv[4], NULL, 10));
  if (argc >= 2 && strcmp(argv[1], "block") == 0) {  // the gather block for each K (the registry mirrors it)
    for (int i = 2; i < argc; ++i) {
      printf("%u\n", (unsigned)eb_qs8_conv_minmax_ukernel__mve_block((size_t)strtoul(argv[i], NULL, 10)));
    }
    return 0;
  }
  printf("usage: %s test SEED CASES | case FILE FUNCTION SCRATCH | block K... | bench conv|fc ref|mve SHAPE\n",
         argc > 0 ? argv[0] : "mve_gemm_test");
  return 2;
}
