// qs8_dwconv_minmax_4x16__avx512vnni.cc: int8 depthwise conv row kernel for AVX-512 cores (Skylake-X+, Zen 4+).
//
// One call = one output row. Channel blocks of 16 (one zmm) are the outer loop, so a block's bias, requantization
// constants and weights stay in registers while the row's pixels stream past, four at a time (four independent
// accumulator chains). Columns whose window lies inside the row take addresses without checks; only the few
// columns touching the left/right padding (and the last < 4 columns) take the checked one-pixel path. 3×3 and 5×5
// at stride 1 and 2 are compiled with constant offsets; other windows take the same loop with run-time sizes.
// A tap is one MAC per channel, so the 4-way dot products do not help; vpdpwssd of the sign-extended input
// against the weight in the low half of each lane (high half 0) adds one exact product. Part of the avx512vnni
// path (AVX-512 F/BW/VL + VNNI).
#include <immintrin.h>

#include "../requant/requant__avx512vnni.h"
#include "edgebuild/ukernels_isa.h"

namespace {
constexpr size_t kCR = 16;

// acc + x·w per int32 lane. GCC 12 copies an intrinsic's accumulator each use (see eb_dpbusd_avx512); the asm form
// updates it in place and may take w from memory.
inline __m512i dpwssd(__m512i acc, __m512i x, const __m512i& w) {
#if defined(__GNUC__) && !defined(__clang__)
  __asm__("vpdpwssd %2, %1, %0" : "+v"(acc) : "v"(x), "vm"(w));
  return acc;
#else
  return _mm512_dpwssd_epi32(acc, x, w);
#endif
}

// One channel block: its packed constants (ukernels_isa.h) and what the requantization needs, loaded once a row.
struct Block {
  const __m512i* wt;  // taps × 16 int32 lanes
  __m512i bias, mult, left, right, lo, hi, zp;
  __mmask16 mask;
};

template <bool kFull>
inline __m512i load_x(const int8_t* p, __mmask16 mask) {
  return _mm512_cvtepi8_epi32(kFull ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(p))
                                    : _mm_maskz_loadu_epi8(mask, p));
}

inline void store_y(const Block& b, __m512i acc, int8_t* out) {
  const __m512i y = eb_requant_avx512(acc, b.mult, b.left, b.right, b.lo, b.hi, b.zp);
  _mm512_mask_cvtepi32_storeu_epi8(out, b.mask, y);
}

// Column ow with every tap checked against the padding.
template <bool kFull>
void edge_pixel(const eb_qs8_dwconv_params* p, const int8_t* const* rows, const Block& b, size_t c0, size_t ow,
                int8_t* out) {
  const size_t C = p->channels, W = p->in_width;
  const int8_t* zero = p->zero + c0;
  __m512i acc = b.bias;
  const __m512i* wt = b.wt;
  for (size_t i = 0; i < p->kh; ++i) {
    const int8_t* r = rows[i];
    size_t iw = ow * p->stride - p->pad_left;  // wraps below 0: then >= W, like a column past the row
    for (size_t k = 0; k < p->kw; ++k, ++wt, iw += p->dilation) {
      const int8_t* x = r != nullptr && iw < W ? r + iw * C + c0 : zero;
      acc = dpwssd(acc, load_x<kFull>(x, b.mask), *wt);
    }
  }
  store_y(b, acc, out + ow * C + c0);
}

// Four interior columns ow .. ow + 3 (every tap inside the row). kKH/kKW/kS = 0: sizes from p.
template <bool kFull, size_t kKH, size_t kKW, size_t kS>
inline void interior4(const eb_qs8_dwconv_params* p, const int8_t* const* rows, const Block& b, size_t c0, size_t ow,
                      int8_t* out) {
  const size_t C = p->channels, kh = kKH ? kKH : p->kh, kw = kKW ? kKW : p->kw, s = kS ? kS : p->stride;
  const size_t d = kKW ? 1 : p->dilation;
  __m512i a0 = b.bias, a1 = b.bias, a2 = b.bias, a3 = b.bias;
  const __m512i* wt = b.wt;
  for (size_t i = 0; i < kh; ++i) {
    const int8_t* x = p->zero + c0;
    size_t step = 0;  // bytes between adjacent input columns: 0 in a padding row (every tap reads zero)
    if (rows[i] != nullptr) {
      x = rows[i] + (ow * s - p->pad_left) * C + c0;
      step = C;
    }
    for (size_t k = 0; k < kw; ++k, ++wt) {
      const __m512i w = *wt;
      a0 = dpwssd(a0, load_x<kFull>(x + (k * d) * step, b.mask), w);
      a1 = dpwssd(a1, load_x<kFull>(x + (s + k * d) * step, b.mask), w);
      a2 = dpwssd(a2, load_x<kFull>(x + (2 * s + k * d) * step, b.mask), w);
      a3 = dpwssd(a3, load_x<kFull>(x + (3 * s + k * d) * step, b.mask), w);
    }
  }
  int8_t* y = out + ow * C + c0;
  store_y(b, a0, y);
  store_y(b, a1, y + C);
  store_y(b, a2, y + 2 * C);
  store_y(b, a3, y + 3 * C);
}

template <bool kFull, size_t kKH, size_t kKW, size_t kS>
void block_row(const eb_qs8_dwconv_params* p, const int8_t* const* rows, const Block& b, size_t c0, size_t lo,
               size_t hi, int8_t* out) {
  size_t ow = 0;
  for (; ow < lo; ++ow) edge_pixel<kFull>(p, rows, b, c0, ow, out);
  for (; ow + 4 <= hi; ow += 4) interior4<kFull, kKH, kKW, kS>(p, rows, b, c0, ow, out);
  for (; ow < p->out_width; ++ow) edge_pixel<kFull>(p, rows, b, c0, ow, out);
}

template <size_t kKH, size_t kKW, size_t kS>
void dwconv_row(const eb_qs8_dwconv_params* p, const int8_t* const* rows, const uint8_t* w, int8_t* out) {
  const size_t C = p->channels, taps = p->kh * p->kw;
  const size_t block_bytes = (16 * kCR + taps * kCR * 4 + 63) / 64 * 64;  // packing.cc
  size_t lo, hi;
  eb_dwconv_interior(p, &lo, &hi);
  Block b;
  b.lo = _mm512_set1_epi32(p->rq.lo);
  b.hi = _mm512_set1_epi32(p->rq.hi);
  b.zp = _mm512_set1_epi32(p->rq.output_zero_point);
  for (size_t c0 = 0; c0 < C; c0 += kCR, w += block_bytes) {
    const int32_t* header = reinterpret_cast<const int32_t*>(w);
    b.bias = _mm512_loadu_si512(header);
    b.mult = _mm512_loadu_si512(header + kCR);
    b.left = _mm512_loadu_si512(header + 2 * kCR);
    b.right = _mm512_loadu_si512(header + 3 * kCR);
    b.wt = reinterpret_cast<const __m512i*>(header + 4 * kCR);
    if (C - c0 >= kCR) {
      b.mask = 0xFFFF;
      block_row<true, kKH, kKW, kS>(p, rows, b, c0, lo, hi, out);
    } else {
      b.mask = (__mmask16)((1u << (C - c0)) - 1);
      block_row<false, kKH, kKW, kS>(p, rows, b, c0, lo, hi, out);
    }
  }
}
}  // namespace

extern "C" void eb_qs8_dwconv_minmax_ukernel_4x16__avx512vnni(const eb_qs8_dwconv_params* p,
                                                              const int8_t* const* rows, const void* w,
                                                              int8_t* output) {
  const uint8_t* wb = static_cast<const uint8_t*>(w);
  const bool plain = p->dilation == 1;
  if (plain && p->kh == 3 && p->kw == 3 && p->stride == 1) return dwconv_row<3, 3, 1>(p, rows, wb, output);
  if (plain && p->kh == 3 && p->kw == 3 && p->stride == 2) return dwconv_row<3, 3, 2>(p, rows, wb, output);
  if (plain && p->kh == 5 && p->kw == 5 && p->stride == 1) return dwconv_row<5, 5, 1>(p, rows, wb, output);
  if (plain && p->kh == 5 && p->kw == 5 && p->stride == 2) return dwconv_row<5, 5, 2>(p, rows, wb, output);
  dwconv_row<0, 0, 0>(p, rows, wb, output);
}
