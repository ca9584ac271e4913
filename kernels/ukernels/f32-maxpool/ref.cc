// f32-maxpool/ref.cc: reference float32 MAX_POOL2D (NHWC), the float fallback of qs8-maxpool.
#include "edgebuild/pool_window.h"
#include "edgebuild/ukernels.h"

namespace {

float clampf(float y, float lo, float hi) { return y < lo ? lo : (y > hi ? hi : y); }

}  // namespace

// docs/artifact.md MAX_POOL2D (float): the max over the window's taps inside the input (the loader checked that
// every window has one).
extern "C" void eb_f32_maxpool_ref(const eb_f32_pool_params* p, const float* input, float* output) {
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
          float best = -1.0f / 0.0f;
          for (int64_t kh = kh0; kh <= kh1; ++kh) {
            const size_t ih = (size_t)(hs + kh * p->dilation_height);
            for (int64_t kw = kw0; kw <= kw1; ++kw) {
              const size_t iw = (size_t)(ws + kw * p->dilation_width);
              const float v = input[((n * (size_t)H + ih) * (size_t)W + iw) * C + c];
              if (v > best || v != v) best = v;  // NaN propagates, as torch.max_pool2d
            }
          }
          *output++ = clampf(best, p->output_min, p->output_max);
        }
      }
    }
  }
}
