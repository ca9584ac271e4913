// dequantize.cc: DEQUANTIZE: int8 -> float32 (docs/quantization.md (2)); to_nchw also transposes an NHWC output.
#include "../op.h"
#include "edgebuild/ukernels.h"

namespace eb {

namespace {

eb_status validate(OpCheck& c) {
  const Op& op = c.op();
  const int32_t x = op.inputs[0], y = op.outputs[0];
  eb_status s;
  if ((s = c.need_dtype("input", x, EB_DTYPE_INT8)) != EB_OK) return s;
  if ((s = c.need_dtype("output", y, EB_DTYPE_FLOAT32)) != EB_OK) return s;
  return c.need_layout_change(x, y, c.p().dequantize.to_nchw, /*nchw_to_nhwc=*/false);
}

void run(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  if (op.p.dequantize.to_nchw) {
    eb_qs8_dequantize_to_nchw_ref((size_t)x.dims[0], (size_t)x.dims[1], (size_t)x.dims[2], (size_t)x.dims[3],
                                  reinterpret_cast<const int8_t*>(x.data), reinterpret_cast<float*>(y.data), x.scale,
                                  x.zero_point);
  } else {
    eb_qs8_dequantize_ref(x.num_elements, reinterpret_cast<const int8_t*>(x.data), reinterpret_cast<float*>(y.data),
                          x.scale, x.zero_point);
  }
}

}  // namespace

const OpImpl kOpImplDequantize = {validate, NULL, run, NULL, NULL};

}  // namespace eb
