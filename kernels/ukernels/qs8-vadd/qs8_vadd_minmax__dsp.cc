// qs8-vadd/qs8_vadd_minmax__dsp.cc: same-shape int8 ADD for the Cortex-M DSP extension (M4/M7/M33), bit-identical
// to eb_qs8_vadd_ref (docs/quantization.md (7)).
//
// a' = MBQM((a − zp_a)·2^L, m_a, e_a) depends on the int8 code a alone, so the build tabulates it: `tables` holds
// a' for a = −128 .. 127, then b' for b = −128 .. 127 (2 KiB of flash, edgebuild/mcu/variants/dsp_add.py). Per
// element the kernel does two table loads, QADD (sat32(a' + b'), exactly (7)'s saturated sum) and the output
// MBQM in the fast form of requant/requant__dsp.h (`rq`, zp_y folded in); outside that form's domain, (5) as the
// reference computes it. Four elements a step (one word of a, of b and of the output); the output may alias a or
// b exactly (each word is read before it is written).
#include <stdint.h>

#include "../requant/requant__dsp.h"
#include "edgebuild/ukernels.h"

namespace {

template <bool kFast>
inline int32_t add_one(const int32_t* ta, const int32_t* tb, int32_t a, int32_t b, const eb_dsp_rq* rq,
                       const eb_qs8_vadd_params* p, uint32_t pos_pair) {
  const int32_t sum = __qadd(ta[a], tb[b]);
  if (kFast) return eb_dsp_requant_fast_s8(sum, rq, pos_pair);
  return eb_dsp_requant_ref_s8(sum, p->output_multiplier, p->output_shift, p->output_zero_point);
}

template <bool kFast>
void add(const eb_qs8_vadd_params* p, size_t count, const int8_t* a, const int8_t* b, int8_t* y, const int32_t* tables,
         const eb_dsp_rq* rq) {
  const int32_t* ta = tables + 128;  // indexed by the signed code
  const int32_t* tb = tables + 256 + 128;
  const uint32_t lo4 = eb_dsp_splat8(p->output_min), hi4 = eb_dsp_splat8(p->output_max);
  const uint32_t pos_pair = eb_dsp_pos_pair();
  size_t i = 0;
  for (; i + 4 <= count; i += 4) {
    const uint32_t av = eb_dsp_load32(a + i), bv = eb_dsp_load32(b + i);
    const int32_t q0 = add_one<kFast>(ta, tb, (int8_t)av, (int8_t)bv, rq, p, pos_pair);
    const int32_t q1 = add_one<kFast>(ta, tb, (int8_t)(av >> 8), (int8_t)(bv >> 8), rq, p, pos_pair);
    const int32_t q2 = add_one<kFast>(ta, tb, (int8_t)(av >> 16), (int8_t)(bv >> 16), rq, p, pos_pair);
    const int32_t q3 = add_one<kFast>(ta, tb, (int8_t)(av >> 24), (int8_t)(bv >> 24), rq, p, pos_pair);
    eb_dsp_store32(y + i, eb_dsp_clamp4(eb_dsp_pack4(q0, q1, q2, q3), lo4, hi4));
  }
  for (; i < count; ++i)
    y[i] = eb_clamp_s8(add_one<kFast>(ta, tb, a[i], b[i], rq, p, pos_pair), p->output_min, p->output_max);
}

}  // namespace

extern "C" void eb_qs8_vadd_minmax_ukernel__dsp(const eb_qs8_vadd_params* p, size_t count, const int8_t* a,
                                                const int8_t* b, int8_t* output, const int32_t* tables,
                                                const int32_t* rq_words) {
  const eb_dsp_rq* rq = reinterpret_cast<const eb_dsp_rq*>(rq_words);  // int32 words [4], the struct's layout
  if (rq->shift_m1 >= 0)
    add<true>(p, count, a, b, output, tables, rq);
  else
    add<false>(p, count, a, b, output, tables, rq);
}
