// qs8_conv_minmax__mve.cc: int8 CONV2D (groups 1) for Cortex-M55 (Helium / MVE), bit-identical to eb_qs8_conv_ref.
//
// Every output pixel is a row of the GEMM y[pixels, OC] = patches[pixels, KH·KW·C] · w[OC, KH·KW·C]^T, run by the MVE
// row kernel of qs8-gemm/qs8_gemm_minmax_2x2c16__mve.cc (2 pixels × 2 output channels per VMLADAVA tile). The
// weights' reference layout [OC, KH, KW, C] is already that GEMM's [OC, K]. docs/quantization.md (6) is computed as
// Σ x·w + b'[oc] with b' = b − zp_x·Σw folded at build time (edgebuild/mcu/variants/mve_conv.py), so a padding tap
// holding the code zp_x adds zp_x·w, which the fold takes back: exactly the reference's skipped tap (all mod 2^32).
//  - eb_qs8_conv_minmax_ukernel_1x1__mve: 1×1 kernels without padding (pointwise convolutions, strided 1×1 skips):
//    a pixel's C channels are already a row in NHWC, so the rows are read in place, no copy.
//  - eb_qs8_conv_minmax_ukernel__mve: any kernel, stride, padding, dilation: the patches of two pixels are gathered
//    into the scratch (2·K bytes of the arena; a padding tap filled with zp_x), then the row kernel runs on them.
#include <arm_mve.h>
#include <stddef.h>
#include <stdint.h>

#include "edgebuild/ukernels.h"

// Defined in qs8-gemm/qs8_gemm_minmax_2x2c16__mve.cc (both files are the variants' sources).
extern "C" void eb_qs8_gemm_rows_minmax_ukernel_2x2c16__mve(const eb_qs8_gemm_params* p, const int8_t* input,
                                                            size_t input_stride, const int8_t* weights,
                                                            const int32_t* bias_folded, const int32_t* multiplier,
                                                            const int32_t* shift, int8_t* output);

namespace {

eb_qs8_gemm_params rows_params(const eb_qs8_conv_params* p, size_t rows, size_t k) {
  eb_qs8_gemm_params g;
  g.m = rows;
  g.n = (size_t)p->output_channels;
  g.k = k;
  g.input_zero_point = p->input_zero_point;  // not read by the row kernel (folded into b')
  g.output_zero_point = p->output_zero_point;
  g.output_min = p->output_min;
  g.output_max = p->output_max;
  return g;
}

inline void copy_bytes(int8_t* dst, const int8_t* src, int32_t n) {
  for (; n > 0; n -= 16, src += 16, dst += 16) {
    const mve_pred16_t p = vctp8q((uint32_t)n);
    vstrbq_p_s8(dst, vldrbq_z_s8(src, p), p);
  }
}

inline void fill_bytes(int8_t* dst, int8x16_t value, int32_t n) {
  for (; n > 0; n -= 16, dst += 16) vstrbq_p_s8(dst, value, vctp8q((uint32_t)n));
}

// The patch of output pixel (b, oh, ow) in the weights' (kh, kw, c) order; taps outside the input hold zp_x.
void gather_patch(const eb_qs8_conv_params* p, const int8_t* input, int32_t b, int32_t oh, int32_t ow, int8x16_t zp,
                  int8_t* dst) {
  const int32_t H = p->input_height, W = p->input_width, C = p->input_channels;
  const int32_t KH = p->kernel_height, KW = p->kernel_width;
  const int32_t iw0 = ow * p->stride_width - p->pad_left;
  for (int32_t kh = 0; kh < KH; ++kh, dst += KW * C) {
    const int32_t ih = oh * p->stride_height - p->pad_top + kh * p->dilation_height;
    if (ih < 0 || ih >= H) {
      fill_bytes(dst, zp, KW * C);
      continue;
    }
    const int8_t* row = input + ((size_t)b * (size_t)H + (size_t)ih) * (size_t)W * (size_t)C;
    if (p->dilation_width == 1) {  // the row's valid taps are one contiguous run of C·(kw_hi − kw_lo) bytes
      int32_t kw_lo = iw0 < 0 ? -iw0 : 0;
      int32_t kw_hi = W - iw0 < KW ? W - iw0 : KW;
      if (kw_lo > KW) kw_lo = KW;
      if (kw_hi < kw_lo) kw_hi = kw_lo;
      fill_bytes(dst, zp, kw_lo * C);
      copy_bytes(dst + kw_lo * C, row + (ptrdiff_t)(iw0 + kw_lo) * C, (kw_hi - kw_lo) * C);
      fill_bytes(dst + kw_hi * C, zp, (KW - kw_hi) * C);
    } else {
      for (int32_t kw = 0; kw < KW; ++kw) {
        const int32_t iw = iw0 + kw * p->dilation_width;
        if (iw < 0 || iw >= W) {
          fill_bytes(dst + kw * C, zp, C);
        } else {
          copy_bytes(dst + kw * C, row + (size_t)iw * (size_t)C, C);
        }
      }
    }
  }
}

}  // namespace

// 1×1, no padding, every tap inside the input (edgebuild/mcu/variants/mve_conv.py `applies`): output row (b, oh)
// is OW pixels read at a stride of stride_width·C bytes.
extern "C" void eb_qs8_conv_minmax_ukernel_1x1__mve(const eb_qs8_conv_params* p, const int8_t* input,
                                                    const int8_t* weights, const int32_t* bias,
                                                    const int32_t* multiplier, const int32_t* shift, int8_t* output,
                                                    const int32_t* bias_folded) {
  (void)bias;
  const size_t H = (size_t)p->input_height, W = (size_t)p->input_width, C = (size_t)p->input_channels;
  const size_t OH = (size_t)p->output_height, OW = (size_t)p->output_width, OC = (size_t)p->output_channels;
  if (p->stride_height == 1 && p->stride_width == 1 && OH == H && OW == W) {  // all pixels are one matrix
    const eb_qs8_gemm_params g = rows_params(p, (size_t)p->batch * H * W, C);
    eb_qs8_gemm_rows_minmax_ukernel_2x2c16__mve(&g, input, C, weights, bias_folded, multiplier, shift, output);
    return;
  }
  const eb_qs8_gemm_params g = rows_params(p, OW, C);
  const size_t x_stride = (size_t)p->stride_width * C;
  for (size_t b = 0; b < (size_t)p->batch; ++b) {
    for (size_t oh = 0; oh < OH; ++oh) {
      const int8_t* x = input + (b * H + oh * (size_t)p->stride_height) * W * C;
      eb_qs8_gemm_rows_minmax_ukernel_2x2c16__mve(&g, x, x_stride, weights, bias_folded, multiplier, shift,
                                                  output + (b * OH + oh) * OW * OC);
    }
  }
}

// Any CONV2D with groups 1; scratch: 2·KH·KW·C bytes (16-byte aligned) of the arena.
extern "C" void eb_qs8_conv_minmax_ukernel__mve(const eb_qs8_conv_params* p, const int8_t* input,
                                                const int8_t* weights, const int32_t* bias, const int32_t* multiplier,
                                                const int32_t* shift, int8_t* output, const int32_t* bias_folded,
                                                void* scratch) {
  (void)bias;
  const size_t K = (size_t)p->kernel_height * (size_t)p->kernel_width * (size_t)p->input_channels;
  const size_t OC = (size_t)p->output_channels;
  const int32_t OH = p->output_height, OW = p->output_width;
  const int8x16_t zp = vdupq_n_s8((int8_t)p->input_zero_point);
  int8_t* rows = (int8_t*)scratch;
  const eb_qs8_gemm_params pair = rows_params(p, 2, K), one = rows_params(p, 1, K);
  int32_t b = 0, oh = 0, ow = 0;  // the next pixel
  const size_t pixels = (size_t)p->batch * (size_t)OH * (size_t)OW;
  for (size_t i = 0; i < pixels;) {
    const size_t count = pixels - i >= 2 ? 2 : 1;
    for (size_t r = 0; r < count; ++r) {
      gather_patch(p, input, b, oh, ow, zp, rows + r * K);
      if (++ow == OW) {
        ow = 0;
        if (++oh == OH) {
          oh = 0;
          ++b;
        }
      }
    }
    eb_qs8_gemm_rows_minmax_ukernel_2x2c16__mve(count == 2 ? &pair : &one, rows, K, weights, bias_folded, multiplier,
                                                shift, output + i * OC);
    i += count;
  }
}
