// qs8_conv_minmax__mve.cc: int8 CONV2D (groups 1) for Cortex-M55 (Helium / MVE), bit-identical to eb_qs8_conv_ref.
//
// Every output pixel is a row of the GEMM y[pixels, OC] = patches[pixels, KH·KW·C] · w[OC, KH·KW·C]^T, run by the MVE
// row kernel of qs8-gemm/qs8_gemm_minmax_1x4c16__mve.cc (1 pixel × 4 output channels per VMLADAVA tile). The
// weights' reference layout [OC, KH, KW, C] is already that GEMM's [OC, K]. docs/quantization.md (6) is computed as
// Σ x·w + b'[oc] with b' = b − zp_x·Σw folded at build time into the row kernel's per-channel records
// (edgebuild/mcu/variants/mve_conv.py), so a padding tap holding the code zp_x adds zp_x·w, which the fold takes
// back: exactly the reference's skipped tap (all mod 2^32). bias, multiplier and shift are not read (the records
// hold them).
//  - eb_qs8_conv_minmax_ukernel_1x1__mve: 1×1 kernels without padding (pointwise convolutions, strided 1×1 skips):
//    a pixel's C channels are already a row in NHWC, read in place (one row-kernel call per output row, or one for
//    the whole tensor at stride 1).
//  - eb_qs8_conv_minmax_ukernel__mve: any kernel, stride, padding, dilation: the patches of a block of pixels are
//    gathered into the scratch (padding taps filled with zp_x), then the row kernel runs on the block. A patch
//    inside the input is KH runs of KW·C contiguous bytes (NHWC), copied 16 bytes a move (3×3×16: ~60
//    instructions per pixel against ~520 for its 16 output channels' products and requantization). The block is up
//    to 8 pixels, fewer when K is large, so the scratch stays under 2 KiB where it can (the row kernel's set-up is
//    paid once per block).
#include <arm_mve.h>
#include <stddef.h>
#include <stdint.h>

#include "edgebuild/ukernels.h"

// Defined in qs8-gemm/qs8_gemm_minmax_1x4c16__mve.cc (both files are the variants' sources): rows r < p->m at
// input + r·input_stride (p->k bytes each) against weights [p->n, p->k], output row r at output + r·p->n; records
// [b'[4], multiplier[4], exponent[4]] per 4 output channels.
extern "C" {
void eb_qs8_gemm_rows_minmax_ukernel_1x4c16__mve(const eb_qs8_gemm_params* p, const int8_t* input, size_t input_stride,
                                                 const int8_t* weights, const int32_t* records, int8_t* output);
}

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
  for (; n >= 16; n -= 16, src += 16, dst += 16) vstrbq_s8(dst, vldrbq_s8(src));
  if (n > 0) {
    const mve_pred16_t p = vctp8q((uint32_t)n);
    vstrbq_p_s8(dst, vldrbq_z_s8(src, p), p);
  }
}

inline void fill_bytes(int8_t* dst, int8x16_t value, int32_t n) {
  for (; n >= 16; n -= 16, dst += 16) vstrbq_s8(dst, value);
  if (n > 0) vstrbq_p_s8(dst, value, vctp8q((uint32_t)n));
}

// A patch inside the input: `runs` (>= 1) runs of `run` (>= 1) bytes, `step` bytes apart, copied 16 bytes a move,
// the tail predicated. Assembly: GCC 12 spends ~24 instructions on a run of 9 bytes (a predicate reloaded per use);
// this is 7 for a run under 16 bytes and 9 + 3 per 16 bytes otherwise.
inline void copy_runs(int8_t* dst, const int8_t* src, size_t step, int32_t runs, int32_t run) {
  int8x16_t v;
  if (run < 16) {
    __asm__ volatile(
        "vctp.8 %[run]\n"
        "1:\n\t"
        "vpstt\n\t"
        "vldrbt.8 %q[v], [%[src]]\n\t"
        "vstrbt.8 %q[v], [%[dst]]\n\t"
        "add %[src], %[src], %[step]\n\t"
        "add %[dst], %[dst], %[run]\n\t"
        "subs %[runs], %[runs], #1\n\t"
        "bne 1b\n\t"
        : [dst] "+r"(dst), [src] "+r"(src), [runs] "+r"(runs), [v] "=&w"(v)
        : [step] "r"(step), [run] "r"(run)
        : "cc", "memory");
    return;
  }
  const int8_t* s;
  int32_t tail;
  __asm__ volatile(
      "1:\n\t"
      "mov %[s], %[src]\n\t"
      "lsr lr, %[run], #4\n\t"
      "dls lr, lr\n"
      "2:\n\t"
      "vldrb.8 %q[v], [%[s]], #16\n\t"
      "vstrb.8 %q[v], [%[dst]], #16\n\t"
      "le lr, 2b\n\t"
      "ands %[tail], %[run], #15\n\t"
      "beq 3f\n\t"
      "vctp.8 %[tail]\n\t"
      "vpstt\n\t"
      "vldrbt.8 %q[v], [%[s]]\n\t"
      "vstrbt.8 %q[v], [%[dst]]\n\t"
      "add %[dst], %[dst], %[tail]\n"
      "3:\n\t"
      "add %[src], %[src], %[step]\n\t"
      "subs %[runs], %[runs], #1\n\t"
      "bne 1b\n\t"
      : [dst] "+r"(dst), [src] "+r"(src), [runs] "+r"(runs), [v] "=&w"(v), [s] "=&r"(s), [tail] "=&r"(tail)
      : [step] "r"(step), [run] "r"(run)
      : "lr", "cc", "memory");
}

// The patch of output pixel (b, oh, ow) in the weights' (kh, kw, c) order, any pixel; taps outside the input hold
// zp_x.
void gather_patch(const eb_qs8_conv_params* p, const int8_t* input, int32_t b, int32_t oh, int32_t ow, int8x16_t zp,
                  int8_t* dst) {
  const int32_t H = p->input_height, W = p->input_width, C = p->input_channels;
  const int32_t KH = p->kernel_height, KW = p->kernel_width, run = KW * C;
  const int32_t iw0 = ow * p->stride_width - p->pad_left, ih0 = oh * p->stride_height - p->pad_top;
  const size_t row_bytes = (size_t)W * (size_t)C;
  const int8_t* image = input + (size_t)b * (size_t)H * row_bytes;
  for (int32_t kh = 0; kh < KH; ++kh, dst += run) {
    const int32_t ih = ih0 + kh * p->dilation_height;
    if (ih < 0 || ih >= H) {
      fill_bytes(dst, zp, run);
      continue;
    }
    const int8_t* row = image + (size_t)ih * row_bytes;
    if (p->dilation_width == 1) {  // the row's taps inside the input are one run: zp_x, the run, zp_x
      const int32_t lo = iw0 < 0 ? (-iw0 < KW ? -iw0 : KW) : 0;
      const int32_t hi = W - iw0 < KW ? (W - iw0 > lo ? W - iw0 : lo) : KW;
      fill_bytes(dst, zp, lo * C);
      if (hi > lo) copy_bytes(dst + lo * C, row + (ptrdiff_t)(iw0 + lo) * C, (hi - lo) * C);
      fill_bytes(dst + hi * C, zp, (KW - hi) * C);
      continue;
    }
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

}  // namespace

// 1×1, no padding, every tap inside the input (edgebuild/mcu/variants/mve_conv.py `applies`): output row (b, oh)
// is OW pixels read at a stride of stride_width·C bytes.
extern "C" void eb_qs8_conv_minmax_ukernel_1x1__mve(const eb_qs8_conv_params* p, const int8_t* input,
                                                    const int8_t* weights, const int32_t* bias,
                                                    const int32_t* multiplier, const int32_t* shift, int8_t* output,
                                                    const int32_t* records) {
  (void)bias, (void)multiplier, (void)shift;
  const size_t H = (size_t)p->input_height, W = (size_t)p->input_width, C = (size_t)p->input_channels;
  const size_t OH = (size_t)p->output_height, OW = (size_t)p->output_width, OC = (size_t)p->output_channels;
  if (p->stride_height == 1 && p->stride_width == 1 && OH == H && OW == W) {  // all pixels are one matrix
    const eb_qs8_gemm_params g = rows_params(p, (size_t)p->batch * H * W, C);
    eb_qs8_gemm_rows_minmax_ukernel_1x4c16__mve(&g, input, C, weights, records, output);
    return;
  }
  const eb_qs8_gemm_params g = rows_params(p, OW, C);
  const size_t x_stride = (size_t)p->stride_width * C;
  for (size_t b = 0; b < (size_t)p->batch; ++b) {
    for (size_t oh = 0; oh < OH; ++oh) {
      const int8_t* x = input + (b * H + oh * (size_t)p->stride_height) * W * C;
      eb_qs8_gemm_rows_minmax_ukernel_1x4c16__mve(&g, x, x_stride, weights, records, output + (b * OH + oh) * OW * OC);
    }
  }
}

// Pixels per gathered block, and so the scratch (block·K bytes): as many as fit 2 KiB, 1 to 8 (the row kernel's
// set-up is paid once per block; rows are independent, so one is enough).
extern "C" size_t eb_qs8_conv_minmax_ukernel__mve_block(size_t k) {
  const size_t rows = k == 0 ? 8 : 2048 / k;
  return rows > 8 ? 8 : (rows < 1 ? 1 : rows);
}

// Any CONV2D with groups 1; scratch: eb_qs8_conv_minmax_ukernel__mve_block(K)·K bytes, K = KH·KW·C (16-byte
// aligned) of the arena.
extern "C" void eb_qs8_conv_minmax_ukernel__mve(const eb_qs8_conv_params* p, const int8_t* input, const int8_t* weights,
                                                const int32_t* bias, const int32_t* multiplier, const int32_t* shift,
                                                int8_t* output, const int32_t* records, void* scratch) {
  (void)bias, (void)multiplier, (void)shift;
  const int32_t H = p->input_height, W = p->input_width, C = p->input_channels;
  const int32_t KH = p->kernel_height, KW = p->kernel_width, OH = p->output_height, OW = p->output_width;
  const size_t K = (size_t)KH * (size_t)KW * (size_t)C, OC = (size_t)p->output_channels;
  const size_t block = eb_qs8_conv_minmax_ukernel__mve_block(K);
  const size_t row_bytes = (size_t)W * (size_t)C, step = (size_t)p->dilation_height * row_bytes;
  const int32_t reach_h = (KH - 1) * p->dilation_height;  // a window's rows are ih0 .. ih0 + reach_h
  const bool runs = p->dilation_width == 1;               // a window row's taps are contiguous
  const int8x16_t zp = vdupq_n_s8((int8_t)p->input_zero_point);
  int8_t* rows = (int8_t*)scratch;
  int8_t* y = output;
  size_t filled = 0;
  eb_qs8_gemm_params g = rows_params(p, block, K);
  for (int32_t b = 0; b < p->batch; ++b) {
    const int8_t* image = input + (size_t)b * (size_t)H * row_bytes;
    for (int32_t oh = 0; oh < OH; ++oh) {
      const int32_t ih0 = oh * p->stride_height - p->pad_top;
      const bool rows_inside = runs && ih0 >= 0 && ih0 + reach_h < H;
      const int8_t* image_row = image + (ptrdiff_t)ih0 * (ptrdiff_t)row_bytes;
      for (int32_t ow = 0; ow < OW; ++ow) {
        const int32_t iw0 = ow * p->stride_width - p->pad_left;
        int8_t* dst = rows + filled * K;
        if (rows_inside && iw0 >= 0 && iw0 + KW <= W) {
          copy_runs(dst, image_row + (ptrdiff_t)iw0 * C, step, KH, KW * C);
        } else {
          gather_patch(p, input, b, oh, ow, zp, dst);
        }
        if (++filled == block) {
          eb_qs8_gemm_rows_minmax_ukernel_1x4c16__mve(&g, rows, K, weights, records, y);
          y += block * OC;
          filled = 0;
        }
      }
    }
  }
  if (filled > 0) {
    g.m = filled;
    eb_qs8_gemm_rows_minmax_ukernel_1x4c16__mve(&g, rows, K, weights, records, y);
  }
}
