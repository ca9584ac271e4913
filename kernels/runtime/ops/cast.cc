// cast.cc: CAST (docs/artifact.md): float32 <-> int32 (kernels/ukernels/xx-cast/ref.cc: truncation, saturation,
// NaN -> 0), or to_bool: y = x != 0 as 0/1 in the output's dtype.
#include "../op.h"
#include "edgebuild/ukernels.h"

namespace eb {

namespace {

bool numeric(uint8_t dtype) { return dtype == EB_DTYPE_INT32 || dtype == EB_DTYPE_FLOAT32; }

eb_status validate(OpCheck& c) {
  const int32_t x = c.op().inputs[0], y = c.op().outputs[0];
  if (!numeric(c.T(x).dtype))
    return c.fail("input ('%.*s') is %s, expected int32 or float32", c.tlen(x), c.tname(x), dtype_text(c.T(x).dtype));
  if (!numeric(c.T(y).dtype))
    return c.fail("output ('%.*s') is %s, expected int32 or float32", c.tlen(y), c.tname(y), dtype_text(c.T(y).dtype));
  return c.need_same_dims("output", y, "input", x);
}

void run(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  eb_xx_cast_ref(x.num_elements, x.dtype == EB_DTYPE_INT32, y.dtype == EB_DTYPE_INT32, op.p.cast.to_bool, x.data,
                 y.data);
}

}  // namespace

const OpImpl kOpImplCast = {validate, NULL, run, NULL, NULL};

}  // namespace eb
