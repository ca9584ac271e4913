// f32lanes.h: the SIMD float kernels of issue 19 (SOFTMAX, LAYER_NORM, UNARY's exp / erf / tanh family), written
// once on 8-lane GCC vectors and included by one file per ISA (f32_<op>__avx512vnni.cc, __avx2.cc, __neon.cc), whose
// flags decide the registers: one zmm, two ymm or four q registers per eb_f64x8.
//
// Why they equal their references (f32-softmax/ref.cc, f32-layernorm/ref.cc, f32-unary/ref.cc) bit for bit: every
// lane runs f32math.h's templates, the very code the references instantiate with `double`: the same IEEE operations
// in the same order, no FMA (-ffp-contract=off, and no fma in the source), conversions float <-> double that are
// exact or rounded to nearest on every target; a row's sums keep element c in lane c % 8 and end in f32math.h's tree
// on the stored lanes, the references' order. Tails run on a padded copy with the pad lanes masked out of sums.
// Not for armv7: its NEON flushes subnormals and has no double lanes (the __neon files compile to nothing there).
#ifndef EDGEBUILD_F32LANES_H_
#define EDGEBUILD_F32LANES_H_

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "edgebuild/f32math.h"
#include "edgebuild/ukernels.h"

typedef float eb_f32x8 __attribute__((vector_size(32)));
typedef int32_t eb_i32x8 __attribute__((vector_size(32)));

namespace eb_lanes {

constexpr size_t kLanes = 8;

// n <= 8 floats from p, the other lanes `pad`.
static inline __attribute__((always_inline)) eb_f32x8 load(const float* p, size_t n, float pad) {
  eb_f32x8 v;
  if (n == kLanes) {
    memcpy(&v, p, sizeof v);
    return v;
  }
  float buf[kLanes];
  for (size_t i = 0; i < kLanes; ++i) buf[i] = pad;
  memcpy(buf, p, n * sizeof(float));
  memcpy(&v, buf, sizeof v);
  return v;
}

static inline __attribute__((always_inline)) void store(float* p, size_t n, eb_f32x8 v) {
  if (n == kLanes) {
    memcpy(p, &v, sizeof v);
    return;
  }
  float buf[kLanes];
  memcpy(buf, &v, sizeof v);
  memcpy(p, buf, n * sizeof(float));
}

static inline __attribute__((always_inline)) eb_f64x8 widen(eb_f32x8 v) { return __builtin_convertvector(v, eb_f64x8); }
static inline __attribute__((always_inline)) eb_f32x8 narrow(eb_f64x8 v) { return __builtin_convertvector(v, eb_f32x8); }

// Lanes [0, n) set.
static inline __attribute__((always_inline)) eb_i64x8 first(size_t n) {
  const eb_i64x8 iota = {0, 1, 2, 3, 4, 5, 6, 7};
  return iota < (int64_t)n;
}

// NaN handling of the references: a NaN input comes back quiet, a NaN made from a number is 0x7fc00000.
static inline __attribute__((always_inline)) eb_f32x8 fix_nan(eb_f32x8 x, eb_f32x8 y) {
  const eb_i32x8 xb = (eb_i32x8)x, yb = (eb_i32x8)y;
  const eb_i32x8 made = y != y ? (eb_i32x8)(yb * 0 + 0x7fc00000) : yb;
  return (eb_f32x8)(x != x ? (eb_i32x8)(xb | 0x00400000) : made);
}

static inline void softmax(size_t rows, size_t cols, const float* input, float* output) {
  for (size_t r = 0; r < rows; ++r) {
    const float* x = input + r * cols;
    float* y = output + r * cols;
    const float ninf = -1.0f / 0.0f;
    eb_f32x8 m = eb_f32x8{} + ninf;
    for (size_t c = 0; c < cols; c += kLanes) {
      const size_t n = cols - c < kLanes ? cols - c : kLanes;
      const eb_f32x8 v = load(x + c, n, ninf);
      m = v > m ? v : m;  // eb_max2 per lane
    }
    float mp[kLanes];
    memcpy(mp, &m, sizeof mp);
    const float mx = eb_tree8_max(mp);
    eb_f64x8 s = eb_f64x8{};
    for (size_t c = 0; c < cols; c += kLanes) {
      const size_t n = cols - c < kLanes ? cols - c : kLanes;
      const eb_f32x8 e = narrow(eb_exp_f32(widen(load(x + c, n, ninf) - mx)));
      store(y + c, n, e);
      s = s + (n == kLanes ? widen(e) : eb_sel(first(n), widen(e), eb_f64x8{}));
    }
    double sp[kLanes];
    memcpy(sp, &s, sizeof sp);
    const double sum = eb_tree8_sum(sp);
    if (sum != sum) {
      for (size_t c = 0; c < cols; ++c) y[c] = eb_f32_nan();
      continue;
    }
    const double inv = 1.0 / sum;
    for (size_t c = 0; c < cols; c += kLanes) {
      const size_t n = cols - c < kLanes ? cols - c : kLanes;
      store(y + c, n, narrow(widen(load(y + c, n, 0.0f)) * inv));
    }
  }
}

static inline void layernorm(size_t rows, size_t cols, const float* input, const float* gamma, const float* beta,
                             float eps, float* output) {
  for (size_t r = 0; r < rows; ++r) {
    const float* x = input + r * cols;
    float* y = output + r * cols;
    eb_f64x8 s = eb_f64x8{};
    for (size_t c = 0; c < cols; c += kLanes) {
      const size_t n = cols - c < kLanes ? cols - c : kLanes;
      s = s + widen(load(x + c, n, 0.0f));  // + 0 in the pad lanes: exact (no partial is ever −0)
    }
    double p[kLanes];
    memcpy(p, &s, sizeof p);
    const double mean = eb_tree8_sum(p) / (double)cols;
    eb_f64x8 v = eb_f64x8{};
    for (size_t c = 0; c < cols; c += kLanes) {
      const size_t n = cols - c < kLanes ? cols - c : kLanes;
      const eb_f64x8 d = widen(load(x + c, n, 0.0f)) - mean;
      v = v + (n == kLanes ? d * d : eb_sel(first(n), d * d, eb_f64x8{}));
    }
    memcpy(p, &v, sizeof p);
    const double var = eb_tree8_sum(p) / (double)cols;
    const double inv = 1.0 / __builtin_sqrt(var + (double)eps);
    for (size_t c = 0; c < cols; c += kLanes) {
      const size_t n = cols - c < kLanes ? cols - c : kLanes;
      eb_f64x8 t = (widen(load(x + c, n, 0.0f)) - mean) * inv;
      if (gamma != NULL) t = t * widen(load(gamma + c, n, 0.0f));
      if (beta != NULL) t = t + widen(load(beta + c, n, 0.0f));
      const eb_f32x8 o = narrow(t);
      store(y + c, n, o != o ? (eb_f32x8)((eb_i32x8)o * 0 + 0x7fc00000) : o);
    }
  }
}

template <eb_f64x8 (*F)(eb_f64x8)>
static inline void unary_map(size_t count, const float* input, float* output) {
  for (size_t i = 0; i < count; i += kLanes) {
    const size_t n = count - i < kLanes ? count - i : kLanes;
    const eb_f32x8 x = load(input + i, n, 0.0f);
    store(output + i, n, fix_nan(x, narrow(F(widen(x)))));
  }
}

// UNARY: the functions f32math.h has as templates run here, the others in the reference.
static inline void unary(int32_t func, size_t count, size_t channels, size_t slopes, const float* slope, float alpha,
                         const float* input, float* output) {
  switch (func) {
    case EB_UNARY_GELU: unary_map<eb_gelu<eb_f64x8>>(count, input, output); return;
    case EB_UNARY_GELU_TANH: unary_map<eb_gelu_tanh<eb_f64x8>>(count, input, output); return;
    case EB_UNARY_TANH: unary_map<eb_tanh<eb_f64x8>>(count, input, output); return;
    case EB_UNARY_SILU: unary_map<eb_silu<eb_f64x8>>(count, input, output); return;
    case EB_UNARY_SIGMOID: unary_map<eb_sigmoid<eb_f64x8>>(count, input, output); return;
    case EB_UNARY_EXP: unary_map<eb_exp_f32<eb_f64x8>>(count, input, output); return;
    case EB_UNARY_ERF: unary_map<eb_erf<eb_f64x8>>(count, input, output); return;
    default: eb_f32_unary_ref(func, count, channels, slopes, slope, alpha, input, output);
  }
}

}  // namespace eb_lanes

#endif  // EDGEBUILD_F32LANES_H_
