// concat.cc: CONCAT (docs/artifact.md): inputs joined along one axis. int8 inputs are copied when they share the
// output's quantization, else requantized with their (mult, shift); float32 inputs are copied.
#include <stdio.h>
#include <string.h>

#include "../op.h"
#include "edgebuild/ukernels.h"

namespace eb {

namespace {

eb_status validate(OpCheck& c) {
  const Op& op = c.op();
  const int32_t y = op.outputs[0];
  const uint32_t n = op.num_inputs;
  eb_status s;
  const Tensor& ty = c.T(y);
  const int32_t axis = c.is_float() ? c.p().concat_float.axis : c.p().concat_int8.axis;
  if (axis < 0 || (uint32_t)axis >= ty.rank)
    return c.fail("axis %d outside 0..%d (output rank %u)", (int)axis, (int)ty.rank - 1, ty.rank);
  int64_t along = 0;
  for (uint32_t k = 0; k < n; ++k) {
    const int32_t x = op.inputs[k];
    const Tensor& tx = c.T(x);
    char role[32];
    snprintf(role, sizeof role, "input %u", k);
    if ((s = c.need_dtype(role, x, c.act_dtype())) != EB_OK) return s;
    bool ok = tx.rank == ty.rank;
    for (uint32_t d = 0; ok && d < ty.rank; ++d) ok = (int32_t)d == axis || tx.dims[d] == ty.dims[d];
    if (!ok)
      return c.fail("%s ('%.*s') dims %s do not match output dims %s off axis %d", role, c.tlen(x), c.tname(x),
                    dims_text(tx).text, dims_text(ty).text, (int)axis);
    along += tx.dims[axis];
    if (c.is_float()) continue;  // float inputs are copied
    const int32_t mult = c.p().concat_int8.input_requant[2 * k], shift = c.p().concat_int8.input_requant[2 * k + 1];
    if (mult == 0) {
      if ((s = c.need_same_quant(role, x, "output", y)) != EB_OK) return s;  // a copy needs identical quantization
    } else if ((s = c.need_multiplier(role, 0, mult, shift)) != EB_OK) {
      return s;
    }
  }
  if (along != ty.dims[axis])
    return c.fail("inputs sum to %lld along axis %d but the output has %d", (long long)along, (int)axis,
                  (int)ty.dims[axis]);
  return EB_OK;
}

// The int8 form's params are the axis and a (mult, shift) pair per input.
eb_status param_error(OpCheck& c, const ParamError& e) {
  if (e.field != NULL || c.is_float()) return param_error_text(c, e);
  return c.fail("has %u params, expected 1 + 2 × %u inputs = %u", e.got, c.op().num_inputs, e.expected);
}

// Every tensor viewed as [outer, dims[axis] × inner]: outer = product of dims before axis, inner after.
void run(eb_model* m, const Op& op) {
  const Tensor& y = m->tensors[op.outputs[0]];
  const bool is_float = op.form == kFormFloat;
  const uint32_t axis = (uint32_t)(is_float ? op.p.concat_float.axis : op.p.concat_int8.axis);
  size_t outer = 1, inner = 1;
  for (uint32_t d = 0; d < axis; ++d) outer *= (size_t)y.dims[d];
  for (uint32_t d = axis + 1; d < y.rank; ++d) inner *= (size_t)y.dims[d];
  if (is_float) {  // each input's rows copied into its slot of the output rows
    const size_t output_row = (size_t)y.dims[axis] * inner * sizeof(float);
    size_t slot = 0;
    for (uint32_t i = 0; i < op.num_inputs; ++i) {
      const Tensor& x = m->tensors[op.inputs[i]];
      const size_t row = (size_t)x.dims[axis] * inner * sizeof(float);
      for (size_t o = 0; o < outer; ++o) eb_xx_copy_ref(row, x.data + o * row, y.data + o * output_row + slot);
      slot += row;
    }
    return;
  }
  const size_t output_row = (size_t)y.dims[axis] * inner;
  const int32_t* requant = op.p.concat_int8.input_requant;
  size_t slot = 0;  // byte offset of this input's slot within an output row
  for (uint32_t i = 0; i < op.num_inputs; ++i) {
    const Tensor& x = m->tensors[op.inputs[i]];
    eb_qs8_concat_params k;
    k.outer = outer;
    k.input_row = (size_t)x.dims[axis] * inner;
    k.output_stride = output_row;
    k.input_zero_point = x.zero_point;
    k.output_zero_point = y.zero_point;
    k.multiplier = requant[2 * i];
    k.shift = requant[2 * i + 1];
    const int8_t* xd = reinterpret_cast<const int8_t*>(x.data);
    int8_t* yd = reinterpret_cast<int8_t*>(y.data) + slot;
    const size_t row = k.input_row;
    const uintptr_t x0 = (uintptr_t)xd, y0 = (uintptr_t)yd;
    if (k.multiplier == 0 && row % 64 == 0 && row <= 512 && (x0 + outer * row <= y0 || y0 + outer * output_row <= x0)) {
      // Short rows (SqueezeNet's fire modules: 64..256 bytes per pixel) that overlap nothing: 64-byte moves in line
      // (9 instructions each on arm64), not a memmove call per row (~33 instructions for 64 bytes).
      for (size_t o = 0; o < outer; ++o, xd += row, yd += output_row) {
        int8_t* d = yd;
        for (const int8_t *s = xd, *e = xd + row; s != e; s += 64, d += 64) memcpy(d, s, 64);
      }
    } else {
      eb_qs8_concat_ref(&k, xd, yd);
    }
    slot += k.input_row;
  }
}

}  // namespace

const OpImpl kOpImplConcat = {validate, NULL, run, param_error, NULL};

}  // namespace eb
