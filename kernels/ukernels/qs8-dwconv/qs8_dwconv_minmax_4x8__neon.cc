// qs8_dwconv_minmax_4x8__neon.cc: int8 depthwise conv row kernel for NEON cores (armv7 and armv8; dotprod and
// i8mm cores use it too: a depthwise tap is one MAC per channel, so dot products do not apply).
// Reference twin: eb_qs8_dwconv_ref (qs8-dwconv/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc).
//
// The structure of qs8_dwconv_minmax_4x16__avx512vnni.cc on 8 channels: one call = one output row, channel blocks
// outer, four columns at a time inside the row without padding checks, checked columns at the edges; 3×3 and 5×5
// at stride 1 and 2 compiled with constant offsets. Requantization: eb_mbqm_rshl_neon (requant__neon.h), then
// saturating narrows. Two taps are summed in int16 before widening (vmull_s8 + vmlal_s8): |x·w| <= 128·127 when no
// weight is −128, so two products fit in int16 exactly; then vaddw into int32. A block with a −128 weight (never from
// the lowering, whose weights are in [−127, 127], but a valid artifact) widens every product on its own:
// (−128)·(−128) twice is 32768, one past int16 (found by kernels/test/ukernel_tester.cc).
#include <arm_neon.h>
#include <string.h>

#include "../requant/requant__neon.h"
#include "edgebuild/ukernels_isa.h"

namespace {
constexpr size_t kCR = 8;

struct Block {
  const int8_t* wt;                                                                      // taps × 8 int8
  int32x4_t bias_lo, bias_hi, mult_lo, mult_hi, left_lo, left_hi, nright_lo, nright_hi;  // nright = −right
  int16x8_t zp;
  int8x8_t act_min, act_max;
  size_t n;    // channels of this block (8 but in the last block)
  bool pairs;  // no weight is −128: two products may be summed in int16
};

template <bool kFull>
inline int8x8_t load_x(const int8_t* p, size_t n) {
  if (kFull) return vld1_s8(p);
  int8_t buf[8] = {0};
  memcpy(buf, p, n);  // a partial block reads only its channels
  return vld1_s8(buf);
}

struct Acc {
  int32x4_t lo, hi;
};

inline void widen_add(Acc& a, int16x8_t s) {
  a.lo = vaddw_s16(a.lo, vget_low_s16(s));
  a.hi = vaddw_s16(a.hi, vget_high_s16(s));
}

// clamp(q + zp, act_min, act_max) (docs/quantization.md (6)) as saturating narrows: each step is monotone and
// exact on [−128, 127] − zp, and [act_min, act_max] lies within int8, so out-of-range q clamp to the same bound.
template <bool kFull>
inline void store_y(const Block& b, const Acc& a, int8_t* out) {
  const int32x4_t q0 = eb_mbqm_rshl_neon(a.lo, b.mult_lo, b.left_lo, b.nright_lo);
  const int32x4_t q1 = eb_mbqm_rshl_neon(a.hi, b.mult_hi, b.left_hi, b.nright_hi);
  const int16x8_t y16 = vqaddq_s16(vcombine_s16(vqmovn_s32(q0), vqmovn_s32(q1)), b.zp);
  const int8x8_t v = vmax_s8(vmin_s8(vqmovn_s16(y16), b.act_max), b.act_min);
  if (kFull) {
    vst1_s8(out, v);
  } else {
    int8_t buf[8];
    vst1_s8(buf, v);
    memcpy(out, buf, b.n);
  }
}

// Column ow with every tap checked against the padding. kKH/kKW/kS = 0: sizes from p.
template <bool kFull, size_t kKH, size_t kKW, size_t kS>
void edge_pixel(const eb_qs8_dwconv_params* p, const int8_t* const* rows, const Block& b, size_t c0, size_t ow,
                int8_t* out) {
  const size_t C = p->channels, W = p->in_width, kh = kKH ? kKH : p->kh, kw = kKW ? kKW : p->kw;
  const size_t s = kS ? kS : p->stride, d = kKW ? 1 : p->dilation;
  const int8_t* zero = p->zero + c0;
  Acc a = {b.bias_lo, b.bias_hi};
  const int8_t* wt = b.wt;
  for (size_t i = 0; i < kh; ++i) {
    const int8_t* r = rows[i];
    const size_t iw0 = ow * s - p->pad_left;  // wraps below 0: then >= W, like a column past the row
    for (size_t k = 0; k < kw; ++k, wt += kCR) {
      const size_t iw = iw0 + k * d;
      const int8_t* x = r != nullptr && iw < W ? r + iw * C + c0 : zero;
      widen_add(a, vmull_s8(load_x<kFull>(x, b.n), vld1_s8(wt)));
    }
  }
  store_y<kFull>(b, a, out + ow * C + c0);
}

// One interior column (the last < 4 of the interior).
template <bool kFull, size_t kKH, size_t kKW, size_t kS>
void interior1(const eb_qs8_dwconv_params* p, const int8_t* const* rows, const Block& b, size_t c0, size_t ow,
               int8_t* out) {
  const size_t C = p->channels, kh = kKH ? kKH : p->kh, kw = kKW ? kKW : p->kw, s = kS ? kS : p->stride;
  const size_t d = kKW ? 1 : p->dilation;
  Acc a = {b.bias_lo, b.bias_hi};
  const int8_t* wt = b.wt;
  for (size_t i = 0; i < kh; ++i) {
    const int8_t* x = p->zero + c0;
    size_t step = 0;
    if (rows[i] != nullptr) {
      x = rows[i] + (ow * s - p->pad_left) * C + c0;
      step = C;
    }
    for (size_t k = 0; k < kw; ++k, wt += kCR)
      widen_add(a, vmull_s8(load_x<kFull>(x + (k * d) * step, b.n), vld1_s8(wt)));
  }
  store_y<kFull>(b, a, out + ow * C + c0);
}

// Four interior columns ow .. ow + 3 (every tap inside the row). kKH/kKW/kS = 0: sizes from p.
template <bool kFull, size_t kKH, size_t kKW, size_t kS, bool kPairs>
inline void interior4(const eb_qs8_dwconv_params* p, const int8_t* const* rows, const Block& b, size_t c0, size_t ow,
                      int8_t* out) {
  const size_t C = p->channels, kh = kKH ? kKH : p->kh, kw = kKW ? kKW : p->kw, s = kS ? kS : p->stride;
  const size_t d = kKW ? 1 : p->dilation;
  Acc a0 = {b.bias_lo, b.bias_hi}, a1 = a0, a2 = a0, a3 = a0;
  int16x8_t p0 = vdupq_n_s16(0), p1 = p0, p2 = p0, p3 = p0;
  bool open = false;  // p0 .. p3 hold one tap's products, waiting for a second
  const int8_t* wt = b.wt;
  for (size_t i = 0; i < kh; ++i) {
    const int8_t* x = p->zero + c0;
    size_t step = 0;  // bytes between adjacent input columns: 0 in a padding row (every tap reads zero)
    if (rows[i] != nullptr) {
      x = rows[i] + (ow * s - p->pad_left) * C + c0;
      step = C;
    }
    for (size_t k = 0; k < kw; ++k, wt += kCR) {
      const int8x8_t w = vld1_s8(wt);
      const int8x8_t x0 = load_x<kFull>(x + (k * d) * step, b.n);
      const int8x8_t x1 = load_x<kFull>(x + (s + k * d) * step, b.n);
      const int8x8_t x2 = load_x<kFull>(x + (2 * s + k * d) * step, b.n);
      const int8x8_t x3 = load_x<kFull>(x + (3 * s + k * d) * step, b.n);
      if (!kPairs) {
        widen_add(a0, vmull_s8(x0, w));
        widen_add(a1, vmull_s8(x1, w));
        widen_add(a2, vmull_s8(x2, w));
        widen_add(a3, vmull_s8(x3, w));
        continue;
      }
      if (open) {  // second tap of a pair: two products fit in int16, then widen
        widen_add(a0, vmlal_s8(p0, x0, w));
        widen_add(a1, vmlal_s8(p1, x1, w));
        widen_add(a2, vmlal_s8(p2, x2, w));
        widen_add(a3, vmlal_s8(p3, x3, w));
      } else {
        p0 = vmull_s8(x0, w);
        p1 = vmull_s8(x1, w);
        p2 = vmull_s8(x2, w);
        p3 = vmull_s8(x3, w);
      }
      open = !open;
    }
  }
  if (open) {
    widen_add(a0, p0);
    widen_add(a1, p1);
    widen_add(a2, p2);
    widen_add(a3, p3);
  }
  int8_t* y = out + ow * C + c0;
  store_y<kFull>(b, a0, y);
  store_y<kFull>(b, a1, y + C);
  store_y<kFull>(b, a2, y + 2 * C);
  store_y<kFull>(b, a3, y + 3 * C);
}

template <bool kFull, size_t kKH, size_t kKW, size_t kS>
void block_row(const eb_qs8_dwconv_params* p, const int8_t* const* rows, const Block& b, size_t c0, size_t lo,
               size_t hi, int8_t* out) {
  size_t ow = 0;
  for (; ow < lo; ++ow) edge_pixel<kFull, kKH, kKW, kS>(p, rows, b, c0, ow, out);
  if (b.pairs) {
    for (; ow + 4 <= hi; ow += 4) interior4<kFull, kKH, kKW, kS, true>(p, rows, b, c0, ow, out);
  } else {
    for (; ow + 4 <= hi; ow += 4) interior4<kFull, kKH, kKW, kS, false>(p, rows, b, c0, ow, out);
  }
  for (; ow < hi; ++ow) interior1<kFull, kKH, kKW, kS>(p, rows, b, c0, ow, out);
  for (; ow < p->out_width; ++ow) edge_pixel<kFull, kKH, kKW, kS>(p, rows, b, c0, ow, out);
}

template <size_t kKH, size_t kKW, size_t kS>
void dwconv_row(const eb_qs8_dwconv_params* p, const int8_t* const* rows, const uint8_t* w, int8_t* out) {
  const size_t C = p->channels, taps = p->kh * p->kw;
  const size_t block_bytes = (16 * kCR + taps * kCR + 63) / 64 * 64;  // packing.cc
  size_t lo, hi;
  eb_dwconv_interior(p, &lo, &hi);
  Block b;
  b.zp = vdupq_n_s16((int16_t)p->rq.output_zero_point);
  b.act_min = vdup_n_s8((int8_t)(p->rq.lo + p->rq.output_zero_point));
  b.act_max = vdup_n_s8((int8_t)(p->rq.hi + p->rq.output_zero_point));
  for (size_t c0 = 0; c0 < C; c0 += kCR, w += block_bytes) {
    const int32_t* header = reinterpret_cast<const int32_t*>(w);
    b.bias_lo = vld1q_s32(header);
    b.bias_hi = vld1q_s32(header + 4);
    b.mult_lo = vld1q_s32(header + kCR);
    b.mult_hi = vld1q_s32(header + kCR + 4);
    b.left_lo = vld1q_s32(header + 2 * kCR);
    b.left_hi = vld1q_s32(header + 2 * kCR + 4);
    b.nright_lo = vnegq_s32(vld1q_s32(header + 3 * kCR));
    b.nright_hi = vnegq_s32(vld1q_s32(header + 3 * kCR + 4));
    b.wt = reinterpret_cast<const int8_t*>(header + 4 * kCR);
    b.n = C - c0 < kCR ? C - c0 : kCR;
    b.pairs = true;
    for (size_t i = 0; i < taps * kCR; ++i) b.pairs = b.pairs && b.wt[i] != -128;
    if (b.n == kCR) {
      block_row<true, kKH, kKW, kS>(p, rows, b, c0, lo, hi, out);
    } else {
      block_row<false, kKH, kKW, kS>(p, rows, b, c0, lo, hi, out);
    }
  }
}
}  // namespace

extern "C" void eb_qs8_dwconv_minmax_ukernel_4x8__neon(const eb_qs8_dwconv_params* p, const int8_t* const* rows,
                                                       const void* w, int8_t* output) {
  const uint8_t* wb = static_cast<const uint8_t*>(w);
  const bool plain = p->dilation == 1;
  if (plain && p->kh == 3 && p->kw == 3 && p->stride == 1) return dwconv_row<3, 3, 1>(p, rows, wb, output);
  if (plain && p->kh == 3 && p->kw == 3 && p->stride == 2) return dwconv_row<3, 3, 2>(p, rows, wb, output);
  if (plain && p->kh == 5 && p->kw == 5 && p->stride == 1) return dwconv_row<5, 5, 1>(p, rows, wb, output);
  if (plain && p->kh == 5 && p->kw == 5 && p->stride == 2) return dwconv_row<5, 5, 2>(p, rows, wb, output);
  dwconv_row<0, 0, 0>(p, rows, wb, output);
}
