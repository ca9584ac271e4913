// dsp_gemm_test.cc: bare-metal tester of the Cortex-M DSP CONV2D and FULLY_CONNECTED kernels against their
// reference twins (eb_qs8_conv_ref, eb_qs8_gemm_ref), byte for byte, on random cases from a fixed seed; and a
// bench mode that runs one kernel once between the instruction-count markers (tests/mcu/baremetal.py).
//
//   dsp_gemm_test test <seed> <cases>
//   dsp_gemm_test bench conv ref|dsp N H W C OC KH KW SH SW PAD
//   dsp_gemm_test bench fc ref|dsp M K N
// Exit status 0 when every case matched; a mismatch prints the case and the first differing output.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../ukernels/qs8-gemm/qs8_gemm_dsp.h"
#include "edgebuild/ukernels.h"

extern "C" {
void eb_qs8_conv_minmax_ukernel__dsp(const eb_qs8_conv_params* p, const int8_t* input, const int8_t* weights,
                                     const int32_t* bias, const int32_t* multiplier, const int32_t* shift,
                                     int8_t* output, void* scratch);
void eb_qs8_gemm_minmax_ukernel__dsp(const eb_qs8_gemm_params* p, const int8_t* input, const int8_t* weights,
                                     const int32_t* bias, const int32_t* multiplier, const int32_t* shift,
                                     int8_t* output, void* scratch);
__attribute__((noinline)) void eb_profile_invoke_begin(void) { __asm__ volatile(""); }
__attribute__((noinline)) void eb_profile_invoke_end(void) { __asm__ volatile(""); }
}

namespace {

uint32_t rng_state = 1;
uint32_t next_u32() {  // xorshift32
  uint32_t x = rng_state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return rng_state = x;
}
int32_t uniform(int32_t lo, int32_t hi) { return lo + (int32_t)(next_u32() % (uint32_t)(hi - lo + 1)); }

constexpr size_t kMaxBytes = 96 * 1024;
constexpr size_t kGuard = 64;
alignas(16) int8_t g_input[kMaxBytes];
alignas(16) int8_t g_weights[kMaxBytes];
alignas(16) int8_t g_out_ref[kMaxBytes];
alignas(16) int8_t g_out_dsp[kMaxBytes + kGuard];
alignas(16) uint8_t g_scratch[32 * 1024 + kGuard];
int32_t g_bias[1024], g_mult[1024], g_shift[1024];
bool g_bench = false;  // bench mode: every shift in the usual range (M < 0.5), as trained layers have
bool g_tiny = false;   // tiny accumulators and shifts -1..-3: the rounding ties of (4a) and (4b) near 0

void fill_s8(int8_t* p, size_t n, int32_t lo, int32_t hi) {
  for (size_t i = 0; i < n; ++i) p[i] = (int8_t)uniform(lo, hi);
}

// Per-channel quantization: multipliers over [2^30, 2^31) with the extremes, shifts mostly where the outputs
// land inside int8 for this K (so the clamps do not hide the rounding), sometimes anywhere in [-31, 30].
void fill_quant(size_t oc, size_t k, bool has_bias) {
  int32_t log_acc = 10;  // ~log2 of |acc| for K taps of 8-bit by 7-bit values
  for (size_t s = k; s > 1; s >>= 2) ++log_acc;
  for (size_t c = 0; c < oc; ++c) {
    const uint32_t pick = next_u32() % 8;
    g_mult[c] = pick == 0   ? (int32_t)0x40000000
                : pick == 1 ? (int32_t)0x7FFFFFFF
                : pick == 2 ? (int32_t)(0x7FFFFFFF - (next_u32() % 16))
                            : (int32_t)(0x40000000u + (next_u32() & 0x3FFFFFFFu));
    const uint32_t sp = g_bench ? 9 : next_u32() % 10;
    g_shift[c] = sp == 0   ? uniform(-31, 30)
                 : sp == 1 ? uniform(-31, -25)
                 : sp == 2 ? uniform(0, 3)
                           : -uniform(log_acc - 9, log_acc - 5);
    if (g_shift[c] < -31) g_shift[c] = -31;
    g_bias[c] = has_bias ? uniform(-70000, 70000) : 0;
    if (has_bias && next_u32() % 16 == 0) g_bias[c] = (int32_t)next_u32();  // extreme accumulators
    if (g_tiny) {
      g_shift[c] = uniform(-3, 0);
      g_bias[c] = uniform(-8, 8);
    }
  }
}

int32_t pick_zp() {
  const uint32_t z = next_u32() % 6;
  return z == 0 ? -128 : z == 1 ? 127 : uniform(-128, 127);
}

void pick_clamp(int32_t* lo, int32_t* hi) {
  const uint32_t z = next_u32() % 4;
  if (z < 2) {
    *lo = -128;
    *hi = 127;
  } else {
    *lo = uniform(-128, 100);
    *hi = uniform(*lo, 127);
  }
}

bool check_guard(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != 0xA5) return false;
  }
  return true;
}

int compare(const char* what, size_t count, size_t scratch) {
  if (!check_guard((const uint8_t*)g_out_dsp + count, kGuard)) {
    printf("FAIL %s: wrote past the output\n", what);
    return 1;
  }
  if (!check_guard(g_scratch + scratch, kGuard)) {
    printf("FAIL %s: wrote past the scratch (%u bytes)\n", what, (unsigned)scratch);
    return 1;
  }
  for (size_t i = 0; i < count; ++i) {
    if (g_out_ref[i] != g_out_dsp[i]) {
      printf("FAIL %s: output %u is %d, reference %d\n", what, (unsigned)i, g_out_dsp[i], g_out_ref[i]);
      return 1;
    }
  }
  return 0;
}

size_t conv_scratch(const eb_qs8_conv_params& p) {  // edgebuild/mcu/variants/dsp_conv.py's scratch_bytes
  const size_t k = (size_t)p.kernel_height * (size_t)p.kernel_width * (size_t)p.input_channels;
  return EB_QS8_GEMM_DSP_PACKED_BYTES(k) + (eb_qs8_conv_dsp_gathers(&p) ? EB_QS8_CONV_DSP_GATHER_BYTES(k) : 0);
}

int run_conv_case(eb_qs8_conv_params p, bool has_bias, int index) {
  const size_t in_bytes = (size_t)p.batch * p.input_height * p.input_width * p.input_channels;
  const size_t w_bytes = (size_t)p.output_channels * p.kernel_height * p.kernel_width * p.input_channels;
  const size_t out_bytes = (size_t)p.batch * p.output_height * p.output_width * p.output_channels;
  const size_t scratch = conv_scratch(p);
  if (in_bytes > kMaxBytes || w_bytes > kMaxBytes || out_bytes > kMaxBytes || scratch > 32 * 1024) return 0;
  fill_s8(g_input, in_bytes, -128, 127);
  fill_s8(g_weights, w_bytes, next_u32() % 4 == 0 ? -128 : -127, 127);
  fill_quant((size_t)p.output_channels, w_bytes / p.output_channels, has_bias);
  memset(g_out_dsp, 0xA5, out_bytes + kGuard);
  memset(g_scratch, 0xA5, scratch + kGuard);
  eb_qs8_conv_ref(&p, g_input, g_weights, has_bias ? g_bias : NULL, g_mult, g_shift, g_out_ref);
  eb_qs8_conv_minmax_ukernel__dsp(&p, g_input, g_weights, has_bias ? g_bias : NULL, g_mult, g_shift, g_out_dsp,
                                  g_scratch);
  char what[200];
  snprintf(what, sizeof what,
           "conv case %d: N%ld H%ld W%ld C%ld -> OC%ld, k%ldx%ld s%ldx%ld pad%ld,%ld dil%ld,%ld zp %ld/%ld clamp "
           "[%ld, %ld] bias %d",
           index, (long)p.batch, (long)p.input_height, (long)p.input_width, (long)p.input_channels,
           (long)p.output_channels, (long)p.kernel_height, (long)p.kernel_width, (long)p.stride_height,
           (long)p.stride_width, (long)p.pad_top, (long)p.pad_left, (long)p.dilation_height, (long)p.dilation_width,
           (long)p.input_zero_point, (long)p.output_zero_point, (long)p.output_min, (long)p.output_max, (int)has_bias);
  return compare(what, out_bytes, scratch);
}

int32_t out_size(int32_t in, int32_t k, int32_t s, int32_t pad, int32_t dil) {
  const int32_t span = (k - 1) * dil + 1;
  const int32_t o = (in + 2 * pad - span) / s + 1;
  return o < 1 ? 1 : o;
}

int run_random_conv(int index) {
  eb_qs8_conv_params p;
  memset(&p, 0, sizeof p);
  static const int32_t kernels[][2] = {{1, 1}, {1, 1}, {3, 3}, {3, 3}, {10, 4}, {1, 3}, {5, 5}, {2, 2}};
  const int32_t* kk = kernels[next_u32() % 8];
  p.kernel_height = kk[0];
  p.kernel_width = kk[1];
  p.batch = next_u32() % 5 == 0 ? 3 : 1;
  p.input_channels = next_u32() % 3 == 0 ? uniform(1, 40) : uniform(1, 17);
  p.output_channels = next_u32() % 3 == 0 ? uniform(1, 40) : uniform(1, 17);
  p.input_height = uniform(kk[0] > 3 ? 4 : 1, kk[0] > 3 ? 14 : 9);
  p.input_width = uniform(1, 9);
  p.stride_height = uniform(1, 2);
  p.stride_width = next_u32() % 4 == 0 ? 3 - p.stride_height : p.stride_height;
  p.dilation_height = next_u32() % 6 == 0 ? 2 : 1;
  p.dilation_width = next_u32() % 6 == 0 ? 2 : 1;
  const bool same = next_u32() % 2 == 0;
  p.pad_top = same ? (p.kernel_height - 1) * p.dilation_height / 2 : (int32_t)(next_u32() % 2);
  p.pad_left = same ? (p.kernel_width - 1) * p.dilation_width / 2 : (int32_t)(next_u32() % 2);
  p.output_height = out_size(p.input_height, p.kernel_height, p.stride_height, p.pad_top, p.dilation_height);
  p.output_width = out_size(p.input_width, p.kernel_width, p.stride_width, p.pad_left, p.dilation_width);
  p.groups = 1;
  p.input_zero_point = pick_zp();
  p.output_zero_point = pick_zp();
  pick_clamp(&p.output_min, &p.output_max);
  return run_conv_case(p, next_u32() % 5 != 0, index);
}

int run_fc_case(size_t m, size_t k, size_t n, int index) {
  eb_qs8_gemm_params p;
  p.m = m;
  p.n = n;
  p.k = k;
  p.input_zero_point = pick_zp();
  p.output_zero_point = pick_zp();
  pick_clamp(&p.output_min, &p.output_max);
  const bool has_bias = next_u32() % 5 != 0;
  if (g_tiny) p.input_zero_point = 0;
  const size_t scratch = EB_QS8_GEMM_DSP_PACKED_BYTES(k);
  if (m * k > kMaxBytes || n * k > kMaxBytes || m * n > kMaxBytes || scratch > 32 * 1024) return 0;
  fill_s8(g_input, m * k, g_tiny ? -2 : -128, g_tiny ? 2 : 127);
  fill_s8(g_weights, n * k, g_tiny ? -2 : next_u32() % 4 == 0 ? -128 : -127, g_tiny ? 2 : 127);
  fill_quant(n, k, has_bias);
  memset(g_out_dsp, 0xA5, m * n + kGuard);
  memset(g_scratch, 0xA5, scratch + kGuard);
  eb_qs8_gemm_ref(&p, g_input, g_weights, has_bias ? g_bias : NULL, g_mult, g_shift, g_out_ref);
  eb_qs8_gemm_minmax_ukernel__dsp(&p, g_input, g_weights, has_bias ? g_bias : NULL, g_mult, g_shift, g_out_dsp,
                                  g_scratch);
  char what[160];
  snprintf(what, sizeof what, "fc case %d: M%u K%u N%u zp %ld/%ld clamp [%ld, %ld] bias %d", index, (unsigned)m,
           (unsigned)k, (unsigned)n, (long)p.input_zero_point, (long)p.output_zero_point, (long)p.output_min,
           (long)p.output_max, (int)has_bias);
  if (compare(what, m * n, scratch) != 0) return 1;
  if (m != 1) return 0;
  // One row: the scratch-free kernel too.
  memset(g_out_dsp, 0xA5, m * n + kGuard);
  memset(g_scratch, 0xA5, kGuard);
  eb_qs8_gemm_minmax_ukernel_1x4c4__dsp(&p, g_input, g_weights, has_bias ? g_bias : NULL, g_mult, g_shift, g_out_dsp);
  snprintf(what, sizeof what, "fc 1x4c4 case %d: K%u N%u zp %ld/%ld clamp [%ld, %ld] bias %d", index, (unsigned)k,
           (unsigned)n, (long)p.input_zero_point, (long)p.output_zero_point, (long)p.output_min, (long)p.output_max,
           (int)has_bias);
  return compare(what, m * n, 0);
}

eb_qs8_conv_params conv_shape(int32_t n, int32_t h, int32_t w, int32_t c, int32_t oc, int32_t kh, int32_t kw,
                              int32_t sh, int32_t sw, int32_t pad_h, int32_t pad_w) {
  eb_qs8_conv_params p;
  memset(&p, 0, sizeof p);
  p.batch = n;
  p.input_height = h;
  p.input_width = w;
  p.input_channels = c;
  p.output_channels = oc;
  p.kernel_height = kh;
  p.kernel_width = kw;
  p.groups = 1;
  p.stride_height = sh;
  p.stride_width = sw;
  p.pad_top = pad_h;
  p.pad_left = pad_w;
  p.dilation_height = 1;
  p.dilation_width = 1;
  p.output_height = out_size(h, kh, sh, pad_h, 1);
  p.output_width = out_size(w, kw, sw, pad_w, 1);
  p.input_zero_point = pick_zp();
  p.output_zero_point = pick_zp();
  pick_clamp(&p.output_min, &p.output_max);
  return p;
}

int run_tests(uint32_t seed, int cases) {
  rng_state = seed != 0 ? seed : 1;
  int failures = 0, index = 0;
  // Fixed shapes first: every channel count 1..17 through 1x1 and 3x3, the MLPerf Tiny layers (reduced in H, W).
  for (int32_t c = 1; c <= 17; ++c) {
    failures += run_conv_case(conv_shape(1, 3, 5, c, 18 - c, 1, 1, 1, 1, 0, 0), true, index++);
    failures += run_conv_case(conv_shape(1, 5, 4, c, c, 3, 3, 1, 1, 1, 1), c % 3 != 0, index++);
    failures += run_fc_case(1 + (size_t)c % 3, (size_t)c, 18 - (size_t)c, index++);
    failures += run_fc_case(1, 16 + (size_t)c, (size_t)c, index++);
  }
  failures += run_conv_case(conv_shape(1, 13, 10, 1, 16, 10, 4, 2, 2, 4, 1), true, index++);  // KWS first layer
  failures += run_conv_case(conv_shape(1, 5, 5, 64, 64, 1, 1, 1, 1, 0, 0), true, index++);    // KWS pointwise
  failures += run_conv_case(conv_shape(1, 6, 6, 3, 8, 3, 3, 2, 2, 1, 1), true, index++);      // VWW first conv
  failures += run_conv_case(conv_shape(1, 4, 4, 8, 16, 1, 1, 1, 1, 0, 0), true, index++);     // VWW pointwise
  failures += run_conv_case(conv_shape(1, 6, 6, 16, 32, 1, 1, 2, 2, 0, 0), true, index++);    // IC skip conv
  failures += run_conv_case(conv_shape(3, 5, 5, 16, 32, 3, 3, 2, 2, 1, 1), true, index++);    // IC stride 2, batch 3
  {
    eb_qs8_conv_params p = conv_shape(2, 3, 4, 5, 6, 1, 1, 2, 1, 0, 0);
    p.output_height += 1;  // rows past the input: every tap skipped, the output is the bias alone
    failures += run_conv_case(p, true, index++);
  }
  failures += run_fc_case(1, 256, 64, index++);
  failures += run_fc_case(3, 129, 7, index++);
  g_tiny = true;
  for (int i = 0; i < 8; ++i) failures += run_fc_case(3, (size_t)uniform(1, 3), 64, index++);
  g_tiny = false;
  for (int i = 0; i < cases; ++i) {
    if (next_u32() % 3 == 0) {
      failures += run_fc_case((size_t)uniform(1, 5), (size_t)uniform(1, 300), (size_t)uniform(1, 33), index++);
    } else {
      failures += run_random_conv(index++);
    }
    if (failures > 5) break;
  }
  printf("%d cases, %d failures\n", index, failures);
  return failures != 0 ? 1 : 0;
}

int run_bench(int argc, char** argv) {
  const bool conv = strcmp(argv[2], "conv") == 0;
  const bool dsp = strcmp(argv[3], "dsp") == 0;
  rng_state = 12345;
  g_bench = true;
  if (conv) {
    if (argc < 15) return 2;
    int32_t v[11];
    for (int i = 0; i < 11; ++i) v[i] = atoi(argv[4 + i]);
    eb_qs8_conv_params p = conv_shape(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10]);
    const size_t in_bytes = (size_t)p.batch * p.input_height * p.input_width * p.input_channels;
    const size_t w_bytes = (size_t)p.output_channels * p.kernel_height * p.kernel_width * p.input_channels;
    fill_s8(g_input, in_bytes, -128, 127);
    fill_s8(g_weights, w_bytes, -127, 127);
    fill_quant((size_t)p.output_channels, w_bytes / p.output_channels, true);
    eb_profile_invoke_begin();
    if (dsp) {
      eb_qs8_conv_minmax_ukernel__dsp(&p, g_input, g_weights, g_bias, g_mult, g_shift, g_out_dsp, g_scratch);
    } else {
      eb_qs8_conv_ref(&p, g_input, g_weights, g_bias, g_mult, g_shift, g_out_ref);
    }
    eb_profile_invoke_end();
    const double macs =
        (double)p.batch * p.output_height * p.output_width * p.output_channels * (double)w_bytes / p.output_channels;
    printf("macs %.0f scratch %u\n", macs, (unsigned)conv_scratch(p));
  } else {
    if (argc < 7) return 2;
    eb_qs8_gemm_params p;
    p.m = (size_t)atoi(argv[4]);
    p.k = (size_t)atoi(argv[5]);
    p.n = (size_t)atoi(argv[6]);
    p.input_zero_point = 3;
    p.output_zero_point = -5;
    p.output_min = -128;
    p.output_max = 127;
    fill_s8(g_input, p.m * p.k, -128, 127);
    fill_s8(g_weights, p.n * p.k, -127, 127);
    fill_quant(p.n, p.k, true);
    eb_profile_invoke_begin();
    if (dsp && p.m == 1) {
      eb_qs8_gemm_minmax_ukernel_1x4c4__dsp(&p, g_input, g_weights, g_bias, g_mult, g_shift, g_out_dsp);
    } else if (dsp) {
      eb_qs8_gemm_minmax_ukernel__dsp(&p, g_input, g_weights, g_bias, g_mult, g_shift, g_out_dsp, g_scratch);
    } else {
      eb_qs8_gemm_ref(&p, g_input, g_weights, g_bias, g_mult, g_shift, g_out_ref);
    }
    eb_profile_invoke_end();
    printf("macs %.0f scratch %u\n", (double)(p.m * p.n * p.k),
           (unsigned)(p.m == 1 ? 0 : EB_QS8_GEMM_DSP_PACKED_BYTES(p.k)));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 4 && strcmp(argv[1], "test") == 0) return run_tests((uint32_t)atoi(argv[2]), atoi(argv[3]));
  if (argc >= 4 && strcmp(argv[1], "bench") == 0) return run_bench(argc, argv);
  printf("usage: %s test <seed> <cases> | bench conv|fc ref|dsp <shape>\n", argc > 0 ? argv[0] : "dsp_gemm_test");
  return 2;
}
