// qs8-avgpool/ref.cc: reference int8 AVG_POOL2D (NHWC), PyTorch semantics; input and output share scale and zp.
#include "edgebuild/pool_window.h"
#include "edgebuild/requant.h"
#include "edgebuild/ukernels.h"

// docs/artifact.md AVG_POOL2D and docs/quantization.md (9): hs = oh·sh − pad_h, he = min(hs + kernel_h, H + pad_h),
// pool = (he − hs)·(we − ws); then hs, he are clipped to [0, H). count = pool if count_include_pad else the number of
// valid taps; acc = Σ_valid q + (count − valid)·zp; y = clamp(round_half_away(acc / count), act_min, act_max).
// int64 throughout: the loader bounds kernel_h·kernel_w by 2^31 − 1, so |acc| < 2^39.
extern "C" void eb_qs8_avgpool_ref(const eb_qs8_avgpool_params* p, const int8_t* input, int8_t* output) {
  const int64_t H = p->input_height, W = p->input_width;
  const size_t C = (size_t)p->channels;
  for (size_t n = 0; n < (size_t)p->batch; ++n) {
    for (int64_t oh = 0; oh < p->output_height; ++oh) {
      int64_t hs, he, pool_h;
      eb_avgpool_window(oh, p->stride_height, p->pad_height, p->kernel_height, H, &hs, &he, &pool_h);
      for (int64_t ow = 0; ow < p->output_width; ++ow) {
        int64_t ws, we, pool_w;
        eb_avgpool_window(ow, p->stride_width, p->pad_width, p->kernel_width, W, &ws, &we, &pool_w);
        const int64_t valid = (he - hs) * (we - ws);  // >= 1, checked at load
        const int64_t count = p->count_include_pad ? pool_h * pool_w : valid;
        for (size_t c = 0; c < C; ++c) {
          int64_t acc = (count - valid) * p->zero_point;  // counted padding taps are the real value 0, i.e. zp
          for (int64_t ih = hs; ih < he; ++ih)
            for (int64_t iw = ws; iw < we; ++iw)
              acc += input[((n * (size_t)H + (size_t)ih) * (size_t)W + (size_t)iw) * C + c];
          const int64_t q = eb_div_round_half_away(acc, count);
          *output++ = eb_clamp_s8((int32_t)q, p->output_min, p->output_max);
        }
      }
    }
  }
}
