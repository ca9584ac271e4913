// qs8_dwconv_minmax__mve.cc: int8 DEPTHWISE_CONV2D (depth multiplier 1) for Cortex-M55 MVE (Helium), the whole op.
// Reference twin: eb_qs8_conv_ref with groups = channels (qs8-conv/ref.cc); equal bit for bit
// (kernels/mcu/test/mve_dw_test.cc under qemu-system-arm -M mps3-an547, tests/mcu/test_mve_dw.py).
//
// Four channels per int32 vector: vldrbq_s32 widens four int8 to int32, and a tap is vmulq + vaddq (MVE has no
// vector-by-vector multiply-accumulate; the products and sums wrap modulo 2^32 like the twin's eb_add_wrap_s32).
//
// Build-time arguments (edgebuild/mcu/variants/mve_dwconv.py), per block of four channels, the last block padded
// with zeros so that every weight and constant load is a whole vector:
//   weights  packed [⌈C/4⌉][KH·KW][4]: a block's taps are consecutive 4-byte groups (immediate load offsets)
//   consts   [⌈C/4⌉][4][4] int32: bias_fold, multiplier, left = max(e, 0), rneg = min(e, 0) of the block's channels,
//            bias_fold = bias − zp_x·Σ_t w[c, t]: (6)'s Σ (x − zp_x)·w becomes bias_fold + Σ x·w, equal modulo 2^32;
//            a tap in the padding, which the twin skips, then adds zp_x·w (its share of the fold) instead of x·w
//
// 3×3 windows (dilation 1, stride 1 or 2) run two output columns a step, which share their input loads (stride 1:
// four column loads per window row for two pixels, stride 2: five); a window row in the padding (the first and last
// output rows under padding) adds zp_x·w by vmlaq_n_s32. Other pixels (the columns at the edges, other windows)
// run one pixel over all taps. Input loads and output stores of the last block are predicated (vctp32q), so
// nothing outside the tensors is touched.
#include <arm_mve.h>
#include <stddef.h>
#include <stdint.h>

#include "../requant/requant__mve.h"
#include "edgebuild/ukernels.h"

#define EB_INLINE inline __attribute__((always_inline))

namespace {

struct Out {
  int32_t zp_y, zp_x;
  int32x4_t lo, hi;
};

// consts block k: bias_fold k[0..3], multiplier k[4..7], left k[8..11], rneg k[12..15].
EB_INLINE int32x4_t requant(const Out& o, int32x4_t acc, const int32_t* k) {
  return eb_zp_clamp_mve(eb_mbqm_mve(acc, vldrwq_s32(k + 4), vldrwq_s32(k + 8), vldrwq_s32(k + 12)), o.zp_y, o.lo,
                         o.hi);
}

struct Geometry {
  int32_t H, W, C, KH, KW, dh, dw;
};

// One output pixel, any window: taps inside the input add x·w, taps in the padding zp_x·w.
__attribute__((noinline)) void pixel(const Out& o, const Geometry& g, const int8_t* image, const int8_t* w,
                                     const int32_t* k, int32_t ih0, int32_t iw0, int8_t* y) {
  const size_t C = (size_t)g.C;
  for (int32_t c = 0; c < g.C; c += 4, k += 16, y += 4) {
    const mve_pred16_t pred = vctp32q((uint32_t)(g.C - c));
    int32x4_t acc = vldrwq_s32(k);
    for (int32_t kh = 0; kh < g.KH; ++kh) {
      const int32_t ih = ih0 + kh * g.dh;
      const bool row_in = ih >= 0 && ih < g.H;
      for (int32_t kw = 0; kw < g.KW; ++kw, w += 4) {
        const int32_t iw = iw0 + kw * g.dw;
        const int32x4_t wv = vldrbq_s32(w);
        if (row_in && iw >= 0 && iw < g.W) {
          const int32x4_t x = vldrbq_z_s32(image + ((size_t)ih * (size_t)g.W + (size_t)iw) * C + (size_t)c, pred);
          acc = vaddq_s32(acc, vmulq_s32(x, wv));
        } else {
          acc = vmlaq_n_s32(acc, wv, o.zp_x);
        }
      }
    }
    vstrbq_p_s32(y, requant(o, acc, k), pred);
  }
}


// The padding-free interior of a 3×3 window (dilation 1, column stride S), one channel at a time, four output columns
// per vector: lane i holds output column ow + i, so a tap is one gather load (vldrbq_gather_offset_s32: the four
// columns' inputs, S·C bytes apart) and one vmlaq_n_s32 by the channel's weight, a scalar in a core register:
// 2 instructions per 4 MACs where four channels per vector need a load, a multiply and an add (MVE multiplies
// vectors by vectors without accumulating). The requantization constants are scalars too (vqrdmulhq_n_s32,
// vrshlq_n_s32); a scatter store writes the four outputs, C bytes apart. kLeft / kRight: the channel's exponent
// has a left / right shift (docs/quantization.md (5); requant__mve.h gives the steps and their proof).
struct Interior {
  const int8_t* image;  // the batch's first row of the image, channel 0
  int8_t* output;       // the batch's first output row, channel 0
  size_t C, row, out_row;
  int32_t sh, pt, pl, oh_lo, oh_hi, ow_lo, cols;
};

// The channel's 9 weights and requantization scalars, in locals: the byte stores of the output may alias any
// memory, so GCC would reload them from memory after every store.
struct Channel {
  int32_t w[9];
  int32_t fold, m, left, rneg, zp_y;
};

template <int S, bool kLeft, bool kRight, bool kTail>
EB_INLINE int32x4_t interior_group(const int8_t* x, size_t row, const Channel& ch, uint32x4_t off0, uint32x4_t off1,
                                   uint32x4_t off2, mve_pred16_t pred) {
  int32x4_t acc = vdupq_n_s32(ch.fold);
#pragma GCC unroll 3
  for (int kh = 0; kh < 3; ++kh, x += row) {
    if (kTail) {
      acc = vmlaq_n_s32(acc, vldrbq_gather_offset_z_s32(x, off0, pred), ch.w[3 * kh]);
      acc = vmlaq_n_s32(acc, vldrbq_gather_offset_z_s32(x, off1, pred), ch.w[3 * kh + 1]);
      acc = vmlaq_n_s32(acc, vldrbq_gather_offset_z_s32(x, off2, pred), ch.w[3 * kh + 2]);
    } else {
      acc = vmlaq_n_s32(acc, vldrbq_gather_offset_s32(x, off0), ch.w[3 * kh]);
      acc = vmlaq_n_s32(acc, vldrbq_gather_offset_s32(x, off1), ch.w[3 * kh + 1]);
      acc = vmlaq_n_s32(acc, vldrbq_gather_offset_s32(x, off2), ch.w[3 * kh + 2]);
    }
  }
  if (kLeft) acc = vqshlq_r_s32(acc, ch.left);
  acc = vqrdmulhq_n_s32(acc, ch.m);
  if (kRight) acc = vrshlq_n_s32(vqaddq_s32(acc, vshrq_n_s32(acc, 31)), ch.rneg);
  return vqaddq_n_s32(acc, ch.zp_y);
}

template <int S, bool kLeft, bool kRight>
__attribute__((noinline)) void interior_channel(const Out& o, const Interior& in, const int8_t* wt, const int32_t* k,
                                                size_t c) {
  // wt: the channel's tap 0 in the packed block (taps 4 bytes apart); k: its bias_fold (the block's rows 16 bytes
  // apart).
  Channel ch;
  for (int t = 0; t < 9; ++t) ch.w[t] = wt[4 * t];
  ch.fold = k[0];
  ch.m = k[4];
  ch.left = k[8];
  ch.rneg = k[12];
  ch.zp_y = o.zp_y;
  const int32x4_t lo = o.lo, hi = o.hi;
  const size_t C = in.C, row = in.row;
  const uint32x4_t off0 = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)(S * C));
  const uint32x4_t off1 = vaddq_n_u32(off0, (uint32_t)C), off2 = vaddq_n_u32(off0, (uint32_t)(2 * C));
  const uint32x4_t out_off = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)C);
  const int8_t* x_row = in.image + (size_t)(in.oh_lo * in.sh - in.pt) * row + (size_t)(in.ow_lo * S - in.pl) * C + c;
  int8_t* y_row = in.output + (size_t)in.oh_lo * in.out_row + (size_t)in.ow_lo * C + c;
  const size_t x_step = (size_t)in.sh * row;
  for (int32_t oh = in.oh_lo; oh < in.oh_hi; ++oh, x_row += x_step, y_row += in.out_row) {
    const int8_t* x = x_row;
    int8_t* y = y_row;
    int32_t j = in.cols;
    for (; j >= 4; j -= 4, x += 4 * S * C, y += 4 * C) {
      const int32x4_t q = interior_group<S, kLeft, kRight, false>(x, row, ch, off0, off1, off2, 0);
      vstrbq_scatter_offset_s32(y, out_off, vminq_s32(vmaxq_s32(q, lo), hi));
    }
    if (j > 0) {
      const mve_pred16_t pred = vctp32q((uint32_t)j);
      const int32x4_t q = interior_group<S, kLeft, kRight, true>(x, row, ch, off0, off1, off2, pred);
      vstrbq_scatter_offset_p_s32(y, out_off, vminq_s32(vmaxq_s32(q, lo), hi), pred);
    }
  }
}

using InteriorFn = void (*)(const Out&, const Interior&, const int8_t*, const int32_t*, size_t);
}  // namespace

extern "C" void eb_qs8_dwconv_minmax_ukernel__mve(const eb_qs8_conv_params* p, const int8_t* input,
                                                   const int8_t* weights, const int32_t* bias,
                                                   const int32_t* multiplier, const int32_t* shift, int8_t* output,
                                                   const int32_t* consts) {
  (void)bias;        // folded into consts
  (void)multiplier;  // copied into consts
  (void)shift;       // split into consts
  Out o;
  o.zp_y = p->output_zero_point;
  o.zp_x = p->input_zero_point;
  o.lo = vdupq_n_s32(p->output_min);
  o.hi = vdupq_n_s32(p->output_max);
  Geometry g;
  g.H = p->input_height;
  g.W = p->input_width;
  g.C = p->input_channels;
  g.KH = p->kernel_height;
  g.KW = p->kernel_width;
  g.dh = p->dilation_height;
  g.dw = p->dilation_width;
  const int32_t OH = p->output_height, OW = p->output_width, sh = p->stride_height, sw = p->stride_width;
  const int32_t pt = p->pad_top, pl = p->pad_left;
  const size_t C = (size_t)g.C, row = (size_t)g.W * C, plane = (size_t)g.H * row;
  // Columns [ow_lo, ow_hi) have their whole window inside the input's width.
  int32_t ow_lo = (pl + sw - 1) / sw;
  const int32_t last = g.W - 1 + pl - (g.KW - 1) * g.dw;  // ow·sw <= last
  int32_t ow_hi = last < 0 ? 0 : last / sw + 1;
  if (ow_lo > OW) ow_lo = OW;
  if (ow_hi > OW) ow_hi = OW;
  if (ow_hi < ow_lo) ow_hi = ow_lo;
  const bool fast3x3 = g.KH == 3 && g.KW == 3 && g.dh == 1 && g.dw == 1 && (sw == 1 || sw == 2);
  // Rows [oh_lo, oh_hi) have their whole window inside the input's height.
  int32_t oh_lo = (pt + sh - 1) / sh;
  const int32_t last_h = g.H - 1 + pt - (g.KH - 1) * g.dh;
  int32_t oh_hi = last_h < 0 ? 0 : last_h / sh + 1;
  if (oh_lo > OH) oh_lo = OH;
  if (oh_hi > OH) oh_hi = OH;
  if (oh_hi < oh_lo) oh_hi = oh_lo;
  const bool interior = fast3x3 && oh_hi > oh_lo && ow_hi > ow_lo;
  const size_t out_row = (size_t)OW * C, out_plane = (size_t)OH * out_row;
  for (int32_t n = 0; n < p->batch; ++n, output += out_plane) {
    const int8_t* image = input + (size_t)n * plane;
    if (interior) {
      static const InteriorFn kInterior[2][4] = {
          {interior_channel<1, false, false>, interior_channel<1, false, true>, interior_channel<1, true, false>,
           interior_channel<1, true, true>},
          {interior_channel<2, false, false>, interior_channel<2, false, true>, interior_channel<2, true, false>,
           interior_channel<2, true, true>}};
      const Interior in = {image, output, C, row, out_row, sh, pt, pl, oh_lo, oh_hi, ow_lo, ow_hi - ow_lo};
      for (size_t c = 0; c < C; ++c) {
        const int32_t* k = consts + (c / 4) * 16 + c % 4;
        kInterior[sw - 1][(k[8] > 0 ? 2 : 0) + (k[12] < 0 ? 1 : 0)](o, in, weights + (c / 4) * 36 + c % 4, k, c);
      }
    }
    // Every other output pixel: the rows and columns whose window reaches into the padding, or all of them.
    for (int32_t oh = 0; oh < OH; ++oh) {
      const bool row_done = interior && oh >= oh_lo && oh < oh_hi;
      int8_t* y = output + (size_t)oh * out_row;
      for (int32_t ow = 0; ow < OW; ++ow) {
        if (row_done && ow == ow_lo) ow = ow_hi;
        if (ow >= OW) break;
        pixel(o, g, image, weights, consts, oh * sh - pt, ow * sw - pl, y + (size_t)ow * C);
      }
    }
  }
}
