// qs8-softmax/ref.cc: reference int8 SOFTMAX over the last axis: the fixed-point arithmetic of TFLite's int8 reference
// kernel (docs/quantization.md (17)-(21)), so that LiteRT's reference kernels give the same codes.
#include "edgebuild/requant.h"
#include "edgebuild/ukernels.h"

namespace {

// docs/quantization.md (19): exp(-1/8) and 1/3 in Q0.31, and exp(-2^j) in Q0.31 for j = -2..4 (the factor of each
// whole quarter bit 24 + (j + 2) of the remainder). These are TFLite's (gemmlowp's) rounded constants, not
// recomputed, because the codes must match theirs bit for bit.
const int32_t kExpMinusEighth = 1895147668;
const int32_t kOneThird = 715827883;
const int32_t kExpMinusPow2[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
// docs/quantization.md (20): 48/17 and -32/17 in Q2.29, Newton's first guess for 1 / d with d in [1/2, 1).
const int32_t kFortyEightSeventeenths = 1515870810;
const int32_t kMinusThirtyTwoSeventeenths = -1010580540;

// sat32(x · 2^k): gemmlowp's saturating multiplication by a positive power of two.
inline int32_t sat_shl(int32_t x, int k) { return eb_sat32((int64_t)x * ((int64_t)1 << k)); }

// Wrapping int32 addition: the sums below stay in range for every input (the series' terms are bounded), and
// wrapping keeps them defined regardless.
inline int32_t add(int32_t a, int32_t b) { return eb_add_wrap_s32(a, b); }

// docs/quantization.md (19): exp(a · 2^-26) in Q0.31 for a <= 0.
int32_t exp_q31(int32_t a) {
  if (a == 0) return INT32_MAX;
  const int32_t quarter = 1 << 24;
  // r: a modulo 1/4, moved into [-1/4, 0); whole = r - a: the quarters taken away, a multiple of 2^24
  const int32_t r = (int32_t)((uint32_t)a & (uint32_t)(quarter - 1)) - quarter;
  const uint32_t whole = (uint32_t)r - (uint32_t)a;
  // Taylor series of exp around -1/8 in t = r + 1/8 (r in Q0.31 is r · 32)
  const int32_t t = r * 32 + (1 << 28);
  const int32_t t2 = eb_srdhm(t, t), t3 = eb_srdhm(t2, t), t4 = eb_srdhm(t2, t2);
  const int32_t poly = eb_rdbpot(add(eb_srdhm(add(eb_rdbpot(t4, 2), t3), kOneThird), t2), 1);
  int32_t e = add(kExpMinusEighth, eb_srdhm(kExpMinusEighth, add(t, poly)));
  for (int j = 0; j < 7; ++j) {
    if ((whole >> (24 + j)) & 1u) e = eb_srdhm(e, kExpMinusPow2[j]);
  }
  return e;
}

// docs/quantization.md (20): 1 / S for the row sum S > 0 (Q12.19), as a Q0.31 fraction and the extra right shift.
int32_t reciprocal_q31(int32_t sum, int32_t* bits_over_unit) {
  int h = 0;  // leading zeros of sum (sum > 0, so h <= 31)
  for (uint32_t v = (uint32_t)sum; !(v & 0x80000000u); v <<= 1) ++h;
  *bits_over_unit = 12 - h;
  const int32_t z = (int32_t)(((uint32_t)sum << h) - 0x80000000u);  // sum normalized to [1, 2), minus 1, Q0.31
  const int64_t both = (int64_t)z + INT32_MAX;                      // half of (1 + z), rounded away from zero
  const int32_t half = (int32_t)((both + (both >= 0 ? 1 : -1)) / 2);
  int32_t x = add(kFortyEightSeventeenths, eb_srdhm(half, kMinusThirtyTwoSeventeenths));
  for (int i = 0; i < 3; ++i) {  // Newton: x += x · (1 - half · x), in Q2.29
    const int32_t error = add(1 << 29, -eb_srdhm(half, x));
    x = add(x, sat_shl(eb_srdhm(x, error), 2));
  }
  return sat_shl(x, 1);
}

}  // namespace

// docs/quantization.md (17)-(21). A difference d = x - max lies in [-255, 0], so the exponentials of a call are the
// 256 values exp_q31 takes on those d: they are computed once per call (the table is the equation evaluated on
// every possible d, not an approximation), which keeps the per-element cost to a lookup, a sum and one product.
// Every operand below is >= 0 (E, its sum, the reciprocal F > 0), where RDBPOT(v, n) is (v + 2^(n-1)) >> n and
// SRDHM(F, E) is (F·E + 2^30) >> 31; and E = 0 below diff_min gives exactly the -128 that (21) prescribes there.
extern "C" void eb_qs8_softmax_ref(size_t rows, size_t cols, const int8_t* input, int8_t* output, int32_t input_mult,
                                   int32_t input_shift, int32_t diff_min) {
  int32_t exps[256];   // exps[-d]: (19) of (18), 0 below diff_min
  int32_t terms[256];  // terms[-d] = RDBPOT(exps[-d], 12): the row sum's terms (20)
  for (int32_t d = 0; d > -256; --d) {
    // (18): d·2^shift fits int32 whenever d >= diff_min (that is what diff_min is for)
    exps[-d] = d >= diff_min ? exp_q31(eb_srdhm((int32_t)((int64_t)d * ((int64_t)1 << input_shift)), input_mult)) : 0;
    terms[-d] = (int32_t)(((uint32_t)exps[-d] + (1u << 11)) >> 12);  // exps <= 2^31 - 1: no overflow in uint32
  }
  for (size_t r = 0; r < rows; ++r) {
    const int8_t* x = input + r * cols;
    int8_t* y = output + r * cols;
    int32_t mx = -128;
    for (size_t c = 0; c < cols; ++c) mx = x[c] > mx ? x[c] : mx;
    int32_t sum = 0;  // (20): at most cols · 2^19, so cols <= EB_QS8_SOFTMAX_MAX_COLS keeps it below 2^31
    for (size_t c = 0; c < cols; ++c) sum += terms[mx - x[c]];
    int32_t bits_over_unit;
    const int64_t inv = reciprocal_q31(sum, &bits_over_unit);
    const int shift = (int)bits_over_unit + 23;  // in [23, 34]: sum in [2^19, 2^31) gives bits_over_unit in [0, 11]
    const int64_t half = (int64_t)1 << (shift - 1);
    for (size_t c = 0; c < cols; ++c) {  // (21)
      const int64_t p = (inv * exps[mx - x[c]] + ((int64_t)1 << 30)) >> 31;
      y[c] = eb_clamp_s8((int32_t)((p + half) >> shift) - 128, -128, 127);
    }
  }
}
