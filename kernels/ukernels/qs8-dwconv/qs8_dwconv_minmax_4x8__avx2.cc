// qs8_dwconv_minmax_4x8__avx2.cc: int8 depthwise conv row kernel for AVX2 cores (Haswell+, Zen 1+).
// Reference twin: eb_qs8_dwconv_ref (qs8-dwconv/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc).
//
// The structure of qs8_dwconv_minmax_4x16__avx512vnni.cc on 8 channels per ymm: one call = one output row, channel
// blocks outer, four columns at a time inside the row without padding checks, checked columns at the edges; 3×3
// and 5×5 at stride 1 and 2 compiled with constant offsets. Requantization is eb_requant_avx2 (AVX2 has no 64-bit
// arithmetic shift or min/max for the avx512vnni kernel's one-shift form); its per-block constants are hoisted
// out of the column loop by the compiler. vpmaddwd of the sign-extended input against the weight in the low half
// of each int32 lane (high half 0) is one exact multiply.
#include <immintrin.h>
#include <string.h>

#include "../requant/requant__avx2.h"
#include "edgebuild/ukernels_isa.h"

namespace {
constexpr size_t kCR = 8;

struct Block {
  const __m256i* wt;  // taps × 8 int32 lanes
  __m256i bias, mult, left, right, lo, hi, zp;
  size_t n;  // channels of this block (8 but in the last block)
};

template <bool kFull>
inline __m256i load_x(const int8_t* p, size_t n) {
  int64_t bytes = 0;
  if (kFull) {
    memcpy(&bytes, p, 8);
  } else {
    memcpy(&bytes, p, n);  // a partial block reads only its channels
  }
  return _mm256_cvtepi8_epi32(_mm_cvtsi64_si128(bytes));
}

inline __m256i mac(__m256i acc, __m256i x, const __m256i* w) {
  return _mm256_add_epi32(acc, _mm256_madd_epi16(x, _mm256_loadu_si256(w)));
}

template <bool kFull>
inline void store_y(const Block& b, __m256i acc, int8_t* out) {
  const __m256i y = eb_requant_avx2(acc, b.mult, b.left, b.right, b.lo, b.hi, b.zp);
  const __m256i v = _mm256_packs_epi16(_mm256_packs_epi32(y, y), _mm256_setzero_si256());
  const int64_t bytes =
      (int64_t)(uint32_t)_mm256_cvtsi256_si32(v) | (int64_t)((uint64_t)(uint32_t)_mm256_extract_epi32(v, 4) << 32);
  if (kFull) {
    memcpy(out, &bytes, 8);
  } else {
    memcpy(out, &bytes, b.n);
  }
}

// Column ow with every tap checked against the padding. kKH/kKW/kS = 0: sizes from p.
template <bool kFull, size_t kKH, size_t kKW, size_t kS>
void edge_pixel(const eb_qs8_dwconv_params* p, const int8_t* const* rows, const Block& b, size_t c0, size_t ow,
                int8_t* out) {
  const size_t C = p->channels, W = p->in_width, kh = kKH ? kKH : p->kh, kw = kKW ? kKW : p->kw;
  const size_t s = kS ? kS : p->stride, d = kKW ? 1 : p->dilation;
  const int8_t* zero = p->zero + c0;
  __m256i acc = b.bias;
  const __m256i* wt = b.wt;
  for (size_t i = 0; i < kh; ++i) {
    const int8_t* r = rows[i];
    const size_t iw0 = ow * s - p->pad_left;  // wraps below 0: then >= W, like a column past the row
    for (size_t k = 0; k < kw; ++k, ++wt) {
      const size_t iw = iw0 + k * d;
      const int8_t* x = r != nullptr && iw < W ? r + iw * C + c0 : zero;
      acc = mac(acc, load_x<kFull>(x, b.n), wt);
    }
  }
  store_y<kFull>(b, acc, out + ow * C + c0);
}

// One interior column (the last < 4 of the interior).
template <bool kFull, size_t kKH, size_t kKW, size_t kS>
void interior1(const eb_qs8_dwconv_params* p, const int8_t* const* rows, const Block& b, size_t c0, size_t ow,
               int8_t* out) {
  const size_t C = p->channels, kh = kKH ? kKH : p->kh, kw = kKW ? kKW : p->kw, s = kS ? kS : p->stride;
  const size_t d = kKW ? 1 : p->dilation;
  __m256i acc = b.bias;
  const __m256i* wt = b.wt;
  for (size_t i = 0; i < kh; ++i) {
    const int8_t* x = p->zero + c0;
    size_t step = 0;
    if (rows[i] != nullptr) {
      x = rows[i] + (ow * s - p->pad_left) * C + c0;
      step = C;
    }
    for (size_t k = 0; k < kw; ++k, ++wt) acc = mac(acc, load_x<kFull>(x + (k * d) * step, b.n), wt);
  }
  store_y<kFull>(b, acc, out + ow * C + c0);
}

// Four interior columns ow .. ow + 3 (every tap inside the row). kKH/kKW/kS = 0: sizes from p.
template <bool kFull, size_t kKH, size_t kKW, size_t kS>
inline void interior4(const eb_qs8_dwconv_params* p, const int8_t* const* rows, const Block& b, size_t c0, size_t ow,
                      int8_t* out) {
  const size_t C = p->channels, kh = kKH ? kKH : p->kh, kw = kKW ? kKW : p->kw, s = kS ? kS : p->stride;
  const size_t d = kKW ? 1 : p->dilation;
  // Two chains per column (even and odd window rows): a column's taps are a serial chain of vpaddd otherwise.
  __m256i a0 = b.bias, a1 = b.bias, a2 = b.bias, a3 = b.bias;
  __m256i e0 = _mm256_setzero_si256(), e1 = e0, e2 = e0, e3 = e0;
  const __m256i* wt = b.wt;
  for (size_t i = 0; i < kh; ++i) {
    const int8_t* x = p->zero + c0;
    size_t step = 0;  // bytes between adjacent input columns: 0 in a padding row (every tap reads zero)
    if (rows[i] != nullptr) {
      x = rows[i] + (ow * s - p->pad_left) * C + c0;
      step = C;
    }
    for (size_t k = 0; k < kw; ++k, ++wt) {
      const __m256i x0 = load_x<kFull>(x + (k * d) * step, b.n);
      const __m256i x1 = load_x<kFull>(x + (s + k * d) * step, b.n);
      const __m256i x2 = load_x<kFull>(x + (2 * s + k * d) * step, b.n);
      const __m256i x3 = load_x<kFull>(x + (3 * s + k * d) * step, b.n);
      if (i % 2 == 0) {
        a0 = mac(a0, x0, wt);
        a1 = mac(a1, x1, wt);
        a2 = mac(a2, x2, wt);
        a3 = mac(a3, x3, wt);
      } else {
        e0 = mac(e0, x0, wt);
        e1 = mac(e1, x1, wt);
        e2 = mac(e2, x2, wt);
        e3 = mac(e3, x3, wt);
      }
    }
  }
  int8_t* y = out + ow * C + c0;
  store_y<kFull>(b, _mm256_add_epi32(a0, e0), y);
  store_y<kFull>(b, _mm256_add_epi32(a1, e1), y + C);
  store_y<kFull>(b, _mm256_add_epi32(a2, e2), y + 2 * C);
  store_y<kFull>(b, _mm256_add_epi32(a3, e3), y + 3 * C);
}

template <bool kFull, size_t kKH, size_t kKW, size_t kS>
void block_row(const eb_qs8_dwconv_params* p, const int8_t* const* rows, const Block& b, size_t c0, size_t lo,
               size_t hi, int8_t* out) {
  size_t ow = 0;
  for (; ow < lo; ++ow) edge_pixel<kFull, kKH, kKW, kS>(p, rows, b, c0, ow, out);
  for (; ow + 4 <= hi; ow += 4) interior4<kFull, kKH, kKW, kS>(p, rows, b, c0, ow, out);
  for (; ow < hi; ++ow) interior1<kFull, kKH, kKW, kS>(p, rows, b, c0, ow, out);
  for (; ow < p->out_width; ++ow) edge_pixel<kFull, kKH, kKW, kS>(p, rows, b, c0, ow, out);
}

template <size_t kKH, size_t kKW, size_t kS>
void dwconv_row(const eb_qs8_dwconv_params* p, const int8_t* const* rows, const uint8_t* w, int8_t* out) {
  const size_t C = p->channels, taps = p->kh * p->kw;
  const size_t block_bytes = (16 * kCR + taps * kCR * 4 + 63) / 64 * 64;  // packing.cc
  size_t lo, hi;
  eb_dwconv_interior(p, &lo, &hi);
  Block b;
  b.lo = _mm256_set1_epi32(p->rq.lo);
  b.hi = _mm256_set1_epi32(p->rq.hi);
  b.zp = _mm256_set1_epi32(p->rq.output_zero_point);
  for (size_t c0 = 0; c0 < C; c0 += kCR, w += block_bytes) {
    const __m256i* header = reinterpret_cast<const __m256i*>(w);
    b.bias = _mm256_loadu_si256(header);
    b.mult = _mm256_loadu_si256(header + 1);
    b.left = _mm256_loadu_si256(header + 2);
    b.right = _mm256_loadu_si256(header + 3);
    b.wt = header + 4;
    b.n = C - c0 < kCR ? C - c0 : kCR;
    if (b.n == kCR) {
      block_row<true, kKH, kKW, kS>(p, rows, b, c0, lo, hi, out);
    } else {
      block_row<false, kKH, kKW, kS>(p, rows, b, c0, lo, hi, out);
    }
  }
}
}  // namespace

extern "C" void eb_qs8_dwconv_minmax_ukernel_4x8__avx2(const eb_qs8_dwconv_params* p, const int8_t* const* rows,
                                                       const void* w, int8_t* output) {
  const uint8_t* wb = static_cast<const uint8_t*>(w);
  const bool plain = p->dilation == 1;
  if (plain && p->kh == 3 && p->kw == 3 && p->stride == 1) return dwconv_row<3, 3, 1>(p, rows, wb, output);
  if (plain && p->kh == 3 && p->kw == 3 && p->stride == 2) return dwconv_row<3, 3, 2>(p, rows, wb, output);
  if (plain && p->kh == 5 && p->kw == 5 && p->stride == 1) return dwconv_row<5, 5, 1>(p, rows, wb, output);
  if (plain && p->kh == 5 && p->kw == 5 && p->stride == 2) return dwconv_row<5, 5, 2>(p, rows, wb, output);
  dwconv_row<0, 0, 0>(p, rows, wb, output);
}
