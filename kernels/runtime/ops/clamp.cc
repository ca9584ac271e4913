// clamp.cc: CLAMP: y = clamp(x, lo, hi), int8 codes or float32 bounds; y keeps x's dims and quantization.
#include "../op.h"
#include "edgebuild/ukernels.h"

namespace eb {

namespace {

eb_status validate(OpCheck& c) {
  const int32_t x = c.op().inputs[0], y = c.op().outputs[0];
  eb_status s;
  if ((s = c.need_dtype("input", x, c.act_dtype())) != EB_OK) return s;
  if ((s = c.need_same_dims("output", y, "input", x)) != EB_OK) return s;
  if ((s = c.need_same_quant("output", y, "input", x)) != EB_OK) return s;
  if (c.is_float()) return c.need_bounds(c.p().clamp_float.lo, c.p().clamp_float.hi);
  return c.need_act(c.p().clamp_int8.act_min, c.p().clamp_int8.act_max);
}

void run(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  if (op.form == kFormFloat) {
    eb_f32_clamp_ref(x.num_elements, reinterpret_cast<const float*>(x.data), reinterpret_cast<float*>(y.data),
                     op.p.clamp_float.lo, op.p.clamp_float.hi);
    return;
  }
  eb_qs8_clamp_ref(x.num_elements, reinterpret_cast<const int8_t*>(x.data), reinterpret_cast<int8_t*>(y.data),
                   op.p.clamp_int8.act_min, op.p.clamp_int8.act_max);
}

}  // namespace

const OpImpl kOpImplClamp = {validate, NULL, run, NULL, NULL};

}  // namespace eb
