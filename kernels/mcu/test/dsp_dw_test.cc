// dsp_dw_test.cc: bare-metal tester of the Cortex-M DSP variants of dwconv, add, avgpool and maxpool against their
// reference twins (eb_qs8_conv_ref, eb_qs8_vadd_ref, eb_qs8_avgpool_ref, eb_qs8_maxpool_ref), bit for bit, over
// shapes that break kernels; run under qemu-system-arm (mps2-an386) by tests/mcu/test_dsp_dw.py.
//
//   dsp_dw_test check <seed>        random cases of every family; prints "ok <family> <cases> <paths>", exit 1 on
//                                   the first mismatch (its case printed)
//   dsp_dw_test dump <seed>         a few cases' inputs and the build-time arrays this file derives (pack, bias
//                                   fold, requantization constants, ADD tables), for the Python test to compare
//                                   with edgebuild/mcu/variants/dsp_*.py
//   dsp_dw_test bench <what> ...    one call between eb_profile_invoke_begin / _end (instruction counts):
//       dw ref|dsp H W C K stride pad   add ref|dsp count   avg ref|dsp H W C K stride pad   max ref|dsp H W C K stride
//       pad
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../ukernels/requant/requant__dsp.h"
#include "edgebuild/ukernels.h"

extern "C" {
void eb_qs8_conv_dw_minmax_ukernel_1x4__dsp(const eb_qs8_conv_params* p, const int8_t* input, const int8_t* weights,
                                            const int32_t* bias, const int32_t* multiplier, const int32_t* shift,
                                            int8_t* output, const int32_t* bias_zx, const int32_t* rq, int8_t* scratch);
void eb_qs8_vadd_minmax_ukernel__dsp(const eb_qs8_vadd_params* p, size_t count, const int8_t* a, const int8_t* b,
                                     int8_t* output, const int32_t* tables, const int32_t* rq);
void eb_qs8_avgpool_minmax_ukernel__dsp(const eb_qs8_avgpool_params* p, const int8_t* input, int8_t* output);
void eb_qs8_maxpool_minmax_ukernel__dsp(const eb_qs8_maxpool_params* p, const int8_t* input, int8_t* output);
__attribute__((noinline)) void eb_profile_invoke_begin(void) { __asm__ volatile(""); }
__attribute__((noinline)) void eb_profile_invoke_end(void) { __asm__ volatile(""); }
}

namespace {

uint32_t rng_state = 1;
uint32_t next() {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return rng_state;
}
int32_t uniform(int32_t lo, int32_t hi) { return lo + (int32_t)(next() % (uint32_t)(hi - lo + 1)); }
bool chance(int percent) { return (int)(next() % 100) < percent; }
// An int8 zero point, often at the extremes.
int32_t zero_point() { return chance(30) ? (chance(50) ? -128 : 127) : uniform(-128, 127); }
void fill(int8_t* x, size_t n) {
  for (size_t i = 0; i < n; ++i) x[i] = (int8_t)next();
}
// [act_min, act_max]: the full range, a relu-like floor, or a narrow clamp.
void clamp_range(int32_t* lo, int32_t* hi) {
  *lo = -128, *hi = 127;
  if (chance(30)) *lo = uniform(-128, 20);
  if (chance(30)) *hi = uniform(*lo, 127);
}

// ---- the build-time arrays (edgebuild/mcu/variants/dsp_*.py compute the same; `dump` lets the Python test check) --
eb_dsp_rq make_rq(int32_t m, int32_t e, int32_t zp) {
  eb_dsp_rq r = {0, 0, m, -1};
  if (m <= 0 || e > -1 || e < -23 || zp < -128 || zp > 128) return r;  // outside the fast form: the reference's
  const int32_t n = -e;
  const int64_t k =
      ((int64_t)1 << 30) + ((int64_t)1 << (n + 30)) - ((int64_t)1 << 31) + (int64_t)zp * ((int64_t)1 << (31 + n));
  r.k_lo = (uint32_t)(uint64_t)k;
  r.k_hi = (int32_t)(k >> 32);
  r.shift_m1 = n - 1;
  return r;
}

void pack_dw(size_t C, size_t T, const int8_t* w, int8_t* packed) {
  const size_t C4 = C & ~(size_t)3;
  for (size_t b = 0; b < C4; b += 4)
    for (size_t t = 0; t < T; ++t)
      for (size_t j = 0; j < 4; ++j) packed[b * T + t * 4 + j] = w[(b + j) * T + t];
  memcpy(packed + C4 * T, w + C4 * T, (C - C4) * T);
}

void fold_dw(size_t C, size_t T, const int8_t* w, const int32_t* bias, int32_t zx, int32_t* bias_zx) {
  for (size_t c = 0; c < C; ++c) {
    int32_t sum = 0;
    for (size_t t = 0; t < T; ++t) sum += w[c * T + t];
    bias_zx[c] = (int32_t)((uint32_t)(bias != NULL ? bias[c] : 0) - (uint32_t)zx * (uint32_t)sum);
  }
}

void add_tables(const eb_qs8_vadd_params* p, int32_t* tables) {
  const int64_t up = (int64_t)1 << p->left_shift;
  for (int32_t v = -128; v < 128; ++v) {
    tables[v + 128] = eb_mbqm(eb_sat32(((int64_t)v - p->a_zero_point) * up), p->a_multiplier, p->a_shift);
    tables[256 + v + 128] = eb_mbqm(eb_sat32(((int64_t)v - p->b_zero_point) * up), p->b_multiplier, p->b_shift);
  }
}

// ---- buffers ----
constexpr size_t kMax = 96 * 1024;
int8_t in_a[kMax], in_b[kMax], out_ref[kMax + 16], out_dsp[kMax + 16], scratch_buf[4096];
int8_t weights[8192], packed[8192];
int32_t bias[1024], bias_zx[1024], mult[1024], shift[1024];
eb_dsp_rq rq[1024];
int32_t tables[512];

int32_t multiplier() {
  if (chance(10)) return chance(50) ? (1 << 30) : INT32_MAX;
  return (int32_t)((1u << 30) + (next() >> 2));
}
int32_t exponent() {
  if (chance(8)) return uniform(0, 3);      // M >= 0.5: the reference's path
  if (chance(5)) return uniform(-31, -24);  // tiny M: the reference's path
  if (chance(5)) return chance(50) ? -23 : -1;
  return uniform(-14, -2);
}

bool compare(const char* what, size_t n, unsigned case_no) {
  for (size_t i = 0; i < n + 16; ++i)
    if (out_ref[i] != out_dsp[i]) {
      printf("MISMATCH %s case %u at %u of %u: ref %d dsp %d\n", what, case_no, (unsigned)i, (unsigned)n, out_ref[i],
             out_dsp[i]);
      return false;
    }
  return true;
}

size_t out_size(int32_t in, int32_t pad_lo, int32_t pad_hi, int32_t k, int32_t dil, int32_t stride) {
  const int32_t span = in + pad_lo + pad_hi - dil * (k - 1) - 1;
  return span < 0 ? 0 : (size_t)(span / stride + 1);
}

// ---- dwconv ----
eb_qs8_conv_params random_dw(bool big) {
  eb_qs8_conv_params p;
  for (;;) {
    p.batch = chance(20) ? 2 : 1;
    p.input_channels = chance(70) ? uniform(1, 17) : uniform(18, 40);
    p.input_height = uniform(1, 9), p.input_width = uniform(1, 9);
    if (big) p.input_height = uniform(8, 14), p.input_width = uniform(8, 14);
    static const int32_t ks[][2] = {{3, 3}, {3, 3}, {3, 3}, {3, 3}, {1, 1}, {5, 5},
                                    {3, 1}, {1, 3}, {2, 2}, {7, 7}, {9, 9}};
    const int32_t* k = ks[next() % (sizeof ks / sizeof ks[0])];
    p.kernel_height = k[0], p.kernel_width = k[1];
    p.stride_height = chance(60) ? 1 : (chance(80) ? 2 : 3);
    p.stride_width = chance(80) ? p.stride_height : uniform(1, 3);
    p.dilation_height = chance(85) ? 1 : 2, p.dilation_width = chance(85) ? p.dilation_height : uniform(1, 2);
    p.pad_top = uniform(0, 2), p.pad_left = uniform(0, 2);
    if (chance(40)) p.pad_top = p.pad_left = p.kernel_height / 2;
    const int32_t pb = uniform(0, 2), pr = uniform(0, 2);
    const size_t oh = out_size(p.input_height, p.pad_top, pb, p.kernel_height, p.dilation_height, p.stride_height);
    const size_t ow = out_size(p.input_width, p.pad_left, pr, p.kernel_width, p.dilation_width, p.stride_width);
    if (oh == 0 || ow == 0) continue;
    // Every window must hold a tap of the input for the reference too? No: DEPTHWISE allows all-padding windows.
    p.output_height = (int32_t)oh, p.output_width = (int32_t)ow;
    p.output_channels = p.groups = p.input_channels;
    p.input_zero_point = zero_point(), p.output_zero_point = zero_point();
    clamp_range(&p.output_min, &p.output_max);
    return p;
  }
}

void setup_dw(const eb_qs8_conv_params& p, bool with_bias) {
  const size_t C = (size_t)p.input_channels, T = (size_t)(p.kernel_height * p.kernel_width);
  fill(in_a, (size_t)(p.batch * p.input_height * p.input_width) * C);
  fill(weights, C * T);
  if (chance(10)) memset(weights, -128, C * T);  // all −128: the largest products
  if (chance(10)) memset(in_a, chance(50) ? -128 : 127, (size_t)(p.batch * p.input_height * p.input_width) * C);
  for (size_t c = 0; c < C; ++c) {
    bias[c] = chance(10) ? (int32_t)next() : uniform(-(1 << 18), 1 << 18);
    mult[c] = multiplier();
    shift[c] = exponent();
  }
  pack_dw(C, T, weights, packed);
  fold_dw(C, T, weights, with_bias ? bias : NULL, p.input_zero_point, bias_zx);
  for (size_t c = 0; c < C; ++c) rq[c] = make_rq(mult[c], shift[c], p.output_zero_point);
}

bool check_dw(unsigned cases) {
  unsigned border = 0, interior3 = 0, slow = 0;
  for (unsigned i = 0; i < cases; ++i) {
    const eb_qs8_conv_params p = random_dw(i % 8 == 7);
    const bool with_bias = !chance(10);
    setup_dw(p, with_bias);
    const size_t n = (size_t)(p.batch * p.output_height * p.output_width * p.output_channels);
    if (n > kMax || (size_t)(p.input_channels * p.kernel_height * p.kernel_width) > sizeof weights) continue;
    memset(out_ref, 0x5a, n + 16), memset(out_dsp, 0x5a, n + 16);
    eb_qs8_conv_ref(&p, in_a, weights, with_bias ? bias : NULL, mult, shift, out_ref);
    eb_qs8_conv_dw_minmax_ukernel_1x4__dsp(&p, in_a, packed, with_bias ? bias : NULL, mult, shift, out_dsp, bias_zx,
                                           (const int32_t*)rq, scratch_buf);
    if (!compare("dwconv", n, i)) {
      printf("  N%d H%d W%d C%d K%dx%d s%dx%d d%dx%d pad %d,%d out %dx%d zx %d zy %d clamp [%d, %d]\n", p.batch,
             p.input_height, p.input_width, p.input_channels, p.kernel_height, p.kernel_width, p.stride_height,
             p.stride_width, p.dilation_height, p.dilation_width, p.pad_top, p.pad_left, p.output_height,
             p.output_width, p.input_zero_point, p.output_zero_point, p.output_min, p.output_max);
      return false;
    }
    border += p.pad_top > 0 || p.pad_left > 0;
    interior3 += p.kernel_height == 3 && p.kernel_width == 3 && p.output_height > 2 && p.output_width > 2;
    for (int32_t c = 0; c < p.input_channels; ++c) slow += rq[c].shift_m1 < 0;
  }
  printf("ok dwconv %u border %u interior3x3 %u slow-channels %u\n", cases, border, interior3, slow);
  return border > 0 && interior3 > 0 && slow > 0;
}

// ---- add ----
eb_qs8_vadd_params random_add() {
  eb_qs8_vadd_params p;
  memset(&p, 0, sizeof p);
  p.a_zero_point = zero_point(), p.b_zero_point = zero_point(), p.output_zero_point = zero_point();
  p.left_shift = chance(80) ? 20 : uniform(0, 24);
  // The lowering's form (7): the larger input scale at M = 0.5 (m = 2^30, e = 0), the other below, the output
  // M_y ~ 2^-20·s/s_y; sometimes anything.
  p.a_multiplier = 1 << 30, p.a_shift = 0;
  p.b_multiplier = multiplier(), p.b_shift = uniform(-4, 0);
  if (chance(50)) {
    int32_t t = p.a_multiplier;
    p.a_multiplier = p.b_multiplier, p.b_multiplier = t;
    t = p.a_shift, p.a_shift = p.b_shift, p.b_shift = t;
  }
  p.output_multiplier = multiplier(), p.output_shift = uniform(-22, -16);
  if (chance(20)) p.output_shift = exponent();
  if (chance(10)) p.a_shift = uniform(-31, 6), p.b_shift = uniform(-31, 6);  // saturating inputs
  clamp_range(&p.output_min, &p.output_max);
  return p;
}

bool check_add(unsigned cases) {
  unsigned aliased = 0, slow = 0;
  for (unsigned i = 0; i < cases; ++i) {
    const eb_qs8_vadd_params p = random_add();
    const size_t count = i < 67 ? i + 1 : (size_t)uniform(1, 3000);
    fill(in_a, count), fill(in_b, count);
    add_tables(&p, tables);
    const eb_dsp_rq r = make_rq(p.output_multiplier, p.output_shift, p.output_zero_point);
    slow += r.shift_m1 < 0;
    memset(out_ref, 0x5a, count + 16), memset(out_dsp, 0x5a, count + 16);
    eb_qs8_vadd_ref(&p, count, in_a, in_b, out_ref);
    const int mode = (int)(i % 3);  // 0: separate output, 1: output == a, 2: output == b
    if (mode == 0) {
      eb_qs8_vadd_minmax_ukernel__dsp(&p, count, in_a, in_b, out_dsp, tables, (const int32_t*)&r);
    } else {
      int8_t* dst = mode == 1 ? in_a : in_b;
      eb_qs8_vadd_minmax_ukernel__dsp(&p, count, in_a, in_b, dst, tables, (const int32_t*)&r);
      memcpy(out_dsp, dst, count);
      ++aliased;
    }
    if (!compare("add", count, i)) {
      printf("  count %u alias %d zp %d %d %d L %d a %d,%d b %d,%d y %d,%d clamp [%d, %d]\n", (unsigned)count, mode,
             p.a_zero_point, p.b_zero_point, p.output_zero_point, p.left_shift, p.a_multiplier, p.a_shift,
             p.b_multiplier, p.b_shift, p.output_multiplier, p.output_shift, p.output_min, p.output_max);
      return false;
    }
  }
  printf("ok add %u aliased %u slow %u\n", cases, aliased, slow);
  return aliased > 0 && slow > 0;
}

// ---- pools ----
struct Pool {
  int32_t batch, H, W, C, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW;
};

Pool random_pool(bool allow_dilation, bool big_window) {
  for (;;) {
    Pool q;
    q.batch = chance(20) ? 2 : 1;
    q.C = chance(70) ? uniform(1, 17) : uniform(18, 70);
    q.H = uniform(1, 9), q.W = uniform(1, 9);
    q.DH = q.DW = 1;
    if (allow_dilation && chance(15)) q.DH = uniform(1, 2), q.DW = uniform(1, 2);
    if (chance(25)) {  // global
      q.KH = q.H, q.KW = q.W, q.SH = q.SW = 1, q.PH = q.PW = 0;
      if (big_window && chance(40)) q.H = q.KH = uniform(15, 25), q.W = q.KW = uniform(12, 20), q.C = uniform(1, 9);
    } else {
      q.KH = uniform(1, 4), q.KW = chance(80) ? q.KH : uniform(1, 4);
      q.SH = uniform(1, 3), q.SW = chance(80) ? q.SH : uniform(1, 3);
      q.PH = uniform(0, q.KH / 2), q.PW = uniform(0, q.KW / 2);
    }
    const size_t oh = out_size(q.H, q.PH, q.PH, q.KH, q.DH, q.SH), ow = out_size(q.W, q.PW, q.PW, q.KW, q.DW, q.SW);
    if (oh == 0 || ow == 0) continue;
    q.OH = (int32_t)oh, q.OW = (int32_t)ow;
    if (chance(20)) q.OH += 0, q.OW += 0;
    return q;
  }
}

bool check_avg(unsigned cases) {
  unsigned include_pad = 0, exclude_pad = 0, flushed = 0;
  for (unsigned i = 0; i < cases; ++i) {
    const Pool q = random_pool(false, true);
    eb_qs8_avgpool_params p = {q.batch, q.H, q.W, q.C, q.OH, q.OW, q.KH, q.KW, q.SH, q.SW, q.PH, q.PW, 0, 0, 0, 0};
    p.count_include_pad = chance(50);
    p.zero_point = zero_point();
    clamp_range(&p.output_min, &p.output_max);
    // Every window must hold a valid tap (the loader's check): pad < kernel guarantees it for these sizes.
    const size_t in = (size_t)(q.batch * q.H * q.W * q.C), n = (size_t)(q.batch * q.OH * q.OW * q.C);
    if (in > kMax || n > kMax) continue;
    fill(in_a, in);
    if (chance(15)) memset(in_a, chance(50) ? -128 : 127, in);
    memset(out_ref, 0x5a, n + 16), memset(out_dsp, 0x5a, n + 16);
    eb_qs8_avgpool_ref(&p, in_a, out_ref);
    eb_qs8_avgpool_minmax_ukernel__dsp(&p, in_a, out_dsp);
    if (!compare("avgpool", n, i)) {
      printf("  N%d H%d W%d C%d K%dx%d s%dx%d pad %d,%d out %dx%d incl %d zp %d clamp [%d, %d]\n", q.batch, q.H, q.W,
             q.C, q.KH, q.KW, q.SH, q.SW, q.PH, q.PW, q.OH, q.OW, p.count_include_pad, p.zero_point, p.output_min,
             p.output_max);
      return false;
    }
    (p.count_include_pad ? include_pad : exclude_pad) += q.PH + q.PW > 0;
    flushed += q.KH * q.KW > 256;
  }
  printf("ok avgpool %u padded-included %u padded-excluded %u windows>256 %u\n", cases, include_pad, exclude_pad,
         flushed);
  return include_pad > 0 && exclude_pad > 0 && flushed > 0;
}

bool check_max(unsigned cases) {
  unsigned dilated = 0;
  for (unsigned i = 0; i < cases; ++i) {
    const Pool q = random_pool(true, false);
    eb_qs8_maxpool_params p = {q.batch, q.H,  q.W,  q.C,  q.OH, q.OW, q.KH, q.KW,
                               q.SH,    q.SW, q.PH, q.PW, q.DH, q.DW, 0,    0};
    clamp_range(&p.output_min, &p.output_max);
    const size_t in = (size_t)(q.batch * q.H * q.W * q.C), n = (size_t)(q.batch * q.OH * q.OW * q.C);
    if (in > kMax || n > kMax) continue;
    fill(in_a, in);
    if (chance(15)) memset(in_a, -128, in);
    memset(out_ref, 0x5a, n + 16), memset(out_dsp, 0x5a, n + 16);
    eb_qs8_maxpool_ref(&p, in_a, out_ref);
    eb_qs8_maxpool_minmax_ukernel__dsp(&p, in_a, out_dsp);
    if (!compare("maxpool", n, i)) {
      printf("  N%d H%d W%d C%d K%dx%d s%dx%d pad %d,%d dil %d,%d out %dx%d clamp [%d, %d]\n", q.batch, q.H, q.W, q.C,
             q.KH, q.KW, q.SH, q.SW, q.PH, q.PW, q.DH, q.DW, q.OH, q.OW, p.output_min, p.output_max);
      return false;
    }
    dilated += q.DH * q.DW > 1;
  }
  printf("ok maxpool %u dilated %u\n", cases, dilated);
  return dilated > 0;
}

// ---- dump: what the Python side must reproduce ----
void print_i32(const char* name, const int32_t* v, size_t n) {
  printf("%s", name);
  for (size_t i = 0; i < n; ++i) printf(" %ld", (long)v[i]);
  printf("\n");
}
void print_i8(const char* name, const int8_t* v, size_t n) {
  printf("%s", name);
  for (size_t i = 0; i < n; ++i) printf(" %d", v[i]);
  printf("\n");
}

void dump() {
  for (int i = 0; i < 6; ++i) {
    eb_qs8_conv_params p = random_dw(false);
    setup_dw(p, true);
    const size_t C = (size_t)p.input_channels, T = (size_t)(p.kernel_height * p.kernel_width);
    printf("dw %d %d %d %d %d\n", p.input_channels, p.kernel_height, p.kernel_width, p.input_zero_point,
           p.output_zero_point);
    print_i8("weights", weights, C * T);
    print_i32("bias", bias, C);
    print_i32("multiplier", mult, C);
    print_i32("shift", shift, C);
    print_i8("packed", packed, C * T);
    print_i32("bias_zx", bias_zx, C);
    print_i32("rq", (const int32_t*)rq, 4 * C);
  }
  for (int i = 0; i < 6; ++i) {
    const eb_qs8_vadd_params p = random_add();
    add_tables(&p, tables);
    const eb_dsp_rq r = make_rq(p.output_multiplier, p.output_shift, p.output_zero_point);
    printf("add %d %d %d %d %d %d %d %d %d %d\n", p.a_zero_point, p.b_zero_point, p.output_zero_point, p.left_shift,
           p.a_multiplier, p.a_shift, p.b_multiplier, p.b_shift, p.output_multiplier, p.output_shift);
    print_i32("tables", tables, 512);
    print_i32("rq", (const int32_t*)&r, 4);
  }
}

// ---- bench ----
int bench(int argc, char** argv) {
  if (argc < 4) return 2;
  const char* what = argv[2];
  const bool ref = strcmp(argv[3], "ref") == 0;
  int32_t a[8] = {0};
  for (int i = 4; i < argc && i < 12; ++i) a[i - 4] = atoi(argv[i]);
  rng_state = 12345;
  if (strcmp(what, "dw") == 0) {  // H W C K stride pad
    eb_qs8_conv_params p;
    p.batch = 1, p.input_height = a[0], p.input_width = a[1], p.input_channels = a[2];
    p.kernel_height = p.kernel_width = a[3], p.stride_height = p.stride_width = a[4];
    p.pad_top = p.pad_left = a[5], p.dilation_height = p.dilation_width = 1;
    p.output_height = (int32_t)out_size(a[0], a[5], a[5], a[3], 1, a[4]);
    p.output_width = (int32_t)out_size(a[1], a[5], a[5], a[3], 1, a[4]);
    p.output_channels = p.groups = a[2];
    p.input_zero_point = -3, p.output_zero_point = 5, p.output_min = -128, p.output_max = 127;
    const size_t C = (size_t)a[2], T = (size_t)(a[3] * a[3]);
    fill(in_a, (size_t)(a[0] * a[1]) * C);
    fill(weights, C * T);
    for (size_t c = 0; c < C; ++c) bias[c] = uniform(-5000, 5000), mult[c] = multiplier(), shift[c] = uniform(-10, -6);
    pack_dw(C, T, weights, packed);
    fold_dw(C, T, weights, bias, p.input_zero_point, bias_zx);
    for (size_t c = 0; c < C; ++c) rq[c] = make_rq(mult[c], shift[c], p.output_zero_point);
    eb_profile_invoke_begin();
    if (ref)
      eb_qs8_conv_ref(&p, in_a, weights, bias, mult, shift, out_ref);
    else
      eb_qs8_conv_dw_minmax_ukernel_1x4__dsp(&p, in_a, packed, bias, mult, shift, out_ref, bias_zx, (const int32_t*)rq,
                                             scratch_buf);
    eb_profile_invoke_end();
    printf("macs %lu\n", (unsigned long)(p.output_height * p.output_width) * C * T);
  } else if (strcmp(what, "add") == 0) {  // count
    eb_qs8_vadd_params p;
    memset(&p, 0, sizeof p);
    p.a_zero_point = 3, p.b_zero_point = -7, p.output_zero_point = -1, p.left_shift = 20;
    p.a_multiplier = 1 << 30, p.a_shift = 0, p.b_multiplier = 1518500250, p.b_shift = 0;
    p.output_multiplier = 1431655765, p.output_shift = -19, p.output_min = -128, p.output_max = 127;
    fill(in_a, (size_t)a[0]), fill(in_b, (size_t)a[0]);
    add_tables(&p, tables);
    const eb_dsp_rq r = make_rq(p.output_multiplier, p.output_shift, p.output_zero_point);
    eb_profile_invoke_begin();
    if (ref)
      eb_qs8_vadd_ref(&p, (size_t)a[0], in_a, in_b, out_ref);
    else
      eb_qs8_vadd_minmax_ukernel__dsp(&p, (size_t)a[0], in_a, in_b, out_ref, tables, (const int32_t*)&r);
    eb_profile_invoke_end();
  } else {  // avg / max: H W C K stride pad (K 0: global)
    const int32_t K = a[3] > 0 ? a[3] : a[0], KW = a[3] > 0 ? a[3] : a[1];
    const int32_t oh = (int32_t)out_size(a[0], a[5], a[5], K, 1, a[4]),
                  ow = (int32_t)out_size(a[1], a[5], a[5], KW, 1, a[4]);
    fill(in_a, (size_t)(a[0] * a[1] * a[2]));
    if (strcmp(what, "avg") == 0) {
      const eb_qs8_avgpool_params p = {1, a[0], a[1], a[2], oh, ow, K, KW, a[4], a[4], a[5], a[5], 0, -4, -128, 127};
      eb_profile_invoke_begin();
      if (ref)
        eb_qs8_avgpool_ref(&p, in_a, out_ref);
      else
        eb_qs8_avgpool_minmax_ukernel__dsp(&p, in_a, out_ref);
      eb_profile_invoke_end();
    } else {
      const eb_qs8_maxpool_params p = {1, a[0], a[1], a[2], oh, ow, K, KW, a[4], a[4], a[5], a[5], 1, 1, -128, 127};
      eb_profile_invoke_begin();
      if (ref)
        eb_qs8_maxpool_ref(&p, in_a, out_ref);
      else
        eb_qs8_maxpool_minmax_ukernel__dsp(&p, in_a, out_ref);
      eb_profile_invoke_end();
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 3 && strcmp(argv[1], "check") == 0) {
    rng_state = (uint32_t)strtoul(argv[2], NULL, 10) | 1u;
    const unsigned cases = argc >= 4 ? (unsigned)atoi(argv[3]) : 400;
    if (!check_dw(cases)) return 1;
    if (!check_add(cases)) return 1;
    if (!check_avg(cases)) return 1;
    if (!check_max(cases)) return 1;
    return 0;
  }
  if (argc >= 3 && strcmp(argv[1], "dump") == 0) {
    rng_state = (uint32_t)strtoul(argv[2], NULL, 10) | 1u;
    dump();
    return 0;
  }
  if (argc >= 2 && strcmp(argv[1], "bench") == 0) return bench(argc, argv);
  printf("usage: %s check <seed> [cases] | dump <seed> | bench <what> ref|dsp ...\n",
         argc > 0 ? argv[0] : "dsp_dw_test");
  return 2;
}
