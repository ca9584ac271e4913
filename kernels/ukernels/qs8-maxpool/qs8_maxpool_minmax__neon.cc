// qs8_maxpool_minmax__neon.cc: int8 MAX_POOL2D (NHWC) for NEON cores (armv7 and armv8, every ARM path).
// Reference twin: eb_qs8_maxpool_ref (qs8-maxpool/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc).
//
// Exactly eb_qs8_maxpool_ref: per output pixel, vmaxq_s8 over the valid taps of the channels, then the clamp (the
// loader guarantees act_min <= act_max; always applied, one instantiation less for the size budget). The first valid
// tap starts the maximum (every window has one), so no −128 fill is needed. Channels go 64 a step on aarch64 (one ld1
// of four registers per tap), then 16, then a scalar tail; a 3×3 window whose taps are all valid (ResNet's stem pool,
// but at its edges) is unrolled.
#include <arm_neon.h>

#include "edgebuild/pool_window.h"
#include "edgebuild/requant.h"
#include "edgebuild/ukernels.h"
#include "edgebuild/ukernels_isa.h"

namespace {

// The taps of one output pixel: rows × cols, `first` at the first valid one.
struct Window {
  const int8_t* first;
  size_t rows, cols, row_step, col_step;
};

template <size_t kR, size_t kC>
inline int8x16_t max16(const Window& w, size_t c, int8x16_t lo, int8x16_t hi) {
  const size_t rows = kR ? kR : w.rows, cols = kC ? kC : w.cols;
  int8x16_t best = vld1q_s8(w.first + c);
  for (size_t r = 0; r < rows; ++r) {
    const int8_t* px = w.first + r * w.row_step + c;
    for (size_t k = r == 0 ? 1 : 0; k < cols; ++k) best = vmaxq_s8(best, vld1q_s8(px + k * w.col_step));
  }
  return vminq_s8(vmaxq_s8(best, lo), hi);
}

#if defined(__aarch64__)
template <size_t kR, size_t kC>
inline void max64(const Window& w, size_t c, int8x16_t lo, int8x16_t hi, int8_t* out) {
  const size_t rows = kR ? kR : w.rows, cols = kC ? kC : w.cols;
  int8x16x4_t best = vld1q_s8_x4(w.first + c);
  for (size_t r = 0; r < rows; ++r) {
    const int8_t* px = w.first + r * w.row_step + c;
    for (size_t k = r == 0 ? 1 : 0; k < cols; ++k) {
      const int8x16x4_t t = vld1q_s8_x4(px + k * w.col_step);
      for (int j = 0; j < 4; ++j) best.val[j] = vmaxq_s8(best.val[j], t.val[j]);
    }
  }
  for (int j = 0; j < 4; ++j) best.val[j] = vminq_s8(vmaxq_s8(best.val[j], lo), hi);
  vst1q_s8_x4(out + c, best);
}
#endif

template <size_t kR, size_t kC>
inline void pixel(const eb_qs8_maxpool_params* p, const Window& w, size_t C, int8x16_t lo, int8x16_t hi, int8_t* out) {
  size_t c = 0;
#if defined(__aarch64__)
  for (; C - c >= 64; c += 64) max64<kR, kC>(w, c, lo, hi, out);
#endif
  for (; C - c >= 16; c += 16) vst1q_s8(out + c, max16<kR, kC>(w, c, lo, hi));
  for (; c < C; ++c) {
    int32_t best = -128;
    for (size_t r = 0; r < w.rows; ++r) {
      const int8_t* px = w.first + r * w.row_step + c;
      for (size_t k = 0; k < w.cols; ++k, px += w.col_step) best = *px > best ? *px : best;
    }
    out[c] = eb_clamp_s8(best, p->output_min, p->output_max);
  }
}

void maxpool(const eb_qs8_maxpool_params* p, const int8_t* input, int8_t* output) {
  const int8x16_t lo = vdupq_n_s8((int8_t)p->output_min), hi = vdupq_n_s8((int8_t)p->output_max);
  const int64_t H = p->input_height, W = p->input_width;
  const size_t C = (size_t)p->channels;
  const size_t row_step = (size_t)p->dilation_height * (size_t)W * C, col_step = (size_t)p->dilation_width * C;
  for (size_t n = 0; n < (size_t)p->batch; ++n) {
    for (int64_t oh = 0; oh < p->output_height; ++oh) {
      const int64_t hs = oh * p->stride_height - p->pad_height;
      int64_t kh0, kh1;
      eb_pool_valid_taps(hs, p->kernel_height, p->dilation_height, H, &kh0, &kh1);
      for (int64_t ow = 0; ow < p->output_width; ++ow, output += C) {
        const int64_t ws = ow * p->stride_width - p->pad_width;
        int64_t kw0 = 0, kw1 = p->kernel_width - 1;
        // A window inside the row (all columns but the edges) needs no clipping (and no divisions).
        if (ws < 0 || ws + kw1 * p->dilation_width >= W)
          eb_pool_valid_taps(ws, p->kernel_width, p->dilation_width, W, &kw0, &kw1);
        // The loader checked every window has a tap: kh0 <= kh1 and kw0 <= kw1.
        Window w;
        w.first = input + ((n * (size_t)H + (size_t)(hs + kh0 * p->dilation_height)) * (size_t)W +
                           (size_t)(ws + kw0 * p->dilation_width)) *
                              C;
        w.rows = (size_t)(kh1 - kh0 + 1);
        w.cols = (size_t)(kw1 - kw0 + 1);
        w.row_step = row_step;
        w.col_step = col_step;
        if (w.rows == 3 && w.cols == 3) {
          pixel<3, 3>(p, w, C, lo, hi, output);
        } else {
          pixel<0, 0>(p, w, C, lo, hi, output);
        }
      }
    }
  }
}
}  // namespace

extern "C" void eb_qs8_maxpool_minmax_ukernel__neon(const eb_qs8_maxpool_params* p, const int8_t* input,
                                                    int8_t* output) {
  maxpool(p, input, output);
}
