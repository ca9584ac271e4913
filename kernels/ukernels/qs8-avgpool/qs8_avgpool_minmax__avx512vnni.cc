// qs8_avgpool_minmax__avx512vnni.cc: int8 AVG_POOL2D (NHWC) for AVX-512 cores (Skylake-X+, Zen 4+).
// Reference twin: eb_qs8_avgpool_ref (qs8-avgpool/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc).
//
// Exactly eb_qs8_avgpool_ref (docs/quantization.md (9)): the window sums of 32 channels per zmm in int16 lanes
// (windows of at most 256 valid taps cannot overflow them; larger windows and channel tails take the reference
// loop), then the reference's int64 rounding division per channel. Part of the avx512vnni path (AVX-512 BW).
#include <immintrin.h>

#include "edgebuild/pool_window.h"
#include "edgebuild/requant.h"
#include "edgebuild/ukernels.h"
#include "edgebuild/ukernels_isa.h"

extern "C" void eb_qs8_avgpool_minmax_ukernel__avx512vnni(const eb_qs8_avgpool_params* p, const int8_t* input,
                                                          int8_t* output) {
  const int64_t H = p->input_height, W = p->input_width;
  const size_t C = (size_t)p->channels;
  for (size_t n = 0; n < (size_t)p->batch; ++n) {
    for (int64_t oh = 0; oh < p->output_height; ++oh) {
      int64_t hs, he, pool_h;
      eb_avgpool_window(oh, p->stride_height, p->pad_height, p->kernel_height, H, &hs, &he, &pool_h);
      for (int64_t ow = 0; ow < p->output_width; ++ow, output += C) {
        int64_t ws, we, pool_w;
        eb_avgpool_window(ow, p->stride_width, p->pad_width, p->kernel_width, W, &ws, &we, &pool_w);
        const int64_t valid = (he - hs) * (we - ws);  // >= 1, checked at load
        const int64_t count = p->count_include_pad ? pool_h * pool_w : valid;
        const int64_t pad_sum = (count - valid) * p->zero_point;
        const int8_t* first = input + ((n * (size_t)H + (size_t)hs) * (size_t)W + (size_t)ws) * C;
        const size_t rows = (size_t)(he - hs), cols = (size_t)(we - ws), row_step = (size_t)W * C;
        size_t c = 0;
        if (valid <= 256) {  // |sum| <= 128 · 256: int16 lanes cannot overflow
          for (; c + 32 <= C; c += 32) {
            __m512i acc = _mm512_setzero_si512();
            for (size_t r = 0; r < rows; ++r) {
              const int8_t* px = first + r * row_step + c;
              for (size_t k = 0; k < cols; ++k, px += C)
                acc = _mm512_add_epi16(acc,
                                       _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(px))));
            }
            int16_t sums[32];
            _mm512_storeu_si512(sums, acc);
            for (size_t j = 0; j < 32; ++j) {
              const int64_t q = eb_div_round_half_away(pad_sum + sums[j], count);
              output[c + j] = eb_clamp_s8((int32_t)q, p->output_min, p->output_max);
            }
          }
        }
        for (; c < C; ++c) {  // channel tail, and windows of more than 256 taps: the reference loop
          int64_t acc = pad_sum;
          for (size_t r = 0; r < rows; ++r)
            for (size_t k = 0; k < cols; ++k) acc += first[r * row_step + k * C + c];
          output[c] = eb_clamp_s8((int32_t)eb_div_round_half_away(acc, count), p->output_min, p->output_max);
        }
      }
    }
  }
}
