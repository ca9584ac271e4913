// layer_norm.cc: LAYER_NORM (float32 only): over the last axis D, with optional constant gamma and beta [D].
#include <math.h>

#include "../dispatch.h"
#include "../op.h"
#include "edgebuild/ukernels.h"

namespace eb {

namespace {

eb_status validate(OpCheck& c) {
  const Op& op = c.op();
  const int32_t x = op.inputs[0], y = op.outputs[0];
  eb_status s;
  if ((s = c.need_dtype("input", x, EB_DTYPE_FLOAT32)) != EB_OK) return s;
  if (c.T(x).rank < 1) return c.fail("input ('%.*s') has rank 0", c.tlen(x), c.tname(x));
  if ((s = c.need_same_dims("output", y, "input", x)) != EB_OK) return s;
  const int32_t D = c.T(x).dims[c.T(x).rank - 1];
  if ((s = c.need_f32_vector("gamma", op.inputs[1], D)) != EB_OK) return s;
  if ((s = c.need_f32_vector("beta", op.inputs[2], D)) != EB_OK) return s;
  const float eps = c.p().layer_norm_float.eps;
  if (!(eps >= 0.0f) || !isfinite(eps)) return c.fail("eps %g must be finite and >= 0", (double)eps);
  return EB_OK;
}

void run(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  const size_t cols = (size_t)x.dims[x.rank - 1];
  f32_layernorm_fn(m->isa)(x.num_elements / cols, cols, reinterpret_cast<const float*>(x.data),
                           data_or_null<float>(m, op.inputs[1]), data_or_null<float>(m, op.inputs[2]),
                           op.p.layer_norm_float.eps, reinterpret_cast<float*>(y.data));
}

}  // namespace

const OpImpl kOpImplLayerNorm = {validate, NULL, run, NULL, NULL};

}  // namespace eb
