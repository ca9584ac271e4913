// reshape.cc: RESHAPE: the same bytes under new dims (any dtype); a copy into the output, none when the memory plan
// gave the output its input's bytes (edgebuild/plan.py reshape_aliases).
#include "../op.h"
#include "edgebuild/ukernels.h"

namespace eb {

namespace {

eb_status validate(OpCheck& c) {
  const int32_t x = c.op().inputs[0], y = c.op().outputs[0];
  eb_status s;
  if ((s = c.need_dtype("output", y, c.T(x).dtype)) != EB_OK) return s;
  if (c.T(x).size != c.T(y).size)
    return c.fail("input dims %s and output dims %s hold different byte sizes", dims_text(c.T(x)).text,
                  dims_text(c.T(y)).text);
  return EB_OK;
}

void run(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  if (x.data != y.data) eb_xx_copy_ref((size_t)x.size, x.data, y.data);  // the planner usually aliases the two
}

}  // namespace

const OpImpl kOpImplReshape = {validate, NULL, run, NULL, NULL};

}  // namespace eb
