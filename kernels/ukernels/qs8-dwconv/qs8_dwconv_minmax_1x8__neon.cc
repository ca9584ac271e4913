// qs8_dwconv_minmax_1x8__neon.cc: int8 depthwise conv microkernel for NEON cores (armv7 and armv8; dotprod and
// i8mm cores use it too: a depthwise tap is one MAC per channel, so dot products do not apply).
//
// One output pixel, 8 channels per step: vmull_s8 (exact int16 products) widened into two int32x4 accumulators.
// 3×3 and 5×5 windows are compiled with a fixed tap count.
#include <arm_neon.h>
#include <string.h>

#include "../requant/requant__neon.h"
#include "edgebuild/ukernels_isa.h"

namespace {
constexpr size_t kCR = 8;

template <size_t kTaps>
void dwconv(size_t channels, size_t runtime_taps, const int8_t* const* input, const uint8_t* w, int8_t* output,
            const eb_qs8_requant_params* rq) {
  const size_t taps = kTaps != 0 ? kTaps : runtime_taps;
  const size_t block_bytes = (16 * kCR + taps * kCR + 63) / 64 * 64;  // packing.cc
  const int32x4_t lo = vdupq_n_s32(rq->lo), hi = vdupq_n_s32(rq->hi), zp = vdupq_n_s32(rq->output_zero_point);
  for (size_t c0 = 0; c0 < channels; c0 += kCR, w += block_bytes) {
    const size_t n = channels - c0 < kCR ? channels - c0 : kCR;
    const int32_t* header = reinterpret_cast<const int32_t*>(w);
    const int8_t* wt = reinterpret_cast<const int8_t*>(header + 4 * kCR);
    int32x4_t acc_lo = vld1q_s32(header), acc_hi = vld1q_s32(header + 4);
    for (size_t t = 0; t < taps; ++t) {
      int8x8_t x;
      if (n == kCR) {
        x = vld1_s8(input[t] + c0);
      } else {
        int8_t buf[8] = {0};
        memcpy(buf, input[t] + c0, n);  // a partial block reads only its channels
        x = vld1_s8(buf);
      }
      const int16x8_t p = vmull_s8(x, vld1_s8(wt + t * kCR));
      acc_lo = vaddw_s16(acc_lo, vget_low_s16(p));
      acc_hi = vaddw_s16(acc_hi, vget_high_s16(p));
    }
    const int32x4_t y_lo =
        eb_requant_neon(acc_lo, vld1q_s32(header + kCR), vld1q_s32(header + 2 * kCR), vld1q_s32(header + 3 * kCR), lo,
                        hi, zp);
    const int32x4_t y_hi =
        eb_requant_neon(acc_hi, vld1q_s32(header + kCR + 4), vld1q_s32(header + 2 * kCR + 4),
                        vld1q_s32(header + 3 * kCR + 4), lo, hi, zp);
    int8_t out[8];
    vst1_s8(out, eb_narrow8_neon(y_lo, y_hi));
    memcpy(output + c0, out, n);
  }
}
}  // namespace

extern "C" void eb_qs8_dwconv_minmax_ukernel_1x8__neon(size_t channels, size_t taps, const int8_t* const* input,
                                                       const void* w, int8_t* output,
                                                       const eb_qs8_requant_params* rq) {
  const uint8_t* wb = static_cast<const uint8_t*>(w);
  switch (taps) {
    case 9: dwconv<9>(channels, taps, input, wb, output, rq); break;
    case 25: dwconv<25>(channels, taps, input, wb, output, rq); break;
    default: dwconv<0>(channels, taps, input, wb, output, rq); break;
  }
}
