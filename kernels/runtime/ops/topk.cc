// topk.cc: TOPK (torch.topk, torch.sort with k = n): the k largest (or smallest) along axis in order, ties by the
// lower index; the output is the values (x's dtype) or, with `indices`, their int32 positions. One output per op.
#include "edgebuild/ukernels.h"
#include "indexing.h"

namespace eb {

namespace {

eb_status validate(OpCheck& c) {
  const int32_t x = c.op().inputs[0], y = c.op().outputs[0];
  const TopkParams& p = c.p().topk;
  eb_status s;
  if ((s = need_axis(c, p.axis, x)) != EB_OK) return s;
  if (p.indices) {
    if ((s = c.need_dtype("output", y, EB_DTYPE_INT32)) != EB_OK) return s;
  } else if ((s = need_moved_dtype(c, "output", y, x)) != EB_OK) {
    return s;
  }
  const uint8_t dt = c.T(x).dtype;
  if (dt != EB_DTYPE_INT8 && dt != EB_DTYPE_INT32 && dt != EB_DTYPE_FLOAT32)
    return c.fail("input is %s, expected int8, int32 or float32", dtype_text(dt));
  if ((s = c.need_rank("output", y, c.T(x).rank)) != EB_OK) return s;
  const Tensor &tx = c.T(x), &ty = c.T(y);
  if (p.k < 1 || p.k > tx.dims[p.axis]) return c.fail("k %d outside 1..%d", (int)p.k, (int)tx.dims[p.axis]);
  for (uint32_t d = 0; d < tx.rank; ++d)
    if (ty.dims[d] != (d == (uint32_t)p.axis ? p.k : tx.dims[d]))
      return c.fail("output dims %s, expected input dims %s with k = %d on axis %d", dims_text(ty).text,
                    dims_text(tx).text, (int)p.k, (int)p.axis);
  return EB_OK;
}

void run(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  const TopkParams& p = op.p.topk;
  const uint32_t axis = (uint32_t)p.axis;
  eb_xx_topk_ref(x.dtype, dims_product(x, 0, axis), (size_t)x.dims[axis], dims_product(x, axis + 1, x.rank),
                 (size_t)p.k, p.largest, x.data, p.indices ? NULL : y.data,
                 p.indices ? reinterpret_cast<int32_t*>(y.data) : NULL);
}

}  // namespace

const OpImpl kOpImplTopk = {validate, NULL, run, NULL, NULL};

}  // namespace eb
