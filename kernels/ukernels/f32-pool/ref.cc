// f32-pool/ref.cc: reference float32 MAX_POOL2D and AVG_POOL2D (NHWC), the float fallback of qs8-maxpool/avgpool.
#include "edgebuild/ukernels.h"

namespace {

// Taps of a window starting at `start` that lie inside [0, size): [*first, *last] (as qs8-maxpool).
void valid_taps(int64_t start, int64_t kernel, int64_t dilation, int64_t size, int64_t* first, int64_t* last) {
  *first = start >= 0 ? 0 : (-start + dilation - 1) / dilation;
  *last = start > size - 1 ? -1 : (size - 1 - start) / dilation;
  if (*last > kernel - 1) *last = kernel - 1;
}

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
      valid_taps(hs, p->kernel_height, p->dilation_height, H, &kh0, &kh1);
      for (int64_t ow = 0; ow < p->output_width; ++ow) {
        const int64_t ws = ow * p->stride_width - p->pad_width;
        int64_t kw0, kw1;
        valid_taps(ws, p->kernel_width, p->dilation_width, W, &kw0, &kw1);
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

// docs/artifact.md AVG_POOL2D (float): window bounds and divisor exactly as qs8-avgpool (9); sum in double.
extern "C" void eb_f32_avgpool_ref(const eb_f32_pool_params* p, const float* input, float* output) {
  const int64_t H = p->input_height, W = p->input_width;
  const size_t C = (size_t)p->channels;
  for (size_t n = 0; n < (size_t)p->batch; ++n) {
    for (int64_t oh = 0; oh < p->output_height; ++oh) {
      int64_t hs = oh * p->stride_height - p->pad_height;
      int64_t he = hs + p->kernel_height;
      if (he > H + p->pad_height) he = H + p->pad_height;
      const int64_t pool_h = he - hs;
      if (hs < 0) hs = 0;
      if (he > H) he = H;
      for (int64_t ow = 0; ow < p->output_width; ++ow) {
        int64_t ws = ow * p->stride_width - p->pad_width;
        int64_t we = ws + p->kernel_width;
        if (we > W + p->pad_width) we = W + p->pad_width;
        const int64_t pool_w = we - ws;
        if (ws < 0) ws = 0;
        if (we > W) we = W;
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
