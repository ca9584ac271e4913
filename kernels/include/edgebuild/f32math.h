// f32math.h: float functions the f32 kernels need, in plain IEEE double arithmetic so every target gives the same
// bits (libm's expf differs between glibc builds and may use FMA; kernels are compiled with -ffp-contract=off).
//
// Issue 19: the functions the SIMD float kernels vectorize (exp, 1 + erf, tanh, GELU, SiLU, sigmoid) are templates
// over the lane type D: `double` in the scalar references, an 8-lane GCC vector (eb_f64x8) in the SIMD variants
// (f32-softmax, f32-layernorm, f32-unary: *__avx512vnni.cc, *__avx2.cc, *__neon.cc). One source: the same IEEE
// double operations in the same order on every lane, no FMA, no libm, so every variant equals its reference bit for
// bit. Each is a fixed polynomial with explicit range reduction; docs/artifact.md "Float functions" gives the error
// measured over every float input (scripts/f32math_ulp.cc).
#ifndef EDGEBUILD_F32MATH_H_
#define EDGEBUILD_F32MATH_H_

#include <stdint.h>
#include <string.h>

// ---- lanes: the few operations spelled differently for a scalar and a GCC vector ----
static inline double eb_sel(bool m, double a, double b) { return m ? a : b; }
static inline bool eb_any(bool m) { return m; }
static inline bool eb_all(bool m) { return m; }
static inline uint64_t eb_bits(double x) {
  uint64_t b;
  memcpy(&b, &x, sizeof b);
  return b;
}
static inline double eb_from_bits(uint64_t b) {
  double x;
  memcpy(&x, &b, sizeof x);
  return x;
}
static inline int32_t eb_fbits(float x) {
  int32_t b;
  memcpy(&b, &x, sizeof b);
  return b;
}
static inline float eb_ffrom(int32_t b) {
  float x;
  memcpy(&x, &b, sizeof x);
  return x;
}
// eb_gelu_f32's two steps that an ISA may do in fewer instructions with the same result (f32lanes.h overloads them):
// min(a, lim) (for a NaN a, which only a SIMD lane sees and which comes out of eb_gelu_f32 as that NaN, anything) and
// |x| (clearing the sign bit).
static inline float eb_gelu_min(float a, float lim) { return a < lim ? a : lim; }
static inline float eb_gelu_abs(float x) { return eb_ffrom(eb_fbits(x) & 0x7fffffff); }
// (The vector forms are in f32lanes.h, included by the SIMD files only, before this header.)
// c in every lane (0 + c: exact for every c but −0).
template <class D>
static inline D eb_splat(double c) {
  return D() + c;
}

// ---- exp ----
// exp(x) for x in [−708, 709] (NaN gives a NaN): x = k·ln2 + r with k = x/ln2 rounded to nearest-even (by adding and
// subtracting 1.5·2^52), r = (x − k·ln2_hi) − k·ln2_lo (ln2_hi has 33 significant bits, so k·ln2_hi is exact),
// |r| <= ln2/2 + 2^-40; exp(r) as its Taylor polynomial of degree 11 in Horner form (truncation < 6.5e-15
// relative); 2^k from the exponent bits of the shifted sum (k + 1023 in [2, 2046]: a normal double).
static const double kEbExpC[12] = {1.0,       1.0,        1.0 / 2,     1.0 / 6,      1.0 / 24,      1.0 / 120,
                                   1.0 / 720, 1.0 / 5040, 1.0 / 40320, 1.0 / 362880, 1.0 / 3628800, 1.0 / 39916800};
template <class D>
static inline D eb_exp_kernel(D x) {
  const double shifter = 0x1.8p52;
  const D t = x * 1.4426950408889634 + shifter;
  const D k = t - shifter;
  const D r = (x - k * 0x1.62e42fefp-1) - k * 0x1.473de6af278edp-34;
  D p = r * kEbExpC[11] + kEbExpC[10];
#pragma GCC unroll 16
  for (int i = 9; i >= 0; --i) p = p * r + kEbExpC[i];
  return p * eb_from_bits((eb_bits(t) + 1023) << 52);
}

// exp(x) in double for any x: +inf above 709, 0 below −708 (the callers add it to 1, divide by it or round it to
// float, where those ends are right); NaN gives a NaN.
template <class D>
static inline D eb_exp_f64(D x) {
  const D c = eb_sel(x < -708.0, eb_splat<D>(-708.0), eb_sel(x > 709.0, eb_splat<D>(709.0), x));
  const D e = eb_exp_kernel(c);
  return eb_sel(x > 709.0, eb_splat<D>(1.0 / 0.0), eb_sel(x < -708.0, eb_splat<D>(0.0), e));
}

// exp of a float (in double), before the one rounding to float: +inf from 88.7228394 (the first float whose exp
// exceeds FLT_MAX), 0 below −103.972084 (exp < half the smallest subnormal).
template <class D>
static inline D eb_exp_f32(D x) {
  const D e = eb_exp_f64(x);
  return eb_sel(x > 88.72283935546875, eb_splat<D>(1.0 / 0.0), eb_sel(x < -103.97208404541015625, eb_splat<D>(0.0), e));
}

// A NaN comes back with its quiet bit set (what float -> double -> float gives on every target); the f32 kernels
// return it for a NaN input, and 0x7fc00000 for a NaN they make (x86 and ARM make different default NaNs).
static inline float eb_f32_quiet(float x) {
  uint32_t b;
  memcpy(&b, &x, sizeof b);
  b |= 0x00400000u;
  memcpy(&x, &b, sizeof x);
  return x;
}
static inline float eb_f32_nan(void) {
  const uint32_t b = 0x7fc00000u;
  float x;
  memcpy(&x, &b, sizeof x);
  return x;
}

static inline float eb_f32_exp(float x) {
  if (x != x) return eb_f32_quiet(x);
  return (float)eb_exp_f32((double)x);
}
static inline double eb_f64_exp(double x) {
  if (x != x) return x;
  return eb_exp_f64(x);
}

// ---- erf ----
// |z| < 1: erf(z) = z·P(2z² − 1), P of degree 10 fitted to erf(z)/z (Chebyshev interpolation, relative error
// < 1.4e-15). |z| >= 1: erfc(u), u = |z|, = exp(−u²)·Q(t), t = (1/u − c)/h, Q of degree 14 fitted to erfc(u)·exp(u²)
// for u in [1, 10.5] (relative error < 4e-10); erfc(u) = 0 beyond u = 10.5 (it is < 1e-49 there: GELU's float result
// is ±0). scripts/fit_erf.py computes the coefficients with mpmath.
static const double kEbErfP[11] = {0x1.ee51eb23cb7edp-1,   -0x1.1fd1629215297p-3,  0x1.454368017b2dep-6,
                                   -0x1.2b902b7b018cdp-9,  0x1.c82aa24938f72p-13,  -0x1.26399236542dap-16,
                                   0x1.486639cba6695p-20,  -0x1.429d723f73d8fp-24, 0x1.1ad4571ca70bap-28,
                                   -0x1.c1d525cbe373ap-33, 0x1.44b4143ed5009p-37};
static const double kEbErfcQ[15] = {0x1.19ed787009aaap-2,   0x1.7b933eb691ab6p-3,   -0x1.303d1e6584c84p-5,
                                    0x1.94117d32167b4p-9,   0x1.f729156caab56p-10,  -0x1.5d5e57fa064dcp-10,
                                    0x1.fe9653fd4cacap-12,  -0x1.6a27cf36ee3b6p-14, -0x1.e2876c01b211cp-16,
                                    0x1.20a941443e652p-15,  -0x1.5d019727b3405p-16, 0x1.7da98e9818491p-17,
                                    -0x1.11e2701d47b04p-19, -0x1.a0cb743db8a68p-19, 0x1.a87d849f417a9p-20};

// erf(z) for |z| < 1 (any z: the caller selects).
template <class D>
static inline D eb_erf_small(D z) {
  const D t = z * z * 2.0 - 1.0;
  D p = t * kEbErfP[10] + kEbErfP[9];
#pragma GCC unroll 16
  for (int i = 8; i >= 0; --i) p = p * t + kEbErfP[i];
  return z * p;
}

// erfc(|z|) for |z| >= 1 (any z: the caller selects; u is clamped to [1, 10.5] so no lane overflows).
template <class D>
static inline D eb_erfc_large(D z) {
  const D a = eb_sel(z < 0.0, -z, z);
  const D u = eb_sel(a < 1.0, eb_splat<D>(1.0), eb_sel(a > 10.5, eb_splat<D>(10.5), a));
  const D t = (1.0 / u) * 0x1.1af286bca1af2p+1 + -0x1.35e50d79435e6p+0;
  D q = t * kEbErfcQ[14] + kEbErfcQ[13];
#pragma GCC unroll 16
  for (int i = 12; i >= 0; --i) q = q * t + kEbErfcQ[i];
  const D e = eb_exp_kernel(-(u * u)) * q;
  return eb_sel(a > 10.5, eb_splat<D>(0.0), e);
}

// 1 + erf(z): 1 + z·P for |z| < 1; erfc(−z) for z <= −1, 2 − erfc(z) for z >= 1 (no cancellation on either side).
// Each side is evaluated only when some lane takes it (eb_any / eb_all): a lane's result is the same either way.
template <class D>
static inline D eb_one_plus_erf(D z) {
  const D a = eb_sel(z < 0.0, -z, z);
  D small = D(), c = D();
  if (eb_any(a < 1.0)) small = eb_erf_small(z) + 1.0;
  if (!eb_all(a < 1.0)) c = eb_erfc_large(z);
  return eb_sel(a < 1.0, small, eb_sel(z < 0.0, c, 2.0 - c));
}

// erf(z): z·P for |z| < 1 (relative accuracy down to the smallest z), ±(1 − erfc(|z|)) beyond.
template <class D>
static inline D eb_erf(D z) {
  const D a = eb_sel(z < 0.0, -z, z);
  D small = D(), c = D();
  if (eb_any(a < 1.0)) small = eb_erf_small(z);
  if (!eb_all(a < 1.0)) c = 1.0 - eb_erfc_large(z);
  return eb_sel(a < 1.0, small, eb_sel(z < 0.0, -c, c));
}

// tanh(x) = (1 − e)/(1 + e), e = exp(−2|x|), signed; |x| − |x|³/3 below 1e-4, where 1 − e would cancel; 1 above 20.
template <class D>
static inline D eb_tanh(D x) {
  const D ax = eb_sel(x < 0.0, -x, x);
  const D e = eb_exp_f64(ax * -2.0);
  const D mid = (1.0 - e) / (1.0 + e);
  const D t = eb_sel(ax > 20.0, eb_splat<D>(1.0), eb_sel(ax < 1e-4, ax - ax * ax * ax / 3.0, mid));
  return eb_sel(x < 0.0, -t, t);
}

// UNARY's float functions with SIMD variants (f32-unary), in double before the one rounding to float, for x finite
// or ±inf (NaN inputs: the caller). The formulas are PyTorch's.
template <class D>
static inline D eb_gelu(D x) {
  return 0.5 * x * eb_one_plus_erf(x * 0.70710678118654752);
}
// GELU in float32 (UNARY's GELU): F is `float` in the reference, a GCC vector of 16 / 8 / 4 floats in the SIMD
// variants, I and U its int32 / uint32 twins; the same float32 operations in the same order, no FMA. For x finite or
// ±inf (NaN: the caller; a NaN lane comes out as that NaN, quiet, from the last step x − g). GELU(x) = x·Φ(x),
// Φ(−a) = exp(−a²/2)·R(a) for a = min(|x|, 14.5), R(a) = Φ(−a)·exp(a²/2). Issue 19 made it cheaper (NEON 81 -> 57
// instructions per 4 values) at the same accuracy class: at most 5 ulp where the result is a normal float, every
// float32 input measured (docs/artifact.md "Float functions", scripts/f32math_ulp.cc):
// - a² = t + l, t = a_hi² exact (a_hi = a with its 12 low mantissa bits cleared), l = a_lo·(a + a_hi): exp(−a²/2)
//   keeps its relative accuracy up to a² = 210 (a² rounded once would lose ~100 ulp there);
// - k = round(−t/2·log2 e) (adding and subtracting 1.5·2^23 + 159), ρ = ((t + k·2ln2_hi) + k·2ln2_lo) + l = a² +
//   2k·ln2 in [−0.70, 0.83] (k·2ln2_hi exact, the first sum too), and e(ρ) ≈ exp(−ρ/2)·2^-27/√(2π), a degree-6
//   minimax polynomial: exp(−a²/2)/√(2π) = 2^(k+27)·e;
// - R(a)·√(2π) ≈ h2/(a·h2 + h1), h1 / h2 of degrees 3 / 4 (relative error 6.1e-8 with their float32 coefficients,
//   scripts/fit_gelu.py, which also fits e): the denominator reuses h2, so h2's rounding cancels where a·h2 dominates;
// - m = (h2·e)/(a·h2 + h1) = Φ(−a)·2^(−k−27), s = m·2^(k+32) = Φ(−a)·2^5, 2^(k+32) taken from the bits of the
//   rounding sum (exponent field k + 159, in [7, 159]): one rounding, a normal float wherever x·Φ(x) is one, and +0
//   at a = 14.5 (Φ(−14.5)·2^5 < 2^-150);
// - g = (min(x, 14.5)·s)·2^-5 (= x·Φ(−a), rounded once where it is normal); y = g for x ≤ 0, x − g for x > 0 (no
//   cancellation: g ≤ x/2). So x < −14.5 gives −0 (x·0: the true value is below 2^-150 from x = −14.2), −inf a NaN
//   (−inf·0), +inf +inf, −0 −0, +0 +0.
template <class F, class I, class U>
static inline F eb_gelu_f32(F x) {
  const F zero = F{};
  const F lim = zero + 14.5f;
  const F a = eb_gelu_min(eb_gelu_abs(x), lim);
  const F a_hi = eb_ffrom(eb_fbits(a) & -4096);
  const F a_lo = a - a_hi;
  const F t = a_hi * a_hi;
  const F l = a_lo * (a + a_hi);
  const F kr = t * -0x1.715476p-1f + 12583071.0f;
  const F kf = kr - 12583071.0f;
  const F rho = ((t + kf * 0x1.62e4p+0f) + kf * 0x1.7f7d1cp-19f) + l;
  F e = zero + 0x1.f7fb76p-45f;
  e = e * rho + -0x1.b6597ap-41f;
  e = e * rho + 0x1.10a86p-37f;
  e = e * rho + -0x1.1056ecp-34f;
  e = e * rho + 0x1.9883bp-32f;
  e = e * rho + -0x1.988454p-30f;
  e = e * rho + 0x1.988454p-29f;
  F h2 = zero + 0x1.49fd5cp-6f;
  h2 = h2 * a + 0x1.6ef586p-3f;
  h2 = h2 * a + 0x1.7f8174p-1f;
  h2 = h2 * a + 0x1.ad9fc4p+0f;
  h2 = h2 * a + 0x1.c3p+0f;
  F h1 = zero + 0x1.49b3f2p-6f;
  h1 = h1 * a + 0x1.7046a2p-3f;
  h1 = h1 * a + 0x1.65d022p-1f;
  h1 = h1 * a + 0x1.67d89p+0f;
  const F m = (h2 * e) / (a * h2 + h1);
  const F sp = m * eb_ffrom((I)((U)eb_fbits(kr) << 23));
  const F g = (eb_gelu_min(x, lim) * sp) * 0x1p-5f;
  return x <= zero ? g : x - g;
}
template <class D>
static inline D eb_gelu_tanh(D x) {
  // PyTorch's 0.5·x·(1 + tanh(inner)) with 1 + tanh(y) = 2 / (1 + exp(−2y)): no cancellation for x < 0.
  const D inner = 0.79788456080286536 * (x + 0.044715 * x * x * x);
  return x / (1.0 + eb_exp_f64(inner * -2.0));
}
template <class D>
static inline D eb_silu(D x) {
  return x / (1.0 + eb_exp_f64(-x));
}
template <class D>
static inline D eb_sigmoid(D x) {
  return 1.0 / (1.0 + eb_exp_f64(-x));
}

static inline double eb_f64_tanh(double x) {
  if (x != x) return x;
  return eb_tanh(x);
}
static inline double eb_f64_one_plus_erf(double x) {
  if (x != x) return x;
  return eb_one_plus_erf(x);
}

// ---- issue 19, float32 SOFTMAX: exp in float32 arithmetic and the row loop, one source for the reference
// (F = float) and the SIMD variants (F = a GCC vector of 16 / 8 / 4 floats, I and U its int32 / uint32 twins) ----

// max(x, lo) for a lo that is not NaN, and a NaN when x is NaN (SOFTMAX's max pass and exp clamp). f32lanes.h has
// the vector forms: the same comparison on x86 (one maxps), FMAX on arm64 (one instruction: it returns a NaN when
// either operand is one). Which NaN comes out does not matter to SOFTMAX: a NaN in a row makes the row 0x7fc00000.
static inline float eb_max_nan(float x, float lo) { return x < lo ? lo : x; }

// exp(x) for x <= 0, −inf or NaN (SOFTMAX's x − max), each step one IEEE float32 operation in this order, no FMA:
// x' = max(x, −104) (a NaN stays; exp(−104) rounds to 0 like every exp below −103.972084); k = round-to-even(x'·log2 e)
// by adding and subtracting 1.5·2^23 + 152 (an even integer: the same k); r = (x' − k·ln2_hi) − k·ln2_lo (ln2_hi
// has 15 significant bits: k·ln2_hi is exact for |k| <= 151), |r| <= ln2/2 + 2^-16; p = 1 + r·(1 + r·(c2 + … + r·c6))
// in Horner form, c2..c6 a minimax fit of exp on [−ln2/2, ln2/2] rounded to float32 (scripts/fit_expf.py: relative
// error 3.6e-9 before rounding); y = p · 2^-25 · 2^(k+25). The Horner steps run on the coefficients times 2^-25
// (every value is that of the plain form times 2^-25, exactly: nothing there is subnormal), so the one product left
// is exact unless the result is subnormal, where it rounds once (k + 25 >= −125: the power is normal). exp(0) = 1.
// Error: docs/artifact.md "Float functions".
// eb_exp_f32_nonpos's last step, p · 2^(k+25) rounded once (pw = 2^(k+25), kf = k as a float). f32lanes.h gives
// AVX-512 vscalefps(p, kf + 25): the same single rounding, and at full speed where the product underflows (a masked
// score's exp(−104) = +0, a subnormal e), where Zen 4's and Intel's vmulps take a microcode assist of ~100 cycles:
// MiniLM's padded rows ran SOFTMAX at 0.8 ns per score instead of 0.39.
static inline float eb_exp_scale(float p, float pw, float kf) {
  (void)kf;
  return p * pw;
}
template <class F>
static inline F eb_exp_scale(F p, F pw, F kf) {
  (void)kf;
  return p * pw;
}
template <class F, class I, class U>
static inline F eb_exp_f32_nonpos(F x) {
  const F zero = F{};
  x = eb_max_nan(x, zero - 104.0f);
  const F kr = x * 0x1.715476p+0f + 12583064.0f;
  const F kf = kr - 12583064.0f;
  const F r = (x - kf * 0x1.62e4p-1f) - kf * 0x1.7f7d1cp-20f;
  F p = zero + 0x1.6a23cep-35f;
  p = p * r + 0x1.123a2p-32f;
  p = p * r + 0x1.5558f2p-30f;
  p = p * r + 0x1.555492p-28f;
  p = p * r + 0x1.fffffcp-27f;
  p = p * r + 0x1p-25f;
  p = p * r + 0x1p-25f;
  // bits(kr) = 0x4b400000 + k + 152: shifted left by 23 the constant part leaves the word, (k + 152) << 23 = 2^(k+25).
  return eb_exp_scale(p, eb_ffrom((I)((U)eb_fbits(kr) << 23)), kf);
}

// SOFTMAX over rows of `cols` floats (docs/artifact.md SOFTMAX): m = max (element c into partial c % 16, partials
// from −inf, eb_max_nan), e = eb_exp_f32_nonpos(x − m) stored to y, s = Σ e (element c into partial c % 16, from
// +0), y = e / s. Both reductions end in the halving tree p[i] ⊕ p[i + 8], then i ⊕ i + 4, i ⊕ i + 2, i ⊕ i + 1.
// A 16-element block is G = 16 / W vectors of W lanes (one zmm, two ymm, four q registers; the reference: 16
// floats): the tree's first levels add whole vectors, the last ones lanes. The last block of a row runs on a copy
// padded with −inf, whose lanes add exp(−inf − m) = +0 to their partials (exact: no partial is −0) and are not
// stored. A row whose sum is NaN (a NaN, a +inf, or only −inf in it) becomes 0x7fc00000.
// The lane levels of that tree on one register (lane j ⊕ lane j + h, h = W/2 .. 1): f32lanes.h has the vector forms,
// whose shuffles keep each step's operands and their order; one float is its own result.
static inline float eb_tree_lanes(float v, bool sum) {
  (void)sum;
  return v;
}
template <class F>
static inline __attribute__((always_inline)) float eb_f32_tree16(const F* in, bool sum) {
  constexpr size_t W = sizeof(F) / sizeof(float), G = 16 / W;
  F v[G];
  for (size_t j = 0; j < G; ++j) v[j] = in[j];
#pragma GCC unroll 4
  for (size_t h = G / 2; h >= 1; h /= 2) {
#pragma GCC unroll 8
    for (size_t j = 0; j < h; ++j) v[j] = sum ? v[j] + v[j + h] : eb_max_nan(v[j], v[j + h]);
  }
  return eb_tree_lanes(v[0], sum);
}

// fn(j) for j in [0, G): unrolled for vectors (G <= 4: partials in registers), a plain loop for SOFTMAX's scalar
// reference (16 copies of the exp would be ~2.7 KiB of arm64 code that only runs where NEON is missing); LAYER_NORM's
// few operations unroll in the reference too where it is hot (armv7: -23% instructions; arm64 always has NEON).
#if defined(__aarch64__)
#define EB_F32_UNROLL_SCALAR_NORM false
#else
#define EB_F32_UNROLL_SCALAR_NORM true
#endif
template <size_t W, size_t G, bool Unroll = (W > 1), class Fn>
static inline __attribute__((always_inline)) void eb_each_partial(Fn fn) {
  if constexpr (!Unroll) {
    for (size_t j = 0; j < G; ++j) fn(j);
  } else {
#pragma GCC unroll 16
    for (size_t j = 0; j < G; ++j) fn(j);
  }
}

// Is every lane of d[0..G) <= c (and none NaN)? SOFTMAX's skip of a block whose exps are all +0; f32lanes.h has the
// vector forms (one compare on AVX-512, a NaN-propagating max reduction on arm64).
static inline bool eb_le_all(float d, float c) { return d <= c; }
template <size_t G, class F>
static inline bool eb_all_le(const F* d, float c) {
  bool all = true;
  for (size_t j = 0; j < G; ++j) all = all & eb_le_all(d[j], c);
  return all;
}

// SOFTMAX's first two passes over one row of `cols` floats (eb_f32_softmax_rows below; and ATTENTION's fused rows,
// qd8-softmax): v = x, or x + mask (the ADD float op with bounds ±inf, the plain IEEE sum) when mask is not NULL, then
// kept in y; m = max v; e = eb_exp_f32_nonpos(v − m) stored to y (y may be x); returns the tree sum s = Σ e.
// A 16-element block whose every v − m is <= −104 (a masked or padded key: v = score + finfo.min, or −inf) stores
// e = +0 without computing the exps: eb_exp_f32_nonpos clamps its argument to −104 first and exp(−104) is +0 (every
// float <= 0 checked: scripts/f32math_ulp.cc's range), and +0 added to a partial leaves it, so the bits are those of
// the full computation. With zero not NULL, zero[b] says whether block b is such a block, and its e are not stored
// (the caller knows them: +0); without, they are stored.
template <class F, class I, class U>
static inline float eb_f32_softmax_exps(size_t cols, const float* x, const float* mask, float* y, uint8_t* zero) {
  constexpr size_t W = sizeof(F) / sizeof(float), G = 16 / W;
  const float ninf = -1.0f / 0.0f;
  // One loop body for whole blocks and the padded last one (the pointers select it): no second copy of the exp.
  const size_t blocks = (cols + 15) / 16, tail = cols % 16;
  float pad[16];
  if (tail != 0) {
    const size_t c0 = (blocks - 1) * 16;
    for (size_t i = 0; i < 16; ++i) pad[i] = i < tail ? (mask != NULL ? x[c0 + i] + mask[c0 + i] : x[c0 + i]) : ninf;
  }
  F m[G];
  for (size_t j = 0; j < G; ++j) m[j] = F{} + ninf;
  const size_t whole = tail != 0 ? blocks - 1 : blocks;
  if (mask != NULL) {  // the whole blocks, v = x + mask kept in y (one loop per case: no test per vector)
    for (size_t b = 0; b < whole; ++b) {
      eb_each_partial<W, G>([&](size_t j) __attribute__((always_inline)) {
        F v, a;
        memcpy(&v, x + b * 16 + j * W, sizeof v);
        memcpy(&a, mask + b * 16 + j * W, sizeof a);
        v = v + a;
        memcpy(y + b * 16 + j * W, &v, sizeof v);
        m[j] = eb_max_nan(v, m[j]);
      });
    }
  } else {
    for (size_t b = 0; b < whole; ++b) {
      eb_each_partial<W, G>([&](size_t j) __attribute__((always_inline)) {
        F v;
        memcpy(&v, x + b * 16 + j * W, sizeof v);
        m[j] = eb_max_nan(v, m[j]);
      });
    }
  }
  if (tail != 0) {  // the padded last block (v already in pad)
    eb_each_partial<W, G>([&](size_t j) __attribute__((always_inline)) {
      F v;
      memcpy(&v, pad + j * W, sizeof v);
      m[j] = eb_max_nan(v, m[j]);
    });
  }
  const float mx = eb_f32_tree16(m, false);
  const float* src = mask != NULL ? y : x;  // v
  F s[G];
  for (size_t j = 0; j < G; ++j) s[j] = F{};
  for (size_t b = 0; b < blocks; ++b) {
    const bool last = tail != 0 && b + 1 == blocks;
    const float* in = last ? pad : src + b * 16;
    float* out = last ? pad : y + b * 16;
    F d[G];
    eb_each_partial<W, G>([&](size_t j) __attribute__((always_inline)) {
      F v;
      memcpy(&v, in + j * W, sizeof v);
      d[j] = v - mx;
    });
    const bool skip = eb_all_le<G>(d, -104.0f);
    if (zero != NULL) zero[b] = skip;
    if (skip) {
      if (zero == NULL || last) memset(out, 0, 16 * sizeof(float));
      continue;
    }
    eb_each_partial<W, G>([&](size_t j) __attribute__((always_inline)) {
      const F e = eb_exp_f32_nonpos<F, I, U>(d[j]);
      memcpy(out + j * W, &e, sizeof e);
      s[j] = s[j] + e;
    });
  }
  if (tail != 0) memcpy(y + (blocks - 1) * 16, pad, tail * sizeof(float));
  return eb_f32_tree16(s, true);
}

// Exps: eb_f32_softmax_exps<F, I, U>, or a file's one out-of-line instance of it (arm64 shares one between SOFTMAX and
// qd8-softmax: the library's size budget).
typedef float (*eb_f32_softmax_exps_fn)(size_t cols, const float* x, const float* mask, float* y, uint8_t* zero);
template <class F, class I, class U, eb_f32_softmax_exps_fn Exps = eb_f32_softmax_exps<F, I, U>>
static inline void eb_f32_softmax_rows(size_t rows, size_t cols, const float* input, float* output) {
  constexpr size_t W = sizeof(F) / sizeof(float);
  for (size_t r = 0; r < rows; ++r) {
    float* y = output + r * cols;
    const float sum = Exps(cols, input + r * cols, NULL, y, NULL);
    if (sum != sum) {
      for (size_t c = 0; c < cols; ++c) y[c] = eb_f32_nan();
      continue;
    }
    // Division, not a multiply by 1/sum: rounded once, so y is the correctly rounded quotient of e and the sum
    // (on AVX-512 and NEON no slower per row of 128: the exp dominates).
    size_t c = 0;
#pragma GCC unroll 4
    for (; c + W <= cols; c += W) {
      F v;
      memcpy(&v, y + c, sizeof v);
      v = v / sum;
      memcpy(y + c, &v, sizeof v);
    }
    for (; c < cols; ++c) y[c] = y[c] / sum;
  }
}

// ---- issue 19, float32 LAYER_NORM: the row loop, one source for the reference (F = float) and the SIMD variants ----
// (docs/artifact.md LAYER_NORM.) Sums over 16 interleaved float32 partials in SOFTMAX's tree (eb_f32_tree16), each
// partial from +0; the last block of a row on a copy padded with zeros, whose pad lanes add +0 (exact: a sum of x is
// never −0 after adding +0) and, in the second pass, are masked to +0. Pass 1: mean = Σ x / D. Pass 2: d = x − mean,
// c = Σ d / D (what pass 1's rounding left out of the mean), var = max(Σ d² / D − c², 0) (the corrected two-pass
// formula: no cancellation when c is small against the spread, as it is). inv = 1 / sqrt(var + eps). Pass 3:
// y = (((x − mean) − c) · inv) · gamma + beta (gamma, beta: left out when absent), a NaN made 0x7fc00000.
template <class F, class I>
static inline void eb_f32_layernorm_rows(size_t rows, size_t cols, const float* input, const float* gamma,
                                         const float* beta, float eps, float* output) {
  constexpr size_t W = sizeof(F) / sizeof(float), G = 16 / W;
  const size_t blocks = (cols + 15) / 16, tail = cols % 16;
  const float dn = (float)cols;
  F live[G];  // lanes of a row's last block that hold elements (all ones), pad lanes 0
  for (size_t j = 0; j < G; ++j) {
    I on;
    for (size_t i = 0; i < W; ++i) {
      const int32_t bit = tail == 0 || j * W + i < tail ? -1 : 0;
      memcpy((char*)&on + i * sizeof(int32_t), &bit, sizeof bit);
    }
    live[j] = eb_ffrom(on);
  }
  for (size_t r = 0; r < rows; ++r) {
    const float* x = input + r * cols;
    float* y = output + r * cols;
    float pad[16];
    if (tail != 0) {
      for (int i = 0; i < 16; ++i) pad[i] = 0.0f;
      memcpy(pad, x + (blocks - 1) * 16, tail * sizeof(float));
    }
    F s[G];
    for (size_t j = 0; j < G; ++j) s[j] = F{};
    for (size_t b = 0; b < blocks; ++b) {
      const float* in = tail != 0 && b + 1 == blocks ? pad : x + b * 16;
      eb_each_partial<W, G, W != 1 || EB_F32_UNROLL_SCALAR_NORM>([&](size_t j) __attribute__((always_inline)) {
        F v;
        memcpy(&v, in + j * W, sizeof v);
        s[j] = s[j] + v;
      });
    }
    const float mean = eb_f32_tree16(s, true) / dn;
    F q[G];
    for (size_t j = 0; j < G; ++j) s[j] = F{}, q[j] = F{};
    for (size_t b = 0; b < blocks; ++b) {
      const bool last = tail != 0 && b + 1 == blocks;
      const float* in = last ? pad : x + b * 16;
      eb_each_partial<W, G, W != 1 || EB_F32_UNROLL_SCALAR_NORM>([&](size_t j) __attribute__((always_inline)) {
        F v;
        memcpy(&v, in + j * W, sizeof v);
        F d = v - mean;
        if (last) d = eb_ffrom(eb_fbits(d) & eb_fbits(live[j]));
        s[j] = s[j] + d;
        q[j] = q[j] + d * d;
      });
    }
    const float c = eb_f32_tree16(s, true) / dn;
    const float var = eb_max_nan(eb_f32_tree16(q, true) / dn - c * c, 0.0f);
    const float inv = 1.0f / __builtin_sqrtf(var + eps);
    size_t k = 0;
    auto out = [&](const float* xs, const float* gs, const float* bs, float* ys) __attribute__((always_inline)) {
      F v;
      memcpy(&v, xs, sizeof v);
      F t = ((v - mean) - c) * inv;
      if (gamma != NULL) {
        F g;
        memcpy(&g, gs, sizeof g);
        t = t * g;
      }
      if (beta != NULL) {
        F bb;
        memcpy(&bb, bs, sizeof bb);
        t = t + bb;
      }
      const I tb = eb_fbits(t);
      t = eb_ffrom(t != t ? tb * 0 + 0x7fc00000 : tb);
      memcpy(ys, &t, sizeof t);
    };
    for (; k + W <= cols; k += W) out(x + k, gamma != NULL ? gamma + k : gamma, beta != NULL ? beta + k : beta, y + k);
    if (k < cols) {
      float xb[W] = {}, gb[W] = {}, bb[W] = {}, yb[W];
      const size_t n = cols - k;
      memcpy(xb, x + k, n * sizeof(float));
      if (gamma != NULL) memcpy(gb, gamma + k, n * sizeof(float));
      if (beta != NULL) memcpy(bb, beta + k, n * sizeof(float));
      out(xb, gb, bb, yb);
      memcpy(y + k, yb, n * sizeof(float));
    }
  }
}

// ---- issue 16, elementwise: the double helpers of UNARY's elementwise functions (f32-unary). Each is accurate to a
// few double ulps on the float inputs it gets, so the one rounding to float is correct except within ~1e-14
// (relative) of a rounding boundary: at most 1 float ulp from the correctly rounded value. ----

static inline double eb_f64_inf(void) { return 1.0 / 0.0; }
static inline double eb_f64_nan(void) { return 0.0 / 0.0; }

// x = m·2^e with m in [√½, √2) (x > 0, finite; subnormals scaled first): frexp without libm.
static inline double eb_f64_split(double x, int* e) {
  uint64_t b;
  memcpy(&b, &x, sizeof b);
  int adj = 0;
  if (((b >> 52) & 0x7ff) == 0) {
    x *= 18014398509481984.0;  // 2^54
    memcpy(&b, &x, sizeof b);
    adj = -54;
  }
  int ex = (int)((b >> 52) & 0x7ff) - 1022;  // x = m'·2^ex, m' in [½, 1)
  b = (b & 0x000FFFFFFFFFFFFFull) | (0x3FEull << 52);
  double m;
  memcpy(&m, &b, sizeof m);
  if (m < 0.70710678118654752) {
    m *= 2.0;
    ex -= 1;
  }
  *e = ex + adj;
  return m;
}

// log(m), m in [√½, √2]: 2·atanh(s) = 2·Σ s^(2k+1)/(2k+1), s = (m−1)/(m+1), |s| <= 0.1716 (s² <= 0.0295: 16 terms
// reach 2^-80). m − 1 is exact (Sterbenz), so log(m) keeps its relative accuracy near m = 1.
static inline double eb_f64_log_kernel(double m) {
  const double s = (m - 1.0) / (m + 1.0), s2 = s * s;
  double sum = 0.0;
  for (int k = 16; k >= 0; --k) sum = sum * s2 + 1.0 / (double)(2 * k + 1);
  return 2.0 * s * sum;
}

// Natural log; base 0 = e, 2, 10 (log2 and log10 keep exact powers exact: e + log(m)/ln b).
static inline double eb_f64_log_base(double x, int base) {
  if (x != x || x < 0.0) return eb_f64_nan();
  if (x == 0.0) return -eb_f64_inf();
  if (x == eb_f64_inf()) return x;
  int e;
  const double m = eb_f64_split(x, &e), lm = eb_f64_log_kernel(m);
  if (base == 2) return (double)e + lm * 1.4426950408889634;
  if (base == 10) return (double)e * 0.30102999566398120 + lm * 0.43429448190325183;
  return (double)e * 0.69314718055994531 + lm;
}
static inline double eb_f64_log(double x) { return eb_f64_log_base(x, 0); }

// log(1 + x): u = 1 + x rounded, then log(u)·x/(u − 1), which cancels u's rounding error (Goldberg).
static inline double eb_f64_log1p(double x) {
  if (x != x || x < -1.0) return eb_f64_nan();
  if (x == eb_f64_inf()) return x;
  const double u = 1.0 + x;
  if (u == 1.0) return x;
  if (u == 0.0) return -eb_f64_inf();
  return eb_f64_log(u) * x / (u - 1.0);
}

// exp(x) − 1: the Taylor series for |x| < ½ (no cancellation), exp(x) − 1 beyond.
static inline double eb_f64_expm1(double x) {
  if (x != x) return x;
  const double ax = x < 0.0 ? -x : x;
  if (ax >= 0.5) return eb_f64_exp(x) - 1.0;
  double term = x, sum = x;
  for (int k = 2; k <= 22; ++k) {
    term *= x / (double)k;
    sum += term;
  }
  return sum;
}

// sin(r), cos(r) for |r| <= π/4 (+ rounding): Taylor to degree 27 (truncation < 1e-30).
static inline double eb_f64_sin_kernel(double r) {
  const double r2 = r * r;
  double term = r, sum = r;
  for (int k = 1; k <= 13; ++k) {
    term *= -r2 / (double)((2 * k) * (2 * k + 1));
    sum += term;
  }
  return sum;
}
static inline double eb_f64_cos_kernel(double r) {
  const double r2 = r * r;
  double term = 1.0, sum = 1.0;
  for (int k = 1; k <= 13; ++k) {
    term *= -r2 / (double)((2 * k - 1) * (2 * k));
    sum += term;
  }
  return sum;
}

// x = q·π/2 + r, |r| <= π/4 (+ rounding), quadrant q mod 4 (Cody–Waite with π/2 in four pieces; the first three
// have 26 significant bits, so k·P is exact for |k| < 2^27 and each subtraction is exact or accurate relative to its
// result). Accurate for |x| < 2^27 (≈ 1.3e8); beyond, the result is deterministic (the same bits on every target)
// but the reduction loses accuracy (no Payne–Hanek reduction: models do not feed such angles).
static inline double eb_f64_reduce_half_pi(double x, int* quadrant) {
  const double t = x * 0.63661977236758134;  // 2/π
  const double k = (double)(int64_t)(t >= 0.0 ? t + 0.5 : t - 0.5);
  double r = x - k * 0x1.921fb58000000p+0;
  r -= k * -0x1.dde9740000000p-27;
  r -= k * 0x1.1a62630000000p-54;
  r -= k * 0x1.8a2e03707344ap-81;
  *quadrant = (int)((int64_t)k & 3);
  return r;
}

// which: 0 sin, 1 cos, 2 tan.
static inline double eb_f64_trig(double x, int which) {
  if (x != x || x == eb_f64_inf() || x == -eb_f64_inf()) return eb_f64_nan();
  if (x > 9.2e18 || x < -9.2e18) x = 0.0;  // int64 range of the quadrant: unreachable from float inputs < 2^63
  int q;
  const double r = eb_f64_reduce_half_pi(x, &q);
  const double s = eb_f64_sin_kernel(r), c = eb_f64_cos_kernel(r);
  // sin(r + qπ/2), cos(r + qπ/2)
  const double sq = q == 0 ? s : (q == 1 ? c : (q == 2 ? -s : -c));
  const double cq = q == 0 ? c : (q == 1 ? -s : (q == 2 ? -c : s));
  if (which == 0) return sq;
  if (which == 1) return cq;
  return sq / cq;
}

// atan: |x| > 1 -> π/2 − atan(1/x); a > tan(π/12) -> π/6 + atan((a√3 − 1)/(a + √3)); then the series on
// |a| <= 0.268 (a² <= 0.072: 24 terms reach 1e-28).
static inline double eb_f64_atan(double x) {
  if (x != x) return x;
  const bool neg = x < 0.0;
  double a = neg ? -x : x;
  const bool inv = a > 1.0;
  if (inv) a = 1.0 / a;
  const bool shift = a > 0.26794919243112270;
  if (shift) a = (a * 1.7320508075688772 - 1.0) / (a + 1.7320508075688772);
  const double a2 = a * a;
  double sum = 0.0;
  for (int k = 24; k >= 0; --k) sum = -sum * a2 + 1.0 / (double)(2 * k + 1);
  double t = a * sum;
  if (shift) t += 0.52359877559829887;  // π/6
  if (inv) t = 1.5707963267948966 - t;
  return neg ? -t : t;
}

// atan2(y, x) with C99's signed zeros and infinities.
static inline double eb_f64_atan2(double y, double x) {
  const double pi = 3.1415926535897932, inf = eb_f64_inf();
  if (x != x || y != y) return eb_f64_nan();
  const bool yneg = y < 0.0 || (y == 0.0 && 1.0 / y < 0.0), xneg = x < 0.0 || (x == 0.0 && 1.0 / x < 0.0);
  double t;
  if (y == 0.0) {
    t = xneg ? pi : 0.0;
  } else if (x == 0.0) {
    t = pi / 2;
  } else if (x == inf || x == -inf) {
    if (y == inf || y == -inf) {
      t = xneg ? 3 * pi / 4 : pi / 4;
    } else {
      t = xneg ? pi : 0.0;
    }
  } else if (y == inf || y == -inf) {
    t = pi / 2;
  } else {
    const double ay = yneg ? -y : y;
    t = eb_f64_atan(ay / (xneg ? -x : x));
    if (xneg) t = pi - t;
  }
  return yneg ? -t : t;
}

// asin(x) = atan(x / √((1 − x)(1 + x))), acos(x) = 2·atan(√((1 − x)/(1 + x))); 1 ± x is exact for float x.
static inline double eb_f64_asin(double x) {
  if (x != x || x > 1.0 || x < -1.0) return eb_f64_nan();
  return eb_f64_atan(x / __builtin_sqrt((1.0 - x) * (1.0 + x)));
}
static inline double eb_f64_acos(double x) {
  if (x != x || x > 1.0 || x < -1.0) return eb_f64_nan();
  return 2.0 * eb_f64_atan(__builtin_sqrt((1.0 - x) / (1.0 + x)));
}

// sinh: its Taylor series for |x| < 1, (e − 1/e)/2 beyond; cosh = (e + 1/e)/2.
static inline double eb_f64_sinh(double x) {
  if (x != x) return x;
  const double ax = x < 0.0 ? -x : x;
  double t;
  if (ax < 1.0) {
    const double x2 = ax * ax;
    double term = ax;
    t = ax;
    for (int k = 1; k <= 12; ++k) {
      term *= x2 / (double)((2 * k) * (2 * k + 1));
      t += term;
    }
  } else {
    const double e = eb_f64_exp(ax);
    t = 0.5 * (e - 1.0 / e);
  }
  return x < 0.0 ? -t : t;
}
static inline double eb_f64_cosh(double x) {
  if (x != x) return x;
  const double e = eb_f64_exp(x < 0.0 ? -x : x);
  return 0.5 * (e + 1.0 / e);
}

// asinh(x) = log1p(a + a²/(1 + √(1 + a²))), a = |x|, signed.
static inline double eb_f64_asinh(double x) {
  if (x != x) return x;
  const double a = x < 0.0 ? -x : x;
  if (a == eb_f64_inf()) return x;
  const double t = eb_f64_log1p(a + a * a / (1.0 + __builtin_sqrt(1.0 + a * a)));
  return x < 0.0 ? -t : t;
}
// acosh(x) = log1p(t + √(t·(x + 1))), t = x − 1 (exact), x >= 1.
static inline double eb_f64_acosh(double x) {
  if (x != x || x < 1.0) return eb_f64_nan();
  if (x == eb_f64_inf()) return x;
  const double t = x - 1.0;
  return eb_f64_log1p(t + __builtin_sqrt(t * (x + 1.0)));
}
// atanh(x) = ½·log1p(2a/(1 − a)), a = |x| <= 1, signed.
static inline double eb_f64_atanh(double x) {
  if (x != x || x > 1.0 || x < -1.0) return eb_f64_nan();
  const double a = x < 0.0 ? -x : x;
  const double t = a == 1.0 ? eb_f64_inf() : 0.5 * eb_f64_log1p(2.0 * a / (1.0 - a));
  return x < 0.0 ? -t : t;
}

// erf(x) (the ERF op): eb_erf above.
static inline double eb_f64_erf(double x) {
  if (x != x) return x;
  return eb_erf(x);
}

// Is y an integer, and an odd one? (|y| >= 2^53 is even.)
static inline int eb_f64_int_kind(double y) {
  const double ay = y < 0.0 ? -y : y;
  if (ay != ay || ay == eb_f64_inf()) return 0;
  if (ay >= 9007199254740992.0) return 2;
  const int64_t i = (int64_t)ay;
  if ((double)i != ay) return 0;
  return (i & 1) ? 1 : 2;  // 1 odd integer, 2 even integer, 0 not an integer
}

// pow(x, y) with C99's special cases (what std::pow, and so torch.pow, gives), else ±exp(y·log|x|).
static inline double eb_f64_pow(double x, double y) {
  const double inf = eb_f64_inf();
  if (y == 0.0 || x == 1.0) return 1.0;
  if (x != x || y != y) return eb_f64_nan();
  const int yk = eb_f64_int_kind(y);
  const double ax = x < 0.0 ? -x : x;
  if (y == inf || y == -inf) {
    if (ax == 1.0) return 1.0;
    return (ax < 1.0) == (y > 0.0) ? 0.0 : inf;
  }
  if (x == 0.0) {
    const bool neg = 1.0 / x < 0.0 && yk == 1;
    const double r = y > 0.0 ? 0.0 : inf;
    return neg ? -r : r;
  }
  if (ax == inf) {
    const double r = y > 0.0 ? inf : 0.0;
    return x < 0.0 && yk == 1 ? -r : r;
  }
  if (x < 0.0 && yk == 0) return eb_f64_nan();
  const double r = eb_f64_exp(y * eb_f64_log(ax));
  return x < 0.0 && yk == 1 ? -r : r;
}

#endif  // EDGEBUILD_F32MATH_H_
