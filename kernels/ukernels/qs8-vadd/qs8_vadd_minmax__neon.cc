// qs8_vadd_minmax__neon.cc: int8 elementwise ADD for NEON cores (armv7 and armv8, every ARM path).
// Reference twin: eb_qs8_vadd_ref (qs8-vadd/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc).
//
// Exactly eb_qs8_vadd_ref (docs/quantization.md (7)) lane by lane, for any loader-valid parameters. Every ADD the
// lowering emits (left_shift L = 20; the input with the larger scale has M = 0.5, i.e. m = 2^30, e = 0; the other
// e <= −1; the output e_y <= −1) takes the kFast loop, 16 lanes a step in ~50 instructions; other parameters take the
// general loop (the three MBQMs with every sat32 spelled out, 8 lanes a step).
//
// kFast, for 1 <= L <= 21, input a "linear" (m_a = 2^30, e_a = 0), input b linear or with e_b <= −1, e_y <= −1, and
// the bound below on |y|. d = x − zp in [−255, 255] (vsubl_s8: exact in int16). Why it is exact:
//  - sat32 does nothing on the input side: |d · 2^L| <= 255 · 2^21 < 2^31.
//  - Linear input: a' = SRDHM(d · 2^L, 2^30) = floor((d · 2^L · 2^30 + 2^30) / 2^31) = d · 2^(L−1) (RDBPOT by 0 is
//    the identity), formed as (d · 2^pa) · 2^(L−1−pa) with pa = max(L − 15, 0): |d · 2^pa| <= 255 · 64 fits int16,
//    2^(L−1−pa) <= 2^14 too, so one vmlal_s16 / vmull_s16 adds it in int32.
//  - Other input (r = −e_b >= 1): d · 2^L as vmull_s16 of d · 2^pb (pb = max(L − 14, 0), <= 255 · 128) and
//    2^(L−pb) <= 2^14; vqrdmulhq_s32 is SRDHM (4a) exactly (requant__neon.h); RDBPOT (4b) by r >= 1 is
//    vrshlq_s32(q − [q < 0], −r) (qs8_dwconv_minmax_2x16__neon.cc says why; q >= −2^31 + 1 as m <= 2^31 − 1).
//  - sum = a' + b': |a'| <= 255 · 2^(L−1) and an MBQM with e <= 0 does not grow its input (|b'| <= 255 · 2^L), so
//    |sum| < 2^31: the reference's sat32 does nothing and the int32 sum is exact. Both linear: sum = (d_a + d_b) ·
//    2^(L−1), with |d_a + d_b| · 2^pa <= 510 · 64 in int16.
//  - Output: u = SRDHM(sum, m_y) (e_y <= 0: no left shift), y = RDBPOT(u, r_y) as above. The caller checks
//    |y| + 128 <= 32767 from the bound on |sum| (fast_applies), so the low halves of the int32 lanes (uzp1 / vmovn)
//    are y exactly and y + zp_y is exact in int16; then sat8 and the clamp: clamp(y + zp_y, lo, hi) for
//    −128 <= lo <= hi <= 127, as the reference's eb_clamp_s8(eb_sat32(y + zp_y)).
#include <arm_neon.h>
#include <string.h>

#include "../requant/requant__neon.h"
#include "edgebuild/ukernels.h"
#include "edgebuild/ukernels_isa.h"

namespace {

#if defined(__aarch64__)
inline int16x8_t subl_hi(int8x16_t x, int8x16_t zp) { return vsubl_high_s8(x, zp); }
inline int16x8_t addl_hi(int8x16_t x, int8x16_t y) { return vaddl_high_s8(x, y); }
inline int32x4_t mull_hi(int16x8_t x, int16x4_t c) { return vmull_high_s16(x, vcombine_s16(c, c)); }
inline int32x4_t mlal_hi(int32x4_t a, int16x8_t x, int16x4_t c) { return vmlal_high_s16(a, x, vcombine_s16(c, c)); }
inline int16x8_t low_halves(int32x4_t a, int32x4_t b) {
  return vuzp1q_s16(vreinterpretq_s16_s32(a), vreinterpretq_s16_s32(b));
}
#else
inline int16x8_t subl_hi(int8x16_t x, int8x16_t zp) { return vsubl_s8(vget_high_s8(x), vget_high_s8(zp)); }
inline int16x8_t addl_hi(int8x16_t x, int8x16_t y) { return vaddl_s8(vget_high_s8(x), vget_high_s8(y)); }
inline int32x4_t mull_hi(int16x8_t x, int16x4_t c) { return vmull_s16(vget_high_s16(x), c); }
inline int32x4_t mlal_hi(int32x4_t a, int16x8_t x, int16x4_t c) { return vmlal_s16(a, vget_high_s16(x), c); }
inline int16x8_t low_halves(int32x4_t a, int32x4_t b) { return vcombine_s16(vmovn_s32(a), vmovn_s32(b)); }
#endif

// RDBPOT(SRDHM(x, m), r) for r >= 1 (the top of the file); neg_r = −r.
inline int32x4_t srdhm_rdbpot(int32x4_t x, int32x4_t m, int32x4_t neg_r) {
  const int32x4_t q = vqrdmulhq_s32(x, m);
  return vrshlq_s32(vsraq_n_s32(q, q, 31), neg_r);
}

struct Fast {
  int8x16_t zp_a, zp_b, lo, hi;
  int16x8_t pre_a, pre_b, zp_y, zp_ab;
  int16x4_t c_a, c_b;
  int32x4_t m_b, nr_b, m_y, nr_y;
};

// Sixteen outputs of the kFast loop (kLinB: both inputs linear).
template <bool kLinB, bool kClamp>
inline int8x16_t fast16(const Fast& f, int8x16_t va, int8x16_t vb) {
  int32x4_t sum[4];
  if (kLinB) {  // (d_a + d_b) · 2^(L−1)
    const int16x8_t s0 = vshlq_s16(vsubq_s16(vaddl_s8(vget_low_s8(va), vget_low_s8(vb)), f.zp_ab), f.pre_a);
    const int16x8_t s1 = vshlq_s16(vsubq_s16(addl_hi(va, vb), f.zp_ab), f.pre_a);
    sum[0] = vmull_s16(vget_low_s16(s0), f.c_a);
    sum[1] = mull_hi(s0, f.c_a);
    sum[2] = vmull_s16(vget_low_s16(s1), f.c_a);
    sum[3] = mull_hi(s1, f.c_a);
  } else {
    const int16x8_t a0 = vshlq_s16(vsubl_s8(vget_low_s8(va), vget_low_s8(f.zp_a)), f.pre_a);
    const int16x8_t a1 = vshlq_s16(subl_hi(va, f.zp_a), f.pre_a);
    const int16x8_t b0 = vshlq_s16(vsubl_s8(vget_low_s8(vb), vget_low_s8(f.zp_b)), f.pre_b);
    const int16x8_t b1 = vshlq_s16(subl_hi(vb, f.zp_b), f.pre_b);
    sum[0] = vmlal_s16(srdhm_rdbpot(vmull_s16(vget_low_s16(b0), f.c_b), f.m_b, f.nr_b), vget_low_s16(a0), f.c_a);
    sum[1] = mlal_hi(srdhm_rdbpot(mull_hi(b0, f.c_b), f.m_b, f.nr_b), a0, f.c_a);
    sum[2] = vmlal_s16(srdhm_rdbpot(vmull_s16(vget_low_s16(b1), f.c_b), f.m_b, f.nr_b), vget_low_s16(a1), f.c_a);
    sum[3] = mlal_hi(srdhm_rdbpot(mull_hi(b1, f.c_b), f.m_b, f.nr_b), a1, f.c_a);
  }
  const int16x8_t y0 =
      vaddq_s16(low_halves(srdhm_rdbpot(sum[0], f.m_y, f.nr_y), srdhm_rdbpot(sum[1], f.m_y, f.nr_y)), f.zp_y);
  const int16x8_t y1 =
      vaddq_s16(low_halves(srdhm_rdbpot(sum[2], f.m_y, f.nr_y), srdhm_rdbpot(sum[3], f.m_y, f.nr_y)), f.zp_y);
  int8x16_t y = vcombine_s8(vqmovn_s16(y0), vqmovn_s16(y1));
  if (kClamp) y = vminq_s8(vmaxq_s8(y, f.lo), f.hi);
  return y;
}

template <bool kLinB, bool kClamp>
void vadd_fast(const eb_qs8_vadd_params* p, size_t count, const int8_t* a, const int8_t* b, int8_t* output) {
  const int32_t L = p->left_shift, pa = L > 15 ? L - 15 : 0, pb = L > 14 ? L - 14 : 0;
  Fast f;
  f.zp_a = vdupq_n_s8((int8_t)p->a_zero_point);
  f.zp_b = vdupq_n_s8((int8_t)p->b_zero_point);
  f.zp_ab = vdupq_n_s16((int16_t)(p->a_zero_point + p->b_zero_point));
  f.lo = vdupq_n_s8((int8_t)p->output_min);
  f.hi = vdupq_n_s8((int8_t)p->output_max);
  f.pre_a = vdupq_n_s16((int16_t)pa);
  f.pre_b = vdupq_n_s16((int16_t)pb);
  f.zp_y = vdupq_n_s16((int16_t)p->output_zero_point);
  f.c_a = vdup_n_s16((int16_t)(1 << (L - 1 - pa)));
  f.c_b = vdup_n_s16((int16_t)(1 << (L - pb)));
  f.m_b = vdupq_n_s32(p->b_multiplier);
  f.nr_b = vdupq_n_s32(p->b_shift);  // e_b = −r_b
  f.m_y = vdupq_n_s32(p->output_multiplier);
  f.nr_y = vdupq_n_s32(p->output_shift);
  size_t i = 0;
  for (; count - i >= 32; i += 32) {  // two independent chains (in-order cores wait on each one's latency)
    const int8x16_t y0 = fast16<kLinB, kClamp>(f, vld1q_s8(a + i), vld1q_s8(b + i));
    const int8x16_t y1 = fast16<kLinB, kClamp>(f, vld1q_s8(a + i + 16), vld1q_s8(b + i + 16));
    vst1q_s8(output + i, y0);
    vst1q_s8(output + i + 16, y1);
  }
  for (; count - i >= 16; i += 16) vst1q_s8(output + i, fast16<kLinB, kClamp>(f, vld1q_s8(a + i), vld1q_s8(b + i)));
  if (i < count) {  // the tail through a 16-byte stack copy
    int8_t ta[16] = {0}, tb[16] = {0}, ty[16];
    memcpy(ta, a + i, count - i);
    memcpy(tb, b + i, count - i);
    vst1q_s8(ty, fast16<kLinB, kClamp>(f, vld1q_s8(ta), vld1q_s8(tb)));
    memcpy(output + i, ty, count - i);
  }
}

bool linear(int32_t m, int32_t e) { return m == (1 << 30) && e == 0; }

// The kFast conditions of the top of the file, with a linear (a linear or with e_b <= −1).
bool fast_applies(const eb_qs8_vadd_params* p) {
  const int32_t L = p->left_shift;
  if (L < 1 || L > 21 || p->output_shift > -1 || !linear(p->a_multiplier, p->a_shift)) return false;
  if (!linear(p->b_multiplier, p->b_shift) && p->b_shift > -1) return false;
  // |sum| <= 255 · 2^(L−1) + 255 · 2^L; |u| <= |sum| · m_y / 2^31 + 1; |y| <= |u| / 2^r_y + 1.
  const uint64_t sum = (uint64_t)255 * 3 << (L - 1);
  const uint64_t u = (sum * (uint64_t)(uint32_t)p->output_multiplier >> 31) + 1;
  return (u >> -p->output_shift) + 1 + 128 <= 32767;
}

// The general loop: every parameter the loader accepts, 8 lanes a step.
void vadd_general(const eb_qs8_vadd_params* p, size_t count, const int8_t* a, const int8_t* b, int8_t* output) {
  const int16x8_t zp_a = vdupq_n_s16((int16_t)p->a_zero_point), zp_b = vdupq_n_s16((int16_t)p->b_zero_point);
  const int32x4_t ls = vdupq_n_s32(p->left_shift);
  const int32x4_t m_a = vdupq_n_s32(p->a_multiplier), m_b = vdupq_n_s32(p->b_multiplier);
  const int32x4_t m_y = vdupq_n_s32(p->output_multiplier);
  const int32x4_t l_a = vdupq_n_s32(p->a_shift > 0 ? p->a_shift : 0);
  const int32x4_t r_a = vdupq_n_s32(p->a_shift < 0 ? -p->a_shift : 0);
  const int32x4_t l_b = vdupq_n_s32(p->b_shift > 0 ? p->b_shift : 0);
  const int32x4_t r_b = vdupq_n_s32(p->b_shift < 0 ? -p->b_shift : 0);
  const int32x4_t l_y = vdupq_n_s32(p->output_shift > 0 ? p->output_shift : 0);
  const int32x4_t r_y = vdupq_n_s32(p->output_shift < 0 ? -p->output_shift : 0);
  const int32x4_t zp_y = vdupq_n_s32(p->output_zero_point);
  const int32x4_t lo = vdupq_n_s32(p->output_min - p->output_zero_point);
  const int32x4_t hi = vdupq_n_s32(p->output_max - p->output_zero_point);
  for (size_t i = 0; i < count; i += 8) {
    const size_t n = count - i < 8 ? count - i : 8;
    int8x8_t va, vb;
    if (n == 8) {
      va = vld1_s8(a + i);
      vb = vld1_s8(b + i);
    } else {
      int8_t ta[8] = {0}, tb[8] = {0};
      memcpy(ta, a + i, n);
      memcpy(tb, b + i, n);
      va = vld1_s8(ta);
      vb = vld1_s8(tb);
    }
    // q − zp fits int16 (|.| <= 255); widen to int32 before the saturating shift. vqshlq_s32 is the reference's
    // sat32(x · 2^left_shift), vqaddq_s32 its sat32(a' + b'), and eb_mbqm_neon its MBQM.
    const int16x8_t xa = vsubq_s16(vmovl_s8(va), zp_a), xb = vsubq_s16(vmovl_s8(vb), zp_b);
    int32x4_t y[2];
    for (int h = 0; h < 2; ++h) {
      const int32x4_t wa = vmovl_s16(h ? vget_high_s16(xa) : vget_low_s16(xa));
      const int32x4_t wb = vmovl_s16(h ? vget_high_s16(xb) : vget_low_s16(xb));
      const int32x4_t ra = eb_mbqm_neon(vqshlq_s32(wa, ls), m_a, l_a, r_a);
      const int32x4_t rb = eb_mbqm_neon(vqshlq_s32(wb, ls), m_b, l_b, r_b);
      y[h] = eb_requant_neon(vqaddq_s32(ra, rb), m_y, l_y, r_y, lo, hi, zp_y);
    }
    const int8x8_t bytes = eb_narrow8_neon(y[0], y[1]);
    if (n == 8) {
      vst1_s8(output + i, bytes);
    } else {
      int8_t t[8];
      vst1_s8(t, bytes);
      memcpy(output + i, t, n);
    }
  }
}

template <bool kLinB>
void vadd_fast_range(const eb_qs8_vadd_params* p, size_t count, const int8_t* a, const int8_t* b, int8_t* output) {
  if (p->output_min == -128 && p->output_max == 127) return vadd_fast<kLinB, false>(p, count, a, b, output);
  vadd_fast<kLinB, true>(p, count, a, b, output);
}
}  // namespace

extern "C" void eb_qs8_vadd_minmax_ukernel__neon(const eb_qs8_vadd_params* p, size_t count, const int8_t* a,
                                                 const int8_t* b, int8_t* output) {
  if (!linear(p->a_multiplier, p->a_shift) && linear(p->b_multiplier, p->b_shift)) {
    eb_qs8_vadd_params q = *p;  // a' + b' = b' + a': the linear input first
    q.a_zero_point = p->b_zero_point;
    q.a_multiplier = p->b_multiplier;
    q.a_shift = p->b_shift;
    q.b_zero_point = p->a_zero_point;
    q.b_multiplier = p->a_multiplier;
    q.b_shift = p->a_shift;
    if (fast_applies(&q)) return vadd_fast_range<false>(&q, count, b, a, output);
  } else if (fast_applies(p)) {
    if (linear(p->b_multiplier, p->b_shift)) return vadd_fast_range<true>(p, count, a, b, output);
    return vadd_fast_range<false>(p, count, a, b, output);
  }
  vadd_general(p, count, a, b, output);
}
