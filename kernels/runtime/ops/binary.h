// binary.h: what ADD, SUB and MUL share (docs/artifact.md): a and b broadcast to y (same rank, each dim equal to
// y's or 1), all three int8 or all float32; the broadcasting reference kernels.
#ifndef EDGEBUILD_RUNTIME_OPS_BINARY_H_
#define EDGEBUILD_RUNTIME_OPS_BINARY_H_

#include <string.h>

#include "../op.h"
#include "edgebuild/ukernels.h"

namespace eb {

// The tensors of a binary op; its form's parameters are the op's own.
inline eb_status validate_binary_tensors(OpCheck& c) {
  const Op& op = c.op();
  const int32_t a = op.inputs[0], b = op.inputs[1], y = op.outputs[0];
  eb_status s;
  const uint8_t dtype = c.T(a).dtype;
  if (dtype != EB_DTYPE_INT8 && dtype != EB_DTYPE_FLOAT32)
    return c.fail("input a ('%.*s') is %s, expected int8 or float32", c.tlen(a), c.tname(a), dtype_text(dtype));
  if ((s = c.need_dtype("input b", b, dtype)) != EB_OK) return s;
  if ((s = c.need_dtype("output", y, dtype)) != EB_OK) return s;
  const Tensor& ty = c.T(y);
  if ((s = c.need_rank("input a", a, ty.rank)) != EB_OK) return s;
  if ((s = c.need_rank("input b", b, ty.rank)) != EB_OK) return s;
  for (uint32_t d = 0; d < ty.rank; ++d)
    if ((c.T(a).dims[d] != ty.dims[d] && c.T(a).dims[d] != 1) || (c.T(b).dims[d] != ty.dims[d] && c.T(b).dims[d] != 1))
      return c.fail("input dims %s and %s do not broadcast to output dims %s", dims_text(c.T(a)).text,
                    dims_text(c.T(b)).text, dims_text(ty).text);
  return EB_OK;
}

// int8 ADD / SUB: docs/quantization.md (7): both inputs rescaled to a common scale, then the output's.
template <typename Params>
eb_status validate_add_sub_int8(OpCheck& c, const Params& p) {
  eb_status s;
  if (p.left_shift < 0 || p.left_shift > 24) return c.fail("left_shift %d outside 0..24", (int)p.left_shift);
  if ((s = c.need_multiplier("a", 0, p.a_mult, p.a_shift)) != EB_OK) return s;
  if ((s = c.need_multiplier("b", 0, p.b_mult, p.b_shift)) != EB_OK) return s;
  if ((s = c.need_multiplier("out", 0, p.out_mult, p.out_shift)) != EB_OK) return s;
  return c.need_act(p.act_min, p.act_max);
}

// Kernel parameters of int8 ADD / SUB (eq. 7); the caller has zeroed k and set k->op.
template <typename Params>
void set_add_sub_int8(eb_qs8_binary_params* k, const Params& p) {
  k->left_shift = p.left_shift;
  k->a_multiplier = p.a_mult;
  k->a_shift = p.a_shift;
  k->b_multiplier = p.b_mult;
  k->b_shift = p.b_shift;
  k->output_multiplier = p.out_mult;
  k->output_shift = p.out_shift;
  k->output_min = p.act_min;
  k->output_max = p.act_max;
}

// The broadcasting int8 reference kernel with the op's parameters in k (zero points set here).
inline void run_binary_qs8(eb_model* m, const Op& op, eb_qs8_binary_params* k) {
  const Tensor &a = m->tensors[op.inputs[0]], &b = m->tensors[op.inputs[1]], &y = m->tensors[op.outputs[0]];
  k->a_zero_point = a.zero_point;
  k->b_zero_point = b.zero_point;
  k->output_zero_point = y.zero_point;
  eb_qs8_binary_ref(k, y.rank, a.dims, b.dims, y.dims, reinterpret_cast<const int8_t*>(a.data),
                    reinterpret_cast<const int8_t*>(b.data), reinterpret_cast<int8_t*>(y.data));
}

// The broadcasting float32 reference kernel, output clamped to [lo, hi].
inline void run_binary_f32(eb_model* m, const Op& op, int32_t kind, float lo, float hi) {
  const Tensor &a = m->tensors[op.inputs[0]], &b = m->tensors[op.inputs[1]], &y = m->tensors[op.outputs[0]];
  eb_f32_binary_ref(kind, y.rank, a.dims, b.dims, y.dims, reinterpret_cast<const float*>(a.data),
                    reinterpret_cast<const float*>(b.data), lo, hi, reinterpret_cast<float*>(y.data));
}

}  // namespace eb

#endif  // EDGEBUILD_RUNTIME_OPS_BINARY_H_
