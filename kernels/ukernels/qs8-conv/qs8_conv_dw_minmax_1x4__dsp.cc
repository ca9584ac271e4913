// qs8-conv/qs8_conv_dw_minmax_1x4__dsp.cc: DEPTHWISE_CONV2D (groups = channels, depth multiplier 1) for the
// Cortex-M DSP extension (M4/M7/M33), bit-identical to eb_qs8_conv_ref (docs/quantization.md (6), (5)).
//
// One output pixel at a time, 4 channels a step: one word load gives a tap's 4 input channels, SXTB16 (and
// SXTB16 ROR 8) spread them into two halfword pairs, and SMLABB / SMLATT multiply-accumulate each channel's
// 16×16 product into its own int32 (depthwise has one MAC per channel per tap, so SMLAD's pairwise sum does not
// apply): 10 instructions per 4 channel-taps (2 loads, 4 SXTB16, 4 MACs), 3×3 interior pixels fully unrolled.
//
// Build-time constants (edgebuild/mcu/variants/dsp_dwconv.py):
//   weights  packed: channel blocks of 4, each [KH·KW][4] (the word a tap loads), then the C mod 4 tail channels
//            in the reference layout [c][KH·KW] (the same bytes, so the same size).
//   bias_zx  [C]: bias[c] − zp_x·Σ_t w[c, t] (wrapping int32). Every tap then multiplies the raw input, and a
//            padding tap reads zp_x, which contributes zp_x·w, cancelling its share of the fold: the reference's
//            Σ_valid (x − zp_x)·w, in the same wrapping arithmetic (a ring: the order of the sums does not matter).
//   rq       [C] eb_dsp_rq: the requantization of requant/requant__dsp.h with zp_y folded in.
// scratch: C bytes (a row of zp_x, what a padding tap reads).
#include <stdint.h>
#include <string.h>

#include "../requant/requant__dsp.h"
#include "edgebuild/ukernels.h"

// GCC 12 hoists all nine taps' loads ahead of their multiplies (pre-allocation scheduling) and then spills the
// accumulators: on the in-order M4 the loads gain nothing from that.
#pragma GCC optimize("no-schedule-insns")

namespace {

struct Out {
  const eb_dsp_rq* rq;
  const int32_t* multiplier;
  const int32_t* shift;
  int32_t zp;
  uint32_t lo4, hi4;
  int32_t lo, hi;
};

// Channel c's requantization when not every channel has the fast form: chosen per channel, out of line, so the
// layers that need it (rare: an exponent outside [-23, -1]) share one copy instead of an inlined one per call site
// (which made this kernel's slow instance 7.6 KB of the 16 KiB code budget of KWS on Cortex-M4).
__attribute__((noinline)) int32_t requant_any(int32_t acc, size_t c, const Out& o, uint32_t pos_pair) {
  if (o.rq[c].shift_m1 >= 0) return eb_dsp_requant_fast_s8(acc, o.rq + c, pos_pair);
  return eb_dsp_requant_ref_s8(acc, o.multiplier[c], o.shift[c], o.zp);
}

// Channel c's requantization: the fast form when every channel has it (kFast), else per channel.
template <bool kFast>
inline int32_t requant(int32_t acc, size_t c, const Out& o, uint32_t pos_pair) {
  if (kFast) return eb_dsp_requant_fast_s8(acc, o.rq + c, pos_pair);
  return requant_any(acc, c, o, pos_pair);
}

// 4 accumulators (channels c .. c+3) -> 4 output bytes.
template <bool kFast>
inline void store_block(int8_t* y, int32_t a0, int32_t a1, int32_t a2, int32_t a3, size_t c, const Out& o) {
  const uint32_t pos_pair = eb_dsp_pos_pair();
  const int32_t q0 = requant<kFast>(a0, c, o, pos_pair), q1 = requant<kFast>(a1, c + 1, o, pos_pair);
  const int32_t q2 = requant<kFast>(a2, c + 2, o, pos_pair), q3 = requant<kFast>(a3, c + 3, o, pos_pair);
  eb_dsp_store32(y + c, eb_dsp_clamp4(eb_dsp_pack4(q0, q1, q2, q3), o.lo4, o.hi4));
}

template <bool kFast>
inline int8_t store_one(int32_t acc, size_t c, const Out& o) {
  return eb_clamp_s8(requant<kFast>(acc, c, o, eb_dsp_pos_pair()), o.lo, o.hi);
}

// The 4 channels of one tap: a0 += x0·w0, a1 += x1·w1, a2 += x2·w2, a3 += x3·w3.
#define EB_DW_TAP(xword, wword)                      \
  do {                                               \
    const uint32_t xv = (xword), wv = (wword);       \
    const int32_t xe = __sxtb16((int8x4_t)xv);       \
    const int32_t we = __sxtb16((int8x4_t)wv);       \
    const int32_t xo = eb_dsp_sxtb16_ror8(xv);       \
    const int32_t wo = eb_dsp_sxtb16_ror8(wv);       \
    a0 = __smlabb((int16x2_t)xe, (int16x2_t)we, a0); \
    a2 = __smlatt((int16x2_t)xe, (int16x2_t)we, a2); \
    a1 = __smlabb((int16x2_t)xo, (int16x2_t)wo, a1); \
    a3 = __smlatt((int16x2_t)xo, (int16x2_t)wo, a3); \
  } while (0)

// An interior 3×3 pixel: tap (kh, kw) of channel c reads x[kh·rs + kw·cs + c].
template <bool kFast>
void pixel_3x3(const int8_t* x, size_t rs, size_t cs, size_t C, const int8_t* w, const int32_t* bias_zx, const Out& o,
               int8_t* y) {
  const size_t C4 = C & ~(size_t)3;
  const int8_t* r0 = x;
  const int8_t* r1 = x + rs;
  const int8_t* r2 = x + 2 * rs;
  const size_t cs2 = 2 * cs;
  size_t c = 0;
  for (; c < C4; c += 4) {
    int32_t a0 = bias_zx[c], a1 = bias_zx[c + 1], a2 = bias_zx[c + 2], a3 = bias_zx[c + 3];
    const int8_t* wb = w + c * 9;
    EB_DW_TAP(eb_dsp_load32(r0 + c), eb_dsp_load32(wb));
    EB_DW_TAP(eb_dsp_load32(r0 + cs + c), eb_dsp_load32(wb + 4));
    EB_DW_TAP(eb_dsp_load32(r0 + cs2 + c), eb_dsp_load32(wb + 8));
    EB_DW_TAP(eb_dsp_load32(r1 + c), eb_dsp_load32(wb + 12));
    EB_DW_TAP(eb_dsp_load32(r1 + cs + c), eb_dsp_load32(wb + 16));
    EB_DW_TAP(eb_dsp_load32(r1 + cs2 + c), eb_dsp_load32(wb + 20));
    EB_DW_TAP(eb_dsp_load32(r2 + c), eb_dsp_load32(wb + 24));
    EB_DW_TAP(eb_dsp_load32(r2 + cs + c), eb_dsp_load32(wb + 28));
    EB_DW_TAP(eb_dsp_load32(r2 + cs2 + c), eb_dsp_load32(wb + 32));
    store_block<kFast>(y, a0, a1, a2, a3, c, o);
  }
  for (; c < C; ++c) {
    const int8_t* wc = w + c * 9;  // the tail keeps the reference layout [c][9]
    int32_t acc = bias_zx[c];
    for (size_t kh = 0; kh < 3; ++kh)
      for (size_t kw = 0; kw < 3; ++kw) acc = __smlabb(x[kh * rs + kw * cs + c], wc[kh * 3 + kw], acc);
    y[c] = store_one<kFast>(acc, c, o);
  }
}

// Any pixel of any window: tap t of channel c reads taps[t][c] (a padding tap points at the row of zp_x).
template <bool kFast>
void pixel_taps(const int8_t* const* taps, size_t T, size_t C, const int8_t* w, const int32_t* bias_zx, const Out& o,
                int8_t* y) {
  const size_t C4 = C & ~(size_t)3;
  size_t c = 0;
  for (; c < C4; c += 4) {
    int32_t a0 = bias_zx[c], a1 = bias_zx[c + 1], a2 = bias_zx[c + 2], a3 = bias_zx[c + 3];
    const int8_t* wb = w + c * T;
    for (size_t t = 0; t < T; ++t) EB_DW_TAP(eb_dsp_load32(taps[t] + c), eb_dsp_load32(wb + 4 * t));
    store_block<kFast>(y, a0, a1, a2, a3, c, o);
  }
  for (; c < C; ++c) {
    const int8_t* wc = w + c * T;
    int32_t acc = bias_zx[c];
    for (size_t t = 0; t < T; ++t) acc = __smlabb(taps[t][c], wc[t], acc);
    y[c] = store_one<kFast>(acc, c, o);
  }
}

template <bool kFast>
void dwconv(const eb_qs8_conv_params* p, const int8_t* input, const int8_t* weights, int8_t* output,
            const int32_t* bias_zx, const Out& o, int8_t* scratch) {
  const int32_t H = p->input_height, W = p->input_width;
  const size_t C = (size_t)p->input_channels;
  const int32_t KH = p->kernel_height, KW = p->kernel_width;
  const size_t T = (size_t)KH * (size_t)KW;  // <= 81 (the variant's `applies`)
  const int32_t dh = p->dilation_height, dw = p->dilation_width;
  const size_t rs = (size_t)dh * (size_t)W * C, cs = (size_t)dw * C;
  const int8_t* taps[81];
  for (size_t n = 0; n < (size_t)p->batch; ++n) {
    const int8_t* image = input + n * (size_t)H * (size_t)W * C;
    for (int32_t oh = 0; oh < p->output_height; ++oh) {
      const int32_t ih0 = oh * p->stride_height - p->pad_top;
      const bool rows_in = ih0 >= 0 && ih0 + (KH - 1) * dh < H;
      for (int32_t ow = 0; ow < p->output_width; ++ow) {
        const int32_t iw0 = ow * p->stride_width - p->pad_left;
        const bool in = rows_in && iw0 >= 0 && iw0 + (KW - 1) * dw < W;
        if (in && KH == 3 && KW == 3) {
          pixel_3x3<kFast>(image + ((size_t)ih0 * (size_t)W + (size_t)iw0) * C, rs, cs, C, weights, bias_zx, o, output);
        } else {
          size_t t = 0;
          for (int32_t kh = 0; kh < KH; ++kh) {
            const int32_t ih = ih0 + kh * dh;
            for (int32_t kw = 0; kw < KW; ++kw, ++t) {
              const int32_t iw = iw0 + kw * dw;
              taps[t] =
                  ih >= 0 && ih < H && iw >= 0 && iw < W ? image + ((size_t)ih * (size_t)W + (size_t)iw) * C : scratch;
            }
          }
          pixel_taps<kFast>(taps, T, C, weights, bias_zx, o, output);
        }
        output += C;
      }
    }
  }
}

}  // namespace

extern "C" void eb_qs8_conv_dw_minmax_ukernel_1x4__dsp(const eb_qs8_conv_params* p, const int8_t* input,
                                                       const int8_t* weights, const int32_t* bias,
                                                       const int32_t* multiplier, const int32_t* shift, int8_t* output,
                                                       const int32_t* bias_zx, const int32_t* rq_words,
                                                       int8_t* scratch) {
  (void)bias;                                                          // folded into bias_zx
  const eb_dsp_rq* rq = reinterpret_cast<const eb_dsp_rq*>(rq_words);  // int32 words [C][4], the struct's layout
  const size_t C = (size_t)p->input_channels;
  memset(scratch, (int8_t)p->input_zero_point, C);
  const Out o = {rq,
                 multiplier,
                 shift,
                 p->output_zero_point,
                 eb_dsp_splat8(p->output_min),
                 eb_dsp_splat8(p->output_max),
                 p->output_min,
                 p->output_max};
  if (eb_dsp_all_fast(rq, C))
    dwconv<true>(p, input, weights, output, bias_zx, o, scratch);
  else
    dwconv<false>(p, input, weights, output, bias_zx, o, scratch);
}
