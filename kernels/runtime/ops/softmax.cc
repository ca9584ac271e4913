// softmax.cc: SOFTMAX (float32 only): over the last axis; output dims = input dims.
#include "../dispatch.h"
#include "../op.h"
#include "edgebuild/ukernels.h"

namespace eb {

namespace {

eb_status validate(OpCheck& c) {
  const int32_t x = c.op().inputs[0], y = c.op().outputs[0];
  eb_status s;
  if ((s = c.need_dtype("input", x, EB_DTYPE_FLOAT32)) != EB_OK) return s;
  if (c.T(x).rank < 1) return c.fail("input ('%.*s') has rank 0", c.tlen(x), c.tname(x));
  return c.need_same_dims("output", y, "input", x);
}

void run(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  const size_t cols = (size_t)x.dims[x.rank - 1];
  f32_softmax_fn(m->isa)(x.num_elements / cols, cols, reinterpret_cast<const float*>(x.data),
                         reinterpret_cast<float*>(y.data));
}

}  // namespace

const OpImpl kOpImplSoftmax = {validate, NULL, run, NULL, NULL};

}  // namespace eb
