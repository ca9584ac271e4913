// elementwise.cc: ELEMENTWISE (docs/artifact.md): y = func(a, b) with a and b broadcast to y, float32 or int32
// (kernels/ukernels/xx-elementwise/ref.cc holds each function's semantics).
#include "../op.h"
#include "edgebuild/ukernels.h"

namespace eb {

namespace {

bool is_compare(int32_t f) { return f >= EB_BINARY_FUNC_EQ && f <= EB_BINARY_FUNC_LOGICAL_XOR; }
bool int_only(int32_t f) {
  return (f >= EB_BINARY_FUNC_BITWISE_AND && f <= EB_BINARY_FUNC_BITWISE_XOR) || f == EB_BINARY_FUNC_SHIFT_LEFT ||
         f == EB_BINARY_FUNC_SHIFT_RIGHT;
}
bool float_only(int32_t f) { return f == EB_BINARY_FUNC_DIV || f == EB_BINARY_FUNC_ATAN2; }

eb_status validate(OpCheck& c) {
  const Op& op = c.op();
  const int32_t a = op.inputs[0], b = op.inputs[1], y = op.outputs[0];
  const int32_t func = c.p().elementwise.func;
  eb_status s;
  const uint8_t dtype = c.T(a).dtype;
  if (dtype != EB_DTYPE_INT32 && dtype != EB_DTYPE_FLOAT32)
    return c.fail("input a ('%.*s') is %s, expected int32 or float32", c.tlen(a), c.tname(a), dtype_text(dtype));
  if ((s = c.need_dtype("input b", b, dtype)) != EB_OK) return s;
  if (dtype == EB_DTYPE_FLOAT32 && int_only(func)) return c.fail("function %d takes int32 inputs", (int)func);
  if (dtype == EB_DTYPE_INT32 && float_only(func)) return c.fail("function %d takes float32 inputs", (int)func);
  if ((s = c.need_dtype("output", y, is_compare(func) ? (uint8_t)EB_DTYPE_INT32 : dtype)) != EB_OK) return s;
  const Tensor& ty = c.T(y);
  if ((s = c.need_rank("input a", a, ty.rank)) != EB_OK) return s;
  if ((s = c.need_rank("input b", b, ty.rank)) != EB_OK) return s;
  for (uint32_t d = 0; d < ty.rank; ++d)
    if ((c.T(a).dims[d] != ty.dims[d] && c.T(a).dims[d] != 1) || (c.T(b).dims[d] != ty.dims[d] && c.T(b).dims[d] != 1))
      return c.fail("input dims %s and %s do not broadcast to output dims %s", dims_text(c.T(a)).text,
                    dims_text(c.T(b)).text, dims_text(ty).text);
  return EB_OK;
}

void run(eb_model* m, const Op& op) {
  const Tensor &a = m->tensors[op.inputs[0]], &b = m->tensors[op.inputs[1]], &y = m->tensors[op.outputs[0]];
  eb_xx_elementwise_ref(op.p.elementwise.func, a.dtype == EB_DTYPE_INT32, y.rank, a.dims, b.dims, y.dims, a.data,
                        b.data, y.data);
}

}  // namespace

const OpImpl kOpImplElementwise = {validate, NULL, run, NULL, NULL};

}  // namespace eb
