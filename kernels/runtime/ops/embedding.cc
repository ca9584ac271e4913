// embedding.cc: EMBEDDING (float32 only): rows of a constant table [V, D] picked by int32 ids (any rank <= 5);
// output [ids dims..., D]. Ids are data: eb_model_set_input_int32 checks them against the table (indexed_table).
#include "../op.h"
#include "edgebuild/ukernels.h"

namespace eb {

namespace {

eb_status validate(OpCheck& c) {
  const Op& op = c.op();
  const int32_t table = op.inputs[0], ids = op.inputs[1], y = op.outputs[0];
  eb_status s;
  if ((s = c.need_dtype("table", table, EB_DTYPE_FLOAT32)) != EB_OK) return s;
  if ((s = c.need_const("table", table)) != EB_OK) return s;
  if ((s = c.need_rank("table", table, 2)) != EB_OK) return s;
  if ((s = c.need_dtype("ids", ids, EB_DTYPE_INT32)) != EB_OK) return s;
  const Tensor &ti = c.T(ids), &ty = c.T(y);
  bool ok = ty.rank == ti.rank + 1 && ty.dims[ti.rank] == c.T(table).dims[1];
  for (uint32_t d = 0; ok && d < ti.rank; ++d) ok = ty.dims[d] == ti.dims[d];
  if (!ok)
    return c.fail("output dims %s, expected ids dims %s followed by the table width %d", dims_text(ty).text,
                  dims_text(ti).text, (int)c.T(table).dims[1]);
  return EB_OK;
}

void run(eb_model* m, const Op& op) {
  const Tensor &table = m->tensors[op.inputs[0]], &ids = m->tensors[op.inputs[1]], &y = m->tensors[op.outputs[0]];
  eb_f32_embedding_ref(ids.num_elements, (size_t)table.dims[0], (size_t)table.dims[1],
                       reinterpret_cast<const float*>(table.data), reinterpret_cast<const int32_t*>(ids.data),
                       reinterpret_cast<float*>(y.data));
}

int32_t indexed_table(const eb_model*, const Op& op, int32_t id) { return op.inputs[1] == id ? op.inputs[0] : -1; }

}  // namespace

const OpImpl kOpImplEmbedding = {validate, NULL, run, NULL, indexed_table};

}  // namespace eb
