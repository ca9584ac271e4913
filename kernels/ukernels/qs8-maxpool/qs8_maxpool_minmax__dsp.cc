// qs8-maxpool/qs8_maxpool_minmax__dsp.cc: int8 MAX_POOL2D for the Cortex-M DSP extension (M4/M7/M33),
// bit-identical to eb_qs8_maxpool_ref.
//
// 4 channels a step: one word load per valid tap, SSUB8 (GE per byte where x >= max) and SEL keep the bytewise
// maximum, 3 instructions per 4 channel-taps; the clamp to [act_min, act_max] is the same two SSUB8 / SEL pairs.
#include <stdint.h>

#include "../requant/requant__dsp.h"
#include "edgebuild/pool_window.h"
#include "edgebuild/ukernels.h"

extern "C" void eb_qs8_maxpool_minmax_ukernel__dsp(const eb_qs8_maxpool_params* p, const int8_t* input,
                                                   int8_t* output) {
  const int32_t H = p->input_height, W = p->input_width;
  const size_t C = (size_t)p->channels, C4 = C & ~(size_t)3;
  const uint32_t lo4 = eb_dsp_splat8(p->output_min), hi4 = eb_dsp_splat8(p->output_max);
  const size_t row_step = (size_t)p->dilation_height * (size_t)W * C, col_step = (size_t)p->dilation_width * C;
  for (size_t n = 0; n < (size_t)p->batch; ++n) {
    const int8_t* image = input + n * (size_t)H * (size_t)W * C;
    for (int32_t oh = 0; oh < p->output_height; ++oh) {
      const int64_t hs = (int64_t)oh * p->stride_height - p->pad_height;
      int64_t kh0, kh1;
      eb_pool_valid_taps(hs, p->kernel_height, p->dilation_height, H, &kh0, &kh1);
      for (int32_t ow = 0; ow < p->output_width; ++ow) {
        const int64_t ws = (int64_t)ow * p->stride_width - p->pad_width;
        int64_t kw0, kw1;
        eb_pool_valid_taps(ws, p->kernel_width, p->dilation_width, W, &kw0, &kw1);
        const int32_t rows = (int32_t)(kh1 - kh0 + 1), cols = (int32_t)(kw1 - kw0 + 1);
        const int8_t* first = image;
        if (rows > 0 && cols > 0)
          first += ((size_t)(hs + kh0 * p->dilation_height) * (size_t)W + (size_t)(ws + kw0 * p->dilation_width)) * C;
        size_t c = 0;
        for (; c < C4; c += 4) {
          uint32_t best = 0x80808080u;  // −128, the reference's start
          const int8_t* row = first + c;
          for (int32_t r = 0; r < rows; ++r, row += row_step) {
            const int8_t* x = row;
            for (int32_t k = 0; k < cols; ++k, x += col_step) {
              const uint32_t v = eb_dsp_load32(x);
              __ssub8((int8x4_t)v, (int8x4_t)best);  // GE where v >= best
              best = (uint32_t)__sel((int8x4_t)v, (int8x4_t)best);
            }
          }
          eb_dsp_store32(output + c, eb_dsp_clamp4(best, lo4, hi4));
        }
        for (; c < C; ++c) {
          int32_t best = -128;
          const int8_t* row = first + c;
          for (int32_t r = 0; r < rows; ++r, row += row_step)
            for (int32_t k = 0; k < cols; ++k) {
              const int32_t v = row[(size_t)k * col_step];
              if (v > best) best = v;
            }
          output[c] = eb_clamp_s8(best, p->output_min, p->output_max);
        }
        output += C;
      }
    }
  }
}
