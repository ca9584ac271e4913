// qs8_vadd_minmax__mve.cc: int8 ADD of two same-shape tensors (TFLite's int8 add) for Cortex-M55 MVE (Helium).
// Reference twin: eb_qs8_vadd_ref (qs8-vadd/ref.cc); equal bit for bit (kernels/mcu/test/mve_dw_test.cc).
//
// docs/quantization.md (7) on four int32 lanes, every saturation of the twin kept:
//   a' = MBQM(sat32((a − zp_a)·2^L), m_a, e_a): sat32(sat32(d·2^L)·2^max(e_a,0)) = sat32(d·2^(L + max(e_a,0))),
//        because saturation is monotonic (a saturated first product saturates the second the same way), so one
//        VQSHL by L + max(e_a, 0) does both; then SRDHM by the scalar m_a (VQRDMULH) and RDBPOT (requant__mve.h)
//   y  = clamp(sat32(MBQM(sat32(a' + b'), m_y, e_y) + zp_y), lo, hi)     (VQADD: the sums saturate as the twin's)
// The multipliers and shifts are per tensor, so they are scalar operands; the exponents' signs select one of eight
// instantiations per call (RDBPOT's tie fix and rounding shift exist only for a right shift, e < 0).
// The output may alias an input exactly: each step loads its four a and b before storing their four outputs.
#include <arm_mve.h>
#include <stddef.h>
#include <stdint.h>

#include "edgebuild/ukernels.h"

namespace {

// MBQM's SRDHM and RDBPOT for a scalar (m, e): with R (e < 0) the tie fix q − [q < 0] (saturating: q = −2^31 has
// no tie) and the rounding shift by e; without, the rounding shift is by 0: nothing.
template <bool R>
inline int32x4_t srdhm_rdbpot(int32x4_t s, int32_t m, int32_t e) {
  int32x4_t q = vqrdmulhq_n_s32(s, m);
  if (R) q = vrshlq_n_s32(vqaddq_s32(q, vshrq_n_s32(q, 31)), e);
  return q;
}

template <bool RA, bool RB, bool RY>
void add(const eb_qs8_vadd_params* p, size_t count, const int8_t* a, const int8_t* b, int8_t* output) {
  const int32_t zp_a = p->a_zero_point, zp_b = p->b_zero_point, zp_y = p->output_zero_point;
  const int32_t la = p->left_shift + (p->a_shift > 0 ? p->a_shift : 0);
  const int32_t lb = p->left_shift + (p->b_shift > 0 ? p->b_shift : 0);
  const int32_t ly = p->output_shift > 0 ? p->output_shift : 0;
  const int32_t ma = p->a_multiplier, mb = p->b_multiplier, my = p->output_multiplier;
  const int32_t ea = p->a_shift, eb = p->b_shift, ey = p->output_shift;
  const int32x4_t lo = vdupq_n_s32(p->output_min), hi = vdupq_n_s32(p->output_max);
  for (size_t i = 0; i < count; i += 4) {
    const mve_pred16_t pred = vctp32q((uint32_t)(count - i));
    const int32x4_t da = vsubq_n_s32(vldrbq_z_s32(a + i, pred), zp_a);
    const int32x4_t db = vsubq_n_s32(vldrbq_z_s32(b + i, pred), zp_b);
    const int32x4_t ra = srdhm_rdbpot<RA>(vqshlq_r_s32(da, la), ma, ea);
    const int32x4_t rb = srdhm_rdbpot<RB>(vqshlq_r_s32(db, lb), mb, eb);
    const int32x4_t q = srdhm_rdbpot<RY>(vqshlq_r_s32(vqaddq_s32(ra, rb), ly), my, ey);
    vstrbq_p_s32(output + i, vminq_s32(vmaxq_s32(vqaddq_n_s32(q, zp_y), lo), hi), pred);
  }
}

using AddFn = void (*)(const eb_qs8_vadd_params*, size_t, const int8_t*, const int8_t*, int8_t*);
constexpr AddFn kAdd[8] = {add<false, false, false>, add<false, false, true>, add<false, true, false>,
                           add<false, true, true>,   add<true, false, false>, add<true, false, true>,
                           add<true, true, false>,   add<true, true, true>};

}  // namespace

extern "C" void eb_qs8_vadd_minmax_ukernel__mve(const eb_qs8_vadd_params* p, size_t count, const int8_t* a,
                                                const int8_t* b, int8_t* output) {
  kAdd[(p->a_shift < 0 ? 4 : 0) | (p->b_shift < 0 ? 2 : 0) | (p->output_shift < 0 ? 1 : 0)](p, count, a, b, output);
}
