// reduce.cc: REDUCE (single form, dispatch on dtype): x [dims] -> y over the axes set in `axes`, reduced dims kept
// as 1 or dropped (told by y's rank). f32: every function; i32: not MEAN, VAR, LOGSUMEXP; i8: MAX and MIN (codes of
// one scale and zero point) and ARGMAX, ARGMIN. ARGMAX, ARGMIN, ANY, ALL write int32.
#include <math.h>

#include "../op.h"
#include "edgebuild/ops_enums.h"
#include "edgebuild/ukernels.h"

namespace eb {

namespace {

bool writes_index_or_bool(int32_t f) {
  return f == EB_REDUCE_FUNC_ARGMAX || f == EB_REDUCE_FUNC_ARGMIN || f == EB_REDUCE_FUNC_ANY || f == EB_REDUCE_FUNC_ALL;
}

eb_status validate(OpCheck& c) {
  const int32_t x = c.op().inputs[0], y = c.op().outputs[0];
  const Tensor &tx = c.T(x), &ty = c.T(y);
  const ReduceParams& p = c.p().reduce;
  const int32_t f = p.func;
  const uint32_t axes = (uint32_t)p.axes;
  if (tx.rank < 32 && (axes >> tx.rank) != 0)
    return c.fail("axes 0x%x name an axis outside the input's rank %u", (unsigned)axes, tx.rank);
  for (uint32_t k = 0; k < tx.rank; ++k)
    if (tx.dims[k] < 1) return c.fail("input dims %s: a reduction needs every dim >= 1", dims_text(tx).text);
  bool ok;
  if (tx.dtype == EB_DTYPE_FLOAT32) {
    ok = true;
    if (!isfinite(p.correction)) return c.fail("correction %g is not finite", (double)p.correction);
  } else if (tx.dtype == EB_DTYPE_INT32) {
    ok = f != EB_REDUCE_FUNC_MEAN && f != EB_REDUCE_FUNC_VAR && f != EB_REDUCE_FUNC_LOGSUMEXP;
  } else {
    ok = tx.dtype == EB_DTYPE_INT8 && (f == EB_REDUCE_FUNC_MAX || f == EB_REDUCE_FUNC_MIN ||
                                       f == EB_REDUCE_FUNC_ARGMAX || f == EB_REDUCE_FUNC_ARGMIN);
  }
  if (!ok) return c.fail("function %d is not defined on the input's dtype %d", (int)f, (int)tx.dtype);
  const uint8_t want = writes_index_or_bool(f) ? (uint8_t)EB_DTYPE_INT32 : tx.dtype;
  eb_status s;
  if ((s = c.need_dtype("output", y, want)) != EB_OK) return s;
  if (want == EB_DTYPE_INT8 && (s = c.need_same_quant("output", y, "input", x)) != EB_OK) return s;
  // y: the kept dims in order, each reduced dim 1 (same rank) or absent (rank minus the reduced count).
  uint32_t reduced = 0;
  for (uint32_t k = 0; k < tx.rank; ++k) reduced += (axes >> k) & 1u;
  const bool keep = ty.rank == tx.rank;
  ok = keep || ty.rank + reduced == tx.rank;
  for (uint32_t k = 0, j = 0; ok && k < tx.rank; ++k) {
    const bool r = (axes >> k) & 1u;
    if (keep)
      ok = ty.dims[k] == (r ? 1 : tx.dims[k]);
    else if (!r)
      ok = ty.dims[j++] == tx.dims[k];
  }
  if (!ok)
    return c.fail("output dims %s are not input dims %s reduced over axes 0x%x", dims_text(ty).text, dims_text(tx).text,
                  (unsigned)axes);
  return EB_OK;
}

void run(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  const ReduceParams& p = op.p.reduce;
  const uint32_t axes = (uint32_t)p.axes;
  if (x.dtype == EB_DTYPE_FLOAT32)
    eb_xx_reduce_ref(p.func, x.rank, x.dims, axes, p.correction, reinterpret_cast<const float*>(x.data), y.data);
  else if (x.dtype == EB_DTYPE_INT32)
    eb_xx_reduce_s32_ref(p.func, x.rank, x.dims, axes, reinterpret_cast<const int32_t*>(x.data),
                         reinterpret_cast<int32_t*>(y.data));
  else
    eb_xx_reduce_s8_ref(p.func, x.rank, x.dims, axes, reinterpret_cast<const int8_t*>(x.data), y.data);
}

}  // namespace

const OpImpl kOpImplReduce = {validate, NULL, run, NULL, NULL};

}  // namespace eb
