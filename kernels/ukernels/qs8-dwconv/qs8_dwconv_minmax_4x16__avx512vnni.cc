// qs8_dwconv_minmax_4x16__avx512vnni.cc: int8 depthwise conv row kernel for AVX-512 cores (Skylake-X+, Zen 4+).
// Reference twin: eb_qs8_dwconv_ref (qs8-dwconv/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc).
//
// One call = one output row. Channel blocks of 16 (one zmm) are the outer loop, so a block's bias, requantization
// constants and weights stay in registers while the row's pixels stream past, four at a time (four independent
// accumulator chains). Columns whose window lies inside the row take addresses without checks (the last < 4 of
// them one at a time); only the few columns touching the left/right padding check each tap. 3×3 and 5×5 at stride
// 1 and 2 are compiled with constant offsets; other windows take the same code with run-time sizes.
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

// One channel block: its packed constants (ukernels_isa.h, the rq64 header), loaded once a row.
struct Block {
  const __m512i* wt;  // taps × 16 int32 lanes
  __m512i bias, mult, mult_odd, k_even, k_odd, d_even, d_odd, s_even, s_odd;
  __m512i lo, hi, lo32, hi32, zp;  // the op's clamp bounds as int64 and int32, zp as int32
  eb_requantu_cols_avx512 u;       // kMode 3: the unsigned-offset form (the block's u_right all >= 0)
  __mmask16 mask;
};

template <bool kFull>
inline __m512i load_x(const int8_t* p, __mmask16 mask) {
  return _mm512_cvtepi8_epi32(kFull ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(p))
                                    : _mm_maskz_loadu_epi8(mask, p));
}

// clamp(MBQM(acc, m, e), lo, hi) + zp of docs/quantization.md (5), (6) as one rounding shift per 64-bit lane:
//   out = clamp((acc·m + K + (acc < 0 ? D : 0)) >> s, lo, hi),  s = 31 − left + right,
//   K = 2^(30 − left) + (right > 0 ? 2^(30 + right) : 0),  D = (right > 0 ? −2^31 : 0)   (packing.cc)
// Why it is exact (m >= 2^30 > 0, so acc·m has acc's sign; left > 0 implies right = 0):
//  - left = right = 0: SRDHM(acc, m) = floor((acc·m + 2^30) / 2^31) (both nudges of (4a) give that).
//  - right > 0: RDBPOT(q, r) = floor((q + 2^(r−1) − [q < 0]) / 2^r) (eq. 4b, case by case on q mod 2^r), and
//    floor((floor(a / 2^31) + n) / 2^r) = floor((a + n·2^31) / 2^(31+r)) for integer n: one shift. [q < 0] may be
//    taken as [acc < 0]: when they differ q = 0 and both give 0.
//  - left > 0: without saturation SRDHM(acc·2^left, m) = floor((acc·m + 2^(30−left)) / 2^(31−left)). When
//    acc·2^left saturates, both the reference (sat32 then SRDHM) and this (no saturation: |value| >= 2^30 here, the
//    int64 sum cannot overflow as |acc·m| < 2^62) are beyond [−256, 255] with acc's sign, and the clamp to
//    [lo, hi] (within that range) gives the same bound. So the clamp runs on the int64 values.
// kNoLeft (no channel of the block has left > 0, i.e. every s >= 31): every value fits in int32 (|acc·m| < 2^62,
// K + D < 2^62, s >= 32 when right > 0; s = 31, K = 2^30 otherwise), so the two halves are merged first and the
// clamp runs on 16 int32 lanes.
// kSat (kNoLeft, every s >= 32, and the op's clamp is [−128, 127] in output codes): |q| < 2^30, so q + zp cannot
// overflow and the saturating narrow of store_y is the clamp; the result is q + zp, unclamped.
template <bool kNoLeft, bool kSat = false>
inline __m512i requant(const Block& b, __m512i acc) {
  const __m512i zero = _mm512_setzero_si512();
  const __m512i pe = _mm512_mul_epi32(acc, b.mult);
  const __m512i po = _mm512_mul_epi32(_mm512_srli_epi64(acc, 32), b.mult_odd);
  __m512i te = _mm512_add_epi64(pe, b.k_even), to = _mm512_add_epi64(po, b.k_odd);
  te = _mm512_mask_add_epi64(te, _mm512_cmplt_epi64_mask(pe, zero), te, b.d_even);
  to = _mm512_mask_add_epi64(to, _mm512_cmplt_epi64_mask(po, zero), to, b.d_odd);
  te = _mm512_srav_epi64(te, b.s_even);
  to = _mm512_srav_epi64(to, b.s_odd);
  if (kNoLeft) {
    const __m512i q = _mm512_mask_shuffle_epi32(te, 0xAAAA, to, _MM_PERM_CDAB);
    if (kSat) return _mm512_add_epi32(q, b.zp);
    return _mm512_add_epi32(_mm512_max_epi32(_mm512_min_epi32(q, b.hi32), b.lo32), b.zp);
  }
  te = _mm512_max_epi64(_mm512_min_epi64(te, b.hi), b.lo);
  to = _mm512_max_epi64(_mm512_min_epi64(to, b.hi), b.lo);
  // Odd channels' int64 results (within int32) into the high halves: dword swap of `to` merged at odd dwords.
  const __m512i q = _mm512_mask_shuffle_epi32(te, 0xAAAA, to, _MM_PERM_CDAB);
  return _mm512_add_epi32(q, b.zp);
}

// kMode: 0 = some channel has a left shift, 1 = kNoLeft, 2 = kNoLeft and kSat (requant), 3 = the unsigned-offset
// form of requant__avx512vnni.h (eb_requantu_*: 12 instructions per 16 outputs; the packer's u_right proves it exact).
template <int kMode>
inline void store_y(const Block& b, __m512i acc, int8_t* out) {
  if (kMode == 3) {
    _mm512_mask_cvtsepi32_storeu_epi8(out, b.mask, eb_requantu_apply_avx512(acc, &b.u));
  } else if (kMode == 2) {
    _mm512_mask_cvtsepi32_storeu_epi8(out, b.mask, requant<true, true>(b, acc));
  } else {
    _mm512_mask_cvtepi32_storeu_epi8(out, b.mask, requant<kMode == 1>(b, acc));
  }
}

// Column ow with every tap checked against the padding. kKH/kKW/kS = 0: sizes from p.
template <bool kFull, int kMode, size_t kKH, size_t kKW, size_t kS>
void edge_pixel(const eb_qs8_dwconv_params* p, const int8_t* const* rows, const Block& b, size_t c0, size_t ow,
                int8_t* out) {
  const size_t C = p->channels, W = p->in_width, kh = kKH ? kKH : p->kh, kw = kKW ? kKW : p->kw;
  const size_t s = kS ? kS : p->stride, d = kKW ? 1 : p->dilation;
  const int8_t* zero = p->zero + c0;
  __m512i acc = b.bias, odd = _mm512_setzero_si512();  // even and odd window rows: two chains
  const __m512i* wt = b.wt;
  for (size_t i = 0; i < kh; ++i) {
    const int8_t* r = rows[i];
    const size_t iw0 = ow * s - p->pad_left;  // wraps below 0: then >= W, like a column past the row
    for (size_t k = 0; k < kw; ++k, ++wt) {
      const size_t iw = iw0 + k * d;
      const int8_t* x = r != nullptr && iw < W ? r + iw * C + c0 : zero;
      if (i % 2 == 0) {
        acc = dpwssd(acc, load_x<kFull>(x, b.mask), *wt);
      } else {
        odd = dpwssd(odd, load_x<kFull>(x, b.mask), *wt);
      }
    }
  }
  store_y<kMode>(b, _mm512_add_epi32(acc, odd), out + ow * C + c0);
}

// One interior column (the last < 4 of the interior).
template <bool kFull, int kMode, size_t kKH, size_t kKW, size_t kS>
void interior1(const eb_qs8_dwconv_params* p, const int8_t* const* rows, const Block& b, size_t c0, size_t ow,
               int8_t* out) {
  const size_t C = p->channels, kh = kKH ? kKH : p->kh, kw = kKW ? kKW : p->kw, s = kS ? kS : p->stride;
  const size_t d = kKW ? 1 : p->dilation;
  __m512i acc = b.bias, odd = _mm512_setzero_si512();  // even and odd window rows: two chains
  const __m512i* wt = b.wt;
  for (size_t i = 0; i < kh; ++i) {
    const int8_t* x = p->zero + c0;
    size_t step = 0;
    if (rows[i] != nullptr) {
      x = rows[i] + (ow * s - p->pad_left) * C + c0;
      step = C;
    }
    for (size_t k = 0; k < kw; ++k, ++wt) {
      if (i % 2 == 0) {
        acc = dpwssd(acc, load_x<kFull>(x + (k * d) * step, b.mask), *wt);
      } else {
        odd = dpwssd(odd, load_x<kFull>(x + (k * d) * step, b.mask), *wt);
      }
    }
  }
  store_y<kMode>(b, _mm512_add_epi32(acc, odd), out + ow * C + c0);
}

// Four interior columns ow .. ow + 3 (every tap inside the row). kKH/kKW/kS = 0: sizes from p.
template <bool kFull, int kMode, size_t kKH, size_t kKW, size_t kS>
inline void interior4(const eb_qs8_dwconv_params* p, const int8_t* const* rows, const Block& b, size_t c0, size_t ow,
                      int8_t* out) {
  const size_t C = p->channels, kh = kKH ? kKH : p->kh, kw = kKW ? kKW : p->kw, s = kS ? kS : p->stride;
  const size_t d = kKW ? 1 : p->dilation;
  // Two chains per column (even and odd window rows): a column's taps are a serial chain of vpdpwssd otherwise.
  __m512i a0 = b.bias, a1 = b.bias, a2 = b.bias, a3 = b.bias;
  __m512i e0 = _mm512_setzero_si512(), e1 = e0, e2 = e0, e3 = e0;
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
      const __m512i x0 = load_x<kFull>(x + (k * d) * step, b.mask);
      const __m512i x1 = load_x<kFull>(x + (s + k * d) * step, b.mask);
      const __m512i x2 = load_x<kFull>(x + (2 * s + k * d) * step, b.mask);
      const __m512i x3 = load_x<kFull>(x + (3 * s + k * d) * step, b.mask);
      if (i % 2 == 0) {
        a0 = dpwssd(a0, x0, w);
        a1 = dpwssd(a1, x1, w);
        a2 = dpwssd(a2, x2, w);
        a3 = dpwssd(a3, x3, w);
      } else {
        e0 = dpwssd(e0, x0, w);
        e1 = dpwssd(e1, x1, w);
        e2 = dpwssd(e2, x2, w);
        e3 = dpwssd(e3, x3, w);
      }
    }
  }
  int8_t* y = out + ow * C + c0;
  store_y<kMode>(b, _mm512_add_epi32(a0, e0), y);
  store_y<kMode>(b, _mm512_add_epi32(a1, e1), y + C);
  store_y<kMode>(b, _mm512_add_epi32(a2, e2), y + 2 * C);
  store_y<kMode>(b, _mm512_add_epi32(a3, e3), y + 3 * C);
}

template <bool kFull, int kMode, size_t kKH, size_t kKW, size_t kS>
void block_row(const eb_qs8_dwconv_params* p, const int8_t* const* rows, const Block& b, size_t c0, size_t lo,
               size_t hi, int8_t* out) {
  size_t ow = 0;
  for (; ow < lo; ++ow) edge_pixel<kFull, kMode, kKH, kKW, kS>(p, rows, b, c0, ow, out);
  for (; ow + 4 <= hi; ow += 4) interior4<kFull, kMode, kKH, kKW, kS>(p, rows, b, c0, ow, out);
  for (; ow < hi; ++ow) interior1<kFull, kMode, kKH, kKW, kS>(p, rows, b, c0, ow, out);
  for (; ow < p->out_width; ++ow) edge_pixel<kFull, kMode, kKH, kKW, kS>(p, rows, b, c0, ow, out);
}

// block_row with the requantization form picked for the block (kMode, store_y).
template <bool kFull, size_t kKH, size_t kKW, size_t kS>
void block_row_mode(int mode, const eb_qs8_dwconv_params* p, const int8_t* const* rows, const Block& b, size_t c0,
                    size_t lo, size_t hi, int8_t* out) {
  switch (mode) {
    case 3: return block_row<kFull, 3, kKH, kKW, kS>(p, rows, b, c0, lo, hi, out);
    case 2: return block_row<kFull, 2, kKH, kKW, kS>(p, rows, b, c0, lo, hi, out);
    case 1: return block_row<kFull, 1, kKH, kKW, kS>(p, rows, b, c0, lo, hi, out);
    default: return block_row<kFull, 0, kKH, kKW, kS>(p, rows, b, c0, lo, hi, out);
  }
}

template <size_t kKH, size_t kKW, size_t kS>
void dwconv_row(const eb_qs8_dwconv_params* p, const int8_t* const* rows, const uint8_t* w, int8_t* out) {
  const size_t C = p->channels, taps = p->kh * p->kw;
  const size_t block_bytes = (40 * kCR + taps * kCR * 4 + 63) / 64 * 64;  // packing.cc (rq64 header)
  size_t lo, hi;
  eb_dwconv_interior(p, &lo, &hi);
  Block b;
  b.lo = _mm512_set1_epi64(p->rq.lo);
  b.hi = _mm512_set1_epi64(p->rq.hi);
  b.lo32 = _mm512_set1_epi32(p->rq.lo);
  b.hi32 = _mm512_set1_epi32(p->rq.hi);
  const __m512i s31 = _mm512_set1_epi64(31);
  b.zp = _mm512_set1_epi32(p->rq.output_zero_point);
  const bool full_range = p->rq.lo + p->rq.output_zero_point == -128 && p->rq.hi + p->rq.output_zero_point == 127;
  for (size_t c0 = 0; c0 < C; c0 += kCR, w += block_bytes) {
    const __m512i* header = reinterpret_cast<const __m512i*>(w);
    b.bias = _mm512_loadu_si512(header);
    b.mult = _mm512_loadu_si512(header + 1);
    b.mult_odd = _mm512_loadu_si512(header + 2);
    b.k_even = _mm512_loadu_si512(header + 3);
    b.k_odd = _mm512_loadu_si512(header + 4);
    b.d_even = _mm512_loadu_si512(header + 5);
    b.d_odd = _mm512_loadu_si512(header + 6);
    b.s_even = _mm512_loadu_si512(header + 7);
    b.s_odd = _mm512_loadu_si512(header + 8);
    b.wt = header + 10;
    const __m512i u_right = _mm512_loadu_si512(header + 9);
    const bool unsigned_form = _mm512_movepi32_mask(u_right) == 0;  // no channel of the block has −1
    if (unsigned_form) {
      eb_requantu_cols_init_avx512(b.mult, u_right, p->rq.lo, p->rq.hi, p->rq.output_zero_point, &b.u);
    }
    const bool no_left = (_mm512_cmplt_epi64_mask(b.s_even, s31) | _mm512_cmplt_epi64_mask(b.s_odd, s31)) == 0;
    const bool sat =
        no_left && full_range && (_mm512_cmple_epi64_mask(b.s_even, s31) | _mm512_cmple_epi64_mask(b.s_odd, s31)) == 0;
    const int mode = unsigned_form ? 3 : sat ? 2 : no_left ? 1 : 0;
    if (C - c0 >= kCR) {
      b.mask = 0xFFFF;
      block_row_mode<true, kKH, kKW, kS>(mode, p, rows, b, c0, lo, hi, out);
    } else {
      b.mask = (__mmask16)((1u << (C - c0)) - 1);
      block_row_mode<false, kKH, kKW, kS>(mode, p, rows, b, c0, lo, hi, out);
    }
  }
}
}  // namespace

extern "C" void eb_qs8_dwconv_minmax_ukernel_4x16__avx512vnni(const eb_qs8_dwconv_params* p, const int8_t* const* rows,
                                                              const void* w, int8_t* output) {
  const uint8_t* wb = static_cast<const uint8_t*>(w);
  const bool plain = p->dilation == 1;
  if (plain && p->kh == 3 && p->kw == 3 && p->stride == 1) return dwconv_row<3, 3, 1>(p, rows, wb, output);
  if (plain && p->kh == 3 && p->kw == 3 && p->stride == 2) return dwconv_row<3, 3, 2>(p, rows, wb, output);
  if (plain && p->kh == 5 && p->kw == 5 && p->stride == 1) return dwconv_row<5, 5, 1>(p, rows, wb, output);
  if (plain && p->kh == 5 && p->kw == 5 && p->stride == 2) return dwconv_row<5, 5, 2>(p, rows, wb, output);
  dwconv_row<0, 0, 0>(p, rows, wb, output);
}
