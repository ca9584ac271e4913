// quantize.cc: QUANTIZE: float32 -> int8 (docs/quantization.md (1)); to_nhwc also transposes a 4-D NCHW input.
#include <math.h>
#include <string.h>

#include "../dispatch.h"
#include "../op.h"

namespace eb {

namespace {

eb_status validate(OpCheck& c) {
  const Op& op = c.op();
  const QuantizeParams& p = c.p().quantize;
  const int32_t x = op.inputs[0], y = op.outputs[0];
  eb_status s;
  if ((s = c.need_dtype("input", x, EB_DTYPE_FLOAT32)) != EB_OK) return s;
  if ((s = c.need_dtype("output", y, EB_DTYPE_INT8)) != EB_OK) return s;
  if (!(p.inv_scale > 0.0f) || !isfinite(p.inv_scale)) {
    uint32_t bits;
    memcpy(&bits, &p.inv_scale, sizeof bits);
    return c.fail("inv_scale %g (bits 0x%08x) must be positive and finite", (double)p.inv_scale, (unsigned)bits);
  }
  return c.need_layout_change(x, y, p.to_nhwc, /*nchw_to_nhwc=*/true);
}

void run(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  const QuantizeParams& p = op.p.quantize;  // inv_scale: float32(1 / scale)
  const float* xd = reinterpret_cast<const float*>(x.data);
  int8_t* yd = reinterpret_cast<int8_t*>(y.data);
  if (p.to_nhwc) {
    elem_kernels(m->isa).quantize_to_nhwc((size_t)x.dims[0], (size_t)x.dims[1], (size_t)x.dims[2], (size_t)x.dims[3],
                                          xd, yd, p.inv_scale, y.zero_point);
  } else {
    elem_kernels(m->isa).quantize(x.num_elements, xd, yd, p.inv_scale, y.zero_point);
  }
}

}  // namespace

const OpImpl kOpImplQuantize = {validate, NULL, run, NULL, NULL};

}  // namespace eb
