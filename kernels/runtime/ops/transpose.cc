// transpose.cc: TRANSPOSE: y.dims[j] = x.dims[perm[j]] (any dtype).
#include "../op.h"
#include "edgebuild/ukernels.h"

namespace eb {

namespace {

eb_status validate(OpCheck& c) {
  const int32_t x = c.op().inputs[0], y = c.op().outputs[0];
  const Tensor &tx = c.T(x), &ty = c.T(y);
  const int32_t* perm = c.p().transpose.perm;
  eb_status s;
  if ((s = c.need_dtype("output", y, tx.dtype)) != EB_OK) return s;
  if ((s = c.need_rank("output", y, tx.rank)) != EB_OK) return s;
  bool seen[EB_MAX_RANK] = {false, false, false, false, false, false};
  for (uint32_t j = 0; j < tx.rank; ++j) {
    const int32_t src = perm[j];
    if (src < 0 || (uint32_t)src >= tx.rank || seen[src])
      return c.fail("perm[%u] = %d: the params are not a permutation of 0..%u", j, (int)src, tx.rank - 1);
    seen[src] = true;
    if (ty.dims[j] != tx.dims[src])
      return c.fail("output dims %s are not input dims %s permuted (dims[%u] should be %d)", dims_text(ty).text,
                    dims_text(tx).text, j, (int)tx.dims[src]);
  }
  return EB_OK;
}

// One param per dim of x.
eb_status param_error(OpCheck& c, const ParamError& e) {
  if (e.field != NULL) return param_error_text(c, e);
  return c.fail("has %u params, expected rank %u", e.got, e.expected);
}

void run(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  eb_xx_transpose_ref(dtype_size(x.dtype), x.rank, x.dims, op.p.transpose.perm, x.data, y.data);
}

}  // namespace

const OpImpl kOpImplTranspose = {validate, NULL, run, param_error, NULL};

}  // namespace eb
