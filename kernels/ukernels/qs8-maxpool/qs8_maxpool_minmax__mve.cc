// qs8_maxpool_minmax__mve.cc: int8 MAX_POOL2D (NHWC, PyTorch semantics with dilation and padding) for Cortex-M55
// MVE (Helium). Reference twin: eb_qs8_maxpool_ref (qs8-maxpool/ref.cc); equal bit for bit
// (kernels/mcu/test/mve_dw_test.cc). Sixteen channels a step: a byte VMAX over the window's valid taps (the twin's
// eb_pool_valid_taps range, in int32: an MCU tensor's coordinates fit, and SDIV is one instruction where the int64
// division is a library call), then the clamp; the last step's channels are predicated (vctp8q).
#include <arm_mve.h>
#include <stddef.h>
#include <stdint.h>

#include "edgebuild/ukernels.h"

namespace {

// eb_pool_valid_taps (edgebuild/pool_window.h) in int32: taps [*first, *last] of a window starting at `start`.
inline void valid_taps(int32_t start, int32_t kernel, int32_t dilation, int32_t size, int32_t* first, int32_t* last) {
  *first = start >= 0 ? 0 : (-start + dilation - 1) / dilation;
  *last = start > size - 1 ? -1 : (size - 1 - start) / dilation;
  if (*last > kernel - 1) *last = kernel - 1;
}

template <bool kTail>
inline __attribute__((always_inline)) void chunk(const int8_t* x, int32_t rows, int32_t cols, size_t row_step,
                                                 size_t col_step, int8x16_t lo, int8x16_t hi, int8_t* y,
                                                 mve_pred16_t pred) {
  int8x16_t best = vdupq_n_s8(-128);  // the twin's start; every window has a valid tap (loader)
  for (int32_t i = 0; i < rows; ++i, x += row_step) {
    const int8_t* t = x;
    for (int32_t j = 0; j < cols; ++j, t += col_step) {
      best = vmaxq_s8(best, kTail ? vldrbq_z_s8(t, pred) : vldrbq_s8(t));
    }
  }
  best = vminq_s8(vmaxq_s8(best, lo), hi);
  if (kTail) {
    vstrbq_p_s8(y, best, pred);
  } else {
    vstrbq_s8(y, best);
  }
}

}  // namespace

extern "C" void eb_qs8_maxpool_minmax_ukernel__mve(const eb_qs8_maxpool_params* p, const int8_t* input,
                                                   int8_t* output) {
  const int32_t H = p->input_height, W = p->input_width;
  const size_t C = (size_t)p->channels, plane = (size_t)H * (size_t)W * C;
  const int8x16_t lo = vdupq_n_s8((int8_t)p->output_min), hi = vdupq_n_s8((int8_t)p->output_max);
  const size_t row_step = (size_t)p->dilation_height * (size_t)W * C, col_step = (size_t)p->dilation_width * C;
  const size_t full = C & ~(size_t)15;
  const mve_pred16_t tail = vctp8q((uint32_t)(C - full));
  for (int32_t n = 0; n < p->batch; ++n, input += plane) {
    for (int32_t oh = 0; oh < p->output_height; ++oh) {
      const int32_t hs = oh * p->stride_height - p->pad_height;
      int32_t kh0, kh1;
      valid_taps(hs, p->kernel_height, p->dilation_height, H, &kh0, &kh1);
      for (int32_t ow = 0; ow < p->output_width; ++ow, output += C) {
        const int32_t ws = ow * p->stride_width - p->pad_width;
        int32_t kw0, kw1;
        valid_taps(ws, p->kernel_width, p->dilation_width, W, &kw0, &kw1);
        // The window's first valid tap.
        const int8_t* x =
            input + ((size_t)(hs + kh0 * p->dilation_height) * (size_t)W + (size_t)(ws + kw0 * p->dilation_width)) * C;
        const int32_t rows = kh1 - kh0 + 1, cols = kw1 - kw0 + 1;
        size_t c = 0;
        for (; c < full; c += 16) chunk<false>(x + c, rows, cols, row_step, col_step, lo, hi, output + c, 0);
        if (c < C) chunk<true>(x + c, rows, cols, row_step, col_step, lo, hi, output + c, tail);
      }
    }
  }
}
