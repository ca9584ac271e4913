// qs8-add/ref.cc: reference int8 elementwise ADD (TFLite's int8 add).
#include "edgebuild/requant.h"
#include "edgebuild/ukernels.h"

// docs/quantization.md (7): a' = MBQM((a − zp_a) · 2^left_shift, m_a, e_a), b' likewise,
// y = clamp(MBQM(a' + b', m_y, e_y) + zp_y, act_min, act_max).
// The shifted inputs and the sum are formed in int64 and saturated to int32 (sat32): with left_shift <= 23 and
// multipliers below 1 (every layer the lowering emits) nothing saturates and this is TFLite's int32 arithmetic.
extern "C" void eb_qs8_add_ref(const eb_qs8_add_params* p, size_t count, const int8_t* a, const int8_t* b,
                               int8_t* output) {
  const int64_t scale_up = (int64_t)1 << p->left_shift;  // loader: 0 <= left_shift <= 24
  for (size_t i = 0; i < count; ++i) {
    const int32_t sa = eb_sat32(((int64_t)a[i] - p->a_zero_point) * scale_up);
    const int32_t sb = eb_sat32(((int64_t)b[i] - p->b_zero_point) * scale_up);
    const int32_t ra = eb_mbqm(sa, p->a_multiplier, p->a_shift);
    const int32_t rb = eb_mbqm(sb, p->b_multiplier, p->b_shift);
    const int32_t sum = eb_sat32((int64_t)ra + rb);
    const int32_t q = eb_mbqm(sum, p->output_multiplier, p->output_shift);
    output[i] = eb_clamp_s8(eb_sat32((int64_t)q + p->output_zero_point), p->output_min, p->output_max);
  }
}
