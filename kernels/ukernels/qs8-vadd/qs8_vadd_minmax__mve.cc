// qs8_vadd_minmax__mve.cc: int8 ADD of two same-shape tensors (TFLite's int8 add) for Cortex-M55 MVE (Helium).
// Reference twin: eb_qs8_vadd_ref (qs8-vadd/ref.cc); equal bit for bit (kernels/mcu/test/mve_dw_test.cc).
//
// docs/quantization.md (7): a' = MBQM(sat32((a − zp_a)·2^L), m_a, e_a) depends on the one int8 code a, so the build
// tabulates it (edgebuild/mcu/variants/mve_add.py: table_a[u] = a' for the code whose byte is u, 256 int32, and
// table_b alike): per four elements one zero-extending byte load and one gather load (vldrwq_gather_shifted_offset)
// per input, then the twin's sat32(a' + b') (VQADD) and the output's MBQM with the scalar (m_y, e_y), as
// requant__mve.h: sat32(s·2^max(e_y, 0)) by VQSHL, SRDHM by VQRDMULH, and for e_y < 0 RDBPOT's tie fix and rounding
// shift; + zp_y saturating, the clamp and a narrowing store. The output may alias an input exactly: each step loads
// its four a and b before storing their four outputs.
#include <arm_mve.h>
#include <stddef.h>
#include <stdint.h>

#include "edgebuild/ukernels.h"

namespace {

template <bool kRight, bool kTail>
inline __attribute__((always_inline)) void step(const uint8_t* a, const uint8_t* b, int8_t* y, const int32_t* ta,
                                                const int32_t* tb, int32_t left, int32_t m, int32_t e, int32_t zp_y,
                                                int32x4_t lo, int32x4_t hi, mve_pred16_t pred) {
  int32x4_t ra, rb;
  if (kTail) {
    ra = vldrwq_gather_shifted_offset_z_s32(ta, vldrbq_z_u32(a, pred), pred);
    rb = vldrwq_gather_shifted_offset_z_s32(tb, vldrbq_z_u32(b, pred), pred);
  } else {
    ra = vldrwq_gather_shifted_offset_s32(ta, vldrbq_u32(a));
    rb = vldrwq_gather_shifted_offset_s32(tb, vldrbq_u32(b));
  }
  int32x4_t q = vqrdmulhq_n_s32(vqshlq_r_s32(vqaddq_s32(ra, rb), left), m);
  if (kRight) q = vrshlq_n_s32(vqaddq_s32(q, vshrq_n_s32(q, 31)), e);
  q = vminq_s32(vmaxq_s32(vqaddq_n_s32(q, zp_y), lo), hi);
  if (kTail) {
    vstrbq_p_s32(y, q, pred);
  } else {
    vstrbq_s32(y, q);
  }
}

template <bool kRight>
void add(const eb_qs8_vadd_params* p, size_t count, const int8_t* a, const int8_t* b, int8_t* output,
         const int32_t* table_a, const int32_t* table_b) {
  const int32_t zp_y = p->output_zero_point, m = p->output_multiplier, e = p->output_shift;
  const int32_t left = e > 0 ? e : 0;
  const int32x4_t lo = vdupq_n_s32(p->output_min), hi = vdupq_n_s32(p->output_max);
  const uint8_t* ua = reinterpret_cast<const uint8_t*>(a);
  const uint8_t* ub = reinterpret_cast<const uint8_t*>(b);
  for (; count >= 4; count -= 4, ua += 4, ub += 4, output += 4) {
    step<kRight, false>(ua, ub, output, table_a, table_b, left, m, e, zp_y, lo, hi, 0);
  }
  if (count != 0) step<kRight, true>(ua, ub, output, table_a, table_b, left, m, e, zp_y, lo, hi, vctp32q(count));
}

}  // namespace

extern "C" void eb_qs8_vadd_minmax_ukernel__mve(const eb_qs8_vadd_params* p, size_t count, const int8_t* a,
                                                const int8_t* b, int8_t* output, const int32_t* table_a,
                                                const int32_t* table_b) {
  if (p->output_shift < 0) {
    add<true>(p, count, a, b, output, table_a, table_b);
  } else {
    add<false>(p, count, a, b, output, table_a, table_b);
  }
}
