// qs8-avgpool/qs8_avgpool_minmax__dsp.cc: int8 AVG_POOL2D for the Cortex-M DSP extension (M4/M7/M33),
// bit-identical to eb_qs8_avgpool_ref (docs/quantization.md (9)).
//
// Window sums of 4 channels a step in halfword lanes: one word load per tap and SXTAB16 / SXTAB16 ROR 8 add its
// bytes 0, 2 and 1, 3 into two pairs of int16 lanes (3 instructions per 4 channel-taps). 256 taps of −128 make
// −32768, so up to 256 taps fit a lane exactly; longer windows flush the lanes into int32 every 256 taps. Then
// (9) per channel in int32 (the variant applies when kernel_h·kernel_w <= 2^22, so |acc| + count/2 < 2^31) with
// SDIV's truncating division, as the reference's int64 one.
#include <stdint.h>

#include "../requant/requant__dsp.h"
#include "edgebuild/pool_window.h"
#include "edgebuild/ukernels.h"

namespace {

inline int32_t div_round(int32_t acc, int32_t count) {
  return (acc >= 0 ? acc + count / 2 : acc - count / 2) / count;  // round_half_away(acc / count), (9)
}

}  // namespace

extern "C" void eb_qs8_avgpool_minmax_ukernel__dsp(const eb_qs8_avgpool_params* p, const int8_t* input,
                                                   int8_t* output) {
  const int32_t H = p->input_height, W = p->input_width;
  const size_t C = (size_t)p->channels, C4 = C & ~(size_t)3;
  const uint32_t lo4 = eb_dsp_splat8(p->output_min), hi4 = eb_dsp_splat8(p->output_max);
  for (size_t n = 0; n < (size_t)p->batch; ++n) {
    const int8_t* image = input + n * (size_t)H * (size_t)W * C;
    for (int32_t oh = 0; oh < p->output_height; ++oh) {
      int64_t hs, he, pool_h;
      eb_avgpool_window(oh, p->stride_height, p->pad_height, p->kernel_height, H, &hs, &he, &pool_h);
      for (int32_t ow = 0; ow < p->output_width; ++ow) {
        int64_t ws, we, pool_w;
        eb_avgpool_window(ow, p->stride_width, p->pad_width, p->kernel_width, W, &ws, &we, &pool_w);
        const int32_t rows = (int32_t)(he - hs), cols = (int32_t)(we - ws);
        const int32_t valid = rows * cols;
        const int32_t count = p->count_include_pad ? (int32_t)(pool_h * pool_w) : valid;
        const int32_t pad_sum = (count - valid) * p->zero_point;  // counted padding taps hold zp
        const size_t row_step = (size_t)W * C;
        const int8_t* first = image + ((size_t)hs * (size_t)W + (size_t)ws) * C;
        size_t c = 0;
        for (; c < C4; c += 4) {
          int32_t s0 = pad_sum, s1 = pad_sum, s2 = pad_sum, s3 = pad_sum;
          int32_t even = 0, odd = 0;  // int16 lanes: channels (c, c+2) and (c+1, c+3)
          const int8_t* row = first + c;
          if (valid <= 256) {  // the common case: no flush, the tap loop is a load and two SXTAB16
            for (int32_t r = 0; r < rows; ++r, row += row_step) {
              const int8_t* x = row;
              for (int32_t k = 0; k < cols; ++k, x += C) {
                const uint32_t v = eb_dsp_load32(x);
                even = __sxtab16(even, (int8x4_t)v);
                odd = eb_dsp_sxtab16_ror8(odd, v);
              }
            }
          } else {
            int32_t in_lanes = 0;
            for (int32_t r = 0; r < rows; ++r, row += row_step) {
              const int8_t* x = row;
              for (int32_t k = 0; k < cols; ++k, x += C) {
                const uint32_t v = eb_dsp_load32(x);
                even = __sxtab16(even, (int8x4_t)v);
                odd = eb_dsp_sxtab16_ror8(odd, v);
                if (++in_lanes == 256) {
                  s0 += (int16_t)even, s2 += even >> 16, s1 += (int16_t)odd, s3 += odd >> 16;
                  even = odd = in_lanes = 0;
                }
              }
            }
          }
          s0 += (int16_t)even, s2 += even >> 16, s1 += (int16_t)odd, s3 += odd >> 16;
          const int32_t q0 = __ssat(div_round(s0, count), 8), q1 = __ssat(div_round(s1, count), 8);
          const int32_t q2 = __ssat(div_round(s2, count), 8), q3 = __ssat(div_round(s3, count), 8);
          eb_dsp_store32(output + c, eb_dsp_clamp4(eb_dsp_pack4(q0, q1, q2, q3), lo4, hi4));
        }
        for (; c < C; ++c) {
          int32_t acc = pad_sum;
          const int8_t* row = first + c;
          for (int32_t r = 0; r < rows; ++r, row += row_step)
            for (int32_t k = 0; k < cols; ++k) acc += row[(size_t)k * C];
          output[c] = eb_clamp_s8(div_round(acc, count), p->output_min, p->output_max);
        }
        output += C;
      }
    }
  }
}
