// qs8_vadd_minmax__avx512vnni.cc: int8 elementwise ADD for AVX-512 cores (Skylake-X+, Zen 4+), 16 lanes per zmm.
// Reference twin: eb_qs8_vadd_ref (qs8-vadd/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc).
//
// Exactly eb_qs8_vadd_ref (docs/quantization.md (7)) lane by lane, for any loader-valid parameters. ResNet-18 adds
// 3136×64-element tensors; every ADD the lowering emits takes the kFast loop below, whose arithmetic is specialised
// to its parameters (~21 zmm instructions per 16 outputs instead of ~56). Other parameters keep two general loops:
// kNoSat (the three MBQMs with 64-bit products, the sat32s of the input side dropped: left_shift <= 22 and input
// exponents <= 0 mean |a − zp_a| · 2^left_shift <= 255 · 2^22 < 2^30, and an MBQM with e <= 0 does not grow its
// input, so |a' + b'| <= 510 · 2^22 < 2^31) and the general one (every sat32 of the reference spelled out). Part of
// the avx512vnni path (needs AVX-512 BW/DQ, which every VNNI core has).
//
// kFast, for 8 <= L = left_shift <= 22, exponents e_a, e_b, e_y <= 0 (r = −e >= 0, h = 2^(r−1) or 0 for r = 0,
// fix = [r > 0]) and 510 · 2^L + 129 · 2^r_y < 2^31 (L = 20: r_y <= 23; the lowering emits L = 20, r_y ~ 19).
// Why it is exact:
//  Input side, d = x − zp in [−255, 255], k = 31 − L, m = mh · 2^k + ml with 0 <= ml < 2^k (so mh < 2^L):
//  - sat32 does nothing (|d · 2^L| <= 255 · 2^22 < 2^30), and SRDHM(s, m) = floor((s·m + 2^30) / 2^31) for m > 0
//    (both nudges of (4a) give that; the saturating case needs s = −2^31). With s = d · 2^L the 2^L divides out:
//    SRDHM = floor((d·m + 2^(k−1)) / 2^k) = d·mh + floor((d·ml + 2^(k−1)) / 2^k)   (d·mh·2^k is a multiple of 2^k).
//    |d·mh| <= 255 · (2^L − 1) < 2^30 and d·ml + 2^(k−1) lies in (−255·2^k, 256·2^k) ⊂ int32 for k <= 23 (L >= 8):
//    two 32-bit products, no 64-bit one. The zero point goes into the constants: x·mh + (h − zp·mh), x·ml +
//    (2^(k−1) − zp·ml), all within int32 (|zp · mh| <= 2^29, |zp · ml| <= 2^30). The sums of 32-bit products and
//    constants are exact mod 2^32, so only the values that are shifted need to lie within int32.
//  - q = SRDHM has d's sign: d > 0 gives q >= 1, d < 0 gives d·m·2^L + 2^30 < 0, so q <= −1. And |q| <= |d|·2^L
//    (m < 2^31, and rounding to the nearest integer does not pass the integer |d|·2^L).
//  - RDBPOT(q, r) = (q + h − [q < 0]) >> r for r > 0 (eq. 4b: write q = Q·2^r + R, 0 <= R < 2^r; (4b) gives
//    Q + [R > h − 1 + [q < 0]], and floor((Q·2^r + R + h − [q < 0]) / 2^r) = Q + [R + h − [q < 0] >= 2^r] as
//    0 <= R + h − [q < 0] < 2^(r+1); the two conditions are the same). For r = 0, h = fix = 0 and (4b) returns q.
//    |q + h − 1| < 255 · 2^22 + 2^30 < 2^31: no overflow. [q < 0] = [d < 0].
//  - kGeneral: vpmulld for both products, [d < 0] from a compare, two shifts.
//  - kWords (k + r <= 15; L = 20 with r <= 4, every ADD of the lowering): with A = d·m + 2^(k−1) and the integer
//    n = h − fix·[d < 0], RDBPOT(SRDHM) = floor((floor(A / 2^k) + n) / 2^r) = floor((A + n·2^k) / 2^(k+r)), so m is
//    split at 2^(k+r) instead (mh, ml for that split): a' = d·mh + floor((d·ml + 2^(k−1) + n·2^k) / 2^(k+r)), one
//    shift. The low part is one vpdpwssd of the int16 pair (ml, fix · 2^k) (ml < 2^15, 2^k <= 2^14) against d as an
//    int32, whose high int16 is −[d < 0] (sign extension of |d| <= 255), onto 2^(k−1) + h·2^k: within
//    (−257 · 2^15, 257 · 2^15).
//  - kLinear: m = 2^30, e = 0 (the larger input scale: M = s / (2 · s) = 0.5) has ml = 0 and r = 0: a' = d·mh.
//  Output side, sum = a' + b', |sum| <= 510 · 2^L < 2^31 (RDBPOT does not grow |q| either):
//  - u = sum + 2^31 as an unsigned dword (0 < u < 2^32; a kLinear b carries the 2^31 in its constant, int32 adds
//    are exact mod 2^32). vpmuludq of u and 2·m_y (< 2^32) plus 2^31 + c · 2^32 (mod 2^64) has the high dword
//    floor((u·2m_y + 2^31) / 2^32) + c = m_y + floor((sum·m_y + 2^30) / 2^31) + c = m_y + SRDHM(sum, m_y) + c
//    (sat32(sum · 2^0) = sum; u·2m_y + 2^31 < 2^64), even lanes from the low dwords of u, odd ones shifted down.
//  - c = h_y + zp_y·2^r_y − m_y − fix_y, and adding fix_y · [sum >= 0] (u >> 31, logical; count 32 gives 0 when
//    r_y = 0) leaves v = q_y + h_y + zp_y·2^r_y − fix_y·[sum < 0]. [sum < 0] may stand for [q_y < 0]: sum >= 0
//    gives q_y >= 0, sum < 0 gives sum·m_y <= −2^30 and q_y <= 0, and at q_y = 0 both give (h_y − fix_y) >> r_y = 0.
//    |v| <= 510 · 2^L + 2^(r_y−1) + 128 · 2^r_y + 1 < 2^31 by the condition, so the dword is v itself, and
//    v >> r_y (arithmetic) = RDBPOT(q_y, r_y) + zp_y (above; zp_y·2^r_y is a multiple of 2^r_y).
//  - That value is exact, so sat32 is a no-op and clamp(v', lo, hi) = clamp(sat8(v'), lo, hi) for
//    −128 <= lo <= hi <= 127: vpmovsdb, then a byte min/max unless [lo, hi] = [−128, 127].
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
void vadd(const eb_qs8_vadd_params* p, size_t count, const int8_t* a, const int8_t* b, int8_t* output) {
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
      const __m512i ra =
          eb_srdhm_rdbpot_avx512(_mm512_sll_epi32(xa, ls_count), ca.mult, ca.mult_odd, ca.right, ca.rem_mask, ca.half);
      const __m512i rb =
          eb_srdhm_rdbpot_avx512(_mm512_sll_epi32(xb, ls_count), cb.mult, cb.mult_odd, cb.right, cb.rem_mask, cb.half);
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

// a' of one input: kLinear (m = mh · 2^k exactly and r = 0: a' = d·mh), kWords (k + r <= 15: one vpdpwssd and one
// shift), kGeneral (any other m, r). Kinds are ordered by cost: the dispatch puts the costlier input first.
enum InputKind { kGeneral, kWords, kLinear };

struct FastInput {
  __m512i mh, ml, ch, cl, zp, fix, k, r;
};

InputKind input_kind(int32_t m, int32_t e, int32_t left_shift) {
  const int32_t k = 31 - left_shift;
  if (e == 0 && (m & ((1 << k) - 1)) == 0) return kLinear;
  return k - e <= 15 ? kWords : kGeneral;
}

FastInput fast_input(InputKind kind, int32_t zp, int32_t m, int32_t e, int32_t left_shift) {
  const int32_t k = 31 - left_shift, r = -e, fix = r > 0 ? 1 : 0, h = r > 0 ? 1 << (r - 1) : 0;
  FastInput in;
  if (kind == kWords) {  // m split at 2^(k+r); int16 pair (ml, fix · 2^k) against d and its sign extension
    const int32_t mh = m >> (k + r), ml = m & ((1 << (k + r)) - 1);
    in.mh = _mm512_set1_epi32(mh);
    in.ch = _mm512_set1_epi32(-zp * mh);
    in.ml = _mm512_set1_epi32(ml | (fix << k) << 16);
    in.cl = _mm512_set1_epi32((1 << (k - 1)) + (h << k));
    in.k = _mm512_set1_epi32(k + r);
  } else {
    const int32_t mh = m >> k, ml = m & ((1 << k) - 1);
    in.mh = _mm512_set1_epi32(mh);
    in.ch = _mm512_set1_epi32(h - zp * mh);
    in.ml = _mm512_set1_epi32(ml);
    in.cl = _mm512_set1_epi32((1 << (k - 1)) - zp * ml);
    in.k = _mm512_set1_epi32(k);
  }
  in.zp = _mm512_set1_epi32(zp);
  in.fix = _mm512_set1_epi32(fix);
  in.r = _mm512_set1_epi32(r);
  return in;
}

template <InputKind kKind>
inline __m512i fast_in(const FastInput& in, __m512i x) {
  const __m512i p = _mm512_add_epi32(_mm512_mullo_epi32(x, in.mh), in.ch);  // d·mh (+ h unless kWords)
  if (kKind == kLinear) return p;
  if (kKind == kWords) {  // d·ml + 2^(k−1) + (h − fix · [d < 0]) · 2^k, shifted by k + r
    const __m512i t = _mm512_dpwssd_epi32(in.cl, _mm512_sub_epi32(x, in.zp), in.ml);
    return _mm512_add_epi32(p, _mm512_srav_epi32(t, in.k));
  }
  const __m512i t = _mm512_add_epi32(_mm512_mullo_epi32(x, in.ml), in.cl);  // d·ml + 2^(k−1)
  __m512i q = _mm512_add_epi32(p, _mm512_srav_epi32(t, in.k));              // SRDHM + h
  q = _mm512_mask_sub_epi32(q, _mm512_cmplt_epi32_mask(x, in.zp), q, in.fix);
  return _mm512_srav_epi32(q, in.r);
}

struct FastOutput {
  __m512i mult2, nudge, bias, count, r;
};

// u = a' + b' + 2^31 (mod 2^32: sum as an unsigned number), kLinear inputs carry the 2^31 in their constant.
template <InputKind kA, InputKind kB>
inline __m512i fast_add16(const FastInput& ia, const FastInput& ib, const FastOutput& o, __m128i va, __m128i vb) {
  __m512i u = _mm512_add_epi32(fast_in<kA>(ia, _mm512_cvtepi8_epi32(va)), fast_in<kB>(ib, _mm512_cvtepi8_epi32(vb)));
  if (kB != kLinear) u = _mm512_add_epi32(u, o.bias);
  // High dwords of u·2m_y + 2^31 (unsigned 64-bit) = m_y + SRDHM(sum, m_y); even lanes moved down, odd in place.
  const __m512i even = _mm512_add_epi64(_mm512_mul_epu32(u, o.mult2), o.nudge);
  const __m512i odd = _mm512_add_epi64(_mm512_mul_epu32(_mm512_srli_epi64(u, 32), o.mult2), o.nudge);
  const __m512i q = _mm512_mask_shuffle_epi32(odd, 0x5555, even, _MM_PERM_DDBB);
  const __m512i v = _mm512_add_epi32(q, _mm512_srlv_epi32(u, o.count));
  return _mm512_srav_epi32(v, o.r);
}

template <InputKind kA, InputKind kB, bool kFullRange>
void vadd_fast(const eb_qs8_vadd_params* p, size_t count, const int8_t* a, const int8_t* b, int8_t* output) {
  const FastInput ia = fast_input(kA, p->a_zero_point, p->a_multiplier, p->a_shift, p->left_shift);
  FastInput ib = fast_input(kB, p->b_zero_point, p->b_multiplier, p->b_shift, p->left_shift);
  const uint32_t sign = 0x80000000u, m = (uint32_t)p->output_multiplier;
  if (kB == kLinear) ib.ch = _mm512_add_epi32(ib.ch, _mm512_set1_epi32((int32_t)sign));
  const int32_t r = -p->output_shift;
  const uint32_t h = r > 0 ? 1u << (r - 1) : 0u, fix = r > 0 ? 1u : 0u;
  FastOutput o;
  o.mult2 = _mm512_set1_epi32((int32_t)(2 * m));
  const uint32_t c = h + ((uint32_t)p->output_zero_point << r) - m - fix;
  o.nudge = _mm512_set1_epi64((int64_t)(((uint64_t)c << 32) + (1u << 31)));
  o.bias = _mm512_set1_epi32((int32_t)sign);
  o.count = _mm512_set1_epi32(r > 0 ? 31 : 32);
  o.r = _mm512_set1_epi32(r);
  const __m128i lo = _mm_set1_epi8((char)p->output_min), hi = _mm_set1_epi8((char)p->output_max);
  size_t i = 0;
  for (; count - i >= 32; i += 32) {  // two independent chains
    const __m512i y0 = fast_add16<kA, kB>(ia, ib, o, _mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i)),
                                          _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i)));
    const __m512i y1 = fast_add16<kA, kB>(ia, ib, o, _mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i + 16)),
                                          _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i + 16)));
    __m128i b0 = _mm512_cvtsepi32_epi8(y0), b1 = _mm512_cvtsepi32_epi8(y1);
    if (!kFullRange) {
      b0 = _mm_max_epi8(_mm_min_epi8(b0, hi), lo);
      b1 = _mm_max_epi8(_mm_min_epi8(b1, hi), lo);
    }
    _mm_storeu_si128(reinterpret_cast<__m128i*>(output + i), b0);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(output + i + 16), b1);
  }
  for (; i < count; i += 16) {
    const __mmask16 mask = count - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (count - i)) - 1);
    __m128i y = _mm512_cvtsepi32_epi8(
        fast_add16<kA, kB>(ia, ib, o, _mm_maskz_loadu_epi8(mask, a + i), _mm_maskz_loadu_epi8(mask, b + i)));
    if (!kFullRange) y = _mm_max_epi8(_mm_min_epi8(y, hi), lo);
    _mm_mask_storeu_epi8(output + i, mask, y);
  }
}

template <InputKind kA, InputKind kB>
void vadd_fast_range(const eb_qs8_vadd_params* p, size_t count, const int8_t* a, const int8_t* b, int8_t* output) {
  if (p->output_min == -128 && p->output_max == 127) {
    vadd_fast<kA, kB, true>(p, count, a, b, output);
  } else {
    vadd_fast<kA, kB, false>(p, count, a, b, output);
  }
}

// ka <= kb (the caller swaps the inputs otherwise).
void vadd_fast_kinds(InputKind ka, InputKind kb, const eb_qs8_vadd_params* p, size_t count, const int8_t* a,
                     const int8_t* b, int8_t* output) {
  if (ka == kLinear) return vadd_fast_range<kLinear, kLinear>(p, count, a, b, output);
  if (ka == kWords) {
    return kb == kLinear ? vadd_fast_range<kWords, kLinear>(p, count, a, b, output)
                         : vadd_fast_range<kWords, kWords>(p, count, a, b, output);
  }
  if (kb == kLinear) return vadd_fast_range<kGeneral, kLinear>(p, count, a, b, output);
  return kb == kWords ? vadd_fast_range<kGeneral, kWords>(p, count, a, b, output)
                      : vadd_fast_range<kGeneral, kGeneral>(p, count, a, b, output);
}

bool fast_applies(const eb_qs8_vadd_params* p) {
  if (p->left_shift < 8 || p->left_shift > 22 || p->a_shift > 0 || p->b_shift > 0 || p->output_shift > 0) return false;
  return (510LL << p->left_shift) + (129LL << -p->output_shift) < ((int64_t)1 << 31);
}
}  // namespace

extern "C" void eb_qs8_vadd_minmax_ukernel__avx512vnni(const eb_qs8_vadd_params* p, size_t count, const int8_t* a,
                                                       const int8_t* b, int8_t* output) {
  if (fast_applies(p)) {
    const InputKind ka = input_kind(p->a_multiplier, p->a_shift, p->left_shift);
    const InputKind kb = input_kind(p->b_multiplier, p->b_shift, p->left_shift);
    if (ka > kb) {  // a' + b' = b' + a': the costlier input first
      eb_qs8_vadd_params q = *p;
      q.a_zero_point = p->b_zero_point;
      q.a_multiplier = p->b_multiplier;
      q.a_shift = p->b_shift;
      q.b_zero_point = p->a_zero_point;
      q.b_multiplier = p->a_multiplier;
      q.b_shift = p->a_shift;
      return vadd_fast_kinds(kb, ka, &q, count, b, a, output);
    }
    vadd_fast_kinds(ka, kb, p, count, a, b, output);
  } else if (p->left_shift <= 22 && p->a_shift <= 0 && p->b_shift <= 0) {
    vadd<true>(p, count, a, b, output);
  } else {
    vadd<false>(p, count, a, b, output);
  }
}
