// qs8_spmm_minmax_4x16c4__neondot.cc: int8 block-sparse GEMM microkernel for armv8.2 cores with the dot product
// (Cortex-A55/A76/A78/X1 and later; also what i8mm cores run: an entry is 4 k, half of an SMMLA's 8).
// Reference twin: eb_qs8_spmm_ref (qs8-spmm/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc).
//
// 4 rows × 16 columns over the stored 16×4 weight slices of a strip, grouped by tap (ukernels_isa.h): a row's tap
// pointer is loaded once per group; per entry, one 64-byte load of the weights ([16 columns][4 k]), one 4-byte load
// per row (`ldr s` with a register offset) and four lane-indexed SDOTs per row, which read the row's 4 bytes from
// lane 0 without a broadcast: 24 instructions for 16 SDOTs. Why 16 columns: 16×4 is the pruning block
// (docs/sparsity.md), so a 16-wide strip stores no more slices than an 8-wide one, and the weight and row loads are
// shared by twice the SDOTs. The packed bias holds −zp_x·Σw (a_offset 0). Requantization: docs/quantization.md (5)
// with requant__neon.h's eb_mbqm_rshl_neon (exact), then (6).
#include <arm_neon.h>
#include <string.h>

#include "../requant/requant__neon.h"
#include "edgebuild/ukernels_isa.h"

namespace {
constexpr size_t kMR = 4, kNR = 16;

// The 4 bytes at p in lane 0 (`ldr s`; the other lanes are not read by the lane-0 SDOT).
inline int8x8_t load4(const int8_t* p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return vreinterpret_s8_u64(vcreate_u64(v));
}
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

extern "C" void eb_qs8_spmm_minmax_ukernel_4x16c4__neondot(size_t mr, size_t nc, const int8_t* const* a, size_t taps,
                                                           const void* w, int8_t* c, size_t c_stride,
                                                           const eb_qs8_requant_params* rq) {
  // Rows past mr repeat the last row (their sums are computed and not stored).
  const int8_t* const* r0 = a;
  const int8_t* const* r1 = mr > 1 ? a + taps : r0;
  const int8_t* const* r2 = mr > 2 ? a + 2 * taps : r1;
  const int8_t* const* r3 = mr > 3 ? a + 3 * taps : r2;
  const int32_t* header = static_cast<const int32_t*>(w);
  // Named accumulators, not an array: GCC 12 keeps an array of vectors in memory across the loop.
  int32x4_t a00 = vld1q_s32(header), a01 = vld1q_s32(header + 4), a02 = vld1q_s32(header + 8),
            a03 = vld1q_s32(header + 12);
  int32x4_t a10 = a00, a11 = a01, a12 = a02, a13 = a03, a20 = a00, a21 = a01, a22 = a02, a23 = a03;
  int32x4_t a30 = a00, a31 = a01, a32 = a02, a33 = a03;
  const int32_t count = header[4 * kNR], groups = header[4 * kNR + 1], flags = header[4 * kNR + 2];
  const int32_t* group = header + 4 * kNR + 16;
  const int32_t* off = group + 2 * groups;
  const int8_t* wp = reinterpret_cast<const int8_t*>(group) + ((size_t)(2 * groups + count) * 4 + 63) / 64 * 64;
  for (const int32_t* const end = group + 2 * groups; group != end; group += 2) {
    const size_t tap = (size_t)group[0];
    const int8_t *p0 = r0[tap], *p1 = r1[tap], *p2 = r2[tap], *p3 = r3[tap];
    // A counted loop (n >= 1): ended on `off` or on `wp`, GCC 12 recomputes the other pointer from the count after
    // it (6 more instructions per group).
    size_t n = (size_t)group[1];
    do {
      const size_t o = (size_t)*off++;
      const int8x16x4_t wv = vld1q_s8_x4(wp);
      const int8x8_t x0 = load4(p0 + o), x1 = load4(p1 + o), x2 = load4(p2 + o), x3 = load4(p3 + o);
      a00 = vdotq_lane_s32(a00, wv.val[0], x0, 0);
      a01 = vdotq_lane_s32(a01, wv.val[1], x0, 0);
      a02 = vdotq_lane_s32(a02, wv.val[2], x0, 0);
      a03 = vdotq_lane_s32(a03, wv.val[3], x0, 0);
      a10 = vdotq_lane_s32(a10, wv.val[0], x1, 0);
      a11 = vdotq_lane_s32(a11, wv.val[1], x1, 0);
      a12 = vdotq_lane_s32(a12, wv.val[2], x1, 0);
      a13 = vdotq_lane_s32(a13, wv.val[3], x1, 0);
      a20 = vdotq_lane_s32(a20, wv.val[0], x2, 0);
      a21 = vdotq_lane_s32(a21, wv.val[1], x2, 0);
      a22 = vdotq_lane_s32(a22, wv.val[2], x2, 0);
      a23 = vdotq_lane_s32(a23, wv.val[3], x2, 0);
      a30 = vdotq_lane_s32(a30, wv.val[0], x3, 0);
      a31 = vdotq_lane_s32(a31, wv.val[1], x3, 0);
      a32 = vdotq_lane_s32(a32, wv.val[2], x3, 0);
      a33 = vdotq_lane_s32(a33, wv.val[3], x3, 0);
      wp += 4 * kNR;
    } while (--n != 0);
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
