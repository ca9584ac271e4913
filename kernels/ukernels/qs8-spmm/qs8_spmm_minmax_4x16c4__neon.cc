// qs8_spmm_minmax_4x16c4__neon.cc: int8 block-sparse GEMM microkernel for NEON cores without the dot product
// (Cortex-A53/A72 on armv8, Cortex-A7/A9/A15 on armv7).
// Reference twin: eb_qs8_spmm_ref (qs8-spmm/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc).
//
// 4 rows × 16 columns over the stored 16×4 weight slices of a strip, grouped by tap (ukernels_isa.h): a row's tap
// pointer is loaded once per group. An entry's weights are int8 [2][16 columns][2 k] (kg 2): k0 k1 of every column,
// then k2 k3. A row's 4 bytes are loaded once and its pairs (x0 x1), (x2 x3) duplicated over 16-bit lanes, so
// vmull_s8 gives w[c, k0]·x0, w[c, k1]·x1 in adjacent int16 lanes and vpadalq_s16 adds each pair into column c's
// int32 lane: no reduction after the loop. Products of int8 fit int16 (|w·x| <= 2^14); when the strip has no −128
// weight (flags bit 0, set by the packer), |w| <= 127 and two products fit too (2·127·128 = 32512), so vmlal_s8 adds
// the k2 k3 products before one vpadalq: 3 instructions per 16 MACs (4 with a −128 weight, a hostile file's case).
// The packed bias holds −zp_x·Σw (a_offset 0). Requantization: docs/quantization.md (5) with requant__neon.h's
// eb_mbqm_rshl_neon (exact), then (6).
#include <arm_neon.h>
#include <string.h>

// GCC 12's pre-allocation scheduler hoists every product of an entry ahead of its accumulation and spills ~10
// vectors per entry; without it the loop keeps its 16 accumulators in registers (the post-allocation scheduler
// still interleaves).
#pragma GCC optimize("no-schedule-insns")

#include "../requant/requant__neon.h"
#include "edgebuild/ukernels_isa.h"

namespace {
constexpr size_t kMR = 4, kNR = 16;

struct Weights {
  int8x16_t k01_lo, k01_hi, k23_lo, k23_hi;  // columns 0-7 and 8-15 of (k0, k1), then of (k2, k3)
};

inline Weights load_weights(const int8_t* p) {
#if defined(__aarch64__)
  const int8x16x4_t v = vld1q_s8_x4(p);
  return {v.val[0], v.val[1], v.val[2], v.val[3]};
#else  // old armv7 GCC has no vld1q_s8_x4
  return {vld1q_s8(p), vld1q_s8(p + 16), vld1q_s8(p + 32), vld1q_s8(p + 48)};
#endif
}

// One row's 4 bytes as (x0 x1) and (x2 x3), each repeated over the eight 16-bit lanes (`ldr s`, two `dup`s).
struct Pairs {
  int8x16_t x01, x23;
};
inline Pairs load_pairs(const int8_t* p) {
  uint32_t v;
  memcpy(&v, p, 4);
  const int16x4_t x = vreinterpret_s16_u64(vcreate_u64(v));
  return {vreinterpretq_s8_s16(vdupq_lane_s16(x, 0)), vreinterpretq_s8_s16(vdupq_lane_s16(x, 1))};
}

// Products of the low or high 8 bytes (4 columns × 2 k).
inline int16x8_t mull_lo(int8x16_t w, int8x16_t x) { return vmull_s8(vget_low_s8(w), vget_low_s8(x)); }
inline int16x8_t mlal_lo(int16x8_t p, int8x16_t w, int8x16_t x) { return vmlal_s8(p, vget_low_s8(w), vget_low_s8(x)); }
#if defined(__aarch64__)
inline int16x8_t mull_hi(int8x16_t w, int8x16_t x) { return vmull_high_s8(w, x); }
inline int16x8_t mlal_hi(int16x8_t p, int8x16_t w, int8x16_t x) { return vmlal_high_s8(p, w, x); }
#else
inline int16x8_t mull_hi(int8x16_t w, int8x16_t x) { return vmull_s8(vget_high_s8(w), vget_high_s8(x)); }
inline int16x8_t mlal_hi(int16x8_t p, int8x16_t w, int8x16_t x) {
  return vmlal_s8(p, vget_high_s8(w), vget_high_s8(x));
}
#endif

// eb_mbqm_rshl_neon (requant__neon.h, exact) after its left shift, which the caller applies only when needed, with
// its saturating "q − 1 where q < 0 and n > 0" as a plain shift-right-accumulate: the loader keeps m in [2^30, 2^31)
// (docs/quantization.md (3)), so |q| = |SRDHM(x, m)| <= 2^31 − 1 and q − 1 cannot wrap (the saturation never acts).
inline int32x4_t mbqm_shifted(int32x4_t shifted, int32x4_t mult, int32x4_t neg_right) {
  const int32x4_t q = vqrdmulhq_s32(shifted, mult);
  return vrshlq_s32(vsraq_n_s32(q, vandq_s32(q, neg_right), 31), neg_right);
}
// docs/quantization.md (5) for one 4-column block j of the 4 rows: the left shift only where a column has e > 0
// (flags bit 1; sqshl by 0 is the identity), then mbqm_shifted.
inline void requant_block(int32x4_t& x0, int32x4_t& x1, int32x4_t& x2, int32x4_t& x3, const int32_t* header, size_t j,
                          bool left) {
  if (left) {
    const int32x4_t l = vld1q_s32(header + 2 * kNR + 4 * j);
    x0 = vqshlq_s32(x0, l), x1 = vqshlq_s32(x1, l), x2 = vqshlq_s32(x2, l), x3 = vqshlq_s32(x3, l);
  }
  const int32x4_t mult = vld1q_s32(header + kNR + 4 * j);
  const int32x4_t neg_right = vnegq_s32(vld1q_s32(header + 3 * kNR + 4 * j));
  x0 = mbqm_shifted(x0, mult, neg_right), x1 = mbqm_shifted(x1, mult, neg_right);
  x2 = mbqm_shifted(x2, mult, neg_right), x3 = mbqm_shifted(x3, mult, neg_right);
}
}  // namespace

// One row's 16 columns += their products with the row's 4 bytes, as four independent chains (columns 0-3, 4-7, 8-11,
// 12-15) advanced step by step: an in-order core (Cortex-A53) would stall on each chain's next step. ROW2: two
// int16 products per lane (no −128 weight in the strip); ROW1: one (any weight).
#define EB_SPMM_NEON_ROW2(x, r)                                               \
  {                                                                           \
    int16x8_t t0 = mull_lo(wv.k01_lo, x.x01), t1 = mull_hi(wv.k01_lo, x.x01); \
    int16x8_t t2 = mull_lo(wv.k01_hi, x.x01), t3 = mull_hi(wv.k01_hi, x.x01); \
    t0 = mlal_lo(t0, wv.k23_lo, x.x23), t1 = mlal_hi(t1, wv.k23_lo, x.x23);   \
    t2 = mlal_lo(t2, wv.k23_hi, x.x23), t3 = mlal_hi(t3, wv.k23_hi, x.x23);   \
    r##0 = vpadalq_s16(r##0, t0), r##1 = vpadalq_s16(r##1, t1);               \
    r##2 = vpadalq_s16(r##2, t2), r##3 = vpadalq_s16(r##3, t3);               \
  }
#define EB_SPMM_NEON_ROW1(x, r)                                               \
  {                                                                           \
    int16x8_t t0 = mull_lo(wv.k01_lo, x.x01), t1 = mull_hi(wv.k01_lo, x.x01); \
    int16x8_t t2 = mull_lo(wv.k01_hi, x.x01), t3 = mull_hi(wv.k01_hi, x.x01); \
    r##0 = vpadalq_s16(r##0, t0), r##1 = vpadalq_s16(r##1, t1);               \
    r##2 = vpadalq_s16(r##2, t2), r##3 = vpadalq_s16(r##3, t3);               \
    t0 = mull_lo(wv.k23_lo, x.x23), t1 = mull_hi(wv.k23_lo, x.x23);           \
    t2 = mull_lo(wv.k23_hi, x.x23), t3 = mull_hi(wv.k23_hi, x.x23);           \
    r##0 = vpadalq_s16(r##0, t0), r##1 = vpadalq_s16(r##1, t1);               \
    r##2 = vpadalq_s16(r##2, t2), r##3 = vpadalq_s16(r##3, t3);               \
  }
// The entry loop with ROW = EB_SPMM_NEON_ROW2 or _ROW1; named accumulators (GCC keeps an array of vectors in memory).
#define EB_SPMM_NEON_LOOP(ROW)                                                    \
  for (const int32_t* const end = group + 2 * groups; group != end; group += 2) { \
    const size_t tap = (size_t)group[0];                                          \
    const int8_t *p0 = r0[tap], *p1 = r1[tap], *p2 = r2[tap], *p3 = r3[tap];      \
    size_t n = (size_t)group[1]; /* n >= 1; counted: see the neondot kernel */    \
    do {                                                                          \
      const size_t o = (size_t)*off++;                                            \
      const Weights wv = load_weights(wp);                                        \
      const Pairs x0 = load_pairs(p0 + o);                                        \
      ROW(x0, a0);                                                                \
      const Pairs x1 = load_pairs(p1 + o);                                        \
      ROW(x1, a1);                                                                \
      const Pairs x2 = load_pairs(p2 + o);                                        \
      ROW(x2, a2);                                                                \
      const Pairs x3 = load_pairs(p3 + o);                                        \
      ROW(x3, a3);                                                                \
      wp += 4 * kNR;                                                              \
    } while (--n != 0);                                                           \
  }

extern "C" void eb_qs8_spmm_minmax_ukernel_4x16c4__neon(size_t mr, size_t nc, const int8_t* const* a, size_t taps,
                                                        const void* w, int8_t* c, size_t c_stride,
                                                        const eb_qs8_requant_params* rq) {
  // Rows past mr repeat the last row (their sums are computed and not stored).
  const int8_t* const* r0 = a;
  const int8_t* const* r1 = mr > 1 ? a + taps : r0;
  const int8_t* const* r2 = mr > 2 ? a + 2 * taps : r1;
  const int8_t* const* r3 = mr > 3 ? a + 3 * taps : r2;
  const int32_t* header = static_cast<const int32_t*>(w);
  int32x4_t a00 = vld1q_s32(header), a01 = vld1q_s32(header + 4), a02 = vld1q_s32(header + 8),
            a03 = vld1q_s32(header + 12);
  int32x4_t a10 = a00, a11 = a01, a12 = a02, a13 = a03, a20 = a00, a21 = a01, a22 = a02, a23 = a03;
  int32x4_t a30 = a00, a31 = a01, a32 = a02, a33 = a03;
  const int32_t count = header[4 * kNR], groups = header[4 * kNR + 1], flags = header[4 * kNR + 2];
  const int32_t* group = header + 4 * kNR + 16;
  const int32_t* off = group + 2 * groups;
  const int8_t* wp = reinterpret_cast<const int8_t*>(group) + ((size_t)(2 * groups + count) * 4 + 63) / 64 * 64;
  if (flags & 1) {
    EB_SPMM_NEON_LOOP(EB_SPMM_NEON_ROW1)
  } else {
    EB_SPMM_NEON_LOOP(EB_SPMM_NEON_ROW2)
  }
  // docs/quantization.md (5) on named accumulators, one 4-column block at a time: an array of them (indexed in
  // loops) is kept in memory by GCC at -O2, ~110 more instructions per call.
  const bool left = (flags & 2) != 0;
  requant_block(a00, a10, a20, a30, header, 0, left);
  requant_block(a01, a11, a21, a31, header, 1, left);
  requant_block(a02, a12, a22, a32, header, 2, left);
  requant_block(a03, a13, a23, a33, header, 3, left);
  const int16x8_t zp = vdupq_n_s16((int16_t)rq->output_zero_point);
  const int8x16_t act_min = vdupq_n_s8((int8_t)(rq->lo + rq->output_zero_point));
  const int8x16_t act_max = vdupq_n_s8((int8_t)(rq->hi + rq->output_zero_point));
  // docs/quantization.md (6); a full strip stores each row with one instruction (the partial one goes through a
  // buffer only on its own path, so the common path keeps its rows in registers).
  const int8x16_t o0 = eb_narrow16_zp_neon(a00, a01, a02, a03, zp, act_min, act_max);
  const int8x16_t o1 = eb_narrow16_zp_neon(a10, a11, a12, a13, zp, act_min, act_max);
  const int8x16_t o2 = eb_narrow16_zp_neon(a20, a21, a22, a23, zp, act_min, act_max);
  const int8x16_t o3 = eb_narrow16_zp_neon(a30, a31, a32, a33, zp, act_min, act_max);
  if (nc == kNR) {
    vst1q_s8(c, o0);
    if (mr > 1) vst1q_s8(c + c_stride, o1);
    if (mr > 2) vst1q_s8(c + 2 * c_stride, o2);
    if (mr > 3) vst1q_s8(c + 3 * c_stride, o3);
    return;
  }
  int8_t tmp[kMR][kNR];
  vst1q_s8(tmp[0], o0), vst1q_s8(tmp[1], o1), vst1q_s8(tmp[2], o2), vst1q_s8(tmp[3], o3);
  for (size_t i = 0; i < mr; ++i) memcpy(c + i * c_stride, tmp[i], nc);
}
