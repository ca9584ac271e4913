// qs8-vadd/ref.cc: reference int8 elementwise ADD (TFLite's int8 add) and the one ADD / SUB requantization.
//
// eb_qs8_vadd_requant_ref is the only place docs/quantization.md (7) is written out for int8: eb_qs8_vadd_ref
// (same-shape ADD, the twin of qs8_vadd_minmax__*.cc) and eb_qs8_binary_ref (ADD / SUB with broadcasting) both call it.
#include "edgebuild/requant.h"
#include "edgebuild/ukernels.h"

// docs/quantization.md (7): a' = MBQM((a − zp_a) · 2^left_shift, m_a, e_a), b' likewise,
// y = clamp(MBQM(a' ± b', m_y, e_y) + zp_y, act_min, act_max); SUB negates b' (TFLite's int8 sub).
// The shifted inputs and the sum are formed in int64 and saturated to int32 (sat32): with left_shift <= 23 and
// multipliers below 1 (every layer the lowering emits) nothing saturates and this is TFLite's int32 arithmetic.
extern "C" int8_t eb_qs8_vadd_requant_ref(const eb_qs8_vadd_params* p, int32_t a, int32_t b, int32_t subtract) {
  const int64_t scale_up = (int64_t)1 << p->left_shift;  // loader: 0 <= left_shift <= 24
  const int32_t ra = eb_mbqm(eb_sat32(((int64_t)a - p->a_zero_point) * scale_up), p->a_multiplier, p->a_shift);
  const int32_t rb = eb_mbqm(eb_sat32(((int64_t)b - p->b_zero_point) * scale_up), p->b_multiplier, p->b_shift);
  const int32_t sum = eb_sat32(subtract ? (int64_t)ra - rb : (int64_t)ra + rb);
  const int32_t q = eb_mbqm(sum, p->output_multiplier, p->output_shift);
  return eb_clamp_s8(eb_sat32((int64_t)q + p->output_zero_point), p->output_min, p->output_max);
}

extern "C" void eb_qs8_vadd_ref(const eb_qs8_vadd_params* p, size_t count, const int8_t* a, const int8_t* b,
                                int8_t* output) {
  for (size_t i = 0; i < count; ++i) output[i] = eb_qs8_vadd_requant_ref(p, a[i], b[i], 0);
}
