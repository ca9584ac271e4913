// qs8_maxpool_minmax__mve.cc: int8 MAX_POOL2D (NHWC, PyTorch semantics with dilation and padding) for Cortex-M55
// MVE (Helium). Reference twin: eb_qs8_maxpool_ref (qs8-maxpool/ref.cc); equal bit for bit
// (kernels/mcu/test/mve_dw_test.cc). Sixteen channels a step: a byte VMAX over the window's valid taps (the range
// eb_pool_valid_taps gives, as the twin's), then the clamp; the channel tail is predicated (vctp8q).
#include <arm_mve.h>
#include <stddef.h>
#include <stdint.h>

#include "edgebuild/pool_window.h"
#include "edgebuild/ukernels.h"

extern "C" void eb_qs8_maxpool_minmax_ukernel__mve(const eb_qs8_maxpool_params* p, const int8_t* input,
                                                   int8_t* output) {
  const int64_t H = p->input_height, W = p->input_width;
  const size_t C = (size_t)p->channels;
  const int8x16_t lo = vdupq_n_s8((int8_t)p->output_min), hi = vdupq_n_s8((int8_t)p->output_max);
  for (size_t n = 0; n < (size_t)p->batch; ++n) {
    const int8_t* image = input + n * (size_t)H * (size_t)W * C;
    for (int64_t oh = 0; oh < p->output_height; ++oh) {
      const int64_t hs = oh * p->stride_height - p->pad_height;
      int64_t kh0, kh1;
      eb_pool_valid_taps(hs, p->kernel_height, p->dilation_height, H, &kh0, &kh1);
      for (int64_t ow = 0; ow < p->output_width; ++ow, output += C) {
        const int64_t ws = ow * p->stride_width - p->pad_width;
        int64_t kw0, kw1;
        eb_pool_valid_taps(ws, p->kernel_width, p->dilation_width, W, &kw0, &kw1);
        // The window's first valid tap and the steps between taps, in bytes.
        const int8_t* first =
            image + ((size_t)(hs + kh0 * p->dilation_height) * (size_t)W + (size_t)(ws + kw0 * p->dilation_width)) * C;
        const size_t row_step = (size_t)p->dilation_height * (size_t)W * C, col_step = (size_t)p->dilation_width * C;
        const int32_t rows = (int32_t)(kh1 - kh0 + 1), cols = (int32_t)(kw1 - kw0 + 1);
        for (size_t c = 0; c < C; c += 16) {
          const mve_pred16_t pred = vctp8q((uint32_t)(C - c));
          int8x16_t best = vdupq_n_s8(-128);  // the twin's start; every window has a valid tap (loader)
          const int8_t* row = first + c;
          for (int32_t i = 0; i < rows; ++i, row += row_step) {
            const int8_t* x = row;
            for (int32_t j = 0; j < cols; ++j, x += col_step) best = vmaxq_s8(best, vldrbq_z_s8(x, pred));
          }
          vstrbq_p_s8(output + c, vminq_s8(vmaxq_s8(best, lo), hi), pred);
        }
      }
    }
  }
}
