// f32-avgpool/ref.cc: reference float32 AVG_POOL2D (NHWC), the float fallback of qs8-avgpool.
#include "edgebuild/pool_window.h"
#include "edgebuild/ukernels.h"

namespace {

float clampf(float y, float lo, float hi) { return y < lo ? lo : (y > hi ? hi : y); }

}  // namespace

// docs/artifact.md AVG_POOL2D (float): window bounds and divisor exactly as qs8-avgpool (9); sum in double.
extern "C" void eb_f32_avgpool_ref(const eb_f32_pool_params* p, const float* input, float* output) {
  const int64_t H = p->input_height, W = p->input_width;
  const size_t C = (size_t)p->channels;
  for (size_t n = 0; n < (size_t)p->batch; ++n) {
    for (int64_t oh = 0; oh < p->output_height; ++oh) {
      int64_t hs, he, pool_h;
      eb_avgpool_window(oh, p->stride_height, p->pad_height, p->kernel_height, H, &hs, &he, &pool_h);
      for (int64_t ow = 0; ow < p->output_width; ++ow) {
        int64_t ws, we, pool_w;
        eb_avgpool_window(ow, p->stride_width, p->pad_width, p->kernel_width, W, &ws, &we, &pool_w);
        const int64_t valid = (he - hs) * (we - ws);
        const int64_t count = p->count_include_pad ? pool_h * pool_w : valid;
        for (size_t c = 0; c < C; ++c) {
          double acc = 0.0;
          for (int64_t ih = hs; ih < he; ++ih)
            for (int64_t iw = ws; iw < we; ++iw)
              acc += (double)input[((n * (size_t)H + (size_t)ih) * (size_t)W + (size_t)iw) * C + c];
          *output++ = clampf((float)(acc / (double)count), p->output_min, p->output_max);
        }
      }
    }
  }
}
