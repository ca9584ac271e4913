// qs8-spmm/ref.cc: reference int8 SPARSE_CONV2D / SPARSE_FULLY_CONNECTED over block-CSR weights: plain loops, the spec.
#include "edgebuild/requant.h"
#include "edgebuild/ukernels.h"

// docs/artifact.md SPARSE_CONV2D and docs/quantization.md (6): CONV2D with groups = 1 whose weight is given by its
// non-zero blocks. For output (n, oh, ow, oc), block row r = oc / BR, lane i = oc % BR:
//   acc = bias[oc] + Σ_{b in row r} Σ_{j < BC} (x[n, ih(k), iw(k), c(k)] − zp_x) · values[b, i, j],  k = col[b]·BC + j
// with k = (kh·KW + kw)·C + c, out-of-bounds taps skipped (padding holds zp_x), then
//   y = clamp(MBQM(acc, mult[oc], shift[oc]) + zp_y, act_min, act_max).
// The int32 sum wraps (eb_add_wrap_s32), so it equals CONV2D's on the densified weights bit for bit, in any order.
extern "C" void eb_qs8_spmm_ref(const eb_qs8_spmm_params* sp, const int8_t* input, const int8_t* values,
                                const int32_t* row_ptr, const int32_t* col_idx, const int32_t* bias,
                                const int32_t* multiplier, const int32_t* shift, int8_t* output) {
  const eb_qs8_conv_params* p = &sp->conv;
  const int64_t H = p->input_height, W = p->input_width;
  const size_t C = (size_t)p->input_channels, OC = (size_t)p->output_channels, KW = (size_t)p->kernel_width;
  const size_t BR = (size_t)sp->block_rows, BC = (size_t)sp->block_cols;
  for (size_t n = 0; n < (size_t)p->batch; ++n) {
    for (int64_t oh = 0; oh < p->output_height; ++oh) {
      for (int64_t ow = 0; ow < p->output_width; ++ow) {
        for (size_t oc = 0; oc < OC; ++oc) {
          const size_t r = oc / BR, lane = oc % BR;
          int32_t acc = bias != NULL ? bias[oc] : 0;
          for (int32_t b = row_ptr[r]; b < row_ptr[r + 1]; ++b) {
            const int8_t* v = values + ((size_t)b * BR + lane) * BC;
            for (size_t j = 0; j < BC; ++j) {
              const size_t k = (size_t)col_idx[b] * BC + j;
              const size_t c = k % C, tap = k / C, kh = tap / KW, kw = tap % KW;
              const int64_t ih = oh * p->stride_height - p->pad_top + (int64_t)kh * p->dilation_height;
              const int64_t iw = ow * p->stride_width - p->pad_left + (int64_t)kw * p->dilation_width;
              if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
              const int8_t x = input[((n * (size_t)H + (size_t)ih) * (size_t)W + (size_t)iw) * C + c];
              acc = eb_add_wrap_s32(acc, ((int32_t)x - p->input_zero_point) * (int32_t)v[j]);
            }
          }
          const int32_t q = eb_mbqm(acc, multiplier[oc], shift[oc]);  // docs/quantization.md (5)
          *output++ = eb_clamp_s8(eb_sat32((int64_t)q + p->output_zero_point), p->output_min, p->output_max);
        }
      }
    }
  }
}
