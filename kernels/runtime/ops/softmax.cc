// softmax.cc: SOFTMAX over the last axis; output dims = input dims. float32 (the ISA's kernel, bit-identical to the
// reference), or int8 as TFLite's int8 SOFTMAX (docs/quantization.md (17)-(21)): the output has scale 1/256 and
// zero point -128.
#include "../dispatch.h"
#include "../op.h"
#include "edgebuild/ukernels.h"

namespace eb {

namespace {

eb_status validate_int8(OpCheck& c, int32_t x, int32_t y) {
  const SoftmaxInt8Params& p = c.p().softmax_int8;
  const Tensor& yt = c.T(y);
  if (yt.zero_point != -128 || yt.scale != 1.0f / 256.0f)
    return c.fail("output scale %g, zero point %d: int8 softmax writes 1/256, -128 (docs/quantization.md (21))",
                  (double)yt.scale, (int)yt.zero_point);
  const int32_t cols = c.T(x).dims[c.T(x).rank - 1];
  if (cols > EB_QS8_SOFTMAX_MAX_COLS)
    return c.fail("%d values per row, at most %d (docs/quantization.md (20))", (int)cols, EB_QS8_SOFTMAX_MAX_COLS);
  // (17): diff_min keeps d·2^input_shift within int32 for every difference d >= diff_min
  const bool shift_ok = p.input_shift >= 0 && p.input_shift <= 31;
  const int64_t radius = shift_ok ? ((int64_t)31 << 26) >> p.input_shift : 0;
  if (p.input_mult < (1 << 30) || !shift_ok || p.diff_min > 0 || p.diff_min < -radius)
    return c.fail("input_mult %d, input_shift %d, diff_min %d: out of range (docs/quantization.md (17))",
                  (int)p.input_mult, (int)p.input_shift, (int)p.diff_min);
  return EB_OK;
}

eb_status validate(OpCheck& c) {
  const int32_t x = c.op().inputs[0], y = c.op().outputs[0];
  eb_status s;
  if ((s = c.need_dtype("input", x, c.act_dtype())) != EB_OK) return s;
  if ((s = c.need_dtype("output", y, c.act_dtype())) != EB_OK) return s;
  if (c.T(x).rank < 1) return c.fail("input ('%.*s') has rank 0", c.tlen(x), c.tname(x));
  if ((s = c.need_same_dims("output", y, "input", x)) != EB_OK) return s;
  return c.is_float() ? EB_OK : validate_int8(c, x, y);
}

void run(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  const size_t cols = (size_t)x.dims[x.rank - 1];
  if (cols == 0) return;
  if (op.form == kFormFloat) {
    f32_softmax_fn(m->isa)(x.num_elements / cols, cols, reinterpret_cast<const float*>(x.data),
                           reinterpret_cast<float*>(y.data));
    return;
  }
  const SoftmaxInt8Params& p = op.p.softmax_int8;
  eb_qs8_softmax_ref(x.num_elements / cols, cols, reinterpret_cast<const int8_t*>(x.data),
                     reinterpret_cast<int8_t*>(y.data), p.input_mult, p.input_shift, p.diff_min);
}

}  // namespace

const OpImpl kOpImplSoftmax = {validate, NULL, run, NULL, NULL};

}  // namespace eb
