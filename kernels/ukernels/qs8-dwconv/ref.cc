// qs8-dwconv/ref.cc: reference int8 depthwise CONV2D row (OC = C): plain loops, the spec of qs8_dwconv_minmax_*.
//
// The row contract of edgebuild/ukernels_isa.h (eb_qs8_dwconv_params, rows[i] NULL for a window row in the padding)
// with the weights as the artifact stores them. For output column ow and channel c:
//   acc = bias[c] + Σ_{i,j} (x[i][ow·stride − pad_left + j·dilation, c] − zp_x) · w[c, i·KW + j]
// over the taps inside the input (padding holds zp_x, the real value 0: docs/artifact.md CONV2D), then
//   y = clamp(MBQM(acc, mult[c], shift[c]) + zp_y, lo + zp_y, hi + zp_y)       docs/quantization.md (5), (6).
// The sum wraps modulo 2^32 (eb_add_wrap_s32), as in qs8-conv/ref.cc: the packed kernels fold −zp_x·Σw into their
// bias' and add x·w, which is the same sum modulo 2^32.
#include "edgebuild/requant.h"
#include "edgebuild/ukernels_isa.h"

extern "C" void eb_qs8_dwconv_ref(const eb_qs8_dwconv_params* p, const int8_t* const* rows, const int8_t* weights,
                                  const int32_t* bias, const int32_t* multiplier, const int32_t* shift,
                                  int32_t input_zero_point, int8_t* output) {
  const size_t C = p->channels, taps = p->kh * p->kw;
  const int32_t zp_y = p->rq.output_zero_point;
  for (size_t ow = 0; ow < p->out_width; ++ow) {
    for (size_t c = 0; c < C; ++c) {
      int32_t acc = bias != NULL ? bias[c] : 0;
      for (size_t i = 0; i < p->kh; ++i) {
        if (rows[i] == NULL) continue;  // a window row in the padding
        for (size_t j = 0; j < p->kw; ++j) {
          // Column ow·stride + j·dilation − pad_left, computed without going below 0.
          const size_t col = ow * p->stride + j * p->dilation;
          if (col < p->pad_left || col - p->pad_left >= p->in_width) continue;
          const int32_t x = rows[i][(col - p->pad_left) * C + c];
          acc = eb_add_wrap_s32(acc, (x - input_zero_point) * (int32_t)weights[c * taps + i * p->kw + j]);
        }
      }
      const int32_t q = eb_mbqm(acc, multiplier[c], shift[c]);
      *output++ = eb_clamp_s8(eb_sat32((int64_t)q + zp_y), p->rq.lo + zp_y, p->rq.hi + zp_y);
    }
  }
}
