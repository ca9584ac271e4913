// broadcast_to.cc: BROADCAST_TO (expand): same rank, each input dim 1 or the output's (any dtype).
#include "edgebuild/ukernels.h"
#include "indexing.h"

namespace eb {

namespace {

eb_status validate(OpCheck& c) {
  const int32_t x = c.op().inputs[0], y = c.op().outputs[0];
  eb_status s;
  if ((s = need_moved_dtype(c, "output", y, x)) != EB_OK) return s;
  if ((s = c.need_rank("output", y, c.T(x).rank)) != EB_OK) return s;
  const Tensor &tx = c.T(x), &ty = c.T(y);
  for (uint32_t d = 0; d < tx.rank; ++d)
    if (tx.dims[d] != 1 && tx.dims[d] != ty.dims[d])
      return c.fail("input dims %s do not broadcast to output dims %s (dim %u)", dims_text(tx).text, dims_text(ty).text,
                    d);
  return EB_OK;
}

void run(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  eb_xx_gather_broadcast_ref(dtype_size(x.dtype), x.rank, x.dims, y.dims, x.data, y.data);
}

}  // namespace

const OpImpl kOpImplBroadcastTo = {validate, NULL, run, NULL, NULL};

}  // namespace eb
