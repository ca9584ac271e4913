// gather_elements.cc: GATHER_ELEMENTS (torch.gather): y[p] = x[p with p[axis] = indices[p]], y.dims = indices.dims
// (any dtype). A run-time index outside [-n, n) gives a zero element (eb_xx_gather_elements_ref).
#include "edgebuild/ukernels.h"
#include "indexing.h"

namespace eb {

namespace {

eb_status validate(OpCheck& c) {
  const int32_t x = c.op().inputs[0], idx = c.op().inputs[1], y = c.op().outputs[0];
  const int32_t axis = c.p().gather_elements.axis;
  eb_status s;
  if ((s = need_moved_dtype(c, "output", y, x)) != EB_OK) return s;
  if ((s = c.need_dtype("indices", idx, EB_DTYPE_INT32)) != EB_OK) return s;
  if ((s = need_axis(c, axis, x)) != EB_OK) return s;
  if ((s = c.need_same_dims("output", y, "indices", idx)) != EB_OK) return s;
  const Tensor &tx = c.T(x), &ti = c.T(idx);
  bool ok = ti.rank == tx.rank;
  for (uint32_t d = 0; ok && d < tx.rank; ++d) ok = d == (uint32_t)axis || ti.dims[d] <= tx.dims[d];
  if (!ok)
    return c.fail("indices dims %s: expected input rank %u and no dim larger than input dims %s off axis %d",
                  dims_text(ti).text, tx.rank, dims_text(tx).text, (int)axis);
  return EB_OK;
}

void run(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &idx = m->tensors[op.inputs[1]], &y = m->tensors[op.outputs[0]];
  eb_xx_gather_elements_ref(dtype_size(x.dtype), x.rank, x.dims, idx.dims, (size_t)op.p.gather_elements.axis,
                            reinterpret_cast<const int32_t*>(idx.data), x.data, y.data);
}

}  // namespace

const OpImpl kOpImplGatherElements = {validate, NULL, run, NULL, NULL};

}  // namespace eb
