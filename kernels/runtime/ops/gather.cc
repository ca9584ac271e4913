// gather.cc: GATHER: y = x.dims[:axis] + indices.dims + x.dims[axis+1:] (any dtype; index_select, advanced
// indexing, embedding with a computed table, flip / roll / reflect padding with constant indices). A run-time index
// outside [-n, n) gives a zero row (eb_xx_gather_ref).
#include "edgebuild/ukernels.h"
#include "indexing.h"

namespace eb {

namespace {

eb_status validate(OpCheck& c) {
  const int32_t x = c.op().inputs[0], idx = c.op().inputs[1], y = c.op().outputs[0];
  const int32_t axis = c.p().gather.axis;
  eb_status s;
  if ((s = need_moved_dtype(c, "output", y, x)) != EB_OK) return s;
  if ((s = c.need_dtype("indices", idx, EB_DTYPE_INT32)) != EB_OK) return s;
  if ((s = need_axis(c, axis, x)) != EB_OK) return s;
  const Tensor &tx = c.T(x), &ti = c.T(idx), &ty = c.T(y);
  bool ok = ty.rank == tx.rank - 1 + ti.rank;
  for (uint32_t d = 0; ok && d < ty.rank; ++d) {
    const uint32_t a = (uint32_t)axis;
    const int32_t want = d < a ? tx.dims[d] : d < a + ti.rank ? ti.dims[d - a] : tx.dims[d - ti.rank + 1];
    ok = ty.dims[d] == want;
  }
  if (!ok)
    return c.fail("output dims %s, expected input dims %s with axis %d replaced by the indices' dims %s",
                  dims_text(ty).text, dims_text(tx).text, (int)axis, dims_text(ti).text);
  return EB_OK;
}

void run(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &idx = m->tensors[op.inputs[1]], &y = m->tensors[op.outputs[0]];
  const uint32_t axis = (uint32_t)op.p.gather.axis;
  eb_xx_gather_ref(dtype_size(x.dtype), dims_product(x, 0, axis), (size_t)x.dims[axis],
                   dims_product(x, axis + 1, x.rank), idx.num_elements,
                   reinterpret_cast<const int32_t*>(idx.data), x.data, y.data);
}

}  // namespace

const OpImpl kOpImplGather = {validate, NULL, run, NULL, NULL};

}  // namespace eb
