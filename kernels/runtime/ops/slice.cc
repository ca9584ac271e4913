// slice.cc: SLICE: y[i] = x[start + i·step] per dim; every index read lies inside x (checked at load).
#include "../op.h"
#include "edgebuild/ukernels.h"

namespace eb {

namespace {

template <typename Params>
eb_status validate_form(OpCheck& c, const Params& p) {
  const int32_t x = c.op().inputs[0], y = c.op().outputs[0];
  eb_status s;
  if ((s = c.need_mover(x, y)) != EB_OK) return s;
  for (uint32_t d = 0; d < c.T(x).rank; ++d) {
    const int64_t start = p.start[d], step = p.step[d];
    if (start < 0 || step < 1 || start + (int64_t)(c.T(y).dims[d] - 1) * step >= c.T(x).dims[d])
      return c.fail(
          "dim %u: start %lld step %lld for %d outputs reads outside input size %d (start >= 0, "
          "step >= 1)",
          d, (long long)start, (long long)step, (int)c.T(y).dims[d], (int)c.T(x).dims[d]);
  }
  return EB_OK;
}

eb_status validate(OpCheck& c) {
  return c.is_float() ? validate_form(c, c.p().slice_float) : validate_form(c, c.p().slice_int8);
}

// start[rank], step[rank].
eb_status param_error(OpCheck& c, const ParamError& e) {
  if (e.field != NULL) return param_error_text(c, e);
  return c.fail("has %u params, expected 2 × rank %u", e.got, e.expected / 2);
}

void run(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  const int32_t* start = op.form == kFormFloat ? op.p.slice_float.start : op.p.slice_int8.start;
  const int32_t* step = op.form == kFormFloat ? op.p.slice_float.step : op.p.slice_int8.step;
  eb_xx_slice_ref(dtype_size(x.dtype), x.rank, x.dims, start, step, y.dims, x.data, y.data);
}

}  // namespace

const OpImpl kOpImplSlice = {validate, NULL, run, param_error, NULL};

}  // namespace eb
