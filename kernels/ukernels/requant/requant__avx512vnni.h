// requant__avx512vnni.h: docs/quantization.md (4a), (4b), (5), (6) on 16 int32 lanes, for the avx512vnni kernels.
// Reference twin: eb_srdhm, eb_rdbpot, eb_mbqm in edgebuild/requant.h, which every lane equals bit for bit.
// Included only by files compiled with the avx512vnni flags (the name decides the flags, STYLE.md).
#ifndef EDGEBUILD_REQUANT_AVX512VNNI_H_
#define EDGEBUILD_REQUANT_AVX512VNNI_H_

#include <immintrin.h>
#include <stdint.h>

// y = clamp(MBQM(acc, mult, e), lo, hi) + zp with left = max(e, 0), right = max(−e, 0), exactly as eb_mbqm:
//  sat32(acc · 2^left): compare against INT32_MAX >> left and INT32_MIN >> left;
//  SRDHM(x, m) for m > 0 (eq. 3 guarantees it) is floor((x·m + 2^30) / 2^31): both nudges of eq. (4a) give that;
//  RDBPOT(x, n) = (x >> n) + (r > t) with r = x & (2^n − 1), t = ((2^n − 1) >> 1) + (x < 0)  (eq. 4b);
//  clamping q to [lo, hi] = [act_min − zp, act_max − zp] before adding zp is eq. (6) without an int64 sum.
// sat32(x · 2^left) for left in [0, 32): lanes beyond INT32_MAX >> left (INT32_MIN >> left) saturate.
static inline __m512i eb_satshl_avx512(__m512i x, __m512i left) {
  const __m512i max_ok = _mm512_srav_epi32(_mm512_set1_epi32(INT32_MAX), left);
  const __m512i min_ok = _mm512_srav_epi32(_mm512_set1_epi32(INT32_MIN), left);
  __m512i y = _mm512_sllv_epi32(x, left);
  y = _mm512_mask_mov_epi32(y, _mm512_cmpgt_epi32_mask(x, max_ok), _mm512_set1_epi32(INT32_MAX));
  return _mm512_mask_mov_epi32(y, _mm512_cmplt_epi32_mask(x, min_ok), _mm512_set1_epi32(INT32_MIN));
}

// SRDHM(x, mult) then RDBPOT(·, right) (eqs. 4a, 4b) with the per-column constants precomputed: mult_odd = mult
// >> 32 in each 64-bit lane, rem_mask = 2^right − 1, half = rem_mask >> 1.
static inline __m512i eb_srdhm_rdbpot_avx512(__m512i x, __m512i mult, __m512i mult_odd, __m512i right, __m512i rem_mask,
                                             __m512i half) {
  const __m512i nudge = _mm512_set1_epi64((int64_t)1 << 30);
  const __m512i even = _mm512_add_epi64(_mm512_mul_epi32(x, mult), nudge);
  const __m512i odd = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), mult_odd), nudge);
  // Bits 31..62 of each 64-bit sum: even lanes by a right shift, odd lanes by a left shift of one.
  __m512i q = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 31), _mm512_slli_epi64(odd, 1));
  const __m512i rem = _mm512_and_si512(q, rem_mask);
  const __m512i threshold = _mm512_sub_epi32(half, _mm512_srai_epi32(q, 31));
  q = _mm512_srav_epi32(q, right);
  return _mm512_mask_add_epi32(q, _mm512_cmpgt_epi32_mask(rem, threshold), q, _mm512_set1_epi32(1));
}

// MBQM(acc, mult, e) of docs/quantization.md (5) with left = max(e, 0), right = max(−e, 0), exactly as eb_mbqm.
static inline __m512i eb_mbqm_avx512(__m512i acc, __m512i mult, __m512i left, __m512i right) {
  const __m512i one = _mm512_set1_epi32(1);
  const __m512i rem_mask = _mm512_sub_epi32(_mm512_sllv_epi32(one, right), one);
  return eb_srdhm_rdbpot_avx512(eb_satshl_avx512(acc, left), mult, _mm512_srli_epi64(mult, 32), right, rem_mask,
                                _mm512_srai_epi32(rem_mask, 1));
}

// clamp(MBQM(acc, m, e), lo, hi) + zp (eqs. 5, 6) for 16 output columns whose constants are loaded once per tile and
// reused for every row. The loads happen before any output store on purpose: an int8 store may alias the packed header,
// so a compiler must otherwise reload and recompute them per row. Most layers have left = 0 in every column (a
// multiplier below 1); the saturating shift is then skipped (sat32(x · 2^0) = x).
typedef struct eb_requant_cols_avx512 {
  __m512i mult, mult_odd, left, right, rem_mask, half, lo, hi, zp;
  int any_left;
} eb_requant_cols_avx512;

static inline eb_requant_cols_avx512 eb_requant_cols_load_avx512(const int32_t* mult, const int32_t* left,
                                                                 const int32_t* right, int32_t lo, int32_t hi,
                                                                 int32_t zp) {
  eb_requant_cols_avx512 c;
  const __m512i one = _mm512_set1_epi32(1);
  c.mult = _mm512_loadu_si512(mult);
  c.mult_odd = _mm512_srli_epi64(c.mult, 32);
  c.left = _mm512_loadu_si512(left);
  c.right = _mm512_loadu_si512(right);
  c.rem_mask = _mm512_sub_epi32(_mm512_sllv_epi32(one, c.right), one);
  c.half = _mm512_srai_epi32(c.rem_mask, 1);
  c.lo = _mm512_set1_epi32(lo);
  c.hi = _mm512_set1_epi32(hi);
  c.zp = _mm512_set1_epi32(zp);
  c.any_left = _mm512_test_epi32_mask(c.left, c.left) != 0;
  return c;
}

static inline __m512i eb_requant_apply_avx512(__m512i acc, const eb_requant_cols_avx512* c) {
  const __m512i x = c->any_left ? eb_satshl_avx512(acc, c->left) : acc;
  const __m512i q = eb_srdhm_rdbpot_avx512(x, c->mult, c->mult_odd, c->right, c->rem_mask, c->half);
  return _mm512_add_epi32(_mm512_max_epi32(_mm512_min_epi32(q, c->hi), c->lo), c->zp);
}

// The same clamp(MBQM(acc, m, e), lo, hi) + zp as one rounding shift per 64-bit lane, for the usual case of 16
// columns that all have left = 0 and right >= 1 (a multiplier below 1/2). As in the rq64 depthwise kernel
// (qs8_dwconv_minmax_4x16__avx512vnni.cc, where the proof is):
//   q = (acc·m + K + (acc < 0 ? −2^31 : 0)) >> s,  s = 31 + right,  K = 2^30 + 2^(30 + right),
// with acc·m < 0 exactly when acc < 0 (m >= 2^30, docs/quantization.md (3)). |acc·m| < 2^62 and s >= 32 give
// |q| < 2^30: q + zp cannot overflow, and a saturating narrow (vpmovsdb) is the clamp to [−128, 127]; a narrower
// activation range adds a max / min. Odd lanes shift by s − 32 so that q lands in their high half; the blend keeps
// it. 15 instructions per 16 outputs against eb_requant_apply_avx512's 19.
typedef struct eb_requant64_cols_avx512 {
  __m512i m_even, m_odd, k_even, k_odd, s_even, s_odd, neg, zp, act_min, act_max;
  int clamp;  // the activation range is narrower than [−128, 127]
} eb_requant64_cols_avx512;

// Fills *c from the per-column mult, left, right (16 each) when every column in `valid` has left = 0 and right >= 1;
// returns 0 (and *c is not to be used) otherwise. Columns outside `valid` give unspecified outputs.
static inline int eb_requant64_cols_load_avx512(const int32_t* mult, const int32_t* left, const int32_t* right,
                                                __mmask16 valid, int32_t lo, int32_t hi, int32_t zp,
                                                eb_requant64_cols_avx512* c) {
  const __m512i l = _mm512_loadu_si512(left), r = _mm512_loadu_si512(right);
  if (_mm512_mask_test_epi32_mask(valid, l, l) != 0) return 0;
  if (_mm512_mask_cmple_epi32_mask(valid, r, _mm512_setzero_si512()) != 0) return 0;
  const __m512i m = _mm512_loadu_si512(mult);
  const __m512i low32 = _mm512_set1_epi64(0xFFFFFFFF);
  const __m512i r_even = _mm512_and_si512(r, low32), r_odd = _mm512_srli_epi64(r, 32);
  const __m512i k30 = _mm512_set1_epi64((int64_t)1 << 30);
  c->m_even = m;  // vpmuldq reads the low half of each 64-bit lane
  c->m_odd = _mm512_srli_epi64(m, 32);
  c->k_even = _mm512_add_epi64(_mm512_sllv_epi64(k30, r_even), k30);
  c->k_odd = _mm512_add_epi64(_mm512_sllv_epi64(k30, r_odd), k30);
  c->s_even = _mm512_add_epi64(r_even, _mm512_set1_epi64(31));
  c->s_odd = _mm512_sub_epi64(r_odd, _mm512_set1_epi64(1));
  c->neg = _mm512_set1_epi64(-((int64_t)1 << 31));
  c->zp = _mm512_set1_epi32(zp);
  c->act_min = _mm512_set1_epi32(lo + zp);
  c->act_max = _mm512_set1_epi32(hi + zp);
  c->clamp = lo + zp > -128 || hi + zp < 127;
  return 1;
}

// q + zp per int32 lane, clamped to the activation range when it is narrower than int8's; narrow with
// _mm512_cvtsepi32_epi8.
static inline __m512i eb_requant64_apply_avx512(__m512i acc, const eb_requant64_cols_avx512* c) {
  __m512i even = _mm512_mul_epi32(acc, c->m_even);
  const __mmask8 neg_even = _mm512_movepi64_mask(even);
  even = _mm512_add_epi64(even, c->k_even);
  even = _mm512_srav_epi64(_mm512_mask_add_epi64(even, neg_even, even, c->neg), c->s_even);
  __m512i odd = _mm512_mul_epi32(_mm512_srli_epi64(acc, 32), c->m_odd);
  const __mmask8 neg_odd = _mm512_movepi64_mask(odd);
  odd = _mm512_add_epi64(odd, c->k_odd);
  odd = _mm512_srav_epi64(_mm512_mask_add_epi64(odd, neg_odd, odd, c->neg), c->s_odd);
  __m512i q = _mm512_add_epi32(_mm512_mask_blend_epi32(0xAAAA, even, odd), c->zp);
  if (c->clamp) q = _mm512_min_epi32(_mm512_max_epi32(q, c->act_min), c->act_max);
  return q;
}

// The same once more, for 16 columns whose rq_u flags (ukernels_isa.h) are set: e <= 0 and |acc| small enough
// that every int32 below is exact. With u = acc + 2^31 as an unsigned dword (0 <= u < 2^32), r = right,
// fix = [r > 0], h = fix·2^(r−1) and c = h + zp·2^r − m − fix (mod 2^32):
//  - vpmuludq(u, 2m) + 2^31 + c·2^32 (mod 2^64) has the high dword floor((u·2m + 2^31) / 2^32) + c
//    = m + floor((acc·m + 2^30) / 2^31) + c = q + h + zp·2^r − fix with q = SRDHM(acc, m) (eq. 4a: m > 0, so both
//    nudges give the floor; u·2m + 2^31 < 2^64);
//  - adding fix·[acc >= 0] (u >> 31; a count of 32 gives 0 when r = 0) leaves v = q + h − fix·[acc < 0] + zp·2^r,
//    and v >> r = RDBPOT(q, r) + zp (eq. 4b as (q + h − [q < 0]) >> r; [acc < 0] stands for [q < 0]: they differ
//    only at q = 0, where both give 0), exact because |q| <= |acc| and the packer's bound keeps
//    |v| <= |acc| + 2^(r−1) + 128·2^r + 1 < 2^31;
//  - the clamp is the saturating narrow, plus a max / min for a narrower activation range.
// 12 instructions per 16 outputs (the one-shift form above: 15): no sign masks and no 64-bit shifts.
typedef struct eb_requantu_cols_avx512 {
  __m512i m2_even, m2_odd, c_even, c_odd, sign_count, right, act_min, act_max;
  int clamp;
} eb_requantu_cols_avx512;

// Fills *c from 16 multipliers m and right shifts r whose columns the packer has proven exact for this form.
static inline void eb_requantu_cols_init_avx512(__m512i m, __m512i r, int32_t lo, int32_t hi, int32_t zp,
                                                eb_requantu_cols_avx512* c) {
  const __m512i one = _mm512_set1_epi32(1);
  const __m512i m2 = _mm512_slli_epi32(m, 1);  // 2m < 2^32: vpmuludq reads it unsigned
  c->m2_even = m2;
  c->m2_odd = _mm512_srli_epi64(m2, 32);
  const __mmask16 fix = _mm512_test_epi32_mask(r, r);
  __m512i cc = _mm512_maskz_sllv_epi32(fix, one, _mm512_sub_epi32(r, one));  // h
  cc = _mm512_add_epi32(cc, _mm512_sllv_epi32(_mm512_set1_epi32(zp), r));
  cc = _mm512_mask_sub_epi32(_mm512_sub_epi32(cc, m), fix, _mm512_sub_epi32(cc, m), one);
  const __m512i half = _mm512_set1_epi64((int64_t)1 << 31);
  c->c_even = _mm512_or_si512(_mm512_slli_epi64(cc, 32), half);
  c->c_odd = _mm512_or_si512(_mm512_and_si512(cc, _mm512_set1_epi64((int64_t)0xFFFFFFFF00000000)), half);
  c->sign_count = _mm512_mask_blend_epi32(fix, _mm512_set1_epi32(32), _mm512_set1_epi32(31));
  c->right = r;
  c->act_min = _mm512_set1_epi32(lo + zp);
  c->act_max = _mm512_set1_epi32(hi + zp);
  c->clamp = lo + zp > -128 || hi + zp < 127;
}

// Fills *c from the per-column mult, right and rq_u (16 each) when every column in `valid` has rq_u set; returns 0
// otherwise.
static inline int eb_requantu_cols_load_avx512(const int32_t* mult, const int32_t* right, const int32_t* rq_u,
                                               __mmask16 valid, int32_t lo, int32_t hi, int32_t zp,
                                               eb_requantu_cols_avx512* c) {
  const __m512i ok = _mm512_loadu_si512(rq_u);
  if (_mm512_mask_cmpeq_epi32_mask(valid, ok, _mm512_setzero_si512()) != 0) return 0;
  eb_requantu_cols_init_avx512(_mm512_loadu_si512(mult), _mm512_loadu_si512(right), lo, hi, zp, c);
  return 1;
}

// RDBPOT(SRDHM(acc, m), r) + zp per int32 lane, clamped when the activation range is narrower than int8's; narrow
// with _mm512_cvtsepi32_epi8.
static inline __m512i eb_requantu_apply_avx512(__m512i acc, const eb_requantu_cols_avx512* c) {
  const __m512i u = _mm512_xor_si512(acc, _mm512_set1_epi32(INT32_MIN));
  const __m512i even = _mm512_add_epi64(_mm512_mul_epu32(u, c->m2_even), c->c_even);
  const __m512i odd = _mm512_add_epi64(_mm512_mul_epu32(_mm512_srli_epi64(u, 32), c->m2_odd), c->c_odd);
  // High dwords: odd lanes' are in place, even lanes' come down from the pair's upper half.
  __m512i v = _mm512_mask_shuffle_epi32(odd, 0x5555, even, _MM_PERM_CDAB);
  v = _mm512_srav_epi32(_mm512_add_epi32(v, _mm512_srlv_epi32(u, c->sign_count)), c->right);
  if (c->clamp) v = _mm512_min_epi32(_mm512_max_epi32(v, c->act_min), c->act_max);
  return v;
}

// sat32(a + b): on overflow (a, b of one sign, the wrapped sum of the other) the bound of a's sign.
static inline __m512i eb_satadd_avx512(__m512i a, __m512i b) {
  const __m512i s = _mm512_add_epi32(a, b);
  const __mmask16 ov = _mm512_movepi32_mask(_mm512_and_si512(_mm512_xor_si512(a, s), _mm512_xor_si512(b, s)));
  const __m512i bound = _mm512_xor_si512(_mm512_srai_epi32(a, 31), _mm512_set1_epi32(INT32_MAX));
  return _mm512_mask_mov_epi32(s, ov, bound);
}

// acc + dot4(x, w) per lane (vpdpbusd: x unsigned, w signed). GCC 12 compiles the intrinsic in a loop with a
// register copy of every accumulator per iteration (and spills when there are 16); the asm form updates the
// accumulator in place. Shared here because every avx512vnni GEMM-like kernel includes this header.
static inline __m512i eb_dpbusd_avx512(__m512i acc, __m512i x, __m512i w) {
#if defined(__GNUC__) && !defined(__clang__)
  __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(x), "v"(w));
  return acc;
#else
  return _mm512_dpbusd_epi32(acc, x, w);
#endif
}

#endif  // EDGEBUILD_REQUANT_AVX512VNNI_H_
