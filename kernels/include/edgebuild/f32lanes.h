// f32lanes.h: the SIMD float kernels of issue 19 (UNARY's exp / erf / tanh family; SOFTMAX and LAYER_NORM are float32
// arithmetic, f32math.h eb_f32_softmax_rows / eb_f32_layernorm_rows on this file's float lanes), written
// once on GCC vectors of N doubles (eb_lanes::Lanes<N>) and included by one file per ISA (f32_<op>__avx512vnni.cc:
// N = 8, one zmm; __avx2.cc: 4, one ymm; __neon.cc: 2, one q register), whose flags decide the instructions.
//
// Why they equal their references (f32-softmax/ref.cc, f32-layernorm/ref.cc, f32-unary/ref.cc) bit for bit: every
// lane runs f32math.h's templates, the very code the references instantiate with `double` (or `float`): the same IEEE
// operations in the same order, no FMA (-ffp-contract=off, and no fma in the source), conversions float <-> double
// that are exact or rounded to nearest on every target; SOFTMAX's and LAYER_NORM's row sums keep element c in partial
// c % 16 and meet in one tree (f32math.h eb_f32_tree16). Not for armv7: its NEON flushes subnormals and has no double
// lanes or vector divide (the __neon files compile to nothing there).
#ifndef EDGEBUILD_F32LANES_H_
#define EDGEBUILD_F32LANES_H_

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(__aarch64__)
#include <arm_neon.h>
#endif
#if defined(__AVX__)
#include <immintrin.h>
#endif

// Every function taking or returning a vector is static to the including file, which is built with one ISA's flags:
// GCC's note that a vector argument's ABI differs between ISAs does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

// The lane forms of f32math.h's scalar helpers, declared before its templates so that they find them: N double lanes
// in the ISA's natural register (N = 8 AVX-512, 4 AVX2, 2 NEON), N float lanes beside them.
#define EB_F32LANES_TYPES(N, DBYTES)                                                                         \
  typedef double eb_f64x##N __attribute__((vector_size(DBYTES)));                                            \
  typedef int64_t eb_i64x##N __attribute__((vector_size(DBYTES)));                                           \
  typedef uint64_t eb_u64x##N __attribute__((vector_size(DBYTES)));                                          \
  typedef float eb_f32x##N __attribute__((vector_size(DBYTES / 2)));                                         \
  typedef int32_t eb_i32x##N __attribute__((vector_size(DBYTES / 2)));                                       \
  static inline __attribute__((always_inline)) eb_f64x##N eb_sel(eb_i64x##N m, eb_f64x##N a, eb_f64x##N b) { \
    return m ? a : b;                                                                                        \
  }                                                                                                          \
  static inline __attribute__((always_inline)) eb_u64x##N eb_bits(eb_f64x##N x) { return (eb_u64x##N)x; }    \
  static inline __attribute__((always_inline)) eb_f64x##N eb_from_bits(eb_u64x##N b) { return (eb_f64x##N)b; }
EB_F32LANES_TYPES(8, 64)
EB_F32LANES_TYPES(4, 32)
EB_F32LANES_TYPES(2, 16)
#undef EB_F32LANES_TYPES
// GELU's float32 lanes (f32math.h eb_gelu_f32): 16 / 8 / 4 floats, the register eb_f64x8 / x4 / x2 fills.
typedef float eb_f32x16 __attribute__((vector_size(64)));
typedef int32_t eb_i32x16 __attribute__((vector_size(64)));
// SOFTMAX's float32 exp (f32math.h eb_exp_f32_nonpos) builds 2^k in unsigned lanes (a shift that leaves the word).
typedef uint32_t eb_u32x16 __attribute__((vector_size(64)));
typedef uint32_t eb_u32x8 __attribute__((vector_size(32)));
typedef uint32_t eb_u32x4 __attribute__((vector_size(16)));
#define EB_F32LANES_BITS(W)                                                                                \
  static inline __attribute__((always_inline)) eb_i32x##W eb_fbits(eb_f32x##W x) { return (eb_i32x##W)x; } \
  static inline __attribute__((always_inline)) eb_f32x##W eb_ffrom(eb_i32x##W b) { return (eb_f32x##W)b; }
EB_F32LANES_BITS(16)
EB_F32LANES_BITS(8)
EB_F32LANES_BITS(4)
#undef EB_F32LANES_BITS
// f32math.h eb_gelu_min / eb_gelu_abs on lanes. min: x86's vminps is the reference's a < lim ? a : lim exactly
// (NaN a gives lim); NEON's fmin gives NaN for a NaN a (GELU's result for it is x − g = x, quiet, either way).
// abs: NEON's fabs (one instruction; the bit-and needs a copy there), the sign bit cleared elsewhere.
#if defined(__AVX512F__)
static inline __attribute__((always_inline)) eb_f32x16 eb_gelu_min(eb_f32x16 a, eb_f32x16 lim) {
  return (eb_f32x16)_mm512_min_ps((__m512)a, (__m512)lim);
}
#else
static inline __attribute__((always_inline)) eb_f32x16 eb_gelu_min(eb_f32x16 a, eb_f32x16 lim) {
  return a < lim ? a : lim;
}
#endif
#if defined(__AVX__)
static inline __attribute__((always_inline)) eb_f32x8 eb_gelu_min(eb_f32x8 a, eb_f32x8 lim) {
  return (eb_f32x8)_mm256_min_ps((__m256)a, (__m256)lim);
}
#else
static inline __attribute__((always_inline)) eb_f32x8 eb_gelu_min(eb_f32x8 a, eb_f32x8 lim) {
  return a < lim ? a : lim;
}
#endif
#if defined(__aarch64__)
static inline __attribute__((always_inline)) eb_f32x4 eb_gelu_min(eb_f32x4 a, eb_f32x4 lim) {
  return (eb_f32x4)vminq_f32((float32x4_t)a, (float32x4_t)lim);
}
static inline __attribute__((always_inline)) eb_f32x4 eb_gelu_abs(eb_f32x4 x) {
  return (eb_f32x4)vabsq_f32((float32x4_t)x);
}
#else
static inline __attribute__((always_inline)) eb_f32x4 eb_gelu_min(eb_f32x4 a, eb_f32x4 lim) {
  return a < lim ? a : lim;
}
static inline __attribute__((always_inline)) eb_f32x4 eb_gelu_abs(eb_f32x4 x) {
  return (eb_f32x4)((eb_i32x4)x & 0x7fffffff);
}
#endif
static inline __attribute__((always_inline)) eb_f32x16 eb_gelu_abs(eb_f32x16 x) {
  return (eb_f32x16)((eb_i32x16)x & 0x7fffffff);
}
static inline __attribute__((always_inline)) eb_f32x8 eb_gelu_abs(eb_f32x8 x) {
  return (eb_f32x8)((eb_i32x8)x & 0x7fffffff);
}
// f32math.h eb_exp_scale on AVX-512: p · 2^(kf + 25) by vscalefps, rounded once like the reference's product, with no
// assist for a subnormal or zero result (kf + 25 is an exact integer in [−125, 25]; NaN for a NaN x, as p is).
#if defined(__AVX512F__)
static inline __attribute__((always_inline)) eb_f32x16 eb_exp_scale(eb_f32x16 p, eb_f32x16, eb_f32x16 kf) {
  return (eb_f32x16)_mm512_scalef_ps((__m512)p, (__m512)(kf + 25.0f));
}
#endif
// f32math.h eb_all_le on a 16-float block (SOFTMAX's skip of exps that are all +0): every lane <= c, none NaN. AVX-512
// and AVX2 compare ordered; arm64 reduces with FMAX / FMAXV, which return NaN when a lane is NaN (NaN <= c is false).
#if defined(__AVX512F__)
template <size_t G>
static inline __attribute__((always_inline)) bool eb_all_le(const eb_f32x16* d, float c) {
  static_assert(G == 1, "a 16-float block is one zmm");
  return _mm512_cmp_ps_mask((__m512)d[0], _mm512_set1_ps(c), _CMP_LE_OQ) == 0xFFFF;
}
#endif
#if defined(__AVX__)
template <size_t G>
static inline __attribute__((always_inline)) bool eb_all_le(const eb_f32x8* d, float c) {
  static_assert(G == 2, "a 16-float block is two ymm");
  const __m256 vc = _mm256_set1_ps(c);
  const __m256 le =
      _mm256_and_ps(_mm256_cmp_ps((__m256)d[0], vc, _CMP_LE_OQ), _mm256_cmp_ps((__m256)d[1], vc, _CMP_LE_OQ));
  return _mm256_movemask_ps(le) == 0xFF;
}
#endif
#if defined(__aarch64__)
template <size_t G>
static inline __attribute__((always_inline)) bool eb_all_le(const eb_f32x4* d, float c) {
  static_assert(G == 4, "a 16-float block is four q registers");
  const float32x4_t m01 = vmaxq_f32((float32x4_t)d[0], (float32x4_t)d[1]);
  const float32x4_t m23 = vmaxq_f32((float32x4_t)d[2], (float32x4_t)d[3]);
  return vmaxvq_f32(vmaxq_f32(m01, m23)) <= c;
}
#endif
// f32math.h eb_max_nan on float lanes: max(x, lo), a NaN when x is one (arm64: FMAX, a NaN when either is one).
static inline __attribute__((always_inline)) eb_f32x16 eb_max_nan(eb_f32x16 x, eb_f32x16 lo) { return x < lo ? lo : x; }
static inline __attribute__((always_inline)) eb_f32x8 eb_max_nan(eb_f32x8 x, eb_f32x8 lo) { return x < lo ? lo : x; }
static inline __attribute__((always_inline)) eb_f32x4 eb_max_nan(eb_f32x4 x, eb_f32x4 lo) {
#if defined(__aarch64__)
  return (eb_f32x4)vmaxq_f32((float32x4_t)x, (float32x4_t)lo);
#else
  return x < lo ? lo : x;
#endif
}
// f32math.h eb_tree_lanes on one register: each level adds (or maxes) lane j + h into lane j, j < h, in that operand
// order (eb_max_nan is not symmetric in NaN and ±0), as the reference's halving loop over an array does; lanes past h
// are don't-care. Shuffles instead of the array: a 64-byte store read back as scalars stalls store forwarding (Zen 4).
static inline __attribute__((always_inline)) float eb_tree_lanes(eb_f32x16 v, bool sum) {
  eb_f32x16 t = __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15);
  v = sum ? v + t : eb_max_nan(v, t);
  t = __builtin_shufflevector(v, v, 4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7);
  v = sum ? v + t : eb_max_nan(v, t);
  t = __builtin_shufflevector(v, v, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3);
  v = sum ? v + t : eb_max_nan(v, t);
  t = __builtin_shufflevector(v, v, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1);
  v = sum ? v + t : eb_max_nan(v, t);
  return v[0];
}
static inline __attribute__((always_inline)) float eb_tree_lanes(eb_f32x8 v, bool sum) {
  eb_f32x8 t = __builtin_shufflevector(v, v, 4, 5, 6, 7, 4, 5, 6, 7);
  v = sum ? v + t : eb_max_nan(v, t);
  t = __builtin_shufflevector(v, v, 2, 3, 2, 3, 2, 3, 2, 3);
  v = sum ? v + t : eb_max_nan(v, t);
  t = __builtin_shufflevector(v, v, 1, 1, 1, 1, 1, 1, 1, 1);
  v = sum ? v + t : eb_max_nan(v, t);
  return v[0];
}
static inline __attribute__((always_inline)) float eb_tree_lanes(eb_f32x4 v, bool sum) {
  eb_f32x4 t = __builtin_shufflevector(v, v, 2, 3, 2, 3);
  v = sum ? v + t : eb_max_nan(v, t);
  t = __builtin_shufflevector(v, v, 1, 1, 1, 1);
  v = sum ? v + t : eb_max_nan(v, t);
  return v[0];
}
// Does some / every lane of a comparison hold (f32math.h's branches that only skip work)?
template <class M>
static inline __attribute__((always_inline)) bool eb_lanes_any(M m) {
  int64_t acc = 0;
  for (size_t i = 0; i < sizeof m / sizeof m[0]; ++i) acc |= m[i];
  return acc != 0;
}
static inline __attribute__((always_inline)) bool eb_any(eb_i64x8 m) { return eb_lanes_any(m); }
static inline __attribute__((always_inline)) bool eb_any(eb_i64x4 m) { return eb_lanes_any(m); }
static inline __attribute__((always_inline)) bool eb_any(eb_i64x2 m) { return eb_lanes_any(m); }
static inline __attribute__((always_inline)) bool eb_all(eb_i64x8 m) { return !eb_lanes_any(~m); }
static inline __attribute__((always_inline)) bool eb_all(eb_i64x4 m) { return !eb_lanes_any(~m); }
static inline __attribute__((always_inline)) bool eb_all(eb_i64x2 m) { return !eb_lanes_any(~m); }

#include "edgebuild/f32math.h"
#include "edgebuild/ukernels.h"

namespace eb_lanes {

template <int N>
struct Types;
template <>
struct Types<8> {
  typedef eb_f64x8 D;
  typedef eb_i64x8 I64;
  typedef eb_f32x8 F;
  typedef eb_i32x8 I32;
  typedef eb_f32x16 FW;
  typedef eb_i32x16 IW;
  typedef eb_u32x16 UW;
};
template <>
struct Types<4> {
  typedef eb_f64x4 D;
  typedef eb_i64x4 I64;
  typedef eb_f32x4 F;
  typedef eb_i32x4 I32;
  typedef eb_f32x8 FW;
  typedef eb_i32x8 IW;
  typedef eb_u32x8 UW;
};
template <>
struct Types<2> {
  typedef eb_f64x2 D;
  typedef eb_i64x2 I64;
  typedef eb_f32x2 F;
  typedef eb_i32x2 I32;
  typedef eb_f32x4 FW;
  typedef eb_i32x4 IW;
  typedef eb_u32x4 UW;
};

template <int N>
struct Lanes {
  typedef typename Types<N>::D D;
  typedef typename Types<N>::I64 I64;
  typedef typename Types<N>::F F;
  typedef typename Types<N>::I32 I32;

  // GCC 12 lowers a 2-lane float <-> double __builtin_convertvector lane by lane: NEON's fcvtl / fcvtn do it whole
  // (the same IEEE conversions: exact widening, narrowing rounded to nearest).
  static inline __attribute__((always_inline)) D widen(F v) {
#if defined(__aarch64__)
    if constexpr (N == 2) return (D)vcvt_f64_f32((float32x2_t)v);
#endif
    return __builtin_convertvector(v, D);
  }
  static inline __attribute__((always_inline)) F narrow(D v) {
#if defined(__aarch64__)
    if constexpr (N == 2) return (F)vcvt_f32_f64((float64x2_t)v);
#endif
    return __builtin_convertvector(v, F);
  }
  static inline __attribute__((always_inline)) F nan_made(F y) {  // a NaN made from numbers is 0x7fc00000
    const I32 yb = (I32)y;
    return (F)(y != y ? (I32)(yb * 0 + 0x7fc00000) : yb);
  }
  // NaN handling of the references: a NaN input comes back quiet, a NaN made from a number is 0x7fc00000.
  static inline __attribute__((always_inline)) F fix_nan(F x, F y) {
    const I32 xb = (I32)x;
    return (F)(x != x ? (I32)(xb | 0x00400000) : (I32)nan_made(y));
  }
  // Element j·N + i of each 8-element block is partial j·N + i: register j, lane i.

  // Whole vectors in the loop; the tail (< N floats) runs the same loop on a zero-padded copy (lanes are independent,
  // the pad lanes' results are dropped), so each function's body is compiled once, not twice: -3.1 KiB arm64
  // (issue 20's budget). noinline keeps that call a call.
  template <D (*Fn)(D)>
  static __attribute__((noinline)) void map(size_t count, const float* input, float* output) {
    size_t i = 0;
    for (; i + N <= count; i += N) {
      F x;
      memcpy(&x, input + i, sizeof x);
      const F y = fix_nan(x, narrow(Fn(widen(x))));
      memcpy(output + i, &y, sizeof y);
    }
    if (i < count) {
      float in[N] = {}, out[N];
      memcpy(in, input + i, (count - i) * sizeof(float));
      map<Fn>(N, in, out);
      memcpy(output + i, out, (count - i) * sizeof(float));
    }
  }

  // GELU on 2N float32 lanes (f32math.h eb_gelu_f32); a tail runs on a zero-padded copy. Without GCC's first
  // scheduling pass (on by default for aarch64 only): it hoists loads and raises register pressure, and with ~23
  // constants live the NEON loop then gets 60 instructions per 4 values instead of 57.
  static __attribute__((optimize("no-schedule-insns"))) void gelu(size_t count, const float* input, float* output) {
    typedef typename Types<N>::FW FW;
    typedef typename Types<N>::IW IW;
    typedef typename Types<N>::UW UW;
    constexpr size_t W = 2 * N;
    auto step = [&](size_t i, size_t n) __attribute__((always_inline)) {
      float buf[W] = {};
      FW x;
      if (n == W) {
        memcpy(&x, input + i, sizeof x);
      } else {
        memcpy(buf, input + i, n * sizeof(float));
        memcpy(&x, buf, sizeof x);
      }
      const FW y = eb_gelu_f32<FW, IW, UW>(x);
      // The references' NaN rules: a NaN input comes back quiet, a NaN made from a number (GELU(−inf) = −inf · 0) is
      // 0x7fc00000. y is the first already: a NaN x reaches the last step x − g as its first operand, and ARM and x86
      // both return a NaN first operand, quieted. −inf · 0 makes the ISA's default NaN: 0x7fc00000 on arm64, so y is
      // the second too there; 0xffc00000 on x86, which replaces it.
#if defined(__aarch64__)
      const FW out = y;
#else
      const IW yb = (IW)y;
      const FW out = (FW)(x == -1.0f / 0.0f ? yb * 0 + 0x7fc00000 : yb);
#endif
      if (n == W) {
        memcpy(output + i, &out, sizeof out);
      } else {
        memcpy(buf, &out, sizeof out);
        memcpy(output + i, buf, n * sizeof(float));
      }
    };
    size_t i = 0;
    for (; i + W <= count; i += W) step(i, W);
    if (i < count) step(i, count - i);
  }

  // UNARY: the functions f32math.h has as templates run here, the others in the reference.
  static void unary(int32_t func, size_t count, size_t channels, size_t slopes, const float* slope, float alpha,
                    const float* input, float* output) {
    switch (func) {
      case EB_UNARY_GELU: gelu(count, input, output); return;
      case EB_UNARY_GELU_TANH: map<eb_gelu_tanh<D>>(count, input, output); return;
      case EB_UNARY_TANH: map<eb_tanh<D>>(count, input, output); return;
      case EB_UNARY_SILU: map<eb_silu<D>>(count, input, output); return;
      case EB_UNARY_SIGMOID: map<eb_sigmoid<D>>(count, input, output); return;
      case EB_UNARY_EXP: map<eb_exp_f32<D>>(count, input, output); return;
#if !defined(__aarch64__)  // arm64: ERF (no transformer's op; GELU has its own) takes the reference, -1.1 KiB
      case EB_UNARY_ERF: map<eb_erf<D>>(count, input, output); return;
#endif
      default: eb_f32_unary_ref(func, count, channels, slopes, slope, alpha, input, output);
    }
  }
};

}  // namespace eb_lanes

#endif  // EDGEBUILD_F32LANES_H_
