// qs8_avgpool_minmax__mve.cc: int8 AVG_POOL2D (NHWC, PyTorch semantics) for Cortex-M55 MVE (Helium).
// Reference twin: eb_qs8_avgpool_ref (qs8-avgpool/ref.cc); equal bit for bit (kernels/mcu/test/mve_dw_test.cc).
//
// docs/quantization.md (9): acc = Σ_valid q + (count − valid)·zp, y = clamp(round_half_away(acc / count)).
// Window sums: eight channels a step in int16 lanes (vldrbq_s16 + vaddq_s16) while the window has at most 256 valid
// taps (|Σ q| <= 256·128 = 32768: −32768 and 32512 fit), else four channels in int32 lanes. The division, for
// count < 5782 (every real pool: a global pool of 25×5 has 125): with N = |acc| + count/2 (|acc| <= 128·count),
//   floor(N / d) = (N · M) >> 32,   M = floor(2^32 / d) + 1   (VMULH.U32)
// exactly, because N·M / 2^32 = N/d + N·ε/2^32 with 0 < ε <= 1, and frac(N/d) <= (d − 1)/d while N·ε/2^32 <
// 128.5·d/2^32 < 1/d for d < 5782; the sign is then put back (round half away from zero is symmetric). Larger
// counts take the twin's int64 division. Window geometry as eb_avgpool_window (edgebuild/pool_window.h) in int32.
#include <arm_mve.h>
#include <stddef.h>
#include <stdint.h>

#include "edgebuild/requant.h"
#include "edgebuild/ukernels.h"

namespace {

// round_half_away(acc / d) per lane for 1 <= d < 5782 and |acc| <= 128·d (plus the padding term: |zp| <= 128).
inline int32x4_t div_round(int32x4_t acc, int32_t d, uint32_t magic) {
  const int32x4_t sign = vshrq_n_s32(acc, 31);
  const uint32x4_t n = vreinterpretq_u32_s32(vaddq_n_s32(vabsq_s32(acc), d / 2));
  const int32x4_t q = vreinterpretq_s32_u32(d == 1 ? n : vmulhq_u32(n, vdupq_n_u32(magic)));
  return vsubq_s32(veorq_s32(q, sign), sign);
}

// eb_avgpool_window (edgebuild/pool_window.h) in int32: an MCU tensor's coordinates fit.
inline void window(int32_t o, int32_t stride, int32_t pad, int32_t kernel, int32_t size, int32_t* start, int32_t* end,
                   int32_t* pool) {
  const int32_t s = o * stride - pad;
  int32_t e = s + kernel;
  if (e > size + pad) e = size + pad;
  *pool = e - s;
  *start = s < 0 ? 0 : s;
  *end = e > size ? size : e;
}

// Eight channels' window sums in int16 lanes, then divided (see the file's comment).
template <bool kTail>
inline __attribute__((always_inline)) void chunk16(const int8_t* x, int32_t rows, int32_t cols, size_t row_step,
                                                   size_t C, int32_t pad_term, int32_t d, uint32_t magic, int16x8_t lo,
                                                   int16x8_t hi, int8_t* y, mve_pred16_t pred) {
  int16x8_t sum = vdupq_n_s16(0);
  for (int32_t i = 0; i < rows; ++i, x += row_step) {
    const int8_t* t = x;
    for (int32_t j = 0; j < cols; ++j, t += C) sum = vaddq_s16(sum, kTail ? vldrbq_z_s16(t, pred) : vldrbq_s16(t));
  }
  // Even and odd lanes widened, divided and narrowed back into their places.
  const int32x4_t even = div_round(vaddq_n_s32(vmovlbq_s16(sum), pad_term), d, magic);
  const int32x4_t odd = div_round(vaddq_n_s32(vmovltq_s16(sum), pad_term), d, magic);
  const int16x8_t q = vminq_s16(vmaxq_s16(vmovntq_s32(vmovnbq_s32(vdupq_n_s16(0), even), odd), lo), hi);
  if (kTail) {
    vstrbq_p_s16(y, q, pred);
  } else {
    vstrbq_s16(y, q);
  }
}

}  // namespace

extern "C" void eb_qs8_avgpool_minmax_ukernel__mve(const eb_qs8_avgpool_params* p, const int8_t* input,
                                                   int8_t* output) {
  const int32_t H = p->input_height, W = p->input_width;
  const size_t C = (size_t)p->channels, plane = (size_t)H * (size_t)W * C, row_step = (size_t)W * C;
  const int16x8_t lo16 = vdupq_n_s16((int16_t)p->output_min), hi16 = vdupq_n_s16((int16_t)p->output_max);
  const int32x4_t lo32 = vdupq_n_s32(p->output_min), hi32 = vdupq_n_s32(p->output_max);
  const size_t full8 = C & ~(size_t)7;
  const mve_pred16_t tail8 = vctp16q((uint32_t)(C - full8));
  for (int32_t n = 0; n < p->batch; ++n, input += plane) {
    for (int32_t oh = 0; oh < p->output_height; ++oh) {
      int32_t hs, he, pool_h;
      window(oh, p->stride_height, p->pad_height, p->kernel_height, H, &hs, &he, &pool_h);
      for (int32_t ow = 0; ow < p->output_width; ++ow, output += C) {
        int32_t ws, we, pool_w;
        window(ow, p->stride_width, p->pad_width, p->kernel_width, W, &ws, &we, &pool_w);
        const int32_t rows = he - hs, cols = we - ws;
        const int64_t valid = (int64_t)rows * cols;  // >= 1, checked at load
        const int64_t count = p->count_include_pad ? (int64_t)pool_h * pool_w : valid;
        const int8_t* first = input + ((size_t)hs * (size_t)W + (size_t)ws) * C;
        if (count >= 5782) {  // the twin's arithmetic, one channel at a time
          for (size_t c = 0; c < C; ++c) {
            int64_t acc = (count - valid) * p->zero_point;
            for (int32_t i = 0; i < rows; ++i)
              for (int32_t j = 0; j < cols; ++j) acc += first[(size_t)i * row_step + (size_t)j * C + c];
            output[c] = eb_clamp_s8((int32_t)eb_div_round_half_away(acc, count), p->output_min, p->output_max);
          }
          continue;
        }
        const int32_t d = (int32_t)count, pad_term = (int32_t)(count - valid) * p->zero_point;
        // floor(2^32 / d) + 1: 0xFFFFFFFF / d equals floor(2^32 / d) unless d divides 2^32 (a power of two), where it
        // is one less; then M = 2^32 / d exactly, and (N · M) >> 32 = N / d is exact too.
        const uint32_t magic = d == 1 ? 0u : (uint32_t)(0xFFFFFFFFu / (uint32_t)d) + 1u;
        if (valid <= 256) {
          size_t c = 0;
          for (; c < full8; c += 8) {
            chunk16<false>(first + c, rows, cols, row_step, C, pad_term, d, magic, lo16, hi16, output + c, 0);
          }
          if (c < C)
            chunk16<true>(first + c, rows, cols, row_step, C, pad_term, d, magic, lo16, hi16, output + c, tail8);
        } else {
          for (size_t c = 0; c < C; c += 4) {
            const mve_pred16_t pred = vctp32q((uint32_t)(C - c));
            int32x4_t sum = vdupq_n_s32(pad_term);
            const int8_t* row = first + c;
            for (int32_t i = 0; i < rows; ++i, row += row_step) {
              const int8_t* x = row;
              for (int32_t j = 0; j < cols; ++j, x += C) sum = vaddq_s32(sum, vldrbq_z_s32(x, pred));
            }
            vstrbq_p_s32(output + c, vminq_s32(vmaxq_s32(div_round(sum, d, magic), lo32), hi32), pred);
          }
        }
      }
    }
  }
}
