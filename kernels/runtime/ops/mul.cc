// mul.cc: MUL (docs/artifact.md): int8 (docs/quantization.md (12)) or float32, with broadcasting; the broadcasting
// reference kernels.
#include <string.h>

#include "binary.h"

namespace eb {

namespace {

eb_status validate(OpCheck& c) {
  eb_status s;
  if ((s = validate_binary_tensors(c)) != EB_OK) return s;
  if (c.is_float()) return c.need_bounds(c.p().mul_float.lo, c.p().mul_float.hi);
  const MulInt8Params& p = c.p().mul_int8;
  if ((s = c.need_multiplier("out", 0, p.out_mult, p.out_shift)) != EB_OK) return s;
  return c.need_act(p.act_min, p.act_max);
}

void run(eb_model* m, const Op& op) {
  if (op.form == kFormFloat) return run_binary_f32(m, op, EB_BINARY_MUL, op.p.mul_float.lo, op.p.mul_float.hi);
  const MulInt8Params& p = op.p.mul_int8;
  eb_qs8_binary_params k;
  memset(&k, 0, sizeof k);
  k.op = EB_BINARY_MUL;
  k.output_multiplier = p.out_mult;
  k.output_shift = p.out_shift;
  k.output_min = p.act_min;
  k.output_max = p.act_max;
  run_binary_qs8(m, op, &k);
}

}  // namespace

const OpImpl kOpImplMul = {validate, NULL, run, NULL, NULL};

}  // namespace eb
