// resize.cc: RESIZE (docs/artifact.md): NHWC x -> y of the same batch and channels through per-row and per-column
// tables (i0, i1, weight of i1): int32 with a Q16 weight in [0, 2^16] for int8, float32 with a weight in [0, 1] for
// float32. Mode and align_corners are recorded for exporters; the tables hold their effect.
#include <math.h>

#include "../op.h"
#include "edgebuild/ukernels.h"

namespace eb {

namespace {

eb_status validate(OpCheck& c) {
  const Op& op = c.op();
  const int32_t x = op.inputs[0], y = op.outputs[0];
  eb_status s;
  const uint8_t dtype = c.T(x).dtype;
  if (dtype != EB_DTYPE_INT8 && dtype != EB_DTYPE_FLOAT32)
    return c.fail("input ('%.*s') is %s, expected int8 or float32", c.tlen(x), c.tname(x), dtype_text(dtype));
  if ((s = c.need_dtype("output", y, dtype)) != EB_OK) return s;
  if ((s = c.need_rank("input", x, 4)) != EB_OK) return s;
  if ((s = c.need_rank("output", y, 4)) != EB_OK) return s;
  if (c.T(y).dims[0] != c.T(x).dims[0] || c.T(y).dims[3] != c.T(x).dims[3])
    return c.fail("output dims %s do not keep the batch and channels of input dims %s", dims_text(c.T(y)).text,
                  dims_text(c.T(x)).text);
  if (dtype == EB_DTYPE_INT8 && (s = c.need_same_quant("output", y, "input", x)) != EB_OK) return s;
  const uint8_t tdtype = dtype == EB_DTYPE_INT8 ? EB_DTYPE_INT32 : EB_DTYPE_FLOAT32;
  for (int axis = 0; axis < 2; ++axis) {
    const char* role = axis == 0 ? "row table" : "column table";
    const int32_t t = op.inputs[1 + axis];
    const int32_t in = c.T(x).dims[1 + axis], out = c.T(y).dims[1 + axis];
    if ((s = c.need_dtype(role, t, tdtype)) != EB_OK) return s;
    if ((s = c.need_const(role, t)) != EB_OK) return s;
    if ((s = c.need_rank(role, t, 2)) != EB_OK) return s;
    if (c.T(t).dims[0] != out || c.T(t).dims[1] != 3)
      return c.fail("%s ('%.*s') dims %s, expected [%d, 3]", role, c.tlen(t), c.tname(t), dims_text(c.T(t)).text,
                    (int)out);
    for (int32_t o = 0; o < out; ++o) {
      bool ok;
      if (tdtype == EB_DTYPE_INT32) {
        const int32_t* e = c.const_i32(t) + 3 * o;
        ok = e[0] >= 0 && e[0] < in && e[1] >= 0 && e[1] < in && e[2] >= 0 && e[2] <= 65536;
      } else {
        const float* e = c.const_f32(t) + 3 * o;
        ok = e[0] >= 0.0f && e[0] < (float)in && e[0] == floorf(e[0]) && e[1] >= 0.0f && e[1] < (float)in &&
             e[1] == floorf(e[1]) && e[2] >= 0.0f && e[2] <= 1.0f;  // NaN fails every comparison
      }
      if (!ok)
        return c.fail("%s ('%.*s') entry %d reads outside input size %d or has a weight outside [0, 1]", role,
                      c.tlen(t), c.tname(t), (int)o, (int)in);
    }
  }
  return EB_OK;
}

void run(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  const Tensor &ht = m->tensors[op.inputs[1]], &wt = m->tensors[op.inputs[2]];
  const size_t n = (size_t)x.dims[0], ih = (size_t)x.dims[1], iw = (size_t)x.dims[2], c = (size_t)x.dims[3];
  const size_t oh = (size_t)y.dims[1], ow = (size_t)y.dims[2];
  if (op.form == kFormInt8) {
    eb_qs8_resize_ref(n, ih, iw, c, oh, ow, reinterpret_cast<const int32_t*>(ht.data),
                      reinterpret_cast<const int32_t*>(wt.data), reinterpret_cast<const int8_t*>(x.data),
                      reinterpret_cast<int8_t*>(y.data));
  } else {
    eb_f32_resize_ref(n, ih, iw, c, oh, ow, reinterpret_cast<const float*>(ht.data),
                      reinterpret_cast<const float*>(wt.data), reinterpret_cast<const float*>(x.data),
                      reinterpret_cast<float*>(y.data));
  }
}

}  // namespace

const OpImpl kOpImplResize = {validate, NULL, run, NULL, NULL};

}  // namespace eb
