// sub.cc: SUB (docs/artifact.md): int8 (the parameters of docs/quantization.md (7), as ADD) or float32, with
// broadcasting; the broadcasting reference kernels.
#include <string.h>

#include "binary.h"

namespace eb {

namespace {

eb_status validate(OpCheck& c) {
  eb_status s;
  if ((s = validate_binary_tensors(c)) != EB_OK) return s;
  if (c.is_float()) return c.need_bounds(c.p().sub_float.lo, c.p().sub_float.hi);
  return validate_add_sub_int8(c, c.p().sub_int8);
}

void run(eb_model* m, const Op& op) {
  if (op.form == kFormFloat) return run_binary_f32(m, op, EB_BINARY_SUB, op.p.sub_float.lo, op.p.sub_float.hi);
  eb_qs8_binary_params k;
  memset(&k, 0, sizeof k);
  k.op = EB_BINARY_SUB;
  set_add_sub_int8(&k, op.p.sub_int8);
  run_binary_qs8(m, op, &k);
}

}  // namespace

const OpImpl kOpImplSub = {validate, NULL, run, NULL, NULL};

}  // namespace eb
