// qs8_maxpool_minmax__avx512vnni.cc: int8 MAX_POOL2D (NHWC) for AVX-512 cores (Skylake-X+, Zen 4+).
// Reference twin: eb_qs8_maxpool_ref (qs8-maxpool/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc).
//
// Exactly eb_qs8_maxpool_ref: per output pixel, vpmaxsb over the valid taps of 64 channels per zmm (masked tail),
// then the clamp (the loader guarantees act_min <= act_max, so max-then-min is the reference's clamp). Part of the
// avx512vnni path (AVX-512 BW).
#include <immintrin.h>

#include "edgebuild/pool_window.h"
#include "edgebuild/ukernels.h"
#include "edgebuild/ukernels_isa.h"

extern "C" void eb_qs8_maxpool_minmax_ukernel__avx512vnni(const eb_qs8_maxpool_params* p, const int8_t* input,
                                                          int8_t* output) {
  const __m512i lo = _mm512_set1_epi8((char)p->output_min), hi = _mm512_set1_epi8((char)p->output_max);
  const int64_t H = p->input_height, W = p->input_width;
  const size_t C = (size_t)p->channels;
  for (size_t n = 0; n < (size_t)p->batch; ++n) {
    for (int64_t oh = 0; oh < p->output_height; ++oh) {
      const int64_t hs = oh * p->stride_height - p->pad_height;
      int64_t kh0, kh1;
      eb_pool_valid_taps(hs, p->kernel_height, p->dilation_height, H, &kh0, &kh1);
      for (int64_t ow = 0; ow < p->output_width; ++ow, output += C) {
        const int64_t ws = ow * p->stride_width - p->pad_width;
        int64_t kw0, kw1;
        eb_pool_valid_taps(ws, p->kernel_width, p->dilation_width, W, &kw0, &kw1);
        // The loader checked every window has a tap: kh0 <= kh1 and kw0 <= kw1.
        const int8_t* first = input + ((n * (size_t)H + (size_t)(hs + kh0 * p->dilation_height)) * (size_t)W +
                                       (size_t)(ws + kw0 * p->dilation_width)) *
                                          C;
        const size_t row_step = (size_t)p->dilation_height * (size_t)W * C, col_step = (size_t)p->dilation_width * C;
        const size_t rows = (size_t)(kh1 - kh0 + 1), cols = (size_t)(kw1 - kw0 + 1);
        for (size_t c = 0; c < C; c += 64) {
          const __mmask64 mask = C - c >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (C - c)) - 1);
          __m512i best = _mm512_set1_epi8(-128);
          for (size_t r = 0; r < rows; ++r) {
            const int8_t* px = first + r * row_step + c;
            for (size_t k = 0; k < cols; ++k, px += col_step)
              best = _mm512_max_epi8(best, _mm512_maskz_loadu_epi8(mask, px));
          }
          best = _mm512_min_epi8(_mm512_max_epi8(best, lo), hi);
          _mm512_mask_storeu_epi8(output + c, mask, best);
        }
      }
    }
  }
}
