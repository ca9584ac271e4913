// scatter_elements.cc: SCATTER_ELEMENTS: y = x with src combined in along axis at indices (torch.scatter,
// scatter_add, scatter_reduce, index_put with accumulate). int8 moves codes: reduce NONE, MAX or MIN only, and src
// shares x's scale and zero point. A run-time index outside [-n, n) is skipped (eb_xx_scatter_ref).
#include "edgebuild/ukernels.h"
#include "indexing.h"

namespace eb {

namespace {

eb_status validate(OpCheck& c) {
  const int32_t x = c.op().inputs[0], idx = c.op().inputs[1], src = c.op().inputs[2], y = c.op().outputs[0];
  const ScatterElementsParams& p = c.p().scatter_elements;
  eb_status s;
  if ((s = need_moved_dtype(c, "output", y, x)) != EB_OK) return s;
  if ((s = need_moved_dtype(c, "src", src, x)) != EB_OK) return s;
  if ((s = c.need_dtype("indices", idx, EB_DTYPE_INT32)) != EB_OK) return s;
  if ((s = need_axis(c, p.axis, x)) != EB_OK) return s;
  if ((s = c.need_same_dims("output", y, "input", x)) != EB_OK) return s;
  const Tensor &tx = c.T(x), &ti = c.T(idx), &ts = c.T(src);
  bool ok = ti.rank == tx.rank && ts.rank == tx.rank;
  for (uint32_t d = 0; ok && d < tx.rank; ++d)
    ok = ti.dims[d] <= ts.dims[d] && (d == (uint32_t)p.axis || ti.dims[d] <= tx.dims[d]);
  if (!ok)
    return c.fail(
        "indices dims %s: expected input rank %u, no dim larger than src dims %s, nor than input dims %s "
        "off axis %d",
        dims_text(ti).text, tx.rank, dims_text(ts).text, dims_text(tx).text, (int)p.axis);
  if (tx.dtype == EB_DTYPE_INT8 && p.reduce != EB_SCATTER_REDUCE_NONE && p.reduce != EB_SCATTER_REDUCE_MAX &&
      p.reduce != EB_SCATTER_REDUCE_MIN)
    return c.fail("reduce %d on int8: only NONE, MAX and MIN move int8 codes unchanged", (int)p.reduce);
  if (p.reduce == EB_SCATTER_REDUCE_MEAN) return c.fail("reduce MEAN is not implemented by this runtime");
  return EB_OK;
}

void run(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &idx = m->tensors[op.inputs[1]], &src = m->tensors[op.inputs[2]];
  const Tensor& y = m->tensors[op.outputs[0]];
  const ScatterElementsParams& p = op.p.scatter_elements;
  eb_xx_scatter_ref(x.dtype, x.rank, x.dims, idx.dims, src.dims, (size_t)p.axis, p.reduce, p.include_self,
                    reinterpret_cast<const int32_t*>(idx.data), src.data, x.data, y.data);
}

}  // namespace

const OpImpl kOpImplScatterElements = {validate, NULL, run, NULL, NULL};

}  // namespace eb
