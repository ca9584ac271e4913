// qs8-maxpool/ref.cc: reference int8 MAX_POOL2D (NHWC), PyTorch semantics with dilation and padding.
#include "edgebuild/pool_window.h"
#include "edgebuild/requant.h"
#include "edgebuild/ukernels.h"

// docs/artifact.md MAX_POOL2D: the window of output (oh, ow) starts at (oh·sh − pad_h, ow·sw − pad_w) and takes
// kernel taps dilation apart; taps outside the input are skipped (the loader checked every window has one);
// y = clamp(max, act_min, act_max).
extern "C" void eb_qs8_maxpool_ref(const eb_qs8_maxpool_params* p, const int8_t* input, int8_t* output) {
  const int64_t H = p->input_height, W = p->input_width;
  const size_t C = (size_t)p->channels;
  for (size_t n = 0; n < (size_t)p->batch; ++n) {
    for (int64_t oh = 0; oh < p->output_height; ++oh) {
      const int64_t hs = oh * p->stride_height - p->pad_height;
      int64_t kh0, kh1;
      eb_pool_valid_taps(hs, p->kernel_height, p->dilation_height, H, &kh0, &kh1);
      for (int64_t ow = 0; ow < p->output_width; ++ow) {
        const int64_t ws = ow * p->stride_width - p->pad_width;
        int64_t kw0, kw1;
        eb_pool_valid_taps(ws, p->kernel_width, p->dilation_width, W, &kw0, &kw1);
        for (size_t c = 0; c < C; ++c) {
          int32_t best = -128;
          for (int64_t kh = kh0; kh <= kh1; ++kh) {
            const size_t ih = (size_t)(hs + kh * p->dilation_height);
            for (int64_t kw = kw0; kw <= kw1; ++kw) {
              const size_t iw = (size_t)(ws + kw * p->dilation_width);
              const int32_t v = input[((n * (size_t)H + ih) * (size_t)W + iw) * C + c];
              if (v > best) best = v;
            }
          }
          *output++ = eb_clamp_s8(best, p->output_min, p->output_max);
        }
      }
    }
  }
}
