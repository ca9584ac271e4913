// qs8_dwconv_minmax__mve.cc: int8 DEPTHWISE_CONV2D (depth multiplier 1) for Cortex-M55 MVE (Helium), the whole op.
// Reference twin: eb_qs8_conv_ref with groups = channels (qs8-conv/ref.cc); equal bit for bit
// (kernels/mcu/test/mve_dw_test.cc under qemu-system-arm -M mps3-an547, tests/mcu/test_mve_dw.py).
//
// Registered in edgebuild/mcu/variants/mve_dwconv.py, which computes the build-time arguments:
//   weights    packed [KH·KW][C] (tap-major: one tap of four channels is one widening load), same size as [C][KH·KW]
//   bias_fold  bias[c] − zp_x·Σ_t w[c, t]: docs/quantization.md (6)'s Σ (x − zp_x)·w becomes bias_fold + Σ x·w,
//              equal modulo 2^32 to the reference's wrapping sum (eb_add_wrap_s32); a tap in the padding, which the
//              reference skips, then adds zp_x·w (the fold's share of it) instead of x·w
//   left, rneg max(e, 0) and min(e, 0) per channel (requant__mve.h)
//
// Four channels per int32 vector (vldrbq_s32 widens int8 to int32; MVE has no vector-by-vector multiply-accumulate,
// so a tap is vmulq + vaddq, exact modulo 2^32). Inside the padding-free interior two output columns a step share
// their input loads (3×3 stride 1: 4 column loads per window row for 2 pixels, stride 2: 5); every other pixel
// (borders, other window sizes) runs the one-pixel loop over all taps. Channel tails are predicated (vctp32q), so
// nothing outside the tensors is read or written.
#include <arm_mve.h>
#include <stddef.h>
#include <stdint.h>

#include "../requant/requant__mve.h"
#include "edgebuild/ukernels.h"

namespace {

struct Geometry {
  int32_t H, W, C, KH, KW, sh, sw, pt, pl, dh, dw, zp_x, zp_y;
  const int32_t *bias_fold, *multiplier, *left, *rneg;
  int32x4_t lo, hi;
};

inline void requant_store(const Geometry& g, int32x4_t acc, int32_t c, mve_pred16_t pred, int8_t* out) {
  const int32x4_t m = vldrwq_z_s32(g.multiplier + c, pred);
  const int32x4_t l = vldrwq_z_s32(g.left + c, pred);
  const int32x4_t r = vldrwq_z_s32(g.rneg + c, pred);
  vstrbq_p_s32(out + c, eb_zp_clamp_mve(eb_mbqm_mve(acc, m, l, r), g.zp_y, g.lo, g.hi), pred);
}

// One output pixel, any window: taps inside the input add x·w, taps in the padding zp_x·w.
void pixel(const Geometry& g, const int8_t* image, const int8_t* weights, int32_t ih0, int32_t iw0, int8_t* out) {
  for (int32_t c = 0; c < g.C; c += 4) {
    const mve_pred16_t pred = vctp32q((uint32_t)(g.C - c));
    int32x4_t acc = vldrwq_z_s32(g.bias_fold + c, pred);
    const int8_t* w = weights + c;
    for (int32_t kh = 0; kh < g.KH; ++kh) {
      const int32_t ih = ih0 + kh * g.dh;
      const bool row_in = ih >= 0 && ih < g.H;
      for (int32_t kw = 0; kw < g.KW; ++kw, w += g.C) {
        const int32_t iw = iw0 + kw * g.dw;
        const int32x4_t wv = vldrbq_z_s32(w, pred);
        if (row_in && iw >= 0 && iw < g.W) {
          const int32x4_t x = vldrbq_z_s32(image + ((size_t)ih * (size_t)g.W + (size_t)iw) * (size_t)g.C + c, pred);
          acc = vaddq_s32(acc, vmulq_s32(x, wv));
        } else {
          acc = vmlaq_n_s32(acc, wv, g.zp_x);
        }
      }
    }
    requant_store(g, acc, c, pred, out);
  }
}

// Two output pixels S columns apart at (ih0, iw0) and (ih0, iw0 + S), window KH×KW with dilation 1, all taps inside
// the input: window row kh loads the KW + S input columns the two windows cover once.
template <int KH, int KW, int S>
void pixel_pair(const Geometry& g, const int8_t* x0, const int8_t* weights, int8_t* out) {
  const size_t C = (size_t)g.C, row = (size_t)g.W * C;
  for (int32_t c = 0; c < g.C; c += 4) {
    const mve_pred16_t pred = vctp32q((uint32_t)(g.C - c));
    int32x4_t acc0 = vldrwq_z_s32(g.bias_fold + c, pred), acc1 = acc0;
    const int8_t* w = weights + c;
    const int8_t* x = x0 + c;
#pragma GCC unroll 8
    for (int kh = 0; kh < KH; ++kh) {
      int32x4_t xs[KW + S];
#pragma GCC unroll 8
      for (int j = 0; j < KW + S; ++j) xs[j] = vldrbq_z_s32(x + kh * row + (size_t)j * C, pred);
#pragma GCC unroll 8
      for (int kw = 0; kw < KW; ++kw) {
        const int32x4_t wv = vldrbq_z_s32(w + (size_t)(kh * KW + kw) * C, pred);
        acc0 = vaddq_s32(acc0, vmulq_s32(xs[kw], wv));
        acc1 = vaddq_s32(acc1, vmulq_s32(xs[kw + S], wv));
      }
    }
    requant_store(g, acc0, c, pred, out);
    requant_store(g, acc1, c, pred, out + C);
  }
}

}  // namespace

extern "C" void eb_qs8_dwconv_minmax_ukernel__mve(const eb_qs8_conv_params* p, const int8_t* input,
                                                   const int8_t* weights, const int32_t* bias,
                                                   const int32_t* multiplier, const int32_t* shift, int8_t* output,
                                                   const int32_t* bias_fold, const int32_t* left,
                                                   const int32_t* rneg) {
  (void)bias;   // folded into bias_fold
  (void)shift;  // split into left and rneg
  Geometry g;
  g.H = p->input_height;
  g.W = p->input_width;
  g.C = p->input_channels;
  g.KH = p->kernel_height;
  g.KW = p->kernel_width;
  g.sh = p->stride_height;
  g.sw = p->stride_width;
  g.pt = p->pad_top;
  g.pl = p->pad_left;
  g.dh = p->dilation_height;
  g.dw = p->dilation_width;
  g.zp_x = p->input_zero_point;
  g.zp_y = p->output_zero_point;
  g.bias_fold = bias_fold;
  g.multiplier = multiplier;
  g.left = left;
  g.rneg = rneg;
  g.lo = vdupq_n_s32(p->output_min);
  g.hi = vdupq_n_s32(p->output_max);
  const int32_t OH = p->output_height, OW = p->output_width;
  const size_t C = (size_t)g.C, plane = (size_t)g.H * (size_t)g.W * C;
  // Columns [ow_lo, ow_hi) have their whole window inside the input.
  int32_t ow_lo = (g.pl + g.sw - 1) / g.sw;
  const int32_t last = g.W - 1 + g.pl - (g.KW - 1) * g.dw;  // ow·sw <= last
  int32_t ow_hi = last < 0 ? 0 : last / g.sw + 1;
  if (ow_lo > OW) ow_lo = OW;
  if (ow_hi > OW) ow_hi = OW;
  if (ow_hi < ow_lo) ow_hi = ow_lo;
  const bool fast3x3 = g.KH == 3 && g.KW == 3 && g.dh == 1 && g.dw == 1 && (g.sw == 1 || g.sw == 2);
  for (int32_t n = 0; n < p->batch; ++n) {
    const int8_t* image = input + (size_t)n * plane;
    for (int32_t oh = 0; oh < OH; ++oh) {
      const int32_t ih0 = oh * g.sh - g.pt;
      const bool rows_in = ih0 >= 0 && ih0 + (g.KH - 1) * g.dh < g.H;
      int32_t ow = 0;
      if (rows_in && fast3x3) {
        for (; ow < ow_lo; ++ow, output += C) pixel(g, image, weights, ih0, ow * g.sw - g.pl, output);
        const int8_t* x = image + ((size_t)ih0 * (size_t)g.W + (size_t)(ow * g.sw - g.pl)) * C;
        const size_t step = 2 * (size_t)g.sw * C;
        for (; ow + 2 <= ow_hi; ow += 2, x += step, output += 2 * C) {
          if (g.sw == 1) {
            pixel_pair<3, 3, 1>(g, x, weights, output);
          } else {
            pixel_pair<3, 3, 2>(g, x, weights, output);
          }
        }
      }
      for (; ow < OW; ++ow, output += C) pixel(g, image, weights, ih0, ow * g.sw - g.pl, output);
    }
  }
}
