// pool.h: what MAX_POOL2D and AVG_POOL2D share (docs/artifact.md): NHWC x and y of one dtype with the same batch,
// channels and quantization; the window parameters; a tap of every window inside the input.
#ifndef EDGEBUILD_RUNTIME_OPS_POOL_H_
#define EDGEBUILD_RUNTIME_OPS_POOL_H_

#include "../op.h"
#include "edgebuild/pool_window.h"

namespace eb {

inline eb_status validate_pool_tensors(OpCheck& c, int32_t x, int32_t y) {
  eb_status s;
  if ((s = c.need_dtype("input", x, c.act_dtype())) != EB_OK) return s;
  if ((s = c.need_rank("input", x, 4)) != EB_OK) return s;
  if ((s = c.need_dtype("output", y, c.act_dtype())) != EB_OK) return s;
  if ((s = c.need_rank("output", y, 4)) != EB_OK) return s;
  if (c.T(y).dims[0] != c.T(x).dims[0] || c.T(y).dims[3] != c.T(x).dims[3])
    return c.fail("output dims %s do not keep the batch and channels of input dims %s", dims_text(c.T(y)).text,
                  dims_text(c.T(x)).text);
  return c.need_same_quant("output", y, "input", x);
}

// Every window needs a tap inside the input (the output shape, floor or ceil mode, comes from the tensor). The loops
// are as long as the output's rows and columns, which the kernel visits anyway. The taps k·dilation of a window are
// those the pooling kernels compute (eb_pool_valid_taps).
inline eb_status validate_pool_windows(OpCheck& c, int32_t x, int32_t y, int32_t kh, int32_t kw, int32_t sh, int32_t sw,
                                       int32_t ph, int32_t pw, int32_t dh, int32_t dw) {
  const int32_t H = c.T(x).dims[1], W = c.T(x).dims[2];
  int64_t first, last;
  for (int64_t o = 0; o < c.T(y).dims[1]; ++o) {
    eb_pool_valid_taps(o * sh - ph, kh, dh, H, &first, &last);
    if (first > last)
      return c.fail("output row %lld: no tap of its window lies inside the input height %d", (long long)o, (int)H);
  }
  for (int64_t o = 0; o < c.T(y).dims[2]; ++o) {
    eb_pool_valid_taps(o * sw - pw, kw, dw, W, &first, &last);
    if (first > last)
      return c.fail("output column %lld: no tap of its window lies inside the input width %d", (long long)o, (int)W);
  }
  return EB_OK;
}

// The window geometry of the int8 and float kernel parameter blocks: NHWC shapes of x and y, kernel, stride, pad.
template <typename Kernel, typename Params>
void set_pool_geometry(Kernel* k, const Tensor& x, const Tensor& y, const Params& p) {
  k->batch = x.dims[0];
  k->input_height = x.dims[1];
  k->input_width = x.dims[2];
  k->channels = x.dims[3];
  k->output_height = y.dims[1];
  k->output_width = y.dims[2];
  k->kernel_height = p.kernel_h;
  k->kernel_width = p.kernel_w;
  k->stride_height = p.stride_h;
  k->stride_width = p.stride_w;
  k->pad_height = p.pad_h;
  k->pad_width = p.pad_w;
}

}  // namespace eb

#endif  // EDGEBUILD_RUNTIME_OPS_POOL_H_
