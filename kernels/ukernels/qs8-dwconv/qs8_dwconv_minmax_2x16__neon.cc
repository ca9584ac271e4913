// qs8_dwconv_minmax_2x16__neon.cc: int8 depthwise conv row kernel for every ARM path (armv7 and armv8 NEON; the
// dotprod and i8mm paths run it too: a depthwise tap is one MAC per channel, so a dot product has nothing to sum).
// Reference twin: eb_qs8_dwconv_ref (qs8-dwconv/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc).
//
// One call = one output row; 16-channel blocks outer, so a block's weights (9 q registers for a 3×3 window) stay in
// registers along the row; two output columns a step inside the padding-free interior (eb_dwconv_interior), which
// shares their input loads (a stride-1 3×3 step loads 4 columns × 3 rows for 2 pixels), then one column, and a
// checked column at each edge. 3×3 and 5×5 at stride 1 and 2 are compiled with constant sizes; a constant 3×3 row
// whose edges are each at most one column with one padding column (pad 1, edges_k3) takes its edge columns' taps
// from three row bases computed once per row (the padding column's taps the zero row): no per-tap checks, and
// no checked-edge code in those instantiations (other 3×3 rows run general_block).
//
// Products: x·w with x, w int8 is exact in int16 (vmull_s8), and when no weight of the block is −128 (the lowering's
// weights are in [−127, 127]) |x·w| <= 128·127 = 16256, so two taps sum exactly in int16 (vmull_s8 + vmlal_s8,
// 32512 <= 32767); then vaddw_s16 widens the pair into the int32 accumulators, which start at the block's bias'.
// A block with a −128 weight (a valid artifact, never the lowering's) widens each product alone: (−128)·(−128)
// twice is 32768, one past int16. packing.cc computes the flag per block (EB_DW_BLOCK_PAIRS).
//
// Requantization, docs/quantization.md (5): when every channel of the block has e < 0 (EB_DW_BLOCK_RSHIFT: no left
// shift, right shift n >= 1; the lowering's depthwise layers all have it) it is 3 instructions per 4 lanes:
//   q = vqrdmulhq_s32(acc, m)        SRDHM, eq. (4a), exactly (requant__neon.h)
//   q = vsraq_n_s32(q, q, 31)        q − [q < 0]; no overflow: m <= 2^31 − 1 gives q >= −2^31 + 1
//   y = vrshlq_s32(q, −n)            floor((q − [q < 0] + 2^(n−1)) / 2^n) = RDBPOT(q, n), eq. (4b)
// (for q = Q·2^n + R, 0 <= R < 2^n: q >= 0 gives Q + [R >= 2^(n−1)], q < 0 gives Q + [R > 2^(n−1)], (4b)'s r > t).
// Other blocks take the general form (vqshlq_s32 for sat32(acc·2^left), then eb_mbqm_rshl_neon). Then
// eb_narrow16_zp_neon: docs/quantization.md (6) as saturating narrows and the clamp.
#include <arm_neon.h>
#include <string.h>

#include "../requant/requant__neon.h"
#include "edgebuild/ukernels_isa.h"

// The row loop of a block must be one function with its weights in registers: GCC otherwise outlines some of the
// eight block_row instantiations and reloads the weights from memory at every step.
#define EB_ALWAYS_INLINE inline __attribute__((always_inline))

namespace {
constexpr size_t kCR = 16;

#if defined(__aarch64__) && defined(__GNUC__) && !defined(__clang__)
// GCC 12 gives vget_low_s8 of a weight register that lives across the row loop a register of its own (a copy per
// weight: 18 registers for 9 taps, then spills); smull / smlal on the low halves of the q registers need no copy.
// Inline asm only for that: the intrinsic spelling below is the same instruction.
inline int16x8_t mull_lo(int8x16_t x, int8x16_t w) {
  int16x8_t r;
  __asm__("smull %0.8h, %1.8b, %2.8b" : "=w"(r) : "w"(x), "w"(w));
  return r;
}
inline int16x8_t mlal_lo(int16x8_t a, int8x16_t x, int8x16_t w) {
  __asm__("smlal %0.8h, %1.8b, %2.8b" : "+w"(a) : "w"(x), "w"(w));
  return a;
}
#else
inline int16x8_t mull_lo(int8x16_t x, int8x16_t w) { return vmull_s8(vget_low_s8(x), vget_low_s8(w)); }
inline int16x8_t mlal_lo(int16x8_t a, int8x16_t x, int8x16_t w) { return vmlal_s8(a, vget_low_s8(x), vget_low_s8(w)); }
#endif
#if defined(__aarch64__)
inline int16x8_t mull_hi(int8x16_t x, int8x16_t w) { return vmull_high_s8(x, w); }
inline int16x8_t mlal_hi(int16x8_t a, int8x16_t x, int8x16_t w) { return vmlal_high_s8(a, x, w); }
inline int32x4_t addw_hi(int32x4_t a, int16x8_t s) { return vaddw_high_s16(a, s); }
#else
inline int16x8_t mull_hi(int8x16_t x, int8x16_t w) { return vmull_s8(vget_high_s8(x), vget_high_s8(w)); }
inline int16x8_t mlal_hi(int16x8_t a, int8x16_t x, int8x16_t w) {
  return vmlal_s8(a, vget_high_s8(x), vget_high_s8(w));
}
inline int32x4_t addw_hi(int32x4_t a, int16x8_t s) { return vaddw_s16(a, vget_high_s16(s)); }
#endif

// The 16 int32 lanes of one output pixel.
struct Acc {
  int32x4_t v0, v1, v2, v3;
};

// Products of one tap (or the int16 sum of two) for 16 channels.
struct Prod {
  int16x8_t lo, hi;
};

inline Prod mul(int8x16_t x, int8x16_t w) { return {mull_lo(x, w), mull_hi(x, w)}; }
inline Prod mla(Prod p, int8x16_t x, int8x16_t w) { return {mlal_lo(p.lo, x, w), mlal_hi(p.hi, x, w)}; }
inline void widen(Acc& a, Prod p) {
  a.v0 = vaddw_s16(a.v0, vget_low_s16(p.lo));
  a.v1 = addw_hi(a.v1, p.lo);
  a.v2 = vaddw_s16(a.v2, vget_low_s16(p.hi));
  a.v3 = addw_hi(a.v3, p.hi);
}

// What a block's loop needs besides the weights.
struct Block {
  const int32_t* hdr;  // bias'[16], mult[16], left[16], −right[16], flags[16] (packing.cc pack_dw)
  const int8_t* wt;    // taps × 16 weights
  size_t c0, n;        // first channel, channels of the block (16 but in the last block)
  int16x8_t zp;
  int8x16_t act_min, act_max;
};

// Loads 16 channels of a tap. A partial block (kFull false) reads only its n channels.
template <bool kFull>
inline int8x16_t load_x(const int8_t* p, size_t n) {
  if (kFull) return vld1q_s8(p);
  int8_t buf[16] = {0};
  memcpy(buf, p, n);
  return vld1q_s8(buf);
}

// The block's requantization constants, read once per step of kP pixels (after the taps: they need no registers
// while the products are summed).
template <bool kFast>
struct Rq {
  int32x4_t mult[4], left[4], neg_right[4];
  explicit Rq(const int32_t* h) {
    for (size_t j = 0; j < 4; ++j) {
      mult[j] = vld1q_s32(h + 16 + 4 * j);
      if (!kFast) left[j] = vld1q_s32(h + 32 + 4 * j);
      neg_right[j] = vld1q_s32(h + 48 + 4 * j);
    }
  }
  int32x4_t apply(int32x4_t acc, size_t j) const {
    if (!kFast) return eb_mbqm_rshl_neon(acc, mult[j], left[j], neg_right[j]);
    const int32x4_t q = vqrdmulhq_s32(acc, mult[j]);  // every channel has e < 0 (the top of the file)
    return vrshlq_s32(vsraq_n_s32(q, q, 31), neg_right[j]);
  }
};

template <bool kFast, bool kFull, bool kClamp>
EB_ALWAYS_INLINE void store_y(const Block& b, const Rq<kFast>& rq, const Acc& a, int8_t* out) {
  // docs/quantization.md (6) as in eb_narrow16_zp_neon; the clamp is left out when [act_min, act_max] is all of
  // int8 (a ReLU6 whose output zero point is −128, as the lowering's are).
  const int16x8_t lo = vqaddq_s16(vcombine_s16(vqmovn_s32(rq.apply(a.v0, 0)), vqmovn_s32(rq.apply(a.v1, 1))), b.zp);
  const int16x8_t hi = vqaddq_s16(vcombine_s16(vqmovn_s32(rq.apply(a.v2, 2)), vqmovn_s32(rq.apply(a.v3, 3))), b.zp);
  int8x16_t y = vcombine_s8(vqmovn_s16(lo), vqmovn_s16(hi));
  if (kClamp) y = vminq_s8(vmaxq_s8(y, b.act_min), b.act_max);
  if (kFull) {
    vst1q_s8(out, y);
  } else {
    int8_t buf[16];
    vst1q_s8(buf, y);
    memcpy(out, buf, b.n);
  }
}

inline Acc bias(const Block& b) {
  return {vld1q_s32(b.hdr), vld1q_s32(b.hdr + 4), vld1q_s32(b.hdr + 8), vld1q_s32(b.hdr + 12)};
}

// The weights of a block: in registers for up to 9 taps of a constant window, else read at each use.
template <size_t kTaps>
struct Weights {
  int8x16_t w[kTaps];
  explicit Weights(const int8_t* wt) {
    for (size_t t = 0; t < kTaps; ++t) w[t] = vld1q_s8(wt + t * kCR);
  }
  int8x16_t operator()(size_t t) const { return w[t]; }
};
template <>
struct Weights<0> {
  const int8_t* wt;
  explicit Weights(const int8_t* p) : wt(p) {}
  int8x16_t operator()(size_t t) const { return vld1q_s8(wt + t * kCR); }
};

// Accumulates the taps of kP pixels: tap(p, i, k) is the address of pixel p's tap (i, k).
template <size_t kP, bool kPairs, bool kFull, class W, class Tap>
EB_ALWAYS_INLINE void accumulate(Acc* acc, size_t kh, size_t kw, size_t n, const W& w, const Tap& tap) {
  Prod open[kP] = {};    // (always written before it is read; the initializer keeps -Wmaybe-uninitialized quiet)
  bool pending = false;  // open[] holds one tap's products waiting for a second
  size_t t = 0;
  for (size_t i = 0; i < kh; ++i) {
    for (size_t k = 0; k < kw; ++k, ++t) {
      const int8x16_t wt = w(t);
      for (size_t p = 0; p < kP; ++p) {
        const int8x16_t x = load_x<kFull>(tap(p, i, k), n);
        if (!kPairs) {
          widen(acc[p], mul(x, wt));
        } else if (pending) {
          widen(acc[p], mla(open[p], x, wt));
        } else {
          open[p] = mul(x, wt);
        }
      }
      pending = kPairs && !pending;
    }
  }
  if (pending)
    for (size_t p = 0; p < kP; ++p) widen(acc[p], open[p]);
}

// Geometry of one call: the constant sizes of the template, else p's.
template <size_t kKH, size_t kKW, size_t kS>
struct Geom {
  size_t kh_, kw_, s_, d_, C, W, pad_left;
  explicit Geom(const eb_qs8_dwconv_params* p)
      : kh_(p->kh), kw_(p->kw), s_(p->stride), d_(p->dilation), C(p->channels), W(p->in_width), pad_left(p->pad_left) {}
  size_t kh() const { return kKH ? kKH : kh_; }
  size_t kw() const { return kKW ? kKW : kw_; }
  size_t s() const { return kS ? kS : s_; }
  size_t d() const { return kKW ? 1 : d_; }
};

// kP interior columns (every tap inside the row); tap(q, i, k) is the address of column q's tap (i, k).
template <size_t kP, bool kFast, bool kFull, bool kClamp, size_t kKH, size_t kKW, size_t kS, class W, class Tap>
EB_ALWAYS_INLINE void interior(const Geom<kKH, kKW, kS>& g, const Block& b, const W& w, const Tap& tap, int8_t* y) {
  Acc acc[kP];
  for (size_t q = 0; q < kP; ++q) acc[q] = bias(b);
  accumulate<kP, kFast, kFull>(acc, g.kh(), g.kw(), b.n, w, tap);
  const Rq<kFast> rq(b.hdr);
  for (size_t q = 0; q < kP; ++q) store_y<kFast, kFull, kClamp>(b, rq, acc[q], y + q * g.C);
}

// Column ow with every tap checked against the padding: a tap outside the row, or in a padding row, reads the zero
// row. Constant windows gather the kKH·kKW tap addresses first, so the taps themselves are the interior's code.
template <bool kFast, bool kFull, bool kClamp, size_t kKH, size_t kKW, size_t kS, class W>
EB_ALWAYS_INLINE void edge(const Geom<kKH, kKW, kS>& g, const int8_t* const* rows, const int8_t* zero, const Block& b,
                           const W& w, size_t ow, int8_t* out) {
  Acc acc[1] = {bias(b)};
  const size_t C = g.C, c0 = b.c0, d = g.d(), W_ = g.W;
  const size_t iw0 = ow * g.s() - g.pad_left;  // wraps below 0: then >= W_, like a column past the row
  if (kKH != 0) {
    const int8_t* tap[kKH ? kKH * kKW : 1];
    for (size_t i = 0; i < kKH; ++i)
      for (size_t k = 0; k < kKW; ++k) {
        const size_t iw = iw0 + k * d;
        tap[i * kKW + k] = rows[i] != nullptr && iw < W_ ? rows[i] + iw * C + c0 : zero;
      }
    accumulate<1, kFast, kFull>(acc, kKH, kKW, b.n, w, [&](size_t, size_t i, size_t k) { return tap[i * kKW + k]; });
  } else {
    accumulate<1, kFast, kFull>(acc, g.kh(), g.kw(), b.n, w, [&](size_t, size_t i, size_t k) {
      const size_t iw = iw0 + k * d;
      return rows[i] != nullptr && iw < W_ ? rows[i] + iw * C + c0 : zero;
    });
  }
  store_y<kFast, kFull, kClamp>(b, Rq<kFast>(b.hdr), acc[0], out + ow * C + c0);
}

template <bool kFast, bool kFull, bool kClamp, size_t kKH, size_t kKW, size_t kS, class W>
EB_ALWAYS_INLINE void block_row(const eb_qs8_dwconv_params* p, const Geom<kKH, kKW, kS>& g, const int8_t* const* rows,
                                const Block& b, const W& w, size_t lo, size_t hi, int8_t* out) {
  constexpr size_t kMaxKH = kKH ? kKH : 16;
  const size_t kh = g.kh(), C = g.C, s = g.s(), d = g.d();
  const int8_t* zero = p->zero + b.c0;
  // A 3×3 window's edge column with one column in the padding (pad 1 at the left; the last column at the right):
  // its taps are a row base plus 0 or C (a padding row's base is the zero row, step 0) and the missing column's the
  // zero row, known once per row instead of 9 checked addresses per column. Computed at each edge, so nothing of it
  // is live across the interior loops.
  constexpr bool k3 = kKH == 3 && kKW == 3;
  constexpr size_t kE = k3 ? 3 : 1;
  const auto bases = [&](size_t col, const int8_t** e, size_t* es) {
    for (size_t i = 0; i < kE; ++i) {
      e[i] = rows[i] != nullptr ? rows[i] + col * C + b.c0 : zero;
      es[i] = rows[i] != nullptr ? C : 0;
    }
  };
  size_t ow = 0;
  if (k3) {
    // Column 0 (when lo = 1) reads columns −1 (zero), 0 and 1: dwconv_row checked pad_left = 1, W >= 2.
    if (lo > 0) {
      const int8_t* e[kE];
      size_t es[kE];
      bases(0, e, es);
      const auto tap = [&](size_t, size_t i, size_t k) { return k == 0 ? zero : e[i] + (k - 1) * es[i]; };
      interior<1, kFast, kFull, kClamp>(g, b, w, tap, out + b.c0), ow = 1;
    }
  } else {
    for (; ow < lo; ++ow) edge<kFast, kFull, kClamp>(g, rows, zero, b, w, ow, out);
  }
  bool all_rows = kh <= kMaxKH;
  for (size_t i = 0; i < kh && all_rows; ++i) all_rows = rows[i] != nullptr;
  if (all_rows && ow < hi) {
    // Every window row in the image (all but the first and last rows of a padded conv): one column offset for all
    // rows, so each tap is a fixed base plus `off` (register-offset loads) and a step adds one number.
    const int8_t* r[kMaxKH];
    for (size_t i = 0; i < kh; ++i) r[i] = rows[i] + b.c0;
    size_t off = (ow * s - g.pad_left) * C;  // ow >= lo: ow·s >= pad_left
    int8_t* y = out + ow * C + b.c0;
    const auto tap = [&](size_t q, size_t i, size_t k) { return r[i] + (q * s + k * d) * C + off; };
    for (; ow + 2 <= hi; ow += 2, y += 2 * C, off += 2 * s * C) interior<2, kFast, kFull, kClamp>(g, b, w, tap, y);
    if (ow < hi) interior<1, kFast, kFull, kClamp>(g, b, w, tap, y), ++ow;
  } else if (kh <= kMaxKH && ow < hi) {
    // Some window rows in the padding: those read the zero row at every tap (step 0).
    const int8_t* x[kMaxKH];
    size_t step[kMaxKH];
    for (size_t i = 0; i < kh; ++i) {
      step[i] = rows[i] != nullptr ? C : 0;
      x[i] = rows[i] != nullptr ? rows[i] + (ow * s - g.pad_left) * C + b.c0 : zero;
    }
    int8_t* y = out + ow * C + b.c0;
    const auto tap = [&](size_t q, size_t i, size_t k) { return x[i] + (q * s + k * d) * step[i]; };
    for (; ow + 2 <= hi; ow += 2, y += 2 * C) {
      interior<2, kFast, kFull, kClamp>(g, b, w, tap, y);
      for (size_t i = 0; i < kh; ++i) x[i] += 2 * s * step[i];
    }
    if (ow < hi) interior<1, kFast, kFull, kClamp>(g, b, w, tap, y), ++ow;
  }
  if (k3) {
    // At most one column left (dwconv_row checked it): columns iw0 and iw0 + 1 in the row, iw0 + 2 = W the zero one.
    if (ow < p->out_width) {
      const int8_t* e[kE];
      size_t es[kE];
      bases(ow * s - g.pad_left, e, es);
      const auto tap = [&](size_t, size_t i, size_t k) { return k == 2 ? zero : e[i] + k * es[i]; };
      interior<1, kFast, kFull, kClamp>(g, b, w, tap, out + ow * C + b.c0);
    }
  } else {
    for (; ow < p->out_width; ++ow) edge<kFast, kFull, kClamp>(g, rows, zero, b, w, ow, out);
  }
}

// Whether every edge column of a 3×3 window is one block_row's k3 forms take: lo = 0, or lo = 1 with pad_left = 1
// and W >= 2 (column 0 reads −1, 0, 1); then no right edge, or one, the last, reading W − 2, W − 1 and W.
inline bool edges_k3(const eb_qs8_dwconv_params* p, size_t lo, size_t hi) {
  if (lo > 1 || (lo == 1 && (p->pad_left != 1 || p->in_width < 2))) return false;
  const size_t first_right = lo > hi ? lo : hi;
  if (first_right >= p->out_width) return true;
  const size_t iw0 = (p->out_width - 1) * p->stride - p->pad_left;
  return first_right + 1 == p->out_width && iw0 < p->in_width && iw0 + 2 == p->in_width;
}

template <bool kFast, bool kFull, bool kClamp, size_t kKH, size_t kKW, size_t kS>
EB_ALWAYS_INLINE void run_block(const eb_qs8_dwconv_params* p, const Geom<kKH, kKW, kS>& g, const int8_t* const* rows,
                                const Block& b, size_t lo, size_t hi, int8_t* out) {
  constexpr size_t kTaps = kKH * kKW <= 9 ? kKH * kKW : 0;
  const Weights<kTaps> w(b.wt);
  block_row<kFast, kFull, kClamp>(p, g, rows, b, w, lo, hi, out);
}

// Any block of any window, one instantiation: the general requantization, a partial block, a clamp (a no-op for a
// full int8 range). Not inlined, so the constant-size rows below share it (the library's size budget, issue 20).
__attribute__((noinline)) void general_block(const eb_qs8_dwconv_params* p, const int8_t* const* rows, const Block& b,
                                             size_t lo, size_t hi, int8_t* out) {
  const Geom<0, 0, 0> g(p);
  run_block<false, false, true>(p, g, rows, b, lo, hi, out);
}

// Constant-size windows (kKH > 0) run their fast blocks — all 16 channels, the two-taps-in-int16 and right-shift
// forms (EB_DW_BLOCK_PAIRS | EB_DW_BLOCK_RSHIFT), no clamp: MobileNetV2's ReLU6 layers — with the window unrolled;
// every other block runs general_block.
template <size_t kKH, size_t kKW, size_t kS>
void dwconv_row(const eb_qs8_dwconv_params* p, const int8_t* const* rows, const uint8_t* w, int8_t* out) {
  const size_t C = p->channels, taps = p->kh * p->kw;
  const size_t block_bytes = (20 * kCR + taps * kCR + 63) / 64 * 64;  // packing.cc dw_header_bytes
  size_t lo, hi;
  eb_dwconv_interior(p, &lo, &hi);
  if (p->kh > 16) hi = lo;  // more window rows than block_row's arrays: every column checked
  Block b;
  b.zp = vdupq_n_s16((int16_t)p->rq.output_zero_point);
  b.act_min = vdupq_n_s8((int8_t)(p->rq.lo + p->rq.output_zero_point));
  b.act_max = vdupq_n_s8((int8_t)(p->rq.hi + p->rq.output_zero_point));
  const bool k3_edges = kKH != 3 || kKW != 3 || edges_k3(p, lo, hi);  // else general_block takes the blocks
  const bool clamp = p->rq.lo + p->rq.output_zero_point > -128 || p->rq.hi + p->rq.output_zero_point < 127;
  for (size_t c0 = 0; c0 < C; c0 += kCR, w += block_bytes) {
    b.hdr = reinterpret_cast<const int32_t*>(w);
    b.wt = reinterpret_cast<const int8_t*>(b.hdr + 5 * kCR);
    b.c0 = c0;
    b.n = C - c0 < kCR ? C - c0 : kCR;
    const uint32_t flags = (uint32_t)b.hdr[4 * kCR];
    const bool fast = (flags & (EB_DW_BLOCK_PAIRS | EB_DW_BLOCK_RSHIFT)) == (EB_DW_BLOCK_PAIRS | EB_DW_BLOCK_RSHIFT);
    if (kKH != 0 && b.n == kCR && fast && !clamp && k3_edges) {
      const Geom<kKH, kKW, kS> g(p);
      run_block<true, true, false>(p, g, rows, b, lo, hi, out);
    } else {
      general_block(p, rows, b, lo, hi, out);
    }
  }
}
}  // namespace

extern "C" void eb_qs8_dwconv_minmax_ukernel_2x16__neon(const eb_qs8_dwconv_params* p, const int8_t* const* rows,
                                                        const void* w, int8_t* output) {
  const uint8_t* wb = static_cast<const uint8_t*>(w);
  const bool plain = p->dilation == 1;
  if (plain && p->kh == 3 && p->kw == 3 && p->stride == 1) return dwconv_row<3, 3, 1>(p, rows, wb, output);
  if (plain && p->kh == 3 && p->kw == 3 && p->stride == 2) return dwconv_row<3, 3, 2>(p, rows, wb, output);
  dwconv_row<0, 0, 0>(p, rows, wb, output);
}
