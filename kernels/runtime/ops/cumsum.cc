// cumsum.cc: CUMSUM (single form): y = running sum of x along `axis`; f32 (the sum kept in double, each output
// rounded once) or i32 (wraps modulo 2^32); y dims = x dims.
#include "../op.h"
#include "edgebuild/ukernels.h"

namespace eb {

namespace {

eb_status validate(OpCheck& c) {
  const int32_t x = c.op().inputs[0], y = c.op().outputs[0];
  const Tensor& tx = c.T(x);
  if (tx.dtype != EB_DTYPE_FLOAT32 && tx.dtype != EB_DTYPE_INT32)
    return c.fail("input ('%.*s') is neither float32 nor int32", c.tlen(x), c.tname(x));
  eb_status s;
  if ((s = c.need_dtype("output", y, tx.dtype)) != EB_OK) return s;
  if ((s = c.need_same_dims("output", y, "input", x)) != EB_OK) return s;
  const int32_t axis = c.p().cumsum.axis;
  if (axis < 0 || (uint32_t)axis >= tx.rank) return c.fail("axis %d outside the input's rank %u", (int)axis, tx.rank);
  return EB_OK;
}

void run(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  const uint32_t axis = (uint32_t)op.p.cumsum.axis;
  size_t outer = 1, inner = 1;
  for (uint32_t k = 0; k < axis; ++k) outer *= (size_t)x.dims[k];
  for (uint32_t k = axis + 1; k < x.rank; ++k) inner *= (size_t)x.dims[k];
  const size_t n = (size_t)x.dims[axis];
  if (x.dtype == EB_DTYPE_FLOAT32)
    eb_xx_reduce_cumsum_ref(outer, n, inner, reinterpret_cast<const float*>(x.data), reinterpret_cast<float*>(y.data));
  else
    eb_xx_reduce_cumsum_s32_ref(outer, n, inner, reinterpret_cast<const int32_t*>(x.data),
                                reinterpret_cast<int32_t*>(y.data));
}

}  // namespace

const OpImpl kOpImplCumsum = {validate, NULL, run, NULL, NULL};

}  // namespace eb
