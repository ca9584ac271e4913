// qs8_conv_minmax__dsp.cc: Cortex-M DSP extension (M4/M7/M33) int8 CONV2D, groups 1, any kernel size, stride,
// padding and dilation; bit-identical to its reference twin eb_qs8_conv_ref.
//
// Output pixels go two at a time through the SMLAD GEMM core of qs8-gemm/qs8_gemm_minmax_2x2c4__dsp.cc: each
// pixel's K = KH·KW·C taps form one row of x (im2col), widened to int16 minus zp_x once per pixel
// (eb_qs8_gemm_dsp_pack_rows) and then multiplied against every output channel's weight row [KH, KW, C] as the
// reference stores it. A padding tap holds zp_x, so it contributes (zp_x − zp_x)·w = 0, exactly as the reference's
// skipped tap. A pointwise convolution (1x1, no padding) reads its rows in place; with C % 4 = 0 each tap's
// channels are widened straight from the input; others gather each pixel's taps into the scratch first.
#include <string.h>

#include "../qs8-gemm/qs8_gemm_dsp.h"
#include "edgebuild/ukernels.h"

namespace {

// Unaligned word copies (LDR / STR allow them on M4 / M7 / M33), then the last 0..3 bytes.
inline void copy_bytes(int8_t* dst, const int8_t* src, size_t n) {
  for (; n >= 4; n -= 4, src += 4, dst += 4) {
    uint32_t v;
    memcpy(&v, src, 4);
    memcpy(dst, &v, 4);
  }
  for (size_t i = 0; i < n; ++i) dst[i] = src[i];
}

// The K taps of output pixel (n, oh, ow): a pointer into the input when they are contiguous there (pointwise),
// else gathered into `row` (padding taps = zp_x). A kernel row whose taps all lie inside the input is one copy of
// KW·C bytes when the dilation along W is 1.
const int8_t* taps(const eb_qs8_conv_params* p, const int8_t* input, int32_t n, int32_t oh, int32_t ow, bool pointwise,
                   int8_t* row) {
  const size_t C = (size_t)p->input_channels, W = (size_t)p->input_width;
  const int8_t* image = input + (size_t)n * (size_t)p->input_height * W * C;
  if (pointwise) return image + ((size_t)(oh * p->stride_height) * W + (size_t)(ow * p->stride_width)) * C;
  const int32_t KW = p->kernel_width, dw = p->dilation_width;
  const int32_t iw0 = ow * p->stride_width - p->pad_left;
  const bool cols_in = iw0 >= 0 && iw0 + (KW - 1) * dw < p->input_width;
  const size_t row_bytes = (size_t)KW * C;
  int8_t* dst = row;
  for (int32_t kh = 0; kh < p->kernel_height; ++kh, dst += row_bytes) {
    const int32_t ih = oh * p->stride_height - p->pad_top + kh * p->dilation_height;
    if (ih < 0 || ih >= p->input_height) {
      memset(dst, p->input_zero_point, row_bytes);
      continue;
    }
    const int8_t* src = image + (size_t)ih * W * C;
    if (cols_in && dw == 1) {
      copy_bytes(dst, src + (size_t)iw0 * C, row_bytes);
      continue;
    }
    for (int32_t kw = 0; kw < KW; ++kw) {
      const int32_t iw = iw0 + kw * dw;
      if (iw >= 0 && iw < p->input_width) {
        copy_bytes(dst + (size_t)kw * C, src + (size_t)iw * C, C);
      } else {
        memset(dst + (size_t)kw * C, p->input_zero_point, C);
      }
    }
  }
  return row;
}

// Widens `groups` groups of 4 int8 from src into every `stride`-th word pair of dst, minus zp_x (SXTAB16).
inline uint32_t* widen(const int8_t* src, size_t groups, uint32_t offset, uint32_t* dst, size_t stride) {
  for (size_t g = 0; g < groups; ++g, src += 4, dst += stride) {
    uint32_t v;
    memcpy(&v, src, 4);
    dst[0] = (uint32_t)__sxtab16(offset, v);
    dst[1] = (uint32_t)eb_sxtab16_ror8(offset, v);
  }
  return dst;
}

inline uint32_t* zeros(size_t groups, uint32_t* dst, size_t stride) {
  for (size_t g = 0; g < groups; ++g, dst += stride) {
    dst[0] = 0;
    dst[1] = 0;
  }
  return dst;
}

// Output pixel (n, oh, ow)'s taps widened straight into row r of the packed rows (eb_qs8_gemm_dsp_pack_rows's
// layout) when C % 4 = 0: each tap is C / 4 whole groups; a padding tap's groups are 0 (zp_x − zp_x). A kernel row
// inside the input with dilation 1 along W is KW·C / 4 contiguous groups.
void widen_taps(const eb_qs8_conv_params* p, const int8_t* input, int32_t n, int32_t oh, int32_t ow, size_t r,
                uint32_t offset, uint32_t* packed) {
  const size_t C = (size_t)p->input_channels, W = (size_t)p->input_width, groups = C / 4, stride = 4;
  const int32_t KW = p->kernel_width, dw = p->dilation_width;
  const int8_t* image = input + (size_t)n * (size_t)p->input_height * W * C;
  const int32_t iw0 = ow * p->stride_width - p->pad_left;
  const bool cols_in = iw0 >= 0 && iw0 + (KW - 1) * dw < p->input_width;
  uint32_t* dst = packed + 2 * r;
  for (int32_t kh = 0; kh < p->kernel_height; ++kh) {
    const int32_t ih = oh * p->stride_height - p->pad_top + kh * p->dilation_height;
    if (ih < 0 || ih >= p->input_height) {
      dst = zeros((size_t)KW * groups, dst, stride);
      continue;
    }
    const int8_t* src = image + (size_t)ih * W * C;
    if (cols_in && dw == 1) {
      dst = widen(src + (size_t)iw0 * C, (size_t)KW * groups, offset, dst, stride);
      continue;
    }
    for (int32_t kw = 0; kw < KW; ++kw) {
      const int32_t iw = iw0 + kw * dw;
      if (iw >= 0 && iw < p->input_width) {
        dst = widen(src + (size_t)iw * C, groups, offset, dst, stride);
      } else {
        dst = zeros(groups, dst, stride);
      }
    }
  }
}

}  // namespace

// The reference's arguments plus scratch: EB_QS8_GEMM_DSP_PACKED_BYTES(K), and EB_QS8_CONV_DSP_GATHER_BYTES(K) more
// when eb_qs8_conv_dsp_gathers(p), K = KH·KW·C (qs8-gemm/qs8_gemm_dsp.h).
extern "C" void eb_qs8_conv_minmax_ukernel__dsp(const eb_qs8_conv_params* p, const int8_t* input, const int8_t* weights,
                                                const int32_t* bias, const int32_t* multiplier, const int32_t* shift,
                                                int8_t* output, void* scratch) {
  const size_t K = (size_t)p->kernel_height * (size_t)p->kernel_width * (size_t)p->input_channels;
  const size_t OC = (size_t)p->output_channels;
  const bool pointwise = eb_qs8_conv_dsp_pointwise(p), gathers = eb_qs8_conv_dsp_gathers(p);
  const uint32_t offset = ((uint32_t)(-p->input_zero_point) & 0xFFFFu) * 0x10001u;  // SXTAB16 adds −zp_x
  int16_t* packed = (int16_t*)scratch;
  int8_t* gather = (int8_t*)scratch + EB_QS8_GEMM_DSP_PACKED_BYTES(K);
  eb_qs8_gemm_dsp_tile t;
  t.x = packed;
  t.weights = weights;
  t.bias = bias;
  t.multiplier = multiplier;
  t.shift = shift;
  t.n = OC;
  t.k = K;
  t.output_zero_point = p->output_zero_point;
  t.output_min = p->output_min;
  t.output_max = p->output_max;
  const size_t pixels = (size_t)p->batch * (size_t)p->output_height * (size_t)p->output_width;
  int32_t n = 0, oh = 0, ow = 0;  // the next pixel's coordinates
  for (size_t pix = 0; pix < pixels; pix += 2) {
    const size_t rows = pixels - pix >= 2 ? 2 : 1;
    const int8_t* src[2] = {NULL, NULL};
    for (size_t r = 0; r < rows; ++r) {
      if (pointwise || gathers) {
        src[r] = taps(p, input, n, oh, ow, pointwise, gather + r * K);
      } else {
        widen_taps(p, input, n, oh, ow, r, offset, (uint32_t*)packed);
        if (rows == 1) widen_taps(p, input, n, oh, ow, 1, offset, (uint32_t*)packed);  // one pixel: packed twice
      }
      if (++ow == p->output_width) {
        ow = 0;
        if (++oh == p->output_height) {
          oh = 0;
          ++n;
        }
      }
    }
    if (rows == 1 && (pointwise || gathers)) {
      // A last odd pixel (each band of a streamed conv may end on one) as a one-row FULLY_CONNECTED on its int8 taps,
      // rather than packed twice: 23 instructions per 16 MACs instead of 32.
      eb_qs8_gemm_params one;
      one.m = 1;
      one.n = OC;
      one.k = K;
      one.input_zero_point = p->input_zero_point;
      one.output_zero_point = p->output_zero_point;
      one.output_min = p->output_min;
      one.output_max = p->output_max;
      eb_qs8_gemm_minmax_ukernel_1x4c4__dsp(&one, src[0], weights, bias, multiplier, shift, output + pix * OC);
      break;
    }
    if (pointwise || gathers) {
      eb_qs8_gemm_dsp_pack_rows(src[0], src[1], K, p->input_zero_point, packed);
    }
    t.y0 = output + pix * OC;
    t.y1 = t.y0 + OC;
    eb_qs8_gemm_minmax_ukernel_2x2c4__dsp(&t, rows);
  }
}
