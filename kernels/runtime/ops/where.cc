// where.cc: WHERE (docs/artifact.md): y = cond != 0 ? a : b; cond int32, a, b and y of one dtype, all broadcast to y.
#include "../op.h"
#include "edgebuild/ukernels.h"

namespace eb {

namespace {

eb_status validate(OpCheck& c) {
  const Op& op = c.op();
  const int32_t cond = op.inputs[0], a = op.inputs[1], b = op.inputs[2], y = op.outputs[0];
  eb_status s;
  if ((s = c.need_dtype("condition", cond, EB_DTYPE_INT32)) != EB_OK) return s;
  if ((s = c.need_dtype("input b", b, c.T(a).dtype)) != EB_OK) return s;
  if ((s = c.need_dtype("output", y, c.T(a).dtype)) != EB_OK) return s;
  if (c.T(a).dtype == EB_DTYPE_INT8 && ((s = c.need_same_quant("input a", a, "output", y)) != EB_OK ||
                                        (s = c.need_same_quant("input b", b, "output", y)) != EB_OK))
    return s;
  const Tensor& ty = c.T(y);
  const int32_t ids[3] = {cond, a, b};
  const char* roles[3] = {"condition", "input a", "input b"};
  for (int k = 0; k < 3; ++k) {
    if ((s = c.need_rank(roles[k], ids[k], ty.rank)) != EB_OK) return s;
    for (uint32_t d = 0; d < ty.rank; ++d)
      if (c.T(ids[k]).dims[d] != ty.dims[d] && c.T(ids[k]).dims[d] != 1)
        return c.fail("%s dims %s do not broadcast to output dims %s", roles[k], dims_text(c.T(ids[k])).text,
                      dims_text(ty).text);
  }
  return EB_OK;
}

void run(eb_model* m, const Op& op) {
  const Tensor &cond = m->tensors[op.inputs[0]], &a = m->tensors[op.inputs[1]], &b = m->tensors[op.inputs[2]];
  const Tensor& y = m->tensors[op.outputs[0]];
  const size_t element_size = y.num_elements == 0 ? 1 : (size_t)(y.size / y.num_elements);
  eb_xx_where_ref(element_size, y.rank, cond.dims, a.dims, b.dims, y.dims, reinterpret_cast<const int32_t*>(cond.data),
                  a.data, b.data, y.data);
}

}  // namespace

const OpImpl kOpImplWhere = {validate, NULL, run, NULL, NULL};

}  // namespace eb
