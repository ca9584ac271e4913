// qs8_vadd_minmax__neon.cc: int8 elementwise ADD for NEON cores (armv7 and armv8, every ARM path), 8 lanes a step.
// Reference twin: eb_qs8_vadd_ref (qs8-vadd/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc).
//
// Exactly eb_qs8_vadd_ref (docs/quantization.md (7)): vqshlq_s32 is the reference's sat32(x · 2^left_shift),
// vqaddq_s32 its sat32(a' + b'), and eb_mbqm_neon its MBQM. The tail goes through an 8-byte stack copy.
#include <arm_neon.h>
#include <string.h>

#include "../requant/requant__neon.h"
#include "edgebuild/ukernels.h"
#include "edgebuild/ukernels_isa.h"

extern "C" void eb_qs8_vadd_minmax_ukernel__neon(const eb_qs8_vadd_params* p, size_t count, const int8_t* a,
                                                 const int8_t* b, int8_t* output) {
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
    // q − zp fits int16 (|.| <= 255); widen to int32 before the saturating shift.
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
