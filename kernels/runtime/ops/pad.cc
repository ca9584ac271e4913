// pad.cc: PAD: y = x with before[d] and after[d] elements of `value` around each dim d (an int8 code or a float32).
#include "../op.h"
#include "edgebuild/ukernels.h"

namespace eb {

namespace {

template <typename Params>
eb_status validate_pads(OpCheck& c, const Params& p) {
  const int32_t x = c.op().inputs[0], y = c.op().outputs[0];
  for (uint32_t d = 0; d < c.T(x).rank; ++d) {
    const int32_t before = p.before[d], after = p.after[d];
    if (before < 0 || after < 0 || (int64_t)c.T(x).dims[d] + before + after != c.T(y).dims[d])
      return c.fail("dim %u: input %d padded by (%d, %d) is not output %d (pads must be >= 0)", d, (int)c.T(x).dims[d],
                    (int)before, (int)after, (int)c.T(y).dims[d]);
  }
  return EB_OK;
}

eb_status validate(OpCheck& c) {
  eb_status s;
  if ((s = c.need_mover(c.op().inputs[0], c.op().outputs[0])) != EB_OK) return s;
  if (c.is_float()) return validate_pads(c, c.p().pad_float);
  if ((s = validate_pads(c, c.p().pad_int8)) != EB_OK) return s;
  const int32_t value = c.p().pad_int8.value;  // an int8 code (or the int32 value of an int32 tensor)
  if (c.T(c.op().inputs[0]).dtype == EB_DTYPE_INT8 && (value < -128 || value > 127))
    return c.fail("pad value %d outside -128..127", (int)value);
  return EB_OK;
}

// before[rank], after[rank], value.
eb_status param_error(OpCheck& c, const ParamError& e) {
  if (e.field != NULL) return param_error_text(c, e);
  return c.fail("has %u params, expected 2 × rank %u + 1", e.got, (e.expected - 1) / 2);
}

void run(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  if (op.form == kFormFloat) {
    const PadFloatParams& p = op.p.pad_float;
    eb_xx_pad_ref(sizeof(float), x.rank, x.dims, p.before, y.dims, &p.value, x.data, y.data);
    return;
  }
  const PadInt8Params& p = op.p.pad_int8;
  const int8_t code = (int8_t)p.value;  // int8: a code in -128..127 (validated)
  eb_xx_pad_ref(dtype_size(x.dtype), x.rank, x.dims, p.before, y.dims,
                x.dtype == EB_DTYPE_INT8 ? static_cast<const void*>(&code) : static_cast<const void*>(&p.value), x.data,
                y.data);
}

}  // namespace

const OpImpl kOpImplPad = {validate, NULL, run, param_error, NULL};

}  // namespace eb
