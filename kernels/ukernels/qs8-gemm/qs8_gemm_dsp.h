// qs8_gemm_dsp.h: the Cortex-M DSP-extension (SMLAD / SXTB16) GEMM core shared by the FULLY_CONNECTED kernel
// (qs8_gemm_minmax_2x2c4__dsp.cc) and the CONV2D kernel (qs8-conv/qs8_conv_minmax__dsp.cc). Both equal their
// reference twins, eb_qs8_gemm_ref and eb_qs8_conv_ref, bit for bit.
#ifndef EDGEBUILD_QS8_GEMM_DSP_H_
#define EDGEBUILD_QS8_GEMM_DSP_H_

#include <arm_acle.h>
#include <stddef.h>
#include <stdint.h>

#include "edgebuild/ukernels.h"

#ifdef __cplusplus
extern "C" {
#endif

// SXTB16 of w rotated right by 8: (w1, w3); SXTAB16 likewise. One instruction with the rotate operand: GCC 12
// emits __sxtb16 of a rotated value as a separate ROR, and ACLE has no intrinsic for the rotated forms.
static inline int32_t eb_sxtb16_ror8(uint32_t w) {
  int32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(w));
  return r;
}
static inline int32_t eb_sxtab16_ror8(uint32_t a, uint32_t w) {
  int32_t r;
  __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(w));
  return r;
}

// Two rows of x (row1 NULL: row0 twice), already minus zp_x, as int16 in the order SMLAD consumes them against
// SXTB16-widened weights: per group of 4 k, the pair (x0, x2) then the pair (x1, x3) (SXTB16 of a weight word gives
// (w0, w2), of the word rotated by 8 (w1, w3)); the rows interleave per group: row 0's two words, then row 1's. The
// K % 4 tail follows in natural order, row 0's then row 1's. Size: 2 * k int16.
void eb_qs8_gemm_dsp_pack_rows(const int8_t* row0, const int8_t* row1, size_t k, int32_t input_zero_point,
                               int16_t* packed);

typedef struct eb_qs8_gemm_dsp_tile {
  const int16_t* x;           // eb_qs8_gemm_dsp_pack_rows's layout
  const int8_t* weights;      // [n, k], the reference's layout
  const int32_t* bias;        // [n] or NULL
  const int32_t* multiplier;  // [n], docs/quantization.md (3)
  const int32_t* shift;       // [n]
  int8_t* y0;                 // row 0's n outputs
  int8_t* y1;                 // row 1's (rows = 2)
  size_t n, k;
  int32_t output_zero_point, output_min, output_max;
} eb_qs8_gemm_dsp_tile;

// y_r[c] = clamp(MBQM(bias[c] + Σ_k x_r[k] · w[c, k], m[c], e[c]) + zp_y, min, max) for r < rows (1 or 2), every
// c < n: docs/quantization.md (5) and (6). Two output channels of both rows a step; rows = 1 takes x with row 0
// packed twice and writes row 1's outputs, which are row 0's, over them (one tile shape, half the code).
void eb_qs8_gemm_minmax_ukernel_2x2c4__dsp(const eb_qs8_gemm_dsp_tile* t, size_t rows);

// FULLY_CONNECTED of one row with the reference's signature (no scratch; the CONV2D kernel's last odd pixel).
void eb_qs8_gemm_minmax_ukernel_1x4c4__dsp(const eb_qs8_gemm_params* p, const int8_t* input, const int8_t* weights,
                                           const int32_t* bias, const int32_t* multiplier, const int32_t* shift,
                                           int8_t* output);

// Bytes of scratch the whole-op kernels need (16-byte aligned): the packed rows, and for a CONV2D that
// eb_qs8_conv_dsp_gathers, two gathered int8 rows of its K = KH * KW * C taps.
#define EB_QS8_GEMM_DSP_PACKED_BYTES(k) ((((size_t)(k)*4u) + 15u) & ~(size_t)15u)
#define EB_QS8_CONV_DSP_GATHER_BYTES(k) ((((size_t)(k)*2u) + 15u) & ~(size_t)15u)

// A CONV2D whose pixels' taps are contiguous in the input: 1x1, no padding, every output pixel inside the input
// (edgebuild/mcu/variants/dsp_conv.py's _pointwise says the same).
static inline int eb_qs8_conv_dsp_pointwise(const eb_qs8_conv_params* p) {
  return p->kernel_height == 1 && p->kernel_width == 1 && p->pad_top == 0 && p->pad_left == 0 &&
         (int64_t)(p->output_height - 1) * p->stride_height < p->input_height &&
         (int64_t)(p->output_width - 1) * p->stride_width < p->input_width;
}

// A CONV2D whose taps are gathered as int8 before they are widened: neither pointwise nor with C % 4 = 0 (whole
// groups of 4 channels per tap are widened straight from the input).
static inline int eb_qs8_conv_dsp_gathers(const eb_qs8_conv_params* p) {
  return !eb_qs8_conv_dsp_pointwise(p) && p->input_channels % 4 != 0;
}

#ifdef __cplusplus
}  // extern "C"
#endif

#endif  // EDGEBUILD_QS8_GEMM_DSP_H_
