// unary.cc: UNARY (docs/artifact.md): int8 x -> y through a constant int8 table [T, 256] (T = 1 or the last dim of
// x, built at build time from the function); float32 x -> y by the function's formula, with a constant float32
// slope [T] for PRELU and no table (-1) otherwise (kernels/ukernels/f32-unary/ref.cc: the functions).
#include <math.h>
#include <string.h>

#include "../dispatch.h"
#include "../op.h"
#include "edgebuild/ukernels.h"

namespace eb {

namespace {

eb_status validate(OpCheck& c) {
  const Op& op = c.op();
  const int32_t x = op.inputs[0], t = op.inputs[1], y = op.outputs[0];
  // Both forms have the same fields (func, alpha).
  const int32_t func = c.is_float() ? c.p().unary_float.func : c.p().unary_int8.func;
  eb_status s;
  const uint8_t dtype = c.T(x).dtype;
  if (dtype != EB_DTYPE_INT8 && dtype != EB_DTYPE_FLOAT32)
    return c.fail("input ('%.*s') is %s, expected int8 or float32", c.tlen(x), c.tname(x), dtype_text(dtype));
  if ((s = c.need_dtype("output", y, dtype)) != EB_OK) return s;
  if ((s = c.need_same_dims("output", y, "input", x)) != EB_OK) return s;
  const int32_t channels = c.T(x).rank == 0 ? 1 : c.T(x).dims[c.T(x).rank - 1];
  const bool needs_table = dtype == EB_DTYPE_INT8 || func == EB_UNARY_PRELU;
  if (!needs_table) {
    if (t != -1) return c.fail("a float32 %d function takes no table (input 1 must be -1)", (int)func);
    const float alpha = c.p().unary_float.alpha;
    // The scalar functions (x + alpha, ...) take an infinite alpha too (x * inf is torch's too); never NaN.
    const bool scalar_func = func >= EB_UNARY_POW_SCALAR && func <= EB_UNARY_MIN_SCALAR;
    if (scalar_func ? alpha != alpha : !isfinite(alpha)) {
      uint32_t bits;
      memcpy(&bits, &alpha, sizeof bits);
      return c.fail("alpha (bits 0x%08x) is not finite", (unsigned)bits);
    }
    return EB_OK;
  }
  if (t == -1) return c.fail("input 1 (table or slope) is missing");
  const char* role = dtype == EB_DTYPE_INT8 ? "table" : "slope";
  if ((s = c.need_dtype(role, t, dtype)) != EB_OK) return s;
  if ((s = c.need_const(role, t)) != EB_OK) return s;
  if ((s = c.need_rank(role, t, dtype == EB_DTYPE_INT8 ? 2 : 1)) != EB_OK) return s;
  if (dtype == EB_DTYPE_INT8 && c.T(t).dims[1] != 256)
    return c.fail("table ('%.*s') dims %s, expected [T, 256]", c.tlen(t), c.tname(t), dims_text(c.T(t)).text);
  if (c.T(t).dims[0] != 1 && c.T(t).dims[0] != channels)
    return c.fail("%s ('%.*s') has %d rows, expected 1 or the %d channels of the input's last dim", role, c.tlen(t),
                  c.tname(t), (int)c.T(t).dims[0], (int)channels);
  return EB_OK;
}

// func is a UnaryFunc (edgebuild/ops_enums.h).
eb_status param_error(OpCheck& c, const ParamError& e) {
  if (e.field == NULL || strcmp(e.field, "func") != 0) return param_error_text(c, e);
  return c.fail("function %d outside 0..%d", (int)e.value, EB_UNARY_COUNT - 1);
}

void run(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  const size_t channels = x.rank == 0 ? 1 : (size_t)x.dims[x.rank - 1];
  const Tensor* t = op.inputs[1] < 0 ? NULL : &m->tensors[op.inputs[1]];
  if (op.form == kFormInt8) {
    eb_qs8_lut_ref(x.num_elements, channels, (size_t)t->dims[0], reinterpret_cast<const int8_t*>(t->data),
                   reinterpret_cast<const int8_t*>(x.data), reinterpret_cast<int8_t*>(y.data));
    return;
  }
  const UnaryFloatParams& p = op.p.unary_float;
  f32_unary_fn(m->isa)(p.func, x.num_elements, channels, t != NULL ? (size_t)t->dims[0] : 1,
                       t != NULL ? reinterpret_cast<const float*>(t->data) : NULL, p.alpha,
                       reinterpret_cast<const float*>(x.data), reinterpret_cast<float*>(y.data));
}

}  // namespace

const OpImpl kOpImplUnary = {validate, NULL, run, param_error, NULL};

}  // namespace eb
