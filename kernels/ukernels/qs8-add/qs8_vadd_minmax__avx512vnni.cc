// qs8_vadd_minmax__avx512vnni.cc: int8 elementwise ADD for AVX-512 cores (Skylake-X+, Zen 4+), 16 lanes per zmm.
//
// Exactly eb_qs8_add_ref (docs/quantization.md (7)) lane by lane, for any loader-valid parameters. ResNet-18 adds
// 3136×64-element tensors; every ADD the lowering emits takes the kFast loop below, whose arithmetic is specialised
// to its parameters (~28 zmm instructions per 16 outputs instead of ~56). Other parameters keep two general loops:
// kNoSat (the three MBQMs with 64-bit products, the sat32s of the input side dropped: left_shift <= 22 and input
// exponents <= 0 mean |a − zp_a| · 2^left_shift <= 255 · 2^22 < 2^30, and an MBQM with e <= 0 does not grow its
// input, so |a' + b'| <= 510 · 2^22 < 2^31) and the general one (every sat32 of the reference spelled out). Part of
// the avx512vnni path (needs AVX-512 BW/DQ, which every VNNI core has).
//
// kFast, for 8 <= L = left_shift <= 22 and exponents e_a, e_b, e_y <= 0 (r = −e >= 0), and
// 510 · 2^L + 129 · 2^r_y < 2^31 (L = 20: r_y <= 23; the lowering emits L = 20 and r_y around 19). Why it is exact:
//  Input side, d = x − zp in [−255, 255], k = 31 − L, m = mh · 2^k + ml with 0 <= ml < 2^k (so mh < 2^L):
//  - sat32 does nothing (|d · 2^L| <= 255 · 2^22 < 2^30), and SRDHM(s, m) = floor((s·m + 2^30) / 2^31) for m > 0
//    (both nudges of (4a) give that; the saturating case needs s = −2^31). With s = d · 2^L the 2^L divides out:
//    SRDHM = floor((d·m + 2^(k−1)) / 2^k) = d·mh + floor((d·ml + 2^(k−1)) / 2^k)   (d·mh·2^k is a multiple of 2^k).
//    |d·mh| <= 255 · (2^L − 1) < 2^30 and d·ml + 2^(k−1) lies in (−255·2^k, 256·2^k) ⊂ int32 for k <= 23 (L >= 8):
//    two vpmulld, no 64-bit product. The zero point goes into the constants: x·mh + (h − zp·mh), x·ml + (2^(k−1)
//    − zp·ml), all within int32 (|zp · mh| <= 2^29, |zp · ml| <= 2^30).
//  - q = SRDHM has d's sign: d > 0 gives q >= 1, d < 0 gives d·m·2^L + 2^30 < 0, so q <= −1. And |q| <= |d|·2^L
//    (m < 2^31, and rounding to the nearest integer does not pass the integer |d|·2^L).
//  - RDBPOT(q, r) = (q + h − [q < 0]) >> r with h = 2^(r−1), for r > 0 (eq. 4b: write q = Q·2^r + R, 0 <= R < 2^r;
//    (4b) gives Q + [R > h − 1 + [q < 0]], and floor((Q·2^r + R + h − [q < 0]) / 2^r) = Q + [R + h − [q < 0] >= 2^r]
//    as 0 <= R + h − [q < 0] < 2^(r+1); the two conditions are the same). For r = 0 the vectors hold h = 0 and no
//    correction, and (4b) returns q. |q + h − 1| < 255 · 2^22 + 2^30 < 2^31: no overflow. [q < 0] = [x < zp].
//  - An input with m = 2^30, e = 0 (the larger input scale: M = s / (2 · s) = 0.5) has ml = 0 and r = 0: its a' is
//    d·mh, one vpmulld and an add (kind kLinear).
//  Output side, sum = a' + b', |sum| <= 510 · 2^L < 2^31 (RDBPOT does not grow |q| either):
//  - sat32(sum · 2^0) = sum; q_y = SRDHM(sum, m_y) = floor((sum·m_y + 2^30) / 2^31), bits 31..62 of the int64
//    sum·m_y + 2^30 (|·| < 2^62), taken from the even and odd 64-bit lanes of two vpmuldq; |q_y| <= |sum|.
//  - RDBPOT(q_y, r_y) + zp_y = (q_y + h_y + zp_y·2^r_y − [q_y < 0]) >> r_y (above; zp_y·2^r_y is a multiple of
//    2^r_y). Within int32 by the condition: |q_y| + 2^(r_y−1) + 128 · 2^r_y + 1 <= 510 · 2^L + 129 · 2^r_y.
//    [q_y < 0] is q_y >> 31 (logical), with the count 32 (giving 0) when r_y = 0.
//  - The int32 value v = MBQM(sum) + zp_y is exact, so sat32 is a no-op and clamp(v, lo, hi) = clamp(sat8(v), lo,
//    hi) for −128 <= lo <= hi <= 127: vpmovsdb, then a byte min/max unless [lo, hi] = [−128, 127].
#include <immintrin.h>

#include "../requant/requant__avx512vnni.h"
#include "edgebuild/ukernels.h"
#include "edgebuild/ukernels_isa.h"

namespace {

// The per-lane constants of one MBQM(·, m, e) with a scalar m and e, as eb_requant_cols_avx512 holds them.
eb_requant_cols_avx512 mbqm_consts(int32_t m, int32_t e, int32_t lo, int32_t hi, int32_t zp) {
  int32_t mult[16], left[16], right[16];
  for (int i = 0; i < 16; ++i) {
    mult[i] = m;
    left[i] = e > 0 ? e : 0;
    right[i] = e < 0 ? -e : 0;
  }
  return eb_requant_cols_load_avx512(mult, left, right, lo, hi, zp);
}

template <bool kNoSat>
void vadd(const eb_qs8_add_params* p, size_t count, const int8_t* a, const int8_t* b, int8_t* output) {
  const __m512i zp_a = _mm512_set1_epi32(p->a_zero_point), zp_b = _mm512_set1_epi32(p->b_zero_point);
  const __m512i ls = _mm512_set1_epi32(p->left_shift);
  const __m128i ls_count = _mm_cvtsi32_si128(p->left_shift);
  const eb_requant_cols_avx512 ca = mbqm_consts(p->a_multiplier, p->a_shift, 0, 0, 0);
  const eb_requant_cols_avx512 cb = mbqm_consts(p->b_multiplier, p->b_shift, 0, 0, 0);
  const eb_requant_cols_avx512 cy =
      mbqm_consts(p->output_multiplier, p->output_shift, p->output_min - p->output_zero_point,
                  p->output_max - p->output_zero_point, p->output_zero_point);
  for (size_t i = 0; i < count; i += 16) {
    const __mmask16 mask = count - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (count - i)) - 1);
    const __m512i xa = _mm512_sub_epi32(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, a + i)), zp_a);
    const __m512i xb = _mm512_sub_epi32(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, b + i)), zp_b);
    __m512i sum;
    if (kNoSat) {
      const __m512i ra = eb_srdhm_rdbpot_avx512(_mm512_sll_epi32(xa, ls_count), ca.mult, ca.mult_odd, ca.right,
                                                ca.rem_mask, ca.half);
      const __m512i rb = eb_srdhm_rdbpot_avx512(_mm512_sll_epi32(xb, ls_count), cb.mult, cb.mult_odd, cb.right,
                                                cb.rem_mask, cb.half);
      sum = _mm512_add_epi32(ra, rb);
    } else {
      const __m512i ra = eb_mbqm_avx512(eb_satshl_avx512(xa, ls), ca.mult, ca.left, ca.right);
      const __m512i rb = eb_mbqm_avx512(eb_satshl_avx512(xb, ls), cb.mult, cb.left, cb.right);
      sum = eb_satadd_avx512(ra, rb);
    }
    _mm_mask_storeu_epi8(output + i, mask, _mm512_cvtepi32_epi8(eb_requant_apply_avx512(sum, &cy)));
  }
}

// ---- kFast (see the top of the file) ----

// a' of one input: kGeneral (any m, r) or kLinear (m = mh · 2^k exactly and r = 0: a' = d·mh).
enum InputKind { kGeneral, kLinear };

struct FastInput {
  __m512i mh, ml, ch, cl, zp, fix, k, r;  // fix: 1 when r > 0 (the [x < zp] correction), else 0
};

FastInput fast_input(int32_t zp, int32_t m, int32_t e, int32_t left_shift) {
  const int32_t k = 31 - left_shift, r = -e;
  const int32_t mh = m >> k, ml = m & ((1 << k) - 1), h = r > 0 ? 1 << (r - 1) : 0;
  FastInput in;
  in.mh = _mm512_set1_epi32(mh);
  in.ml = _mm512_set1_epi32(ml);
  in.ch = _mm512_set1_epi32(h - zp * mh);
  in.cl = _mm512_set1_epi32((1 << (k - 1)) - zp * ml);
  in.zp = _mm512_set1_epi32(zp);
  in.fix = _mm512_set1_epi32(r > 0 ? 1 : 0);
  in.k = _mm512_set1_epi32(k);
  in.r = _mm512_set1_epi32(r);
  return in;
}

InputKind input_kind(int32_t m, int32_t e, int32_t left_shift) {
  return e == 0 && (m & ((1 << (31 - left_shift)) - 1)) == 0 ? kLinear : kGeneral;
}

template <InputKind kKind>
inline __m512i fast_in(const FastInput& in, __m512i x) {
  const __m512i p = _mm512_add_epi32(_mm512_mullo_epi32(x, in.mh), in.ch);  // d·mh + h
  if (kKind == kLinear) return p;
  const __m512i t = _mm512_add_epi32(_mm512_mullo_epi32(x, in.ml), in.cl);  // d·ml + 2^(k−1)
  __m512i q = _mm512_add_epi32(p, _mm512_srav_epi32(t, in.k));               // SRDHM + h
  q = _mm512_mask_sub_epi32(q, _mm512_cmplt_epi32_mask(x, in.zp), q, in.fix);
  return _mm512_srav_epi32(q, in.r);
}

struct FastOutput {
  __m512i mult, nudge, c, count, r;
  __m128i lo, hi;
};

template <InputKind kA, InputKind kB, bool kFullRange>
inline __m128i fast_add16(const FastInput& ia, const FastInput& ib, const FastOutput& o, __m128i va, __m128i vb) {
  const __m512i sum = _mm512_add_epi32(fast_in<kA>(ia, _mm512_cvtepi8_epi32(va)),
                                       fast_in<kB>(ib, _mm512_cvtepi8_epi32(vb)));
  const __m512i even = _mm512_add_epi64(_mm512_mul_epi32(sum, o.mult), o.nudge);
  const __m512i odd = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(sum, 32), o.mult), o.nudge);
  const __m512i q = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 31), _mm512_slli_epi64(odd, 1));
  const __m512i v = _mm512_sub_epi32(_mm512_add_epi32(q, o.c), _mm512_srlv_epi32(q, o.count));
  __m128i y = _mm512_cvtsepi32_epi8(_mm512_srav_epi32(v, o.r));
  if (!kFullRange) y = _mm_max_epi8(_mm_min_epi8(y, o.hi), o.lo);
  return y;
}

template <InputKind kA, InputKind kB, bool kFullRange>
void vadd_fast(const eb_qs8_add_params* p, size_t count, const int8_t* a, const int8_t* b, int8_t* output) {
  const FastInput ia = fast_input(p->a_zero_point, p->a_multiplier, p->a_shift, p->left_shift);
  const FastInput ib = fast_input(p->b_zero_point, p->b_multiplier, p->b_shift, p->left_shift);
  const int32_t r = -p->output_shift;
  FastOutput o;
  o.mult = _mm512_set1_epi32(p->output_multiplier);
  o.nudge = _mm512_set1_epi64((int64_t)1 << 30);
  o.c = _mm512_set1_epi32((r > 0 ? 1 << (r - 1) : 0) + (int32_t)((uint32_t)p->output_zero_point << r));
  o.count = _mm512_set1_epi32(r > 0 ? 31 : 32);
  o.r = _mm512_set1_epi32(r);
  o.lo = _mm_set1_epi8((char)p->output_min);
  o.hi = _mm_set1_epi8((char)p->output_max);
  size_t i = 0;
  for (; count - i >= 32; i += 32) {
    const __m128i a0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i));
    const __m128i a1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i + 16));
    const __m128i b0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i));
    const __m128i b1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i + 16));
    const __m128i y0 = fast_add16<kA, kB, kFullRange>(ia, ib, o, a0, b0);
    const __m128i y1 = fast_add16<kA, kB, kFullRange>(ia, ib, o, a1, b1);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(output + i), y0);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(output + i + 16), y1);
  }
  for (; i < count; i += 16) {
    const __mmask16 mask = count - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (count - i)) - 1);
    const __m128i y = fast_add16<kA, kB, kFullRange>(ia, ib, o, _mm_maskz_loadu_epi8(mask, a + i),
                                                     _mm_maskz_loadu_epi8(mask, b + i));
    _mm_mask_storeu_epi8(output + i, mask, y);
  }
}

template <InputKind kA, InputKind kB>
void vadd_fast_range(const eb_qs8_add_params* p, size_t count, const int8_t* a, const int8_t* b, int8_t* output) {
  if (p->output_min == -128 && p->output_max == 127) {
    vadd_fast<kA, kB, true>(p, count, a, b, output);
  } else {
    vadd_fast<kA, kB, false>(p, count, a, b, output);
  }
}

bool fast_applies(const eb_qs8_add_params* p) {
  if (p->left_shift < 8 || p->left_shift > 22 || p->a_shift > 0 || p->b_shift > 0 || p->output_shift > 0) return false;
  return (510LL << p->left_shift) + (129LL << -p->output_shift) < ((int64_t)1 << 31);
}
}  // namespace

extern "C" void eb_qs8_vadd_minmax_ukernel__avx512vnni(const eb_qs8_add_params* p, size_t count, const int8_t* a,
                                                       const int8_t* b, int8_t* output) {
  if (fast_applies(p)) {
    const InputKind ka = input_kind(p->a_multiplier, p->a_shift, p->left_shift);
    const InputKind kb = input_kind(p->b_multiplier, p->b_shift, p->left_shift);
    if (ka == kLinear && kb == kLinear) {
      vadd_fast_range<kLinear, kLinear>(p, count, a, b, output);
    } else if (ka == kLinear) {  // a' + b' = b' + a': the linear input second
      eb_qs8_add_params q = *p;
      q.a_zero_point = p->b_zero_point;
      q.a_multiplier = p->b_multiplier;
      q.a_shift = p->b_shift;
      q.b_zero_point = p->a_zero_point;
      q.b_multiplier = p->a_multiplier;
      q.b_shift = p->a_shift;
      vadd_fast_range<kGeneral, kLinear>(&q, count, b, a, output);
    } else if (kb == kLinear) {
      vadd_fast_range<kGeneral, kLinear>(p, count, a, b, output);
    } else {
      vadd_fast_range<kGeneral, kGeneral>(p, count, a, b, output);
    }
  } else if (p->left_shift <= 22 && p->a_shift <= 0 && p->b_shift <= 0) {
    vadd<true>(p, count, a, b, output);
  } else {
    vadd<false>(p, count, a, b, output);
  }
}
