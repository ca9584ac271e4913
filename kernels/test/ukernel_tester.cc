// ukernel_tester.cc: every optimized micro-kernel against its reference twin, bit-exactly, called directly.
//
// In the spirit of XNNPACK's gemm-microkernel-tester: for each family with ISA variants (qs8-gemm, qs8-dwconv,
// qs8-spmm, qs8-vadd, qs8-maxpool, qs8-avgpool, qs8-quantize, qs8-bmm, qd8-quantize, qd8-gemm; issue 19's float
// f32-bmm, f32-gemm, f32-softmax, f32-layernorm, f32-unary, compared as float bits: 0 ULP; qd8-softmax), every variant
// compiled into this build and supported by this CPU (eb_available_isas) runs over shapes that break kernels (sizes
// from 1 to 2–3 tiles past the tile, primes, powers of two ± 1, strided rows, zero points −128 / 0 / 127, clamps, all
// −128 inputs with large k, sparse patterns) and must equal the family's ref.cc byte for byte, with the bytes around
// the output untouched.
//
// Output, one line per variant (tests/kernels/ukernels/test_ukernel_tester.py reads it):
//   ran <family> <symbol> <isa> <shapes> <failures>
//   not-run <family> <symbol> <isa> <reason>
// then MISMATCH lines (the first few per variant) and a summary. Exit 1 on any mismatch, or when an ISA named by
// --require did not run. Options: --isa a,b (run only these ISAs), --require a,b, --quick (fewer shapes).
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgebuild/edgebuild.h"
#include "edgebuild/pool_window.h"
#include "edgebuild/ukernels.h"
#include "edgebuild/ukernels_isa.h"
#include "ukernel_pack.h"

namespace {

using ebt::alloc64;
using ebt::round_up;

// ---- random numbers (xorshift64*: the same sequence on every target) ----
struct Rng {
  uint64_t s;
  uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 2685821657736338717ull;
  }
  int32_t range(int32_t lo, int32_t hi) { return lo + (int32_t)(next() % (uint64_t)((int64_t)hi - lo + 1)); }
  int8_t s8() { return (int8_t)(next() >> 56); }
  bool chance(int percent) { return (int)(next() % 100) < percent; }
  template <typename T>
  T pick(const T* v, size_t n) {
    return v[next() % n];
  }
};

// ---- which variants run, and what they did ----
char g_available[256];
const char* g_only = NULL;  // --isa
bool g_quick = false;
int g_failures = 0;

bool listed(const char* list, const char* isa) {
  const size_t n = strlen(isa);
  for (const char* p = list; p != NULL && *p != '\0';) {
    const char* comma = strchr(p, ',');
    const size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
    if (len == n && strncmp(p, isa, n) == 0) return true;
    p = comma != NULL ? comma + 1 : NULL;
  }
  return false;
}

struct Ran {
  char isa[16];
  int ran;
};
Ran g_isas[16];
size_t g_num_isas = 0;

void note_isa(const char* isa, bool ran) {
  for (size_t i = 0; i < g_num_isas; ++i) {
    if (strcmp(g_isas[i].isa, isa) == 0) {
      g_isas[i].ran |= ran;
      return;
    }
  }
  snprintf(g_isas[g_num_isas].isa, sizeof g_isas[0].isa, "%s", isa);
  g_isas[g_num_isas++].ran = ran;
}

// Whether a variant of `isa` runs here; prints the not-run line when not.
bool should_run(const char* family, const char* symbol, const char* isa) {
  if (!listed(g_available, isa)) {
    printf("not-run %s %s %s CPU lacks %s (available: %s)\n", family, symbol, isa, isa, g_available);
    note_isa(isa, false);
    return false;
  }
  if (g_only != NULL && !listed(g_only, isa)) {
    printf("not-run %s %s %s not selected (--isa %s)\n", family, symbol, isa, g_only);
    return false;
  }
  return true;
}

// One variant's run: counts shapes and mismatches, prints the first few mismatches.
struct Check {
  const char* family;
  const char* symbol;
  const char* isa;
  size_t shapes = 0, failures = 0;
  void shape(bool ok, const char* what) {
    ++shapes;
    if (ok) return;
    if (failures++ < 5) printf("MISMATCH %s %s %s: %s\n", family, symbol, isa, what);
  }
  void done() {
    printf("ran %s %s %s %zu %zu\n", family, symbol, isa, shapes, failures);
    g_failures += (int)failures;
    note_isa(isa, true);
  }
};

// First differing byte of got (rows of `cols` bytes, `stride` apart) against want (rows of cols), and whether the
// stride gap holds the sentinel. Returns true when equal.
bool same_rows(const int8_t* got, size_t stride, const int8_t* want, size_t rows, size_t cols, int8_t sentinel,
               char* why, size_t why_len) {
  for (size_t i = 0; i < rows; ++i) {
    for (size_t j = 0; j < stride; ++j) {
      const int8_t g = got[i * stride + j];
      const int8_t w = j < cols ? want[i * cols + j] : sentinel;
      if (g != w) {
        snprintf(why + strlen(why), why_len - strlen(why), " first diff at [%zu, %zu]: got %d want %d%s", i, j, g, w,
                 j < cols ? "" : " (wrote past the row)");
        return false;
      }
    }
  }
  return true;
}

// A Q31 multiplier and an exponent that maps an accumulator of about 2^acc_bits into int8 (jitter ±3), sometimes
// an extreme one; every pair is loader-valid (2^30 <= m < 2^31, −31 <= e <= 30).
void pick_requant(Rng& r, int acc_bits, int32_t* m, int32_t* e) {
  *m = (int32_t)((1u << 30) + (uint32_t)(r.next() >> 34));
  int32_t s = 7 - acc_bits + r.range(-3, 3);
  if (r.chance(8)) s = r.range(-31, 30);
  *e = s < -31 ? -31 : (s > 30 ? 30 : s);
}

int log2_ceil(size_t x) {
  int b = 0;
  while (((size_t)1 << b) < x) ++b;
  return b;
}

// Output zero point and clamp: zero points −128 / 0 / 127 / random, clamps full or random.
struct OutQuant {
  int32_t zp, act_min, act_max;
};
OutQuant pick_out(Rng& r) {
  static const int32_t zps[] = {-128, 0, 127, 5, -37};
  OutQuant q;
  q.zp = r.chance(70) ? r.pick(zps, 5) : r.range(-128, 127);
  q.act_min = -128;
  q.act_max = 127;
  if (r.chance(35)) {
    q.act_min = r.range(-128, 100);
    q.act_max = r.range(q.act_min, 127);
  }
  return q;
}
eb_qs8_requant_params requant_of(const OutQuant& q) {
  eb_qs8_requant_params rq;
  rq.output_zero_point = q.zp;
  rq.lo = q.act_min - q.zp;
  rq.hi = q.act_max - q.zp;
  return rq;
}
int32_t pick_zp(Rng& r) {
  static const int32_t zps[] = {-128, 0, 127};
  return r.chance(75) ? r.pick(zps, 3) : r.range(-128, 127);
}

// ============================== qs8-gemm ==============================
struct GemmVariant {
  const char* symbol;
  const char* isa;
  eb_qs8_gemm_ukernel_fn fn;
  size_t mr, nr, kr, w_elem, header_arrays;
  int32_t a_offset;
  bool nc_any = false;  // GemmKernel::nc_any: one call may take every column (ukernels_isa.h)
  bool w127 = false;  // exact for weights in [−127, 127] only (docs/quantization.md): the shapes draw none of −128
  bool rshift = false;  // for exponents <= 0 only (no left shift): the shapes draw none above 0
  bool flags = false;   // GemmKernel::flags: −right and EB_GEMM_BLOCK_* in the header (header_arrays 5)
  bool m_any = false;   // GemmKernel::nc_any = 2: one call may also take every row
};
const GemmVariant kGemm[] = {
#ifdef EB_HAVE_ISA_AVX512VNNI
    {"eb_qs8_gemm_minmax_ukernel_8x32c4__avx512vnni", "avx512vnni", eb_qs8_gemm_minmax_ukernel_8x32c4__avx512vnni, 8,
     32, 4, 1, 5, 128},
#endif
#ifdef EB_HAVE_ISA_AVX2
    {"eb_qs8_gemm_minmax_ukernel_4x4c8__avx2", "avx2", eb_qs8_gemm_minmax_ukernel_4x4c8__avx2, 4, 4, 8, 2, 4, 0},
#endif
#ifdef EB_HAVE_ISA_NEON
    {"eb_qs8_gemm_minmax_ukernel_2x8c8__neon", "neon", eb_qs8_gemm_minmax_ukernel_2x8c8__neon, 2, 8, 8, 1, 4, 0},
    {"eb_qs8_gemm_minmax_ukernel_2x8c16__neon", "neon", eb_qs8_gemm_minmax_ukernel_2x8c16__neon, 2, 8, 16, 1, 4, 0,
     false, true},
    {"eb_qs8_gemm_minmax_ukernel_4x16__neon", "neon", eb_qs8_gemm_minmax_ukernel_4x16__neon, 4, 16, 1, 2, 4, 0},
    {"eb_qs8_gemm_minmax_rshift_ukernel_4x16__neon", "neon", eb_qs8_gemm_minmax_rshift_ukernel_4x16__neon, 4, 16, 1, 2,
     4, 0, false, false, true},
#endif
#ifdef EB_HAVE_ISA_NEONDOT
    {"eb_qs8_gemm_minmax_ukernel_4x16c4__neondot", "neondot", eb_qs8_gemm_minmax_ukernel_4x16c4__neondot, 4, 16, 4, 1,
     5, 0, true, false, false, true, true},
    {"eb_qs8_gemm_minmax_ukernel_4x8c4__neondot_a55", "neondot", eb_qs8_gemm_minmax_ukernel_4x8c4__neondot_a55, 4, 8, 4,
     1, 4, 0},
#endif
#ifdef EB_HAVE_ISA_I8MM
    {"eb_qs8_gemm_minmax_ukernel_4x16c8__i8mm", "i8mm", eb_qs8_gemm_minmax_ukernel_4x16c8__i8mm, 4, 16, 8, 1, 5, 0,
     true, false, false, true},
#endif
    {NULL, NULL, NULL, 0, 0, 0, 0, 0, 0},
};

constexpr int kTiny = 3;  // gemm_shape's extreme: small accumulators

// One GEMM shape: the variant tiles M × N as the executor does; rows of A are a_stride apart with garbage in the
// K padding and the gap, C rows c_stride apart with a sentinel in the gap. extreme 1, 2: every x = −128, every
// w = −128 (−127 for w127 kernels; or 127), zp_x = 127: the largest |acc| the lowering allows. extreme 3 (kTiny):
// x within 2 of zp_x, |w| <= 3, |bias| <= 8 and right shifts of 1..4, so many SRDHM results are small negative
// ties (RDBPOT's q − 1 fix decides them), with the clamp starting at zp_y − 1, zp_y or zp_y + 1: where a kernel
// may leave the fix out (the neondot GEMM when act_min >= zp_y) and where it may not.
void gemm_shape(Check& ck, const GemmVariant& v, size_t M, size_t N, size_t K, bool strided, int extreme, Rng& r) {
  const size_t kc = round_up(K, v.kr), a_stride = kc + (strided ? (size_t)r.range(1, 19) : 0);
  const size_t c_stride = N + (strided ? (size_t)r.range(1, 9) : 0);
  int8_t* x = static_cast<int8_t*>(alloc64(M * K));
  int8_t* w = static_cast<int8_t*>(alloc64(N * K));
  int32_t* bias = static_cast<int32_t*>(alloc64(N * 4));
  int32_t* mult = static_cast<int32_t*>(alloc64(N * 4));
  int32_t* shift = static_cast<int32_t*>(alloc64(N * 4));
  int8_t* want = static_cast<int8_t*>(alloc64(M * N));
  int8_t* a = static_cast<int8_t*>(alloc64(M * a_stride));
  int8_t* c = static_cast<int8_t*>(alloc64(M * c_stride));
  const int8_t w_min = v.w127 ? -127 : -128, wx = extreme == 2 ? 127 : w_min;
  const bool tiny = extreme == kTiny;
  const int32_t zp_tiny = tiny ? pick_zp(r) : 0;  // drawn first (x depends on it); no draw otherwise
  for (size_t i = 0; i < M * K; ++i) {
    if (tiny) {
      const int32_t xv = zp_tiny + r.range(-2, 2);
      x[i] = (int8_t)(xv < -128 ? -128 : (xv > 127 ? 127 : xv));
    } else {
      x[i] = extreme ? -128 : r.s8();
    }
  }
  for (size_t i = 0; i < N * K; ++i) {
    w[i] = tiny ? (int8_t)r.range(-3, 3) : extreme ? wx : r.s8();
    if (w[i] < w_min) w[i] = w_min;
  }
  const int32_t zp_x = tiny ? zp_tiny : extreme ? 127 : pick_zp(r);
  const bool has_bias = !r.chance(10);
  const int acc_bits = extreme ? log2_ceil(K * 255 * 128) : 13 + log2_ceil(K) / 2;
  for (size_t j = 0; j < N; ++j) {
    bias[j] = r.chance(5) ? r.range(-(1 << 30), 1 << 30) : r.range(-(1 << 14), 1 << 14);
    pick_requant(r, acc_bits, &mult[j], &shift[j]);
    if (tiny) bias[j] = r.range(-8, 8), shift[j] = r.range(-4, -1);
    if (v.rshift && shift[j] > 0) shift[j] = -shift[j];
  }
  OutQuant oq = pick_out(r);
  if (tiny) {
    const int32_t lo = oq.zp + r.range(-1, 1);
    oq.act_min = lo < -128 ? -128 : (lo > 127 ? 127 : lo);
    oq.act_max = r.chance(50) ? 127 : r.range(oq.act_min, 127);
  }
  eb_qs8_gemm_params gp = {M, N, K, zp_x, oq.zp, oq.act_min, oq.act_max};
  eb_qs8_gemm_ref(&gp, x, w, has_bias ? bias : NULL, mult, shift, want);

  const size_t block_bytes = ebt::gemm_block_bytes(v.nr, v.kr, v.w_elem, v.header_arrays, K);
  uint8_t* packed = static_cast<uint8_t*>(alloc64(round_up(N, v.nr) / v.nr * block_bytes));
  ebt::pack_gemm(v.nr, v.kr, v.w_elem, v.header_arrays, v.a_offset, N, K, w, has_bias ? bias : NULL, mult, shift, zp_x,
                 packed, v.flags);
  for (size_t i = 0; i < M; ++i) {
    for (size_t k = 0; k < a_stride; ++k) a[i * a_stride + k] = k < K ? x[i * K + k] : r.s8();  // K padding: anything
  }
  const int8_t sentinel = 0x5a;
  memset(c, sentinel, M * c_stride);
  const eb_qs8_requant_params rq = requant_of(oq);
  // An nc_any kernel gets every column in one call per tile of rows, or (as the others) one block per call.
  const bool whole_rows = v.nc_any && r.chance(50);
  const bool all_rows = whole_rows && v.m_any && r.chance(50);  // an m_any kernel: every row too, in one call
  for (size_t m0 = 0; m0 < M; m0 += v.mr) {
    const size_t mr = all_rows ? M : M - m0 < v.mr ? M - m0 : v.mr;
    if (whole_rows) {
      v.fn(mr, N, kc, a + m0 * a_stride, a_stride, packed, c + m0 * c_stride, c_stride, &rq);
      if (all_rows) break;
      continue;
    }
    for (size_t n0 = 0; n0 < N; n0 += v.nr) {
      const size_t nc = N - n0 < v.nr ? N - n0 : v.nr;
      v.fn(mr, nc, kc, a + m0 * a_stride, a_stride, packed + n0 / v.nr * block_bytes, c + m0 * c_stride + n0, c_stride,
           &rq);
    }
  }
  char why[256];
  snprintf(
      why, sizeof why,
      "M=%zu N=%zu K=%zu a_stride=%zu c_stride=%zu zp_x=%d zp_y=%d clamp=[%d,%d] extreme=%d whole_rows=%d all_rows=%d",
      M, N, K, a_stride, c_stride, zp_x, oq.zp, oq.act_min, oq.act_max, extreme, (int)whole_rows, (int)all_rows);
  ck.shape(same_rows(c, c_stride, want, M, N, sentinel, why, sizeof why), why);
  free(x), free(w), free(bias), free(mult), free(shift), free(want), free(a), free(c), free(packed);
}

void test_gemm(uint64_t seed) {
  for (const GemmVariant* v = kGemm; v->fn != NULL; ++v) {
    if (!should_run("qs8-gemm", v->symbol, v->isa)) continue;
    Check ck{"qs8-gemm", v->symbol, v->isa};
    Rng r{seed ^ 0x9e3779b97f4a7c15ull};
    // m: 1 .. MR + 1 and 2–3 tiles; n: 1 .. NR + 1 and 2–3 tiles; k: around kr, primes, powers of two ± 1.
    size_t ms[16], ns[40], nm = 0, nn = 0;
    for (size_t m = 1; m <= v->mr + 1; ++m) ms[nm++] = m;
    ms[nm++] = 2 * v->mr + 1;
    ms[nm++] = 3 * v->mr - 1;
    for (size_t n = 1; n <= v->nr + 1; ++n) ns[nn++] = n;
    ns[nn++] = 2 * v->nr - 1;
    ns[nn++] = 2 * v->nr + 1;
    ns[nn++] = 3 * v->nr;
    const size_t kr = v->kr > 1 ? v->kr : 8;  // kr 1 (by-lane kernels): around their step of 8 k
    // 49 and 60: a 32-k step plus every shorter tail (16, 8, 4) of the neondot kernel.
    const size_t ks[] = {1, 2, 3, kr - 1, kr, kr + 1, 2 * kr + 1, 3 * kr, 7, 13, 31, 33, 49, 60, 63, 64, 65, 127, 257};
    const size_t nk = sizeof ks / sizeof ks[0];
    for (size_t i = 0; i < nm; ++i)
      for (size_t j = 0; j < nn; ++j)
        for (size_t l = 0; l < nk; ++l) {
          if (g_quick && (i + j + l) % 3 != 0) continue;
          gemm_shape(ck, *v, ms[i], ns[j], ks[l], r.chance(50), 0, r);
        }
    // Overflow edge: all −128 with large k (the lowering allows up to 65 000 taps).
    gemm_shape(ck, *v, v->mr, v->nr + 1, 4099, false, 1, r);
    gemm_shape(ck, *v, 3, 5, 65000, true, 1, r);
    gemm_shape(ck, *v, v->mr + 1, v->nr, 8191, true, 2, r);
    // i8mm keeps the zipped rows of the first block for kc <= 4608 only: rows longer and shorter, several blocks.
    if (strcmp(v->isa, "i8mm") == 0) {
      const size_t long_ks[] = {4600, 4608, 4616, 6000};
      for (size_t k : long_ks) gemm_shape(ck, *v, v->mr + 2, 3 * v->nr - 5, k, true, 0, r);
    }
    // Small accumulators, the clamp at zp_y ± 1 (kTiny): a full tile and a partial one, each k tail.
    const size_t tiny_ks[] = {4, 16, 27, 32, 49, 96};
    for (size_t k : tiny_ks) {
      gemm_shape(ck, *v, 2 * v->mr, 2 * v->nr, k, false, kTiny, r);
      gemm_shape(ck, *v, v->mr + 1, v->nr / 2 + 3, k, true, kTiny, r);
    }
    ck.done();
  }
}

// ============================== qs8-dwconv ==============================
struct DwVariant {
  const char* symbol;
  const char* isa;
  eb_qs8_dwconv_ukernel_fn fn;
  size_t cr, w_elem;
  bool rq64;
  bool flags;  // DwKernel::flags: −right and the EB_DW_BLOCK_* flags in the header
};
const DwVariant kDw[] = {
#ifdef EB_HAVE_ISA_AVX512VNNI
    {"eb_qs8_dwconv_minmax_ukernel_4x16__avx512vnni", "avx512vnni", eb_qs8_dwconv_minmax_ukernel_4x16__avx512vnni, 16,
     4, true, false},
#endif
#ifdef EB_HAVE_ISA_AVX2
    {"eb_qs8_dwconv_minmax_ukernel_4x8__avx2", "avx2", eb_qs8_dwconv_minmax_ukernel_4x8__avx2, 8, 4, false, false},
#endif
#ifdef EB_HAVE_ISA_NEON
    {"eb_qs8_dwconv_minmax_ukernel_2x16__neon", "neon", eb_qs8_dwconv_minmax_ukernel_2x16__neon, 16, 1, false, true},
#endif
    {NULL, NULL, NULL, 0, 0, false, false},
};

struct DwShape {
  size_t channels, in_width, kh, kw, stride, dilation, pad_left, pad_right;
};

// One depthwise row: rows[i] NULL with some probability (window rows in the padding); the ref twin and the packed
// kernel see the same rows, params and zero row.
void dw_shape(Check& ck, const DwVariant& v, const DwShape& s, int extreme, Rng& r) {
  const size_t C = s.channels, taps = s.kh * s.kw, span = (s.kw - 1) * s.dilation + 1;
  if (s.in_width + s.pad_left + s.pad_right < span) return;
  const size_t out_width = (s.in_width + s.pad_left + s.pad_right - span) / s.stride + 1;
  int8_t* x = static_cast<int8_t*>(alloc64(s.kh * s.in_width * C));
  int8_t* w = static_cast<int8_t*>(alloc64(C * taps));
  int32_t* bias = static_cast<int32_t*>(alloc64(C * 4));
  int32_t* mult = static_cast<int32_t*>(alloc64(C * 4));
  int32_t* shift = static_cast<int32_t*>(alloc64(C * 4));
  int8_t* want = static_cast<int8_t*>(alloc64(out_width * C));
  int8_t* got = static_cast<int8_t*>(alloc64(out_width * C + 64));
  int8_t* zero = static_cast<int8_t*>(alloc64(C + 64));
  const int8_t** rows = static_cast<const int8_t**>(alloc64(s.kh * sizeof(void*)));
  for (size_t i = 0; i < s.kh * s.in_width * C; ++i) x[i] = extreme ? -128 : r.s8();
  for (size_t i = 0; i < C * taps; ++i) w[i] = extreme ? -128 : r.s8();
  const int32_t zp_x = extreme ? 127 : pick_zp(r);
  memset(zero, (int8_t)zp_x, C + 64);
  const bool has_bias = !r.chance(10);
  const int acc_bits = extreme ? log2_ceil(taps * 255 * 128) : 13 + log2_ceil(taps) / 2;
  for (size_t c = 0; c < C; ++c) {
    bias[c] = r.chance(5) ? r.range(-(1 << 30), 1 << 30) : r.range(-(1 << 14), 1 << 14);
    pick_requant(r, acc_bits, &mult[c], &shift[c]);
  }
  for (size_t i = 0; i < s.kh; ++i) rows[i] = r.chance(15) && !extreme ? NULL : x + i * s.in_width * C;
  const OutQuant oq = pick_out(r);
  eb_qs8_dwconv_params p;
  p.channels = C;
  p.in_width = s.in_width;
  p.out_width = out_width;
  p.kh = s.kh;
  p.kw = s.kw;
  p.stride = s.stride;
  p.dilation = s.dilation;
  p.pad_left = s.pad_left;
  p.zero = zero;
  p.rq = requant_of(oq);
  eb_qs8_dwconv_ref(&p, rows, w, has_bias ? bias : NULL, mult, shift, zp_x, want);
  const size_t block_bytes = ebt::dw_block_bytes(v.cr, v.w_elem, v.rq64, taps, v.flags);
  uint8_t* packed = static_cast<uint8_t*>(alloc64(round_up(C, v.cr) / v.cr * block_bytes));
  ebt::pack_dw(v.cr, v.w_elem, v.rq64, C, taps, w, has_bias ? bias : NULL, mult, shift, zp_x, packed, v.flags);
  const int8_t sentinel = 0x5a;
  memset(got, sentinel, out_width * C + 64);
  v.fn(&p, rows, packed, got);
  char why[256];
  snprintf(why, sizeof why,
           "C=%zu W=%zu k=%zux%zu stride=%zu dilation=%zu pad=%zu,%zu OW=%zu zp_x=%d zp_y=%d "
           "clamp=[%d,%d] extreme=%d",
           C, s.in_width, s.kh, s.kw, s.stride, s.dilation, s.pad_left, s.pad_right, out_width, zp_x, oq.zp, oq.act_min,
           oq.act_max, extreme);
  // One row of out_width·C bytes, then 64 bytes that must keep the sentinel.
  ck.shape(same_rows(got, out_width * C + 64, want, 1, out_width * C, sentinel, why, sizeof why), why);
  free(x), free(w), free(bias), free(mult), free(shift), free(want), free(got), free(zero), free(rows), free(packed);
}

void dw_shapes(void (*each)(const DwShape&, void*), void* ctx, size_t cr) {
  struct Win {
    size_t kh, kw, stride, dilation;
  };
  // The specialised windows (3×3, 5×5 at stride 1 and 2) and run-time sizes around them.
  const Win wins[] = {{3, 3, 1, 1}, {3, 3, 2, 1}, {5, 5, 1, 1}, {5, 5, 2, 1}, {1, 1, 1, 1}, {2, 2, 1, 1},
                      {3, 3, 1, 2}, {7, 7, 2, 1}, {3, 1, 1, 1}, {1, 5, 3, 1}, {3, 3, 3, 1}, {5, 5, 1, 2}};
  const size_t cs[] = {1, 2, 3, cr - 1, cr, cr + 1, 2 * cr - 1, 2 * cr + 1, 3 * cr + 1, 13, 31, 37, 64};
  const size_t widths[] = {1, 2, 3, 5, 8, 17};
  for (const Win& wn : wins)
    for (size_t ci = 0; ci < sizeof cs / sizeof cs[0]; ++ci)
      for (size_t width : widths)
        for (size_t pad = 0; pad < 4; ++pad) {
          // pad 3: none at the left, half at the right (TF "same" at stride 2: a right edge column, no left one)
          if (pad == 3 && wn.stride != 2) continue;
          const size_t half = (wn.kw - 1) * wn.dilation / 2;
          const size_t pl = pad == 0 || pad == 3 ? 0 : (pad == 1 ? half : (wn.kw - 1) * wn.dilation);
          const size_t pr = pad == 3 ? half : (pad == 2 ? 0 : pl);
          if (g_quick && (ci + width + pad) % 3 != 0) continue;
          each(DwShape{cs[ci], width, wn.kh, wn.kw, wn.stride, wn.dilation, pl, pr}, ctx);
        }
}

struct DwCtx {
  Check* ck;
  const DwVariant* v;
  Rng* r;
};

void test_dwconv(uint64_t seed) {
  for (const DwVariant* v = kDw; v->fn != NULL; ++v) {
    if (!should_run("qs8-dwconv", v->symbol, v->isa)) continue;
    Check ck{"qs8-dwconv", v->symbol, v->isa};
    Rng r{seed ^ 0x2545f4914f6cdd1dull};
    DwCtx ctx{&ck, v, &r};
    dw_shapes(
        [](const DwShape& s, void* arg) {
          DwCtx& c = *static_cast<DwCtx*>(arg);
          dw_shape(*c.ck, *c.v, s, 0, *c.r);
        },
        &ctx, v->cr);
    dw_shape(ck, *v, DwShape{2 * v->cr + 3, 9, 5, 5, 1, 1, 2, 2}, 1, r);
    dw_shape(ck, *v, DwShape{v->cr + 1, 4, 15, 15, 1, 1, 7, 7}, 1, r);
    ck.done();
  }
}

// The row twin against the whole-op reference: eb_qs8_dwconv_ref called row by row (rows NULL in the padding, as
// the executor builds them) equals eb_qs8_conv_ref on a depthwise CONV2D. Ties the new twin to the op's spec.
void test_dwconv_ref_vs_conv(uint64_t seed) {
  Check ck{"qs8-dwconv", "eb_qs8_dwconv_ref==eb_qs8_conv_ref", "ref"};
  Rng r{seed ^ 0x51ed2701ull};
  struct Ctx {
    Check* ck;
    Rng* r;
  } ctx{&ck, &r};
  dw_shapes(
      [](const DwShape& s, void* arg) {
        Ctx& c = *static_cast<Ctx*>(arg);
        Rng& r = *c.r;
        const size_t C = s.channels, H = (size_t)r.range(1, 6), W = s.in_width, taps = s.kh * s.kw;
        const size_t span_w = (s.kw - 1) * s.dilation + 1, span_h = (s.kh - 1) * s.dilation + 1;
        const size_t pad_top = s.pad_left, pad_bottom = s.pad_right;
        if (W + s.pad_left + s.pad_right < span_w || H + pad_top + pad_bottom < span_h) return;
        const size_t OW = (W + s.pad_left + s.pad_right - span_w) / s.stride + 1;
        const size_t OH = (H + pad_top + pad_bottom - span_h) / s.stride + 1;
        int8_t* x = static_cast<int8_t*>(alloc64(H * W * C));
        int8_t* w = static_cast<int8_t*>(alloc64(C * taps));
        int32_t* bias = static_cast<int32_t*>(alloc64(C * 4));
        int32_t* mult = static_cast<int32_t*>(alloc64(C * 4));
        int32_t* shift = static_cast<int32_t*>(alloc64(C * 4));
        int8_t* want = static_cast<int8_t*>(alloc64(OH * OW * C));
        int8_t* got = static_cast<int8_t*>(alloc64(OH * OW * C));
        int8_t* zero = static_cast<int8_t*>(alloc64(C + 64));
        const int8_t** rows = static_cast<const int8_t**>(alloc64(s.kh * sizeof(void*)));
        for (size_t i = 0; i < H * W * C; ++i) x[i] = r.s8();
        for (size_t i = 0; i < C * taps; ++i) w[i] = r.s8();
        const int32_t zp_x = pick_zp(r);
        memset(zero, (int8_t)zp_x, C + 64);
        for (size_t i = 0; i < C; ++i) {
          bias[i] = r.range(-(1 << 14), 1 << 14);
          pick_requant(r, 13 + log2_ceil(taps) / 2, &mult[i], &shift[i]);
        }
        const OutQuant oq = pick_out(r);
        eb_qs8_conv_params cp = {1,
                                 (int32_t)H,
                                 (int32_t)W,
                                 (int32_t)C,
                                 (int32_t)OH,
                                 (int32_t)OW,
                                 (int32_t)C,
                                 (int32_t)s.kh,
                                 (int32_t)s.kw,
                                 (int32_t)C,
                                 (int32_t)s.stride,
                                 (int32_t)s.stride,
                                 (int32_t)pad_top,
                                 (int32_t)s.pad_left,
                                 (int32_t)s.dilation,
                                 (int32_t)s.dilation,
                                 zp_x,
                                 oq.zp,
                                 oq.act_min,
                                 oq.act_max};
        eb_qs8_conv_ref(&cp, x, w, bias, mult, shift, want);
        eb_qs8_dwconv_params p = {C, W, OW, s.kh, s.kw, s.stride, s.dilation, s.pad_left, zero, requant_of(oq)};
        for (size_t oh = 0; oh < OH; ++oh) {
          for (size_t i = 0; i < s.kh; ++i) {
            const int64_t ih = (int64_t)(oh * s.stride + i * s.dilation) - (int64_t)pad_top;
            rows[i] = ih < 0 || ih >= (int64_t)H ? NULL : x + (size_t)ih * W * C;
          }
          eb_qs8_dwconv_ref(&p, rows, w, bias, mult, shift, zp_x, got + oh * OW * C);
        }
        char why[256];
        snprintf(why, sizeof why, "C=%zu H=%zu W=%zu k=%zux%zu stride=%zu dilation=%zu pad=%zu,%zu", C, H, W, s.kh,
                 s.kw, s.stride, s.dilation, s.pad_left, s.pad_right);
        c.ck->shape(same_rows(got, OH * OW * C, want, 1, OH * OW * C, 0, why, sizeof why), why);
        free(x), free(w), free(bias), free(mult), free(shift), free(want), free(got), free(zero), free(rows);
      },
      &ctx, 8);
  ck.done();
}

// ============================== qs8-spmm ==============================
struct SpmmVariant {
  const char* symbol;
  const char* isa;
  eb_qs8_spmm_ukernel_fn fn;
  size_t mr, nr, kr, w_elem, kg;
  int32_t a_offset;
  bool grouped;  // the ARM kernels' grouped strip index (ukernels_isa.h)
};
const SpmmVariant kSpmm[] = {
#ifdef EB_HAVE_ISA_AVX512VNNI
    {"eb_qs8_spmm_minmax_ukernel_8x16c4__avx512vnni", "avx512vnni", eb_qs8_spmm_minmax_ukernel_8x16c4__avx512vnni, 8,
     16, 4, 1, 4, 128, false},
#endif
#ifdef EB_HAVE_ISA_AVX2
    {"eb_qs8_spmm_minmax_ukernel_4x8c4__avx2", "avx2", eb_qs8_spmm_minmax_ukernel_4x8c4__avx2, 4, 8, 4, 2, 2, 0, false},
#endif
#ifdef EB_HAVE_ISA_NEON
    {"eb_qs8_spmm_minmax_ukernel_4x16c4__neon", "neon", eb_qs8_spmm_minmax_ukernel_4x16c4__neon, 4, 16, 4, 1, 2, 0,
     true},
#endif
#ifdef EB_HAVE_ISA_NEONDOT
    {"eb_qs8_spmm_minmax_ukernel_6x16c4__neondot", "neondot", eb_qs8_spmm_minmax_ukernel_6x16c4__neondot, 6, 16, 4, 1,
     4, 0, true},
#endif
    {NULL, NULL, NULL, 0, 0, 0, 0, 0, 0, false},
};

enum Sparsity { kAllZero, kOneNonZero, kEmptyRows, kDense, kRandom, kBlocks, kSparsityCount };
const char* const kSparsityNames[] = {"all-zero", "one-non-zero", "empty-rows", "dense", "random", "blocks"};

// One sparse tile sweep: M rows (tiled by mr) of `taps` tap pointers to C bytes each (some at the zero row), N
// columns (one strip per nr). Reference: eb_qs8_spmm_ref as a SPARSE_FULLY_CONNECTED over the gathered rows
// (K = taps·C input channels, 1×1 blocks).
// w_min: the smallest weight (−128, or −127 for the NEON kernel's two-products-per-int16 path, which the packer
// selects for strips without −128); `extreme` makes every weight w_min and every input −128.
void spmm_shape(Check& ck, const SpmmVariant& v, size_t M, size_t N, size_t C, size_t taps, Sparsity sp, bool extreme,
                Rng& r, int8_t w_min = -128) {
  const size_t K = taps * C, c_stride = N + (size_t)r.range(0, 5);
  int8_t* x = static_cast<int8_t*>(alloc64(M * taps * C));
  int8_t* gathered = static_cast<int8_t*>(alloc64(M * K));
  int8_t* w = static_cast<int8_t*>(alloc64(N * K));
  int32_t* bias = static_cast<int32_t*>(alloc64(N * 4));
  int32_t* mult = static_cast<int32_t*>(alloc64(N * 4));
  int32_t* shift = static_cast<int32_t*>(alloc64(N * 4));
  int8_t* want = static_cast<int8_t*>(alloc64(M * N));
  int8_t* got = static_cast<int8_t*>(alloc64(M * c_stride));
  int8_t* zero = static_cast<int8_t*>(alloc64(C + 64));
  const int8_t** ptrs = static_cast<const int8_t**>(alloc64(M * taps * sizeof(void*)));
  const int32_t zp_x = extreme ? 127 : pick_zp(r);
  memset(zero, (int8_t)zp_x, C + 64);
  for (size_t i = 0; i < M * taps * C; ++i) x[i] = extreme ? -128 : r.s8();
  for (size_t i = 0; i < M * taps; ++i) ptrs[i] = r.chance(15) && !extreme ? zero : x + i * C;
  for (size_t i = 0; i < M; ++i)
    for (size_t t = 0; t < taps; ++t) memcpy(gathered + i * K + t * C, ptrs[i * taps + t], C);
  const size_t one = (size_t)r.range(0, (int32_t)(N * K - 1));
  for (size_t n = 0; n < N; ++n) {
    const bool empty_row = sp == kEmptyRows && n % 3 != 1;
    for (size_t k = 0; k < K; ++k) {
      int8_t v8 = extreme ? w_min : r.s8();
      if (v8 < w_min) v8 = w_min;
      bool keep;
      switch (sp) {
        case kAllZero: keep = false; break;
        case kOneNonZero: keep = n * K + k == one; break;
        case kEmptyRows: keep = !empty_row && r.chance(50); break;
        case kDense: keep = true; break;
        case kRandom: keep = r.chance(20); break;
        default: keep = (k / v.kr + n) % 3 == 0; break;  // kBlocks: whole kr slices
      }
      if (keep && v8 == 0) v8 = 1;
      w[n * K + k] = keep ? v8 : 0;
    }
  }
  const int acc_bits = extreme ? log2_ceil(K * 255 * 128) : 13 + log2_ceil(K) / 2;
  for (size_t j = 0; j < N; ++j) {
    bias[j] = r.range(-(1 << 14), 1 << 14);
    pick_requant(r, acc_bits, &mult[j], &shift[j]);
  }
  const OutQuant oq = pick_out(r);
  // Block-CSR with 1×1 blocks: every non-zero weight is a block.
  int32_t* row_ptr = static_cast<int32_t*>(alloc64((N + 1) * 4));
  int32_t* col = static_cast<int32_t*>(alloc64(N * K * 4 + 4));
  int8_t* values = static_cast<int8_t*>(alloc64(N * K + 1));
  size_t nnz = 0;
  for (size_t n = 0; n < N; ++n) {
    row_ptr[n] = (int32_t)nnz;
    for (size_t k = 0; k < K; ++k) {
      if (w[n * K + k] == 0) continue;
      col[nnz] = (int32_t)k;
      values[nnz++] = w[n * K + k];
    }
  }
  row_ptr[N] = (int32_t)nnz;
  eb_qs8_spmm_params sp_params;
  sp_params.conv = {(int32_t)M, 1, 1, (int32_t)K, 1, 1, (int32_t)N, 1,     1,          1,
                    1,          1, 0, 0,          1, 1, zp_x,       oq.zp, oq.act_min, oq.act_max};
  sp_params.block_rows = 1;
  sp_params.block_cols = 1;
  eb_qs8_spmm_ref(&sp_params, gathered, values, row_ptr, col, bias, mult, shift, want);

  const int8_t sentinel = 0x5a;
  memset(got, sentinel, M * c_stride);
  const eb_qs8_requant_params rq = requant_of(oq);
  for (size_t n0 = 0; n0 < N; n0 += v.nr) {
    const size_t nc = N - n0 < v.nr ? N - n0 : v.nr;
    size_t count = 0, groups = 0;
    const size_t bytes = ebt::spmm_strip_bytes(v.nr, v.kr, v.w_elem, v.grouped, w + n0 * K, nc, K, C, &count, &groups);
    uint8_t* strip = static_cast<uint8_t*>(alloc64(bytes));
    ebt::pack_spmm_strip(v.nr, v.kr, v.w_elem, v.kg, v.a_offset, v.grouped, nc, K, C, w + n0 * K, bias + n0, mult + n0,
                         shift + n0, zp_x, strip);
    for (size_t m0 = 0; m0 < M; m0 += v.mr) {
      const size_t mr = M - m0 < v.mr ? M - m0 : v.mr;
      v.fn(mr, nc, ptrs + m0 * taps, taps, strip, got + m0 * c_stride + n0, c_stride, &rq);
    }
    free(strip);
  }
  char why[256];
  snprintf(why, sizeof why, "M=%zu N=%zu C=%zu taps=%zu %s nnz=%zu zp_x=%d zp_y=%d clamp=[%d,%d] extreme=%d w_min=%d",
           M, N, C, taps, kSparsityNames[sp], nnz, zp_x, oq.zp, oq.act_min, oq.act_max, (int)extreme, (int)w_min);
  ck.shape(same_rows(got, c_stride, want, M, N, sentinel, why, sizeof why), why);
  free(x), free(gathered), free(w), free(bias), free(mult), free(shift), free(want), free(got), free(zero);
  free(ptrs), free(row_ptr), free(col), free(values);
}

void test_spmm(uint64_t seed) {
  for (const SpmmVariant* v = kSpmm; v->fn != NULL; ++v) {
    if (!should_run("qs8-spmm", v->symbol, v->isa)) continue;
    Check ck{"qs8-spmm", v->symbol, v->isa};
    Rng r{seed ^ 0x7f4a7c159e3779b9ull};
    const size_t ms[] = {1, 2, v->mr - 1, v->mr, v->mr + 1, 2 * v->mr + 1, 3 * v->mr - 1};
    const size_t ns[] = {1, 2, 3, v->nr - 1, v->nr, v->nr + 1, 2 * v->nr + 1, 3 * v->nr - 1};
    const size_t cs[] = {v->kr, 2 * v->kr, 3 * v->kr, 16, 36, 64};
    const size_t taps_list[] = {1, 2, 9};
    for (size_t m : ms)
      for (size_t n : ns)
        for (size_t c : cs)
          for (size_t taps : taps_list)
            for (int sp = 0; sp < kSparsityCount; ++sp) {
              if ((m + n + c + taps + (size_t)sp) % (g_quick ? 6 : 2) != 0) continue;
              spmm_shape(ck, *v, m, n, c, taps, (Sparsity)sp, false, r, (m + c) % 4 < 2 ? -128 : -127);
            }
    spmm_shape(ck, *v, v->mr, v->nr + 1, 1024, 9, kDense, true, r);
    spmm_shape(ck, *v, v->mr, v->nr + 1, 1024, 9, kDense, true, r, -127);
    ck.done();
  }
}

// ============================== qs8-vadd ==============================
struct VaddVariant {
  const char* symbol;
  const char* isa;
  void (*fn)(const eb_qs8_vadd_params*, size_t, const int8_t*, const int8_t*, int8_t*);
};
const VaddVariant kVadd[] = {
#ifdef EB_HAVE_ISA_AVX512VNNI
    {"eb_qs8_vadd_minmax_ukernel__avx512vnni", "avx512vnni", eb_qs8_vadd_minmax_ukernel__avx512vnni},
#endif
#ifdef EB_HAVE_ISA_AVX2
    {"eb_qs8_vadd_minmax_ukernel__avx2", "avx2", eb_qs8_vadd_minmax_ukernel__avx2},
#endif
#ifdef EB_HAVE_ISA_NEON
    {"eb_qs8_vadd_minmax_ukernel__neon", "neon", eb_qs8_vadd_minmax_ukernel__neon},
#endif
    {NULL, NULL, NULL},
};

// Loader-valid ADD parameters: the lowering's domain (8 <= left_shift <= 22, exponents <= 0; the avx512vnni fast
// loop) most of the time, else anything the loader accepts (left_shift 0..24, any valid multiplier).
eb_qs8_vadd_params pick_vadd(Rng& r) {
  eb_qs8_vadd_params p;
  p.table = NULL;
  const bool lowering = r.chance(60);
  p.a_zero_point = pick_zp(r);
  p.b_zero_point = pick_zp(r);
  p.left_shift = lowering ? r.range(8, 22) : r.range(0, 24);
  const OutQuant oq = pick_out(r);
  p.output_zero_point = oq.zp;
  p.output_min = oq.act_min;
  p.output_max = oq.act_max;
  int32_t* ms[] = {&p.a_multiplier, &p.b_multiplier, &p.output_multiplier};
  int32_t* es[] = {&p.a_shift, &p.b_shift, &p.output_shift};
  for (int i = 0; i < 3; ++i) {
    *ms[i] = (int32_t)((1u << 30) + (uint32_t)(r.next() >> 34));
    if (!lowering) {
      *es[i] = r.range(-31, 30);
    } else if (i < 2) {
      *es[i] = r.range(-4, 0);
    } else {  // the output undoes the left shift: e_y around −left_shift, never above 0
      const int32_t hi = -p.left_shift + 1 > 0 ? 0 : -p.left_shift + 1;
      *es[i] = r.range(-(p.left_shift + 2), hi);
    }
  }
  // The lowering's own form: the input with the larger scale has M = 0.5 exactly (m = 2^30, e = 0), the other
  // e <= −1, or both M = 0.5 (equal scales). The NEON and avx512vnni fast loops specialise it.
  if (lowering && r.chance(60)) {
    const int which = r.range(0, 2);  // 0: a, 1: b, 2: both
    if (which != 1) p.a_multiplier = 1 << 30, p.a_shift = 0;
    if (which != 0) p.b_multiplier = 1 << 30, p.b_shift = 0;
  }
  return p;
}

void test_vadd(uint64_t seed) {
  const size_t counts[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 1000, 4097};
  for (const VaddVariant* v = kVadd; v->fn != NULL; ++v) {
    if (!should_run("qs8-vadd", v->symbol, v->isa)) continue;
    Check ck{"qs8-vadd", v->symbol, v->isa};
    Rng r{seed ^ 0x1234567ull};
    for (size_t count : counts) {
      for (int rep = 0; rep < (g_quick ? 4 : 16); ++rep) {
        const eb_qs8_vadd_params p = pick_vadd(r);
        int8_t* a = static_cast<int8_t*>(alloc64(count + 64));
        int8_t* b = static_cast<int8_t*>(alloc64(count + 64));
        int8_t* want = static_cast<int8_t*>(alloc64(count));
        int8_t* got = static_cast<int8_t*>(alloc64(count + 64));
        const int mode = rep % 4;  // 0 random, 1 all −128, 2 all 127, 3 output aliases a
        for (size_t i = 0; i < count; ++i) {
          a[i] = mode == 1 ? -128 : (mode == 2 ? 127 : r.s8());
          b[i] = mode == 1 ? -128 : (mode == 2 ? 127 : r.s8());
        }
        eb_qs8_vadd_ref(&p, count, a, b, want);
        const int8_t sentinel = 0x5a;
        memset(got, sentinel, count + 64);
        int8_t* out = got;
        if (mode == 3) {
          v->fn(&p, count, a, b, a);  // in place: output may alias an input exactly
          memcpy(got, a, count);
        } else {
          v->fn(&p, count, a, b, out);
        }
        char why[256];
        snprintf(why, sizeof why, "count=%zu zp=(%d,%d,%d) ls=%d m/e=(%d,%d)(%d,%d)(%d,%d) clamp=[%d,%d] mode=%d",
                 count, p.a_zero_point, p.b_zero_point, p.output_zero_point, p.left_shift, p.a_multiplier, p.a_shift,
                 p.b_multiplier, p.b_shift, p.output_multiplier, p.output_shift, p.output_min, p.output_max, mode);
        ck.shape(same_rows(got, mode == 3 ? count : count + 64, want, 1, count, sentinel, why, sizeof why), why);
        free(a), free(b), free(want), free(got);
      }
    }
    // Ties: the lowering's form with small right shifts (e_b = −1, e_y near −left_shift = −8), where RDBPOT's
    // round-half-away-from-zero differs from a plain rounding shift on ~1 element in 2^r (the fast loops'
    // q − [q < 0] fix-ups; at left_shift 20 a wrong tie shows on ~1 element in 2^19).
    const size_t n = 4099;
    int8_t* a = static_cast<int8_t*>(alloc64(n + 64));
    int8_t* b = static_cast<int8_t*>(alloc64(n + 64));
    int8_t* want = static_cast<int8_t*>(alloc64(n));
    int8_t* got = static_cast<int8_t*>(alloc64(n + 64));
    for (int rep = 0; rep < 4; ++rep) {
      eb_qs8_vadd_params p = pick_vadd(r);
      p.left_shift = 8;
      p.a_multiplier = 1 << 30, p.a_shift = 0;
      p.b_multiplier = (int32_t)((1u << 30) + (uint32_t)(r.next() >> 34)), p.b_shift = -1 - rep % 2;
      p.output_shift = -7 - rep / 2;
      for (size_t i = 0; i < n; ++i) a[i] = r.s8(), b[i] = r.s8();
      eb_qs8_vadd_ref(&p, n, a, b, want);
      memset(got, 0x5a, n + 64);
      v->fn(&p, n, a, b, got);
      char why[160];
      snprintf(why, sizeof why, "ties: count=%zu m/e=(%d,%d)(%d,%d) zp=(%d,%d,%d)", n, p.b_multiplier, p.b_shift,
               p.output_multiplier, p.output_shift, p.a_zero_point, p.b_zero_point, p.output_zero_point);
      ck.shape(same_rows(got, n + 64, want, 1, n, 0x5a, why, sizeof why), why);
    }
    free(a), free(b), free(want), free(got);
#ifdef EB_HAVE_ISA_NEON
    // The neon kernel's lookup loop (arm64; the table the ADD op plans at load): every input pair (a 256 × 256
    // grid, 65536 outputs) for parameters the table builder accepts, which checks the same pairs in scalar; here
    // the SIMD loop itself, at counts that end in a tail, against the reference.
    if (v->fn == eb_qs8_vadd_minmax_ukernel__neon) {
      const size_t grid = 65536 + 37;
      int8_t* ga = static_cast<int8_t*>(alloc64(grid));
      int8_t* gb = static_cast<int8_t*>(alloc64(grid));
      int8_t* gwant = static_cast<int8_t*>(alloc64(grid));
      int8_t* ggot = static_cast<int8_t*>(alloc64(grid + 64));
      uint8_t* table = static_cast<uint8_t*>(alloc64(EB_QS8_VADD_TABLE_BYTES));
      for (size_t i = 0; i < grid; ++i) ga[i] = (int8_t)(i & 255), gb[i] = (int8_t)((i >> 8) & 255);
      int built = 0;
      // Two of ResNet-18's ADDs (the lowering's parameters): the first fits the int8 sum (narrow mode), the second's
      // output scale needs the unsigned sum with G+ / G− (wide mode); arm64 must build both.
      const eb_qs8_vadd_params fixed[2] = {
          {-17, -128, -128, 20, 1259272523, -1, 1 << 30, 0, 1893783792, -19, -128, 127, NULL},
          {-6, -128, -128, 20, 1804623253, -2, 1 << 30, 0, 1101045907, -18, -128, 127, NULL}};
      for (int rep = 0; rep < (g_quick ? 6 : 12) + 2; ++rep) {
        eb_qs8_vadd_params p = rep < 2 ? fixed[rep] : pick_vadd(r);
        if (!eb_qs8_vadd_table_neon(&p, table)) {
#if defined(__aarch64__)
          if (rep < 2) ck.shape(false, "table: the builder declined a ResNet-18 ADD");
#endif
          continue;
        }
        ++built;
        p.table = table;
        const size_t n = rep % 2 ? grid : 65536;
        eb_qs8_vadd_ref(&p, n, ga, gb, gwant);
        memset(ggot, 0x5a, grid + 64);
        v->fn(&p, n, ga, gb, ggot);
        char why[200];
        snprintf(why, sizeof why, "table: count=%zu zp=(%d,%d,%d) ls=%d m/e=(%d,%d)(%d,%d)(%d,%d) clamp=[%d,%d]", n,
                 p.a_zero_point, p.b_zero_point, p.output_zero_point, p.left_shift, p.a_multiplier, p.a_shift,
                 p.b_multiplier, p.b_shift, p.output_multiplier, p.output_shift, p.output_min, p.output_max);
        ck.shape(same_rows(ggot, grid + 64, gwant, 1, n, 0x5a, why, sizeof why), why);
      }
#if defined(__aarch64__)
      if (built == 0) ck.shape(false, "table: the builder accepted none of the parameters");
#endif
      free(ga), free(gb), free(gwant), free(ggot), free(table);
    }
#endif
    ck.done();
  }
}

// ============================== qs8-maxpool / qs8-avgpool ==============================
struct MaxpoolVariant {
  const char* symbol;
  const char* isa;
  void (*fn)(const eb_qs8_maxpool_params*, const int8_t*, int8_t*);
};
const MaxpoolVariant kMaxpool[] = {
#ifdef EB_HAVE_ISA_AVX512VNNI
    {"eb_qs8_maxpool_minmax_ukernel__avx512vnni", "avx512vnni", eb_qs8_maxpool_minmax_ukernel__avx512vnni},
#endif
#ifdef EB_HAVE_ISA_AVX2
    {"eb_qs8_maxpool_minmax_ukernel__avx2", "avx2", eb_qs8_maxpool_minmax_ukernel__avx2},
#endif
#ifdef EB_HAVE_ISA_NEON
    {"eb_qs8_maxpool_minmax_ukernel__neon", "neon", eb_qs8_maxpool_minmax_ukernel__neon},
#endif
    {NULL, NULL, NULL},
};
struct AvgpoolVariant {
  const char* symbol;
  const char* isa;
  void (*fn)(const eb_qs8_avgpool_params*, const int8_t*, int8_t*);
};
const AvgpoolVariant kAvgpool[] = {
#ifdef EB_HAVE_ISA_AVX512VNNI
    {"eb_qs8_avgpool_minmax_ukernel__avx512vnni", "avx512vnni", eb_qs8_avgpool_minmax_ukernel__avx512vnni},
#endif
#ifdef EB_HAVE_ISA_AVX2
    {"eb_qs8_avgpool_minmax_ukernel__avx2", "avx2", eb_qs8_avgpool_minmax_ukernel__avx2},
#endif
#ifdef EB_HAVE_ISA_NEON
    {"eb_qs8_avgpool_minmax_ukernel__neon", "neon", eb_qs8_avgpool_minmax_ukernel__neon},
#endif
    {NULL, NULL, NULL},
};

// Output size of one pooling axis, PyTorch's rule (floor or ceil mode; in ceil mode the last window must start
// inside the input or the left padding).
int64_t pool_out(int64_t size, int64_t k, int64_t s, int64_t pad, int64_t d, bool ceil_mode) {
  const int64_t span = d * (k - 1) + 1, room = size + 2 * pad - span;
  if (room < 0) return 0;
  int64_t o = (ceil_mode ? (room + s - 1) / s : room / s) + 1;
  if (ceil_mode && (o - 1) * s >= size + pad) --o;
  return o;
}

bool every_window_has_tap(int64_t out, int64_t s, int64_t pad, int64_t k, int64_t d, int64_t size) {
  for (int64_t o = 0; o < out; ++o) {
    int64_t first, last;
    eb_pool_valid_taps(o * s - pad, k, d, size, &first, &last);
    if (first > last) return false;
  }
  return true;
}

struct PoolShape {
  int32_t n, h, w, c, k, s, pad, d;
  bool ceil_mode;
};

void pool_shapes(void (*each)(const PoolShape&, void*), void* ctx, bool dilation) {
  const int32_t cs[] = {1, 3, 15, 16, 17, 31, 32, 33, 63, 64, 65, 129};
  const int32_t hws[] = {1, 2, 5, 8, 9};
  const int32_t ks[] = {1, 2, 3, 5};
  size_t i = 0;
  for (int32_t c : cs)
    for (int32_t hw : hws)
      for (int32_t k : ks)
        for (int32_t s = 1; s <= 3; ++s)
          for (int32_t pad = 0; pad <= k / 2; ++pad)
            for (int32_t d = 1; d <= (dilation ? 2 : 1); ++d)
              for (int ceil_mode = 0; ceil_mode < 2; ++ceil_mode) {
                if (++i % (g_quick ? 11 : 3) != 0) continue;
                each(PoolShape{1 + (int32_t)(i % 2), hw, hw + (int32_t)(i % 3), c, k, s, pad, d, ceil_mode != 0}, ctx);
              }
  // Windows of more than 256 valid taps (the int16 sums fall back to the reference loop).
  each(PoolShape{1, 17, 17, 33, 17, 1, 0, 1, false}, ctx);
  each(PoolShape{1, 20, 19, 70, 17, 2, 8, 1, true}, ctx);
}

template <typename Variant>
struct PoolCtx {
  Check* ck;
  const Variant* v;
  Rng* r;
};

void test_maxpool(uint64_t seed) {
  for (const MaxpoolVariant* v = kMaxpool; v->fn != NULL; ++v) {
    if (!should_run("qs8-maxpool", v->symbol, v->isa)) continue;
    Check ck{"qs8-maxpool", v->symbol, v->isa};
    Rng r{seed ^ 0xabcdefull};
    PoolCtx<MaxpoolVariant> ctx{&ck, v, &r};
    pool_shapes(
        [](const PoolShape& s, void* arg) {
          auto& c = *static_cast<PoolCtx<MaxpoolVariant>*>(arg);
          Rng& r = *c.r;
          const int64_t oh = pool_out(s.h, s.k, s.s, s.pad, s.d, s.ceil_mode);
          const int64_t ow = pool_out(s.w, s.k, s.s, s.pad, s.d, s.ceil_mode);
          if (oh < 1 || ow < 1 || !every_window_has_tap(oh, s.s, s.pad, s.k, s.d, s.h) ||
              !every_window_has_tap(ow, s.s, s.pad, s.k, s.d, s.w))
            return;
          const OutQuant oq = pick_out(r);
          const eb_qs8_maxpool_params p = {s.n, s.h, s.w,   s.c,   (int32_t)oh, (int32_t)ow, s.k,        s.k,
                                           s.s, s.s, s.pad, s.pad, s.d,         s.d,         oq.act_min, oq.act_max};
          const size_t in = (size_t)s.n * s.h * s.w * s.c, out = (size_t)s.n * oh * ow * s.c;
          int8_t* x = static_cast<int8_t*>(alloc64(in + 64));
          int8_t* want = static_cast<int8_t*>(alloc64(out));
          int8_t* got = static_cast<int8_t*>(alloc64(out + 64));
          const bool low = r.chance(10);
          for (size_t i = 0; i < in; ++i) x[i] = low ? -128 : r.s8();
          eb_qs8_maxpool_ref(&p, x, want);
          memset(got, 0x5a, out + 64);
          c.v->fn(&p, x, got);
          char why[200];
          snprintf(why, sizeof why, "N=%d H=%d W=%d C=%d k=%d s=%d pad=%d d=%d ceil=%d clamp=[%d,%d]", s.n, s.h, s.w,
                   s.c, s.k, s.s, s.pad, s.d, (int)s.ceil_mode, oq.act_min, oq.act_max);
          c.ck->shape(same_rows(got, out + 64, want, 1, out, 0x5a, why, sizeof why), why);
          free(x), free(want), free(got);
        },
        &ctx, true);
    ck.done();
  }
}

void test_avgpool(uint64_t seed) {
  for (const AvgpoolVariant* v = kAvgpool; v->fn != NULL; ++v) {
    if (!should_run("qs8-avgpool", v->symbol, v->isa)) continue;
    Check ck{"qs8-avgpool", v->symbol, v->isa};
    Rng r{seed ^ 0xfedcbaull};
    PoolCtx<AvgpoolVariant> ctx{&ck, v, &r};
    pool_shapes(
        [](const PoolShape& s, void* arg) {
          auto& c = *static_cast<PoolCtx<AvgpoolVariant>*>(arg);
          Rng& r = *c.r;
          const int64_t oh = pool_out(s.h, s.k, s.s, s.pad, 1, s.ceil_mode);
          const int64_t ow = pool_out(s.w, s.k, s.s, s.pad, 1, s.ceil_mode);
          if (oh < 1 || ow < 1 || !every_window_has_tap(oh, s.s, s.pad, s.k, 1, s.h) ||
              !every_window_has_tap(ow, s.s, s.pad, s.k, 1, s.w))
            return;
          const OutQuant oq = pick_out(r);
          const int32_t include_pad = r.chance(50) ? 1 : 0;
          const eb_qs8_avgpool_params p = {s.n, s.h, s.w,   s.c,   (int32_t)oh, (int32_t)ow, s.k,        s.k,
                                           s.s, s.s, s.pad, s.pad, include_pad, oq.zp,       oq.act_min, oq.act_max};
          const size_t in = (size_t)s.n * s.h * s.w * s.c, out = (size_t)s.n * oh * ow * s.c;
          int8_t* x = static_cast<int8_t*>(alloc64(in + 64));
          int8_t* want = static_cast<int8_t*>(alloc64(out));
          int8_t* got = static_cast<int8_t*>(alloc64(out + 64));
          const int mode = r.range(0, 9);  // 0: all −128, 1: all 127, else random
          for (size_t i = 0; i < in; ++i) x[i] = mode == 0 ? -128 : (mode == 1 ? 127 : r.s8());
          eb_qs8_avgpool_ref(&p, x, want);
          memset(got, 0x5a, out + 64);
          c.v->fn(&p, x, got);
          char why[200];
          snprintf(why, sizeof why, "N=%d H=%d W=%d C=%d k=%d s=%d pad=%d ceil=%d include_pad=%d zp=%d clamp=[%d,%d]",
                   s.n, s.h, s.w, s.c, s.k, s.s, s.pad, (int)s.ceil_mode, include_pad, oq.zp, oq.act_min, oq.act_max);
          c.ck->shape(same_rows(got, out + 64, want, 1, out, 0x5a, why, sizeof why), why);
          free(x), free(want), free(got);
        },
        &ctx, false);
    ck.done();
  }
}

// ============================== qs8-quantize ==============================
struct QuantizeVariant {
  const char* symbol;
  const char* isa;
  void (*fn)(size_t, const float*, int8_t*, float, int32_t);
  void (*to_nhwc)(size_t, size_t, size_t, size_t, const float*, int8_t*, float, int32_t);
};
const QuantizeVariant kQuantize[] = {
#ifdef EB_HAVE_ISA_AVX512VNNI
    {"eb_qs8_quantize_ukernel__avx512vnni", "avx512vnni", eb_qs8_quantize_ukernel__avx512vnni,
     eb_qs8_quantize_ukernel__avx512vnni_to_nhwc},
#endif
#ifdef EB_HAVE_ISA_AVX2
    {"eb_qs8_quantize_ukernel__avx2", "avx2", eb_qs8_quantize_ukernel__avx2, eb_qs8_quantize_ukernel__avx2_to_nhwc},
#endif
#if defined(EB_HAVE_ISA_NEON) && defined(__aarch64__)  // armv7 keeps the reference (qs8_quantize__neon.cc)
    {"eb_qs8_quantize_ukernel__neon", "neon", eb_qs8_quantize_ukernel__neon, eb_qs8_quantize_ukernel__neon_to_nhwc},
#endif
    {NULL, NULL, NULL, NULL},
};

// Floats that break quantizers: ties at .5 (round to nearest even), NaN, ±inf, ±0, denormals, values just past the
// int8 range, huge values; the rest random around the scale.
float pick_float(Rng& r, float scale) {
  static const float specials[] = {0.5f,    1.5f,   2.5f,    -0.5f,  -1.5f,   -2.5f, 0.0f,   -0.0f,      1e-40f,
                                   -1e-40f, 127.5f, -128.5f, 128.0f, -129.0f, 3e38f, -3e38f, 8388608.5f, 16777217.0f};
  const int kind = r.range(0, 99);
  if (kind < 3) return NAN;
  if (kind < 5) return kind == 3 ? INFINITY : -INFINITY;
  if (kind < 20) return r.pick(specials, sizeof specials / sizeof specials[0]) * (r.chance(50) ? scale : 1.0f);
  return (float)((int64_t)(r.next() >> 40) - (1 << 23)) / (float)(1 << 23) * 200.0f * scale;
}

void test_quantize(uint64_t seed) {
  const size_t counts[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 255, 1023};
  for (const QuantizeVariant* v = kQuantize; v->fn != NULL; ++v) {
    if (!should_run("qs8-quantize", v->symbol, v->isa)) continue;
    Check ck{"qs8-quantize", v->symbol, v->isa};
    Rng r{seed ^ 0x5555ull};
    for (size_t count : counts) {
      for (int rep = 0; rep < (g_quick ? 3 : 10); ++rep) {
        const float inv_scale = r.chance(20) ? 1.0f : (float)r.range(1, 100000) / 997.0f;
        const int32_t zp = pick_zp(r);
        float* x = static_cast<float*>(alloc64(count * 4 + 64));
        int8_t* want = static_cast<int8_t*>(alloc64(count));
        int8_t* got = static_cast<int8_t*>(alloc64(count + 64));
        for (size_t i = 0; i < count; ++i) x[i] = pick_float(r, 1.0f / inv_scale);
        eb_qs8_quantize_ref(count, x, want, inv_scale, zp);
        memset(got, 0x5a, count + 64);
        v->fn(count, x, got, inv_scale, zp);
        char why[160];
        snprintf(why, sizeof why, "count=%zu inv_scale=%a zp=%d", count, (double)inv_scale, zp);
        ck.shape(same_rows(got, count + 64, want, 1, count, 0x5a, why, sizeof why), why);
        free(x), free(want), free(got);
      }
    }
    // NCHW float -> NHWC int8; 3 channels take a special path on avx512vnni.
    const size_t chans[] = {1, 2, 3, 4, 5, 16, 17};
    const size_t hws[] = {1, 3, 7, 16};
    for (size_t ch : chans)
      for (size_t hw : hws)
        for (size_t batch = 1; batch <= 2; ++batch) {
          const size_t count = batch * ch * hw * (hw + 1);
          const float inv_scale = (float)r.range(1, 100000) / 997.0f;
          const int32_t zp = pick_zp(r);
          float* x = static_cast<float*>(alloc64(count * 4 + 64));
          int8_t* want = static_cast<int8_t*>(alloc64(count));
          int8_t* got = static_cast<int8_t*>(alloc64(count + 64));
          for (size_t i = 0; i < count; ++i) x[i] = pick_float(r, 1.0f / inv_scale);
          eb_qs8_quantize_to_nhwc_ref(batch, ch, hw, hw + 1, x, want, inv_scale, zp);
          memset(got, 0x5a, count + 64);
          v->to_nhwc(batch, ch, hw, hw + 1, x, got, inv_scale, zp);
          char why[160];
          snprintf(why, sizeof why, "to_nhwc N=%zu C=%zu H=%zu W=%zu inv_scale=%a zp=%d", batch, ch, hw, hw + 1,
                   (double)inv_scale, zp);
          ck.shape(same_rows(got, count + 64, want, 1, count, 0x5a, why, sizeof why), why);
          free(x), free(want), free(got);
        }
    ck.done();
  }
}

// ============================== qd8-quantize, qd8-gemm ==============================
// DYNAMIC_FULLY_CONNECTED (docs/quantization.md (14), (15)). A variant pair stores the quantized rows as q + a_offset
// in a_elem-byte elements (kernels/runtime/qd8_gemm.h Qd8Kernel); the GEMM reads packed qd8 blocks (ukernels_isa.h),
// packed here from the documented layout, independently of the runtime's packer.
struct Qd8Variant {
  const char* quantize_symbol;
  const char* gemm_symbol;
  const char* isa;
  eb_qd8_quantize_ukernel_fn quantize;
  eb_qd8_gemm_ukernel_fn gemm;
  size_t mr, nr, kr, a_elem;
  int32_t a_offset;
  size_t w_elem;
};
const Qd8Variant kQd8[] = {
#ifdef EB_HAVE_ISA_AVX512VNNI
    {"eb_qd8_quantize_ukernel__avx512vnni", "eb_qd8_gemm_minmax_ukernel_8x32c4__avx512vnni", "avx512vnni",
     eb_qd8_quantize_ukernel__avx512vnni, eb_qd8_gemm_minmax_ukernel_8x32c4__avx512vnni, 8, 32, 4, 1, 128, 1},
#endif
#ifdef EB_HAVE_ISA_AVX2
    {"eb_qd8_quantize_ukernel__avx2", "eb_qd8_gemm_minmax_ukernel_4x16c2__avx2", "avx2", eb_qd8_quantize_ukernel__avx2,
     eb_qd8_gemm_minmax_ukernel_4x16c2__avx2, 4, 16, 2, 2, 0, 2},
#endif
// ARM variants (qd8arm) go here.
#ifdef EB_HAVE_ISA_NEON
    {"eb_qd8_quantize_ukernel__neon", "eb_qd8_gemm_minmax_ukernel_2x8c8__neon", "neon", eb_qd8_quantize_ukernel__neon,
     eb_qd8_gemm_minmax_ukernel_2x8c8__neon, 2, 8, 8, 1, 0, 1},
#endif
#if defined(EB_HAVE_ISA_NEONDOT) && defined(__aarch64__)
    {"eb_qd8_quantize_ukernel__neon", "eb_qd8_gemm_minmax_ukernel_4x16c4__neondot", "neondot",
     eb_qd8_quantize_ukernel__neon, eb_qd8_gemm_minmax_ukernel_4x16c4__neondot, 4, 16, 4, 1, 0, 1},
#endif
    {NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0, 0},
};

// Element i of a quantized row as the variant stores it (q + a_offset, a_elem bytes), and back.
void qd8_put(uint8_t* row, size_t i, size_t a_elem, int32_t v) {
  if (a_elem == 1) {
    row[i] = (uint8_t)v;
  } else {
    const int16_t s = (int16_t)v;
    memcpy(row + 2 * i, &s, 2);
  }
}
int32_t qd8_get(const uint8_t* row, size_t i, size_t a_elem, int32_t a_offset) {
  if (a_elem == 1) return a_offset != 0 ? (int32_t)row[i] - a_offset : (int32_t)(int8_t)row[i];
  int16_t s;
  memcpy(&s, row + 2 * i, 2);
  return (int32_t)s - a_offset;
}

// Rows that break (14): random around a scale, shifted off 0, all zero, a NaN, ±inf, a subnormal or a huge range,
// one sign only, −0s, ties of x·inv at .5, a single non-zero value.
void qd8_fill_row(Rng& r, float* x, size_t k, int kind) {
  const float scale = r.chance(50) ? 1.0f : (float)r.range(1, 1000000) / 1000.0f;
  const float shift = r.chance(30) ? (float)r.range(-50, 50) * scale / 10.0f : 0.0f;
  for (size_t i = 0; i < k; ++i)
    x[i] = (float)((int64_t)(r.next() >> 40) - (1 << 23)) / (float)(1 << 23) * scale + shift;
  switch (kind) {
    case 1: memset(x, 0, k * 4); break;
    case 2: x[r.next() % k] = NAN; break;
    case 3: x[r.next() % k] = r.chance(50) ? INFINITY : -INFINITY; break;
    case 4:
      for (size_t i = 0; i < k; ++i) x[i] *= 1e-39f;  // s < FLT_MIN
      break;
    case 5:
      for (size_t i = 0; i < k; ++i) x[i] = x[i] / scale * 1.7e38f;  // hi − lo near FLT_MAX
      break;
    case 6:
      for (size_t i = 0; i < k; ++i) x[i] = fabsf(x[i]) + 1.0f;
      break;
    case 7:
      for (size_t i = 0; i < k; ++i) x[i] = -fabsf(x[i]);
      break;
    case 8:
      for (size_t i = 0; i < k; ++i) x[i] = r.chance(50) ? -0.0f : 0.0f;
      break;
    case 9:  // lo = −127.5, hi = 127.5: s = 1, so x · inv = x and the .5 ties meet round-half-even
      for (size_t i = 0; i < k; ++i) x[i] = (float)r.range(-127, 127) + (r.chance(50) ? 0.5f : 0.0f);
      x[0] = -127.5f;
      if (k > 1) x[k - 1] = 127.5f;
      break;
    case 10:
      memset(x, 0, k * 4);
      x[r.next() % k] = r.chance(50) ? 3.0f : -1e-30f;
      break;
    default: break;
  }
}

void test_qd8_quantize(uint64_t seed) {
  const size_t ks[] = {1,  2,  3,  4,  5,  7,  8,   9,   15,  16,  17,  31,  32,
                       33, 47, 48, 63, 64, 65, 127, 129, 383, 384, 385, 1536};
  for (const Qd8Variant* v = kQd8; v->quantize != NULL; ++v) {
    if (!should_run("qd8-quantize", v->quantize_symbol, v->isa)) continue;
    Check ck{"qd8-quantize", v->quantize_symbol, v->isa};
    Rng r{seed ^ 0xd8d8ull};
    for (size_t k : ks) {
      for (int rep = 0; rep < (g_quick ? 4 : 12); ++rep) {
        const size_t m = (size_t)r.range(1, 11), x_stride = k + (size_t)r.range(0, 3);  // 1 or 2 groups of 8
        const size_t q_stride = k * v->a_elem + (size_t)r.range(0, 2) * 16 + 16;        // bytes past the row: sentinel
        float* x = static_cast<float*>(alloc64(m * x_stride * 4));
        int8_t* want = static_cast<int8_t*>(alloc64(m * k));
        uint8_t* got = static_cast<uint8_t*>(alloc64(m * q_stride));
        eb_qd8_row_params pw[11], pg[11];
        for (size_t i = 0; i < m; ++i) qd8_fill_row(r, x + i * x_stride, k, rep < 11 ? rep : r.range(0, 10));
        eb_qd8_quantize_ref(m, k, x, x_stride, want, pw);
        memset(got, 0x5a, m * q_stride);
        memset(pg, 0x5a, sizeof pg);
        v->quantize(m, k, x, x_stride, got, q_stride, pg);
        char why[200];
        snprintf(why, sizeof why, "m=%zu k=%zu kind=%d", m, k, rep);
        bool ok = true;
        for (size_t i = 0; i < m && ok; ++i) {
          if (memcmp(&pw[i], &pg[i], sizeof pw[i]) != 0) {
            snprintf(why + strlen(why), sizeof why - strlen(why), " row %zu: scale %a zp %d, want %a %d", i,
                     (double)pg[i].scale, pg[i].zero_point, (double)pw[i].scale, pw[i].zero_point);
            ok = false;
          }
          for (size_t j = 0; j < k && ok; ++j) {
            if (qd8_get(got + i * q_stride, j, v->a_elem, v->a_offset) != want[i * k + j]) {
              snprintf(why + strlen(why), sizeof why - strlen(why), " q[%zu, %zu] differs", i, j);
              ok = false;
            }
          }
          for (size_t j = k * v->a_elem; j < q_stride && ok; ++j) {
            if (got[i * q_stride + j] != 0x5a) {
              snprintf(why + strlen(why), sizeof why - strlen(why), " wrote past row %zu", i);
              ok = false;
            }
          }
        }
        ck.shape(ok, why);
        free(x), free(want), free(got);
      }
    }
    ck.done();
  }
}

// The packed qd8 blocks of ukernels_isa.h for w [n, k].
uint8_t* qd8_pack(const Qd8Variant& v, const int8_t* w, const float* w_scale, const float* bias, size_t n, size_t k) {
  const size_t nr = v.nr, kc = round_up(k, v.kr), bb = eb_qd8_block_bytes(nr, kc, v.w_elem);
  uint8_t* out = static_cast<uint8_t*>(alloc64(round_up(n, nr) / nr * bb));
  memset(out, 0, round_up(n, nr) / nr * bb);
  for (size_t n0 = 0; n0 < n; n0 += nr) {
    uint8_t* b = out + n0 / nr * bb;
    for (size_t j = 0; j < nr && n0 + j < n; ++j) {
      int32_t s = 0;
      for (size_t i = 0; i < k; ++i) s += w[(n0 + j) * k + i];
      memcpy(b + 4 * j, &s, 4);
      memcpy(b + 4 * (nr + j), &w_scale[n0 + j], 4);
      const float bj = bias != NULL ? bias[n0 + j] : -0.0f;
      memcpy(b + 4 * (2 * nr + j), &bj, 4);
    }
    for (size_t j = n - n0 < nr ? n - n0 : nr; j < nr; ++j) {
      const float nz = -0.0f;
      memcpy(b + 4 * (2 * nr + j), &nz, 4);
    }
    uint8_t* d = b + 12 * nr;
    for (size_t kb = 0; kb < kc; kb += v.kr)
      for (size_t j = 0; j < nr; ++j)
        for (size_t i = 0; i < v.kr; ++i, d += v.w_elem) {
          const int32_t x = n0 + j < n && kb + i < k ? w[(n0 + j) * k + kb + i] : 0;
          if (v.w_elem == 1) {
            *d = (uint8_t)x;
          } else {
            const int16_t s = (int16_t)x;
            memcpy(d, &s, 2);
          }
        }
  }
  return out;
}

float qd8_pick_scale(Rng& r) {
  const int kind = r.range(0, 99);
  if (kind < 4) return NAN;  // a non-finite row (14)
  if (kind < 8) return 1.0f;
  if (kind < 11) return 1e-30f;  // s·s_w subnormal
  if (kind < 14) return 3e30f;   // y overflows to ±inf
  return (float)r.range(1, 1 << 20) / (float)(1 << 24);
}

// extreme: 1 = q all at one end and w all ±127 (the int32 bound of (15)), 2 = zero points at ±128 / 127.
void qd8_gemm_shape(Check& ck, const Qd8Variant& v, size_t M, size_t N, size_t K, int extreme, Rng& r) {
  const size_t kc = round_up(K, v.kr), a_stride = kc * v.a_elem + (size_t)r.range(0, 1) * 64;
  const size_t c_stride = N + (size_t)r.range(0, 3);
  int8_t* q = static_cast<int8_t*>(alloc64(M * K));
  uint8_t* a = static_cast<uint8_t*>(alloc64(M * a_stride));
  int8_t* w = static_cast<int8_t*>(alloc64(N * K));
  float* w_scale = static_cast<float*>(alloc64(N * 4));
  float* bias = static_cast<float*>(alloc64(N * 4));
  eb_qd8_row_params* params = static_cast<eb_qd8_row_params*>(alloc64(M * sizeof(eb_qd8_row_params)));
  const int8_t qx = r.chance(50) ? 127 : -128;
  for (size_t i = 0; i < M * K; ++i) q[i] = extreme == 1 ? qx : r.s8();
  for (size_t i = 0; i < N * K; ++i) w[i] = extreme == 1 ? (r.chance(50) ? 127 : -127) : (int8_t)r.range(-127, 127);
  for (size_t j = 0; j < N; ++j) {
    w_scale[j] = r.chance(5) ? 0.0f : (float)r.range(1, 1 << 20) / (float)(1 << 27);
    if (r.chance(3)) w_scale[j] = -w_scale[j];  // outside the contract, but gives y = −0 (0 · u < 0) at the bounds
    if (r.chance(3)) w_scale[j] = (float)r.range(1, 1000) * 1e-12f;  // with s = 1e-30: u subnormal (armv7 NEON: 0)
    bias[j] = r.chance(5) ? -0.0f : (float)r.range(-1000000, 1000000) / 1000.0f;
  }
  for (size_t i = 0; i < M; ++i) {
    params[i].scale = qd8_pick_scale(r);
    static const int32_t zps[] = {-128, 127, 0};
    params[i].zero_point = extreme != 0 ? r.pick(zps, 3) : r.range(-128, 127);
  }
  memset(a, 0xa5, M * a_stride);  // K's padding to kc holds anything (the padded weights are 0)
  for (size_t i = 0; i < M; ++i)
    for (size_t j = 0; j < K; ++j) qd8_put(a + i * a_stride, j, v.a_elem, q[i * K + j] + v.a_offset);
  const bool has_bias = r.chance(70);
  float lo = -INFINITY, hi = INFINITY;
  if (r.chance(40)) {
    lo = (float)r.range(-3000, 0) / 1000.0f;
    hi = lo + (float)r.range(0, 6000) / 1000.0f;
  } else if (r.chance(20)) {
    lo = 0.0f;  // ReLU
  } else if (r.chance(10)) {
    hi = -0.0f;  // FMIN would give −0 for a +0 output; the reference's compare keeps +0
  }
  uint8_t* packed = qd8_pack(v, w, w_scale, has_bias ? bias : NULL, N, K);
  float* want = static_cast<float*>(alloc64(M * c_stride * 4));
  float* got = static_cast<float*>(alloc64(M * c_stride * 4 + 64));
  eb_qd8_gemm_ref(M, N, K, q, params, w, w_scale, has_bias ? bias : NULL, lo, hi, want, c_stride);
  memset(got, 0x5a, M * c_stride * 4 + 64);
  for (size_t m0 = 0; m0 < M; m0 += v.mr) {
    const size_t rows = M - m0 < v.mr ? M - m0 : v.mr;
    v.gemm(rows, N, kc, a + m0 * a_stride, a_stride, params + m0, packed, got + m0 * c_stride, c_stride, lo, hi);
  }
  char why[200];
  snprintf(why, sizeof why, "M=%zu N=%zu K=%zu extreme=%d bias=%d lo=%a hi=%a", M, N, K, extreme, (int)has_bias,
           (double)lo, (double)hi);
  bool ok = true;
  for (size_t i = 0; i < M && ok; ++i) {
    for (size_t j = 0; j < c_stride && ok; ++j) {
      uint32_t g, wv = 0x5a5a5a5au;
      memcpy(&g, got + i * c_stride + j, 4);
      if (j < N) memcpy(&wv, want + i * c_stride + j, 4);
      if (g != wv) {
        snprintf(why + strlen(why), sizeof why - strlen(why), " [%zu, %zu]: got %08x want %08x%s", i, j, g, wv,
                 j < N ? "" : " (wrote past the row)");
        ok = false;
      }
    }
  }
  ck.shape(ok, why);
  free(q), free(a), free(w), free(w_scale), free(bias), free(params), free(packed), free(want), free(got);
}

void test_qd8_gemm(uint64_t seed) {
  for (const Qd8Variant* v = kQd8; v->gemm != NULL; ++v) {
    if (!should_run("qd8-gemm", v->gemm_symbol, v->isa)) continue;
    Check ck{"qd8-gemm", v->gemm_symbol, v->isa};
    Rng r{seed ^ 0x9d8ull};
    const size_t mr = v->mr, nr = v->nr;
    const size_t ms[] = {1, 2, mr - 1, mr, mr + 1, 2 * mr + 3, 3 * mr};
    const size_t ns[] = {1, 3, nr - 1, nr, nr + 1, 2 * nr + 5, 3 * nr};
    const size_t ks[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 64, 65, 127, 384};
    for (size_t M : ms)
      for (size_t N : ns)
        for (size_t K : ks) {
          if (g_quick && r.chance(60)) continue;
          qd8_gemm_shape(ck, *v, M, N, K, r.chance(15) ? 2 : 0, r);
        }
    // The int32 bound of (15) at the op's largest K (dynamic_fully_connected.cc kMaxK) and MiniLM's shapes.
    qd8_gemm_shape(ck, *v, mr, nr + 3, 16384, 1, r);
    qd8_gemm_shape(ck, *v, mr + 1, 2 * nr, 4093, 1, r);
    qd8_gemm_shape(ck, *v, 32, 384, 384, 0, r);
    qd8_gemm_shape(ck, *v, 13, 64, 1536, 2, r);
    ck.done();
  }
}
// ============================== qd8-packb (issue 19) ==============================
// ATTENTION's / DYNAMIC_BATCH_MATMUL's b quantized by (16) and packed in one step, held to the composition it
// replaces: eb_qd8_quantize_cols_ref, w_scale = s_b · alpha, then the packed qd8 blocks of qd8_pack above. Each
// entry runs its variant (if any) and the reference twin at the entry's nr / kr / w_elem (the ISAs whose GEMM has no
// packb variant run the twin). Views: vectors contiguous (K's rows: MiniLM's stride 384), interleaved (V's columns,
// and a transposed K, rs = 1 / cs = rows), and neither; the elements between the view's are NaN, so a kernel that
// reads one fails.
struct Qd8PackbVariant {
  const char* symbol;
  const char* isa;
  eb_qd8_packb_ukernel_fn packb;
  size_t nr, kr, w_elem;
};
const Qd8PackbVariant kQd8Packb[] = {
#ifdef EB_HAVE_ISA_AVX512VNNI
    {"eb_qd8_packb_ukernel_x32c4__avx512vnni", "avx512vnni", eb_qd8_packb_ukernel_x32c4__avx512vnni, 32, 4, 1},
#endif
#ifdef EB_HAVE_ISA_AVX2
    {"eb_qd8_packb_ref", "avx2", NULL, 16, 2, 2},
#endif
#ifdef EB_HAVE_ISA_NEON
    {"eb_qd8_packb_ref", "neon", NULL, 8, 8, 1},
#endif
#if defined(EB_HAVE_ISA_NEONDOT) && defined(__aarch64__)
    {"eb_qd8_packb_ukernel_x16c4__neondot", "neondot", eb_qd8_packb_ukernel_x16c4__neondot, 16, 4, 1},
#endif
    {NULL, NULL, NULL, 0, 0, 0},
};

// form 0: vector j contiguous (stride_j >= k), 1: interleaved (stride_j 1), 2: neither.
void qd8_packb_shape(Check& ck, const Qd8PackbVariant& v, size_t n, size_t k, int form, size_t pad, Rng& r) {
  size_t sj, st;
  if (form == 0) {
    sj = k + pad, st = 1;
  } else if (form == 1) {
    sj = 1, st = n + pad;
  } else {
    sj = 2, st = 2 * n + 1 + pad;
  }
  const size_t len = (n - 1) * sj + (k - 1) * st + 1;
  float* b = static_cast<float*>(alloc64(len * 4));
  float* vec = static_cast<float*>(alloc64(k * 4));
  for (size_t i = 0; i < len; ++i) b[i] = NAN;
  for (size_t j = 0; j < n; ++j) {
    const int kind = r.range(0, 13);
    qd8_fill_row(r, vec, k, kind < 11 ? kind : 0);
    if (kind == 11) {  // max 127: s = 1, so v · inv = v and the .5 ties meet round-half-even
      for (size_t t = 0; t < k; ++t) vec[t] = (float)r.range(-127, 126) + 0.5f;
      vec[r.next() % k] = r.chance(50) ? 127.0f : -127.0f;
    } else if (kind == 12) {  // ±FLT_MAX: s = FLT_MAX / 127, inv near 127 / FLT_MAX
      vec[r.next() % k] = r.chance(50) ? FLT_MAX : -FLT_MAX;
    } else if (kind == 13) {  // s just at FLT_MIN, subnormal elements
      for (size_t t = 0; t < k; ++t) vec[t] = (float)r.range(-1000, 1000) * 1e-45f;
      vec[0] = 127.0f * FLT_MIN;
    }
    for (size_t t = 0; t < k; ++t) b[j * sj + t * st] = vec[t];
  }
  static const float alphas[] = {1.0f, 0.17677669f, -2.5f, 1e-30f, 3e30f};
  const float alpha = r.pick(alphas, 5);
  int8_t* q = static_cast<int8_t*>(alloc64(n * k));
  float* scale = static_cast<float*>(alloc64(n * 4));
  eb_qd8_quantize_cols_ref(n, k, b, sj, st, q, scale);
  for (size_t j = 0; j < n; ++j) scale[j] = scale[j] * alpha;
  Qd8Variant layout = {};
  layout.nr = v.nr, layout.kr = v.kr, layout.w_elem = v.w_elem;
  uint8_t* want = qd8_pack(layout, q, scale, NULL, n, k);
  const size_t bytes = round_up(n, v.nr) / v.nr * eb_qd8_block_bytes(v.nr, round_up(k, v.kr), v.w_elem);
  uint8_t* got = static_cast<uint8_t*>(alloc64(bytes + 64));
  for (int which = 0; which < 2; ++which) {
    if (which == 0 && v.packb == NULL) continue;
    memset(got, 0x5a, bytes + 64);
    if (which == 0)
      v.packb(n, k, b, sj, st, alpha, got);
    else
      eb_qd8_packb_ref(v.nr, v.kr, v.w_elem, n, k, b, sj, st, alpha, got);
    char why[200];
    snprintf(why, sizeof why, "%s n=%zu k=%zu stride_j=%zu stride_t=%zu alpha=%a", which == 0 ? v.symbol : "ref", n, k,
             sj, st, (double)alpha);
    bool ok = true;
    for (size_t i = 0; i < bytes + 64 && ok; ++i) {
      const uint8_t w = i < bytes ? want[i] : 0x5a;
      if (got[i] != w) {
        snprintf(why + strlen(why), sizeof why - strlen(why), " byte %zu (block %zu, +%zu): got %02x want %02x", i,
                 i / eb_qd8_block_bytes(v.nr, round_up(k, v.kr), v.w_elem),
                 i % eb_qd8_block_bytes(v.nr, round_up(k, v.kr), v.w_elem), got[i], w);
        ok = false;
      }
    }
    ck.shape(ok, why);
  }
  free(b), free(vec), free(q), free(scale), free(want), free(got);
}

void test_qd8_packb(uint64_t seed) {
  for (const Qd8PackbVariant* v = kQd8Packb; v->symbol != NULL; ++v) {
    if (!should_run("qd8-packb", v->symbol, v->isa)) continue;
    Check ck{"qd8-packb", v->symbol, v->isa};
    Rng r{seed ^ 0x9ac6bull};
    const size_t ns[] = {1, 2, 3, 4, 5, 7, 15, 16, 17, 31, 32, 33, 63, 65, 128};
    const size_t ks[] = {1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 127, 128};
    for (size_t n : ns)
      for (size_t k : ks)
        for (int form = 0; form < 3; ++form) {
          if (g_quick && r.chance(60)) continue;
          qd8_packb_shape(ck, *v, n, k, form, (size_t)r.range(0, 3), r);
        }
    // MiniLM's heads: K [S, 32] rows and V [S, 32] columns of the [L, 384] projections, S = 128 and 32.
    const size_t seqs[] = {128, 32};
    for (size_t S : seqs) {
      qd8_packb_shape(ck, *v, S, 32, 0, 384 - 32, r);
      qd8_packb_shape(ck, *v, 32, S, 1, 384 - 32, r);
      qd8_packb_shape(ck, *v, S, 32, 1, 0, r);  // a transposed K view: rs = 1, cs = S
    }
    qd8_packb_shape(ck, *v, 3, 2048, 0, 1, r);
    qd8_packb_shape(ck, *v, 17, 1500, 1, 0, r);
    ck.done();
  }
}

// ============================== f32-softmax, f32-layernorm, f32-unary (issue 19) ==============================
// Float kernels equal their references bit for bit (0 ULP): rows of 1..67 and the transformer's 128 / 384 / 1536,
// tails, NaN, ±inf, subnormals, ±0, huge and tiny magnitudes, rows with a large common offset.
struct F32Variant {
  const char* isa;
  void (*softmax)(size_t, size_t, const float*, float*);
  void (*layernorm)(size_t, size_t, const float*, const float*, const float*, float, float*);
  void (*unary)(int32_t, size_t, size_t, size_t, const float*, float, const float*, float*);
};
const F32Variant kF32[] = {
#ifdef EB_HAVE_ISA_AVX512VNNI
    {"avx512vnni", eb_f32_softmax_ukernel__avx512vnni, eb_f32_layernorm_ukernel__avx512vnni,
     eb_f32_unary_ukernel__avx512vnni},
#endif
#ifdef EB_HAVE_ISA_AVX2
    {"avx2", eb_f32_softmax_ukernel__avx2, eb_f32_layernorm_ukernel__avx2, eb_f32_unary_ukernel__avx2},
#endif
#if defined(EB_HAVE_ISA_NEON) && defined(__aarch64__)  // armv7 keeps the references (f32lanes.h)
    {"neon", eb_f32_softmax_ukernel__neon, eb_f32_layernorm_ukernel__neon, eb_f32_unary_ukernel__neon},
#endif
    {NULL, NULL, NULL, NULL},
};

float bits_float(uint32_t b) {
  float f;
  memcpy(&f, &b, sizeof f);
  return f;
}

// kind 0: around 0 at a random scale (1e-3 .. 1e3), 1: any bit pattern (NaN, inf, subnormals), 2: a special value,
// 3: a large common offset with small spread (layer norm's cancellation).
float pick_f32(Rng& r, int mode, float offset) {
  static const float specials[] = {0.0f,     -0.0f,   1e-40f, -1e-40f, 1.17549435e-38f, 88.7228394f, 88.72283f, -87.3f,
                                   -103.97f, -104.0f, 1.0f,   -1.0f,   1.4142135f,      -1.4142135f, 14.85f,    -14.85f,
                                   3e38f,    -3e38f,  20.0f,  -20.0f,  1e-4f,           -1e-4f,      7.5f,      -7.5f,
                                   -14.5f,   -14.49f, -13.9f, -12.0f,  -11.3f};  // GELU's subnormal tail
  const int k = r.range(0, 99);
  // NaNs of either sign, quiet and signalling, with payloads: a NaN input comes back quiet with its sign and payload
  // (arm64's GELU keeps that through its arithmetic, no select: f32lanes.h Lanes::gelu)
  static const uint32_t nans[] = {0x7fc00000u, 0xffc01234u, 0x7f800001u, 0xff812345u};
  if (mode == 1 && k < 1) return bits_float(nans[r.range(0, 3)]);
  if (mode == 1 && k < 2) return k & 1 ? INFINITY : -INFINITY;
  if (mode == 1 && k < 12) return bits_float((uint32_t)(r.next() >> 32));
  if (mode == 1 && k < 20) return r.pick(specials, sizeof specials / sizeof specials[0]);
  const float unit = (float)((int64_t)(r.next() >> 40) - (1 << 23)) / (float)(1 << 23);
  if (mode == 3) return offset + unit;
  static const float scales[] = {1e-3f, 0.1f, 1.0f, 3.0f, 10.0f, 30.0f, 120.0f, 1e3f};
  return unit * r.pick(scales, sizeof scales / sizeof scales[0]);
}

bool same_floats(const float* got, const float* want, size_t n, size_t pad, char* why, size_t why_len) {
  for (size_t i = 0; i < n + pad; ++i) {
    uint32_t g, w;
    memcpy(&g, got + i, 4);
    if (i < n) {
      memcpy(&w, want + i, 4);
    } else {
      w = 0x5a5a5a5au;
    }
    if (g != w) {
      snprintf(why + strlen(why), why_len - strlen(why), " first diff at %zu: got %08x want %08x%s", i, g, w,
               i < n ? "" : " (wrote past the end)");
      return false;
    }
  }
  return true;
}

const size_t kF32Cols[] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14,  15, 16, 17, 18,
                           19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,  33, 34, 35, 36,
                           37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50,  51, 52, 53, 54,
                           55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 128, 384};

// SOFTMAX's float32 rows (f32math.h eb_f32_softmax_rows): 16-element blocks, so 1..67 and 300 cover every tail.
const size_t kF32SoftmaxCols[] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,  12,  13, 14, 15,
                                  16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26,  27,  28, 29, 30,
                                  31, 32, 33, 47, 48, 49, 63, 64, 65, 67, 128, 300, 384};

// Rows a softmax meets in attention: an attention mask (the row's last columns −inf, or PyTorch's finfo.min added to
// a score), a spread that makes exp(x − max) subnormal (x − max in [−104, −87]), or all −inf; one row each, chosen
// by the generator, the others as drawn.
void softmax_extremes(Rng& r, float* x, size_t rows, size_t cols) {
  float* row = x + (size_t)r.range(0, (int32_t)rows - 1) * cols;
  const int kind = r.range(0, 5);
  const size_t keep = (size_t)r.range(1, (int32_t)cols);
  for (size_t c = 0; c < cols; ++c) {
    if (kind == 0 && c >= keep) row[c] = -INFINITY;
    if (kind == 1 && c >= keep) row[c] = row[c] + -3.40282347e38f;
    if (kind == 2) row[c] = (float)r.range(-10400, 0) * 0.01f + 40.0f;
    if (kind == 3 && c != keep - 1) row[c] = -87.0f - (float)r.range(0, 1700) * 0.01f;
    if (kind == 4) row[c] = -INFINITY;
  }
}

void test_f32(uint64_t seed, int which) {
  for (const F32Variant* v = kF32; v->isa != NULL; ++v) {
    char sym[96];
    // softmax
    snprintf(sym, sizeof sym, "eb_f32_softmax_ukernel__%s", v->isa);
    if (which == 0 && should_run("f32-softmax", sym, v->isa)) {
      Check ck{"f32-softmax", "eb_f32_softmax_ukernel", v->isa};
      ck.symbol = sym;
      Rng r{seed ^ 0x50f7ull};
      for (size_t cols : kF32SoftmaxCols) {
        for (int rep = 0; rep < (g_quick ? 2 : 4); ++rep) {
          const size_t rows = (size_t)r.range(1, 3);
          const int mode = rep == 3 ? 1 : 0;
          const size_t n = rows * cols;
          float* x = static_cast<float*>(alloc64(n * 4 + 64));
          float* want = static_cast<float*>(alloc64(n * 4 + 64));
          float* got = static_cast<float*>(alloc64(n * 4 + 64));
          for (size_t i = 0; i < n; ++i) x[i] = pick_f32(r, mode, 0.0f);
          if (rep == 2 && cols > 1) x[r.range(0, (int32_t)n - 1)] = -INFINITY;
          softmax_extremes(r, x, rows, cols);
          eb_f32_softmax_ref(rows, cols, x, want);
          memset(got, 0x5a, n * 4 + 64);
          v->softmax(rows, cols, x, got);
          char why[200];
          snprintf(why, sizeof why, "rows=%zu cols=%zu mode=%d", rows, cols, mode);
          ck.shape(same_floats(got, want, n, 16, why, sizeof why), why);
          free(x), free(want), free(got);
        }
      }
      ck.done();
    }
    // layer norm
    snprintf(sym, sizeof sym, "eb_f32_layernorm_ukernel__%s", v->isa);
    if (which == 1 && should_run("f32-layernorm", sym, v->isa)) {
      Check ck{"f32-layernorm", "eb_f32_layernorm_ukernel", v->isa};
      ck.symbol = sym;
      Rng r{seed ^ 0x1a7eull};
      for (size_t cols : kF32Cols) {
        for (int rep = 0; rep < (g_quick ? 3 : 6); ++rep) {
          const size_t rows = (size_t)r.range(1, 3);
          const int mode = rep == 5 ? 1 : (rep == 4 ? 3 : 0);
          const float offset = (float)r.range(-30000, 30000);
          const size_t n = rows * cols;
          float* x = static_cast<float*>(alloc64(n * 4 + 64));
          float* g = static_cast<float*>(alloc64(cols * 4 + 64));
          float* b = static_cast<float*>(alloc64(cols * 4 + 64));
          float* want = static_cast<float*>(alloc64(n * 4 + 64));
          float* got = static_cast<float*>(alloc64(n * 4 + 64));
          for (size_t i = 0; i < n; ++i) x[i] = pick_f32(r, mode, offset);
          for (size_t i = 0; i < cols; ++i) g[i] = pick_f32(r, 0, 0.0f), b[i] = pick_f32(r, 0, 0.0f);
          const float* gp = rep % 3 == 1 ? NULL : g;
          const float* bp = rep % 3 == 2 ? NULL : b;
          static const float epss[] = {1e-12f, 1e-5f, 0.0f, 1.0f};
          const float eps = r.pick(epss, 4);
          eb_f32_layernorm_ref(rows, cols, x, gp, bp, eps, want);
          memset(got, 0x5a, n * 4 + 64);
          v->layernorm(rows, cols, x, gp, bp, eps, got);
          char why[200];
          snprintf(why, sizeof why, "rows=%zu cols=%zu mode=%d gamma=%d beta=%d eps=%g", rows, cols, mode, gp != NULL,
                   bp != NULL, (double)eps);
          ck.shape(same_floats(got, want, n, 16, why, sizeof why), why);
          free(x), free(g), free(b), free(want), free(got);
        }
      }
      ck.done();
    }
    // unary: the functions in lanes, and one that goes through the reference
    snprintf(sym, sizeof sym, "eb_f32_unary_ukernel__%s", v->isa);
    if (which == 2 && should_run("f32-unary", sym, v->isa)) {
      Check ck{"f32-unary", "eb_f32_unary_ukernel", v->isa};
      ck.symbol = sym;
      Rng r{seed ^ 0x0e1full};
      const int32_t funcs[] = {EB_UNARY_GELU,    EB_UNARY_GELU_TANH, EB_UNARY_TANH, EB_UNARY_SILU,
                               EB_UNARY_SIGMOID, EB_UNARY_EXP,       EB_UNARY_ERF,  EB_UNARY_HARDSWISH};
      const size_t counts[] = {1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 63, 67, 384, 1536};
      for (int32_t func : funcs) {
        for (size_t count : counts) {
          for (int rep = 0; rep < (g_quick ? 2 : 4); ++rep) {
            const int mode = rep & 1;
            float* x = static_cast<float*>(alloc64(count * 4 + 64));
            float* want = static_cast<float*>(alloc64(count * 4 + 64));
            float* got = static_cast<float*>(alloc64(count * 4 + 64));
            for (size_t i = 0; i < count; ++i) x[i] = pick_f32(r, mode, 0.0f);
            eb_f32_unary_ref(func, count, 1, 1, NULL, 0.0f, x, want);
            memset(got, 0x5a, count * 4 + 64);
            v->unary(func, count, 1, 1, NULL, 0.0f, x, got);
            char why[200];
            snprintf(why, sizeof why, "func=%d count=%zu mode=%d", (int)func, count, mode);
            ck.shape(same_floats(got, want, count, 16, why, sizeof why), why);
            free(x), free(want), free(got);
          }
        }
      }
      ck.done();
    }
  }
}
void test_f32_softmax(uint64_t seed) { test_f32(seed, 0); }
void test_f32_layernorm(uint64_t seed) { test_f32(seed, 1); }
void test_f32_unary(uint64_t seed) { test_f32(seed, 2); }
// ============================== qd8-softmax (issue 19) ==============================
// ATTENTION's scores to quantized probabilities: mask add, SOFTMAX, (14), stored as the ISA's quantize variant stores
// (q + a_offset). Against eb_qd8_softmax_ref (the unfused ops' steps) over SOFTMAX's row lengths, scores from the
// float generator (any bits in some rows) and its attention extremes, masks of 0 / −inf / finfo.min / −1e9 / small
// values (one row for all, or a row per row, or none), and a row past the variant's flag array (4100).
struct Qd8SoftmaxVariant {
  const char* symbol;
  const char* isa;
  eb_qd8_softmax_ukernel_fn fn;
  size_t a_elem;
  int32_t a_offset;
};
const Qd8SoftmaxVariant kQd8Softmax[] = {
#ifdef EB_HAVE_ISA_AVX512VNNI
    {"eb_qd8_softmax_ukernel__avx512vnni", "avx512vnni", eb_qd8_softmax_ukernel__avx512vnni, 1, 128},
#endif
#if defined(EB_HAVE_ISA_NEON) && defined(__aarch64__)  // armv7 runs the reference composition (attention.cc)
    {"eb_qd8_softmax_ukernel__neon", "neon", eb_qd8_softmax_ukernel__neon, 1, 0},
#endif
    {NULL, NULL, NULL, 0, 0},
};

void test_qd8_softmax(uint64_t seed) {
  static const size_t extra[] = {4100};
  for (const Qd8SoftmaxVariant* v = kQd8Softmax; v->symbol != NULL; ++v) {
    if (!should_run("qd8-softmax", v->symbol, v->isa)) continue;
    Check ck{"qd8-softmax", v->symbol, v->isa};
    Rng r{seed ^ 0x5d8aull};
    const size_t ncols = sizeof kF32SoftmaxCols / sizeof kF32SoftmaxCols[0];
    for (size_t ci = 0; ci < ncols + 1; ++ci) {
      const size_t k = ci < ncols ? kF32SoftmaxCols[ci] : extra[0];
      for (int rep = 0; rep < (ci < ncols ? (g_quick ? 3 : 8) : 2); ++rep) {
        const size_t m = (size_t)r.range(1, 5), x_stride = k + (size_t)r.range(0, 3);
        const size_t q_stride = k * v->a_elem + (size_t)r.range(1, 2) * 16;  // bytes past the row: sentinel
        const int mode = rep % 4 == 3 ? 1 : 0;
        const int mask_kind = rep % 3;  // 0 none, 1 one row for every row (stride 0), 2 a row per row
        float* x = static_cast<float*>(alloc64(m * x_stride * 4 + 64));
        float* xw = static_cast<float*>(alloc64(m * x_stride * 4 + 64));
        float* mask = static_cast<float*>(alloc64(m * k * 4 + 64));
        int8_t* want = static_cast<int8_t*>(alloc64(m * k + 64));
        uint8_t* got = static_cast<uint8_t*>(alloc64(m * q_stride + 64));
        for (size_t i = 0; i < m * x_stride; ++i) x[i] = pick_f32(r, mode, 0.0f);
        for (size_t i = 0; i < m; ++i)
          if (r.chance(50)) softmax_extremes(r, x + i * x_stride, 1, k);
        static const float mvals[] = {0.0f, -INFINITY, -3.40282347e38f, -1e9f, -10000.0f, -1.0f, 0.5f};
        const size_t keep = (size_t)r.range(1, (int32_t)k);
        for (size_t i = 0; i < m * k; ++i)
          mask[i] = r.chance(80) ? (i % k < keep ? 0.0f : -INFINITY) : r.pick(mvals, 7);
        if (r.chance(10)) mask[r.next() % (m * k)] = NAN;
        const float* mk = mask_kind == 0 ? NULL : mask;
        const size_t mstride = mask_kind == 2 ? k : 0;
        memcpy(xw, x, m * x_stride * 4);
        eb_qd8_row_params pw[5], pg[5];
        eb_qd8_softmax_ref(m, k, xw, x_stride, mk, mstride, want, k, pw);
        memset(got, 0x5a, m * q_stride);
        memset(pg, 0x5a, sizeof pg);
        v->fn(m, k, x, x_stride, mk, mstride, got, q_stride, pg);
        char why[200];
        snprintf(why, sizeof why, "m=%zu k=%zu mode=%d mask=%d", m, k, mode, mask_kind);
        bool ok = true;
        for (size_t i = 0; i < m && ok; ++i) {
          if (memcmp(&pw[i], &pg[i], sizeof pw[i]) != 0) {
            snprintf(why + strlen(why), sizeof why - strlen(why), " row %zu: scale %a zp %d, want %a %d", i,
                     (double)pg[i].scale, pg[i].zero_point, (double)pw[i].scale, pw[i].zero_point);
            ok = false;
          }
          for (size_t j = 0; j < k && ok; ++j) {
            if (qd8_get(got + i * q_stride, j, v->a_elem, v->a_offset) != want[i * k + j]) {
              snprintf(why + strlen(why), sizeof why - strlen(why), " q[%zu, %zu] = %d, want %d", i, j,
                       qd8_get(got + i * q_stride, j, v->a_elem, v->a_offset), want[i * k + j]);
              ok = false;
            }
          }
          for (size_t j = k * v->a_elem; j < q_stride && ok; ++j) {
            if (got[i * q_stride + j] != 0x5a) {
              snprintf(why + strlen(why), sizeof why - strlen(why), " wrote past row %zu", i);
              ok = false;
            }
          }
        }
        ck.shape(ok, why);
        free(x), free(xw), free(mask), free(want), free(got);
      }
    }
    ck.done();
  }
}
// ============================== f32-bmm, f32-gemm ==============================
// The float matmuls (issue 19) equal their twins at 0 ULP: every output's bits, a NaN where the twin has one (NaN
// payloads are no part of the contract: x86 and ARM differ there already). Each ISA's file has one matrix core that
// both the BATCH_MATMUL and the FULLY_CONNECTED kernel call; it is also called directly, with a non-transposed B, a
// bias and a clamp at once, against eb_f32_gemm_ref on the transposed copy of B.
struct F32MmVariant {
  const char* isa;
  const char* bmm_symbol;
  void (*bmm)(size_t, size_t, size_t, size_t, int, float, const float*, const float*, float*, void*);
  const char* gemm_symbol;
  void (*gemm)(size_t, size_t, size_t, const float*, const float*, const float*, float, float, float*, void*);
  const char* matrix_symbol;
  void (*matrix)(size_t, size_t, size_t, int, const float*, const float*, const float*, float, float, float, float*,
                 void*);
};
const F32MmVariant kF32Mm[] = {
#ifdef EB_HAVE_ISA_AVX512VNNI
    {"avx512vnni", "eb_f32_bmm_ukernel__avx512vnni", eb_f32_bmm_ukernel__avx512vnni, "eb_f32_gemm_ukernel__avx512vnni",
     eb_f32_gemm_ukernel__avx512vnni, "eb_f32_bmm_matrix__avx512vnni", eb_f32_bmm_matrix__avx512vnni},
#endif
#ifdef EB_HAVE_ISA_AVX2
    {"avx2", "eb_f32_bmm_ukernel__avx2", eb_f32_bmm_ukernel__avx2, "eb_f32_gemm_ukernel__avx2",
     eb_f32_gemm_ukernel__avx2, "eb_f32_bmm_matrix__avx2", eb_f32_bmm_matrix__avx2},
#endif
#if defined(EB_HAVE_ISA_NEON) && defined(__aarch64__)  // armv7 keeps the twins (no double lanes)
    {"neon", "eb_f32_bmm_ukernel__neon", eb_f32_bmm_ukernel__neon, "eb_f32_gemm_ukernel__neon",
     eb_f32_gemm_ukernel__neon, "eb_f32_bmm_matrix__neon", eb_f32_bmm_matrix__neon},
#endif
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL},
};

// Operands: kind 0 plain (|x| around 2^−4 .. 2^4), 1 a wide range (2^−140 .. 2^127: subnormals, products past the
// float range, cancellations; no NaN or inf), 2 as 1 with ±0, the least subnormals, NaN and ±inf sprinkled in.
float pick_mm_float(Rng& r, int kind) {
  const float u = (float)((int64_t)(r.next() >> 40) - (1 << 23)) / (float)(1 << 23);  // [-1, 1)
  if (kind == 0) return ldexpf(u, r.range(-4, 4));
  if (kind == 2) {
    static const float specials[] = {0.0f, -0.0f, 1e-45f, -1e-45f, 1e-40f, 1.17549435e-38f, 3.4e38f, -3.4e38f};
    const int c = r.range(0, 999);
    if (c < 4) return NAN;
    if (c < 8) return c < 6 ? INFINITY : -INFINITY;
    if (c < 80) return r.pick(specials, sizeof specials / sizeof specials[0]);
  }
  return ldexpf(u, r.chance(50) ? r.range(-140, 127) : r.range(-10, 10));
}

// Equal bits, or both NaN; the `pad` floats after `count` still hold the 0x5a sentinel.
bool same_floats_or_nan(const float* got, const float* want, size_t count, size_t pad, char* why, size_t why_len) {
  for (size_t i = 0; i < count; ++i) {
    uint32_t g, w;
    memcpy(&g, got + i, 4);
    memcpy(&w, want + i, 4);
    if (g == w || (isnan(got[i]) && isnan(want[i]))) continue;
    snprintf(why + strlen(why), why_len - strlen(why), " first diff at %zu: got %a want %a", i, (double)got[i],
             (double)want[i]);
    return false;
  }
  const uint8_t* tail = reinterpret_cast<const uint8_t*>(got + count);
  for (size_t i = 0; i < pad * 4; ++i) {
    if (tail[i] != 0x5a) {
      snprintf(why + strlen(why), why_len - strlen(why), " wrote past the output");
      return false;
    }
  }
  return true;
}

struct F32MmShape {
  size_t batch, m, n, k;
  int transpose_b, kind;
  float alpha;
};

// One shape through the variant's BATCH_MATMUL, its FULLY_CONNECTED (a = x, b = w, batch rows folded into m) and
// its matrix core with a non-transposed B, a bias and a clamp.
void f32_mm_shape(Check& bmm, Check& gemm, Check& matrix, const F32MmVariant& v, const F32MmShape& s, Rng& r) {
  constexpr size_t kPad = 16;
  const size_t na = s.batch * s.m * s.k, nb = s.batch * s.k * s.n, ny = s.batch * s.m * s.n;
  float* a = static_cast<float*>(alloc64(na * 4 + 64));
  float* b = static_cast<float*>(alloc64(nb * 4 + 64));
  float* bt = static_cast<float*>(alloc64(nb * 4 + 64));
  float* bias = static_cast<float*>(alloc64(s.n * 4 + 64));
  float* want = static_cast<float*>(alloc64(ny * 4 + 64));
  float* got = static_cast<float*>(alloc64((ny + kPad) * 4 + 64));
  void* scratch = alloc64(EB_F32_MM_SCRATCH_BYTES(s.k));
  for (size_t i = 0; i < na; ++i) a[i] = pick_mm_float(r, s.kind);
  for (size_t i = 0; i < nb; ++i) b[i] = pick_mm_float(r, s.kind);
  for (size_t j = 0; j < s.n; ++j) bias[j] = pick_mm_float(r, s.kind);
  char why[256];
  const auto run = [&](Check& ck, const char* what) {
    snprintf(why, sizeof why, "%s batch=%zu m=%zu n=%zu k=%zu transpose_b=%d kind=%d alpha=%a", what, s.batch, s.m, s.n,
             s.k, s.transpose_b, s.kind, (double)s.alpha);
    ck.shape(same_floats_or_nan(got, want, ny, kPad, why, sizeof why), why);
  };
  // BATCH_MATMUL. The scratch starts as NaN bytes: a kernel must not read what it did not write.
  memset(scratch, 0xff, EB_F32_MM_SCRATCH_BYTES(s.k));
  eb_f32_bmm_ref(s.batch, s.m, s.n, s.k, s.transpose_b, s.alpha, a, b, want);
  memset(got, 0x5a, (ny + kPad) * 4);
  v.bmm(s.batch, s.m, s.n, s.k, s.transpose_b, s.alpha, a, b, got, scratch);
  run(bmm, "bmm");
  // FULLY_CONNECTED: x [batch·m, k], w [n, k] (the first n·k of b), bias or none, a clamp (none, ReLU, ReLU6,
  // a random one, ±0 bounds, lo = hi).
  const size_t rows = s.batch * s.m, nyf = rows * s.n;
  float lo = -INFINITY, hi = INFINITY;
  const int c = r.range(0, 5);
  if (c == 1) lo = 0.0f;
  if (c == 2) lo = 0.0f, hi = 6.0f;
  if (c == 3) lo = -0.0f, hi = 0.0f;
  if (c == 4) lo = -fabsf(pick_mm_float(r, 0)), hi = fabsf(pick_mm_float(r, 0));
  if (c == 5) lo = hi = pick_mm_float(r, 0);
  const float* fb = r.chance(70) ? bias : NULL;
  memset(scratch, 0xff, EB_F32_MM_SCRATCH_BYTES(s.k));
  eb_f32_gemm_ref(rows, s.n, s.k, a, b, fb, lo, hi, want);
  memset(got, 0x5a, (ny + kPad) * 4);
  v.gemm(rows, s.n, s.k, a, b, fb, lo, hi, got, scratch);
  snprintf(why, sizeof why, "gemm lo=%a hi=%a bias=%d", (double)lo, (double)hi, fb != NULL);
  gemm.shape(same_floats_or_nan(got, want, nyf, kPad, why, sizeof why), why);
  // The matrix core with B = b[0] as [k, n] (not transposed), the bias and the clamp: eb_f32_gemm_ref on bᵀ.
  for (size_t t = 0; t < s.k; ++t)
    for (size_t j = 0; j < s.n; ++j) bt[j * s.k + t] = b[t * s.n + j];
  const size_t nym = s.m * s.n;
  memset(scratch, 0xff, EB_F32_MM_SCRATCH_BYTES(s.k));
  eb_f32_gemm_ref(s.m, s.n, s.k, a, bt, fb, lo, hi, want);
  memset(got, 0x5a, (ny + kPad) * 4);
  v.matrix(s.m, s.n, s.k, 0, a, b, fb, 1.0f, lo, hi, got, scratch);
  snprintf(why, sizeof why, "matrix m=%zu n=%zu k=%zu kind=%d lo=%a hi=%a bias=%d", s.m, s.n, s.k, s.kind, (double)lo,
           (double)hi, fb != NULL);
  matrix.shape(same_floats_or_nan(got, want, nym, ny + kPad - nym, why, sizeof why), why);
  free(a), free(b), free(bt), free(bias), free(want), free(got), free(scratch);
}

// The step the float matmuls rest on: for floats x, w and a double acc, fma(x, w, acc) == acc + x·w with the product
// rounded to double first, because a float × float product is exact in double (f32_bmm__avx512vnni.cc). Checked on
// every target, over random and extreme operands (subnormal, huge, signed zeros, inf, NaN: NaN == NaN).
void test_f32_fma_lemma(uint64_t seed) {
  Check ck{"f32-bmm", "fma-equals-mul-add", "ref"};
  Rng r{seed ^ 0xf3a2ull};
  const int reps = g_quick ? 2000 : 20000;
  for (int i = 0; i < reps; ++i) {
    const float x = pick_mm_float(r, r.range(0, 2)), w = pick_mm_float(r, r.range(0, 2));
    volatile double p = (double)x * (double)w;  // rounded to double here, as the twins do (-ffp-contract=off)
    double acc = (double)pick_mm_float(r, 2) * (double)pick_mm_float(r, 1);
    if (r.chance(30)) acc = -p;  // exact cancellation: the sign of a zero sum
    const double fused = fma((double)x, (double)w, acc), separate = acc + p;
    uint64_t fb, sb;
    memcpy(&fb, &fused, 8);
    memcpy(&sb, &separate, 8);
    char why[160];
    snprintf(why, sizeof why, "x=%a w=%a acc=%a: fma %a, mul+add %a", (double)x, (double)w, acc, fused, separate);
    ck.shape(fb == sb || (isnan(fused) && isnan(separate)), why);
  }
  ck.done();
}

void test_f32_mm(uint64_t seed) {
  test_f32_fma_lemma(seed);
  for (const F32MmVariant* v = kF32Mm; v->bmm != NULL; ++v) {
    if (!should_run("f32-bmm", v->bmm_symbol, v->isa)) continue;
#if defined(__x86_64__) || defined(__i386__)
    if (strcmp(v->isa, "avx2") == 0 && !__builtin_cpu_supports("fma")) {  // cpu.cc picks it only with FMA too
      printf("not-run f32-bmm %s avx2 CPU lacks fma\n", v->bmm_symbol);
      continue;
    }
#endif
    Check bmm{"f32-bmm", v->bmm_symbol, v->isa}, gemm{"f32-gemm", v->gemm_symbol, v->isa};
    Check matrix{"f32-bmm", v->matrix_symbol, v->isa};
    Rng r{seed ^ 0xf32ull};
    // MiniLM's attention (12 heads × 32 dims, seq 32 and 128: Q·Kᵀ with alpha 1/√32, P·V), then random shapes:
    // sizes around the tiles (1, the tile ± 1, several tiles and a tail), k = 1, both layouts of B.
    const F32MmShape fixed[] = {
        {12, 32, 32, 32, 1, 0, 0.17677669f},
        {12, 32, 32, 32, 0, 0, 1.0f},
        {g_quick ? 1u : 2u, 128, 128, 32, 1, 0, 0.17677669f},
        {g_quick ? 1u : 2u, 128, 32, 128, 0, 0, 1.0f},
        {1, 1, 1, 1, 0, 0, 1.0f},
        {1, 1, 1, 1, 1, 2, 1.0f},
    };
    for (const F32MmShape& s : fixed) f32_mm_shape(bmm, gemm, matrix, *v, s, r);
    static const size_t sizes[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 15, 16, 17, 24, 31, 32, 33, 63, 64, 65, 97};
    static const float alphas[] = {1.0f, 0.125f, 0.17677669f, -3.0f, 1e-30f, 1e30f, 0.0f};
    const int count = g_quick ? 60 : 250;
    for (int i = 0; i < count; ++i) {
      F32MmShape s;
      s.batch = (size_t)r.range(1, 3);
      s.m = r.pick(sizes, sizeof sizes / sizeof sizes[0]);
      s.n = r.chance(20) ? (size_t)r.range(66, 140) : r.pick(sizes, sizeof sizes / sizeof sizes[0]);
      s.k = r.chance(15) ? 1 : r.pick(sizes, sizeof sizes / sizeof sizes[0]);
      s.transpose_b = r.chance(50);
      s.kind = r.chance(60) ? 0 : r.range(1, 2);
      s.alpha = r.chance(50) ? 1.0f : r.pick(alphas, sizeof alphas / sizeof alphas[0]);
      f32_mm_shape(bmm, gemm, matrix, *v, s, r);
    }
    bmm.done();
    gemm.done();
    matrix.done();
  }
}

// ============================== qs8-bmm ==============================
struct QBmmVariant {
  const char* symbol;
  const char* isa;
  void (*fn)(const eb_qs8_bmm_params*, const int8_t*, const int8_t*, int8_t*, void*);
};
const QBmmVariant kQBmm[] = {
#ifdef EB_HAVE_ISA_AVX512VNNI
    {"eb_qs8_bmm_ukernel__avx512vnni", "avx512vnni", eb_qs8_bmm_ukernel__avx512vnni},
#endif
#if defined(EB_HAVE_ISA_NEONDOT) && defined(__aarch64__)
    {"eb_qs8_bmm_ukernel__neondot", "neondot", eb_qs8_bmm_ukernel__neondot},
#endif
    {NULL, NULL, NULL},
};

// int8 BATCH_MATMUL byte for byte against eb_qs8_bmm_ref: MiniLM's attention shapes, then random ones around the
// tiles (m around 8, n around 16 / 32, k around 4, k = 1), both layouts of b, zero points −128 / 0 / 127 / random,
// random and extreme multipliers, clamps; `extreme` shapes hold every a and b at −128 with zero points 127 (the
// largest |acc| the loader allows at that k) or at 127 with −128.
void test_qs8_bmm(uint64_t seed) {
  for (const QBmmVariant* v = kQBmm; v->fn != NULL; ++v) {
    if (!should_run("qs8-bmm", v->symbol, v->isa)) continue;
    Check ck{"qs8-bmm", v->symbol, v->isa};
    Rng r{seed ^ 0xb33ull};
    static const size_t ms[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 32, 33};
    static const size_t ns[] = {1, 2, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100};
    static const size_t ks[] = {1, 2, 3, 4, 5, 7, 8, 9, 31, 32, 33, 63, 64, 65, 128, 129};
    const int count = g_quick ? 60 : 250;
    for (int i = -4; i < count; ++i) {
      eb_qs8_bmm_params p;
      p.batch = (size_t)r.range(1, 3);
      p.m = r.pick(ms, sizeof ms / sizeof ms[0]);
      p.n = r.pick(ns, sizeof ns / sizeof ns[0]);
      p.k = r.pick(ks, sizeof ks / sizeof ks[0]);
      p.transpose_b = r.chance(50);
      int extreme = r.chance(10) ? r.range(1, 2) : 0;
      if (i < 0) {  // MiniLM: Q·Kᵀ and P·V at seq 32 and 128 (12 heads × 32 dims)
        const bool s128 = i >= -2;
        p.batch = s128 ? 2 : 12;
        p.m = s128 ? 128 : 32;
        p.transpose_b = (i & 1) == 0;
        p.n = p.transpose_b ? p.m : 32;
        p.k = p.transpose_b ? 32 : p.m;
        extreme = 0;
      } else if (r.chance(3)) {
        p.k = (size_t)r.range(1000, 4000);
      }
      p.a_zero_point = pick_zp(r);
      p.b_zero_point = pick_zp(r);
      const OutQuant q = pick_out(r);
      p.output_zero_point = q.zp;
      p.output_min = q.act_min;
      p.output_max = q.act_max;
      pick_requant(r, log2_ceil(p.k) + 14, &p.multiplier, &p.shift);
      if (extreme == 1) p.a_zero_point = p.b_zero_point = 127;
      if (extreme == 2) p.a_zero_point = p.b_zero_point = -128;
      const size_t na = p.batch * p.m * p.k, nb = p.batch * p.k * p.n, ny = p.batch * p.m * p.n;
      int8_t* a = static_cast<int8_t*>(alloc64(na + 64));
      int8_t* b = static_cast<int8_t*>(alloc64(nb + 64));
      int8_t* want = static_cast<int8_t*>(alloc64(ny + 64));
      int8_t* got = static_cast<int8_t*>(alloc64(ny + 64));
      const size_t sb = EB_QS8_BMM_SCRATCH_BYTES(p.m, p.k);
      void* scratch = alloc64(sb);
      memset(scratch, 0x7f, sb);
      for (size_t j = 0; j < na; ++j) a[j] = extreme == 1 ? -128 : extreme == 2 ? 127 : r.s8();
      for (size_t j = 0; j < nb; ++j) b[j] = extreme == 1 ? -128 : extreme == 2 ? 127 : r.s8();
      eb_qs8_bmm_ref(&p, a, b, want);
      memset(got, 0x5a, ny + 64);
      v->fn(&p, a, b, got, scratch);
      char why[200];
      snprintf(why, sizeof why, "batch=%zu m=%zu n=%zu k=%zu transpose_b=%d zp=%d,%d,%d mult=%d shift=%d act=[%d,%d]",
               p.batch, p.m, p.n, p.k, p.transpose_b, p.a_zero_point, p.b_zero_point, p.output_zero_point, p.multiplier,
               p.shift, p.output_min, p.output_max);
      ck.shape(same_rows(got, ny + 64, want, 1, ny, 0x5a, why, sizeof why), why);
      free(a), free(b), free(want), free(got), free(scratch);
    }
    ck.done();
  }
}

}  // namespace

int main(int argc, char** argv) {
  const char* require = NULL;
  const char* family = NULL;
  uint64_t seed = 0x243f6a8885a308d3ull;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--isa") == 0 && i + 1 < argc) {
      g_only = argv[++i];
    } else if (strcmp(argv[i], "--require") == 0 && i + 1 < argc) {
      require = argv[++i];
    } else if (strcmp(argv[i], "--family") == 0 && i + 1 < argc) {
      family = argv[++i];
    } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
      seed = strtoull(argv[++i], NULL, 0);
    } else if (strcmp(argv[i], "--quick") == 0) {
      g_quick = true;
    } else {
      fprintf(stderr,
              "usage: %s [--isa a,b] [--require a,b] [--family qs8-gemm,...] [--seed N] [--quick]\n"
              "runs every optimized micro-kernel compiled in and supported here against its reference twin\n",
              argv[0]);
      return 2;
    }
  }
  snprintf(g_available, sizeof g_available, "%s", eb_available_isas());
  printf("compiled: %s\navailable: %s\n", eb_compiled_isas(), g_available);
  struct Family {
    const char* name;
    void (*run)(uint64_t);
  };
  const Family families[] = {{"qs8-gemm", test_gemm},
                             {"qs8-dwconv", test_dwconv_ref_vs_conv},
                             {"qs8-dwconv", test_dwconv},
                             {"qs8-spmm", test_spmm},
                             {"qs8-vadd", test_vadd},
                             {"qs8-maxpool", test_maxpool},
                             {"qs8-avgpool", test_avgpool},
                             {"qs8-quantize", test_quantize},
                             {"qd8-quantize", test_qd8_quantize},
                             {"qd8-gemm", test_qd8_gemm},
                             {"qd8-packb", test_qd8_packb},
                             {"f32-softmax", test_f32_softmax},
                             {"f32-layernorm", test_f32_layernorm},
                             {"f32-unary", test_f32_unary},
                             {"qd8-softmax", test_qd8_softmax},
                             {"f32-bmm", test_f32_mm},
                             {"qs8-bmm", test_qs8_bmm}};
  for (const Family& f : families)
    if (family == NULL || listed(family, f.name)) f.run(seed);
  // Which ISA paths ran (STYLE.md: print what ran, fail when a required one was skipped).
  int missing = 0;
  printf("summary:");
  for (size_t i = 0; i < g_num_isas; ++i) printf(" %s=%s", g_isas[i].isa, g_isas[i].ran ? "ran" : "not-run");
  printf("; mismatches %d\n", g_failures);
  if (require != NULL) {
    for (const char* p = require; *p != '\0';) {
      const char* comma = strchr(p, ',');
      char isa[16];
      const size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
      snprintf(isa, sizeof isa, "%.*s", (int)len, p);
      bool ran = false;
      for (size_t i = 0; i < g_num_isas; ++i) ran |= strcmp(g_isas[i].isa, isa) == 0 && g_isas[i].ran;
      if (!ran) {
        printf("REQUIRED-NOT-RUN %s\n", isa);
        ++missing;
      }
      p = comma != NULL ? comma + 1 : p + len;
    }
  }
  return g_failures != 0 || missing != 0 ? 1 : 0;
}
