// qs8_conv_dw_minmax__mve.cc: int8 DEPTHWISE_CONV2D (depth multiplier 1) for Cortex-M55 MVE (Helium), the whole op.
// Reference twin: eb_qs8_conv_ref with groups = channels (qs8-conv/ref.cc); equal bit for bit
// (kernels/mcu/test/mve_dw_test.cc under qemu-system-arm -M mps3-an547, tests/mcu/test_mve_dw.py).
//
// Build-time arguments (edgebuild/mcu/variants/mve_dwconv.py), per block of four channels, the last block padded
// with zeros so that every weight and constant load of a block is a whole vector:
//   weights  packed [⌈C/4⌉][KH·KW][4]
//   consts   [⌈C/4⌉][4][4] int32: bias_fold, multiplier, left = max(e, 0), rneg = min(e, 0) of the block's channels,
//            bias_fold = bias − zp_x·Σ_t w[c, t]: (6)'s Σ (x − zp_x)·w becomes bias_fold + Σ x·w, equal modulo 2^32
//            to the twin's wrapping sum; a tap in the padding, which the twin skips, then adds zp_x·w (its share of
//            the fold) instead of x·w.
//
// 3×3 windows (any stride and dilation): one channel at a time, four outputs per int32 vector along a line of the
// output (a run of columns; of rows for the edge columns, and for the interior of a map taller than wide). A tap is
// one gather load (vldrbq_gather_offset_s32: the four outputs' inputs) and one vmlaq_n_s32 by the channel's weight,
// a scalar in a core register: 2 instructions per 4 MACs, where four channels per vector would need a load, a
// multiply and an add (MVE has no vector-by-vector multiply-accumulate). Where consecutive lines' windows overlap
// (the interior at row stride = row dilation) two lines share their gathers: 12 for 18 multiply-accumulates, that
// loop in inline assembly (pair_groups_asm: GCC 12 spills the scalar weights). The requantization's constants are
// scalars too (vqrdmulhq_n_s32, vrshlq_n_s32); a scatter store writes the four outputs. Window rows (for the first
// and last output rows) or columns (for the first and last output columns) in the padding are skipped, their zp_x·w
// added to the channel's scalar bias. The corners, edges shorter than a vector, other windows and too small inputs
// run `pixel`: four channels per vector (vldrbq_s32 widening loads, vmulq + vaddq, wrapping modulo 2^32 like the
// twin) over the window's taps inside the input, zp_x·w for the others.
#include <arm_mve.h>
#include <stddef.h>
#include <stdint.h>

#include "../requant/requant__mve.h"
#include "edgebuild/ukernels.h"

namespace {

struct Out {
  int32_t zp_y, zp_x;
  int32x4_t lo, hi;
};

struct Geometry {
  int32_t H, W, C, KH, KW, dh, dw;
};

// The taps [*t0, *t1) of a window starting at `start` (kernel taps `d` apart) inside [0, size): a range, because the
// positions increase with the tap.
inline void tap_range(int32_t start, int32_t kernel, int32_t d, int32_t size, int32_t* t0, int32_t* t1) {
  int32_t a = start >= 0 ? 0 : (-start + d - 1) / d;
  int32_t b = start > size - 1 ? 0 : (size - 1 - start) / d + 1;
  if (b > kernel) b = kernel;
  if (a > b) a = b;
  *t0 = a;
  *t1 = b;
}

// One block of four channels of `pixel`: x at the window's first valid tap, w at the block's tap 0.
template <bool kTail>
inline __attribute__((always_inline)) void pixel_block(const Out& o, const Geometry& g, const int8_t* x,
                                                       const int8_t* w, const int32_t* k, int32_t kh0, int32_t kh1,
                                                       int32_t kw0, int32_t kw1, size_t row_step, size_t col_step,
                                                       int8_t* y, mve_pred16_t pred) {
  int32x4_t acc = vldrwq_s32(k);
  for (int32_t kh = 0; kh < g.KH; ++kh) {
    if (kh < kh0 || kh >= kh1) {
      for (int32_t kw = 0; kw < g.KW; ++kw, w += 4) acc = vmlaq_n_s32(acc, vldrbq_s32(w), o.zp_x);
      continue;
    }
    int32_t kw = 0;
    for (; kw < kw0; ++kw, w += 4) acc = vmlaq_n_s32(acc, vldrbq_s32(w), o.zp_x);
    const int8_t* t = x;
    for (; kw < kw1; ++kw, w += 4, t += col_step) {
      const int32x4_t xv = kTail ? vldrbq_z_s32(t, pred) : vldrbq_s32(t);
      acc = vaddq_s32(acc, vmulq_s32(xv, vldrbq_s32(w)));
    }
    for (; kw < g.KW; ++kw, w += 4) acc = vmlaq_n_s32(acc, vldrbq_s32(w), o.zp_x);
    x += row_step;
  }
  const int32x4_t q =
      eb_zp_clamp_mve(eb_mbqm_mve(acc, vldrwq_s32(k + 4), vldrwq_s32(k + 8), vldrwq_s32(k + 12)), o.zp_y, o.lo, o.hi);
  if (kTail) {
    vstrbq_p_s32(y, q, pred);
  } else {
    vstrbq_s32(y, q);
  }
}

// One output pixel, any window: taps inside the input (a rectangle of the window) add x·w, taps in the padding
// zp_x·w. k: consts block 0 (bias_fold k[0..3], multiplier k[4..7], left k[8..11], rneg k[12..15]).
__attribute__((noinline)) void pixel(const Out& o, const Geometry& g, const int8_t* image, const int8_t* w,
                                     const int32_t* k, int32_t ih0, int32_t iw0, int8_t* y) {
  const size_t C = (size_t)g.C;
  int32_t kh0, kh1, kw0, kw1;
  tap_range(ih0, g.KH, g.dh, g.H, &kh0, &kh1);
  tap_range(iw0, g.KW, g.dw, g.W, &kw0, &kw1);
  // The first valid tap (any address when there is none: then nothing is read).
  const int8_t* x = kh0 < kh1 && kw0 < kw1
                        ? image + ((size_t)(ih0 + kh0 * g.dh) * (size_t)g.W + (size_t)(iw0 + kw0 * g.dw)) * C
                        : image;
  const size_t row_step = (size_t)g.dh * (size_t)g.W * C, col_step = (size_t)g.dw * C;
  const size_t taps4 = (size_t)g.KH * (size_t)g.KW * 4;
  size_t c = 0;
  for (; c + 4 <= C; c += 4, w += taps4, k += 16) {
    pixel_block<false>(o, g, x + c, w, k, kh0, kh1, kw0, kw1, row_step, col_step, y + c, 0);
  }
  if (c < C) {
    pixel_block<true>(o, g, x + c, w, k, kh0, kh1, kw0, kw1, row_step, col_step, y + c, vctp32q((uint32_t)(C - c)));
  }
}

// A set of output lines for the gather path. The window's taps are (outer, inner) pairs, 3 × 3: outer = window row
// and inner = window column for a run along the output's columns, transposed for a run along its rows. Outer taps
// [O0, O1) are inside the input for every output of the set, inner taps all three.
struct Lines {
  const int8_t* x;  // input at outer tap O0, inner tap 0 of the first line's first output, channel 0
  int8_t* y;        // the first line's first output, channel 0
  size_t C;
  uint32_t lane_in, lane_out;  // bytes between consecutive outputs of a line, in the input and in the output
  uint32_t inner;              // bytes between inner taps
  size_t outer;                // bytes between outer taps
  size_t line_in, line_out;    // bytes between lines
  int32_t lanes, lines;        // outputs per line, lines
  bool transposed;             // outer = window column
};

// The channel's taps as scalars (in locals: the output's byte stores may alias anything, so GCC would reload
// them from memory after every store) and its requantization constants.
struct Channel {
  int32_t w[9];  // [outer][inner]
  int32_t fold, m, rneg, left, zp_y;
  int32_t tie;  // 1 when e < 0 (rneg < 0): RDBPOT's tie fix applies
};

// What pair_groups_asm reads, at the offsets it reads them.
struct AsmChannel {
  int32_t w[9];
  int32_t fold, m, rneg, zp_y, tie;
  int32_t unused[2];
  int32_t hi[4];  // the clamp's upper bound (16-byte aligned from the struct's start)
};
static_assert(offsetof(AsmChannel, fold) == 36 && offsetof(AsmChannel, m) == 40 && offsetof(AsmChannel, rneg) == 44 &&
                  offsetof(AsmChannel, zp_y) == 48 && offsetof(AsmChannel, tie) == 52 && offsetof(AsmChannel, hi) == 64,
              "pair_groups_asm reads these offsets");

// `groups` steps of group_pair for a channel with e <= 0 (no left shift), in inline assembly: GCC 12 keeps 8 q
// registers and 9 scalar weights for this loop poorly (it spills the accumulators' start value and reloads weights
// and constants around every group: 86 instructions a step). Here the weights of a window row are loaded once, into
// the 3 registers the next row's multiply-accumulates for line 1 reuse, the requantization's scalars into the same
// registers after the sums, and the clamp's upper bound into the gather register: 70 instructions a step, the same
// operations as group_pair + requant + the clamp (equal outputs, tested).
__attribute__((noinline)) void pair_groups_asm(const int8_t* x, int8_t* y, int32_t groups, size_t outer, size_t x_step,
                                               size_t y_step, size_t line_out, const AsmChannel* ch, uint32x4_t off0,
                                               uint32x4_t off1, uint32x4_t off2, uint32x4_t out_off, int32x4_t lo) {
  int32x4_t acc0, acc1, g;
  const int8_t* xr;
  int32_t w0, w1, w2;
  __asm__ volatile(
      "dls lr, %[n]\n"
      "1:\n"
      "ldr %[w0], [%[ch], #36]\n"
      "vdup.32 %q[a0], %[w0]\n"
      "vmov %q[a1], %q[a0]\n"
      "mov %[xr], %[x]\n"
      // window row 0: line 0 only
      "ldr %[w0], [%[ch], #0]\n"
      "ldr %[w1], [%[ch], #4]\n"
      "ldr %[w2], [%[ch], #8]\n"
      "vldrb.s32 %q[g], [%[xr], %q[o0]]\n"
      "vmla.s32 %q[a0], %q[g], %[w0]\n"
      "vldrb.s32 %q[g], [%[xr], %q[o1]]\n"
      "vmla.s32 %q[a0], %q[g], %[w1]\n"
      "vldrb.s32 %q[g], [%[xr], %q[o2]]\n"
      "vmla.s32 %q[a0], %q[g], %[w2]\n"
      "add %[xr], %[outer]\n"
      // input rows 1 and 2: line 1 with the previous row's weights, line 0 with this row's
      "vldrb.s32 %q[g], [%[xr], %q[o0]]\n"
      "vmla.s32 %q[a1], %q[g], %[w0]\n"
      "ldr %[w0], [%[ch], #12]\n"
      "vmla.s32 %q[a0], %q[g], %[w0]\n"
      "vldrb.s32 %q[g], [%[xr], %q[o1]]\n"
      "vmla.s32 %q[a1], %q[g], %[w1]\n"
      "ldr %[w1], [%[ch], #16]\n"
      "vmla.s32 %q[a0], %q[g], %[w1]\n"
      "vldrb.s32 %q[g], [%[xr], %q[o2]]\n"
      "vmla.s32 %q[a1], %q[g], %[w2]\n"
      "ldr %[w2], [%[ch], #20]\n"
      "vmla.s32 %q[a0], %q[g], %[w2]\n"
      "add %[xr], %[outer]\n"
      "vldrb.s32 %q[g], [%[xr], %q[o0]]\n"
      "vmla.s32 %q[a1], %q[g], %[w0]\n"
      "ldr %[w0], [%[ch], #24]\n"
      "vmla.s32 %q[a0], %q[g], %[w0]\n"
      "vldrb.s32 %q[g], [%[xr], %q[o1]]\n"
      "vmla.s32 %q[a1], %q[g], %[w1]\n"
      "ldr %[w1], [%[ch], #28]\n"
      "vmla.s32 %q[a0], %q[g], %[w1]\n"
      "vldrb.s32 %q[g], [%[xr], %q[o2]]\n"
      "vmla.s32 %q[a1], %q[g], %[w2]\n"
      "ldr %[w2], [%[ch], #32]\n"
      "vmla.s32 %q[a0], %q[g], %[w2]\n"
      "add %[xr], %[outer]\n"
      // input row 3: line 1 only
      "vldrb.s32 %q[g], [%[xr], %q[o0]]\n"
      "vmla.s32 %q[a1], %q[g], %[w0]\n"
      "vldrb.s32 %q[g], [%[xr], %q[o1]]\n"
      "vmla.s32 %q[a1], %q[g], %[w1]\n"
      "vldrb.s32 %q[g], [%[xr], %q[o2]]\n"
      "vmla.s32 %q[a1], %q[g], %[w2]\n"
      // requant (SRDHM, the tie fix, the rounding shift, + zp_y) and the clamp, line 0 then line 1
      "ldr %[w0], [%[ch], #40]\n"
      "ldr %[w1], [%[ch], #44]\n"
      "ldr %[w2], [%[ch], #48]\n"
      "ldr %[xr], [%[ch], #52]\n"
      "vqrdmulh.s32 %q[a0], %q[a0], %[w0]\n"
      "vshr.s32 %q[g], %q[a0], #31\n"
      "vmla.s32 %q[a0], %q[g], %[xr]\n"
      "vrshl.s32 %q[a0], %[w1]\n"
      "vqadd.s32 %q[a0], %q[a0], %[w2]\n"
      "vldrw.32 %q[g], [%[ch], #64]\n"
      "vmax.s32 %q[a0], %q[a0], %q[lo]\n"
      "vmin.s32 %q[a0], %q[a0], %q[g]\n"
      "vstrb.32 %q[a0], [%[y], %q[oo]]\n"
      "vqrdmulh.s32 %q[a1], %q[a1], %[w0]\n"
      "vshr.s32 %q[a0], %q[a1], #31\n"
      "vmla.s32 %q[a1], %q[a0], %[xr]\n"
      "vrshl.s32 %q[a1], %[w1]\n"
      "vqadd.s32 %q[a1], %q[a1], %[w2]\n"
      "vmax.s32 %q[a1], %q[a1], %q[lo]\n"
      "vmin.s32 %q[a1], %q[a1], %q[g]\n"
      "add %[xr], %[y], %[lout]\n"
      "vstrb.32 %q[a1], [%[xr], %q[oo]]\n"
      "add %[x], %[xs]\n"
      "add %[y], %[ys]\n"
      "le lr, 1b\n"
      : [x] "+r"(x), [y] "+r"(y), [xr] "=&r"(xr), [w0] "=&r"(w0), [w1] "=&r"(w1), [w2] "=&r"(w2), [a0] "=&w"(acc0),
        [a1] "=&w"(acc1), [g] "=&w"(g)
      : [n] "r"(groups), [outer] "r"(outer), [xs] "r"(x_step), [ys] "r"(y_step), [lout] "r"(line_out), [ch] "r"(ch),
        [o0] "w"(off0), [o1] "w"(off1), [o2] "w"(off2), [oo] "w"(out_off), [lo] "w"(lo)
      : "lr", "memory");
}

// docs/quantization.md (5) with the channel's scalar (m, e), as requant__mve.h: sat32(acc·2^left) (left is 0 for
// e <= 0, and VQSHL by 0 changes nothing), SRDHM, RDBPOT's tie fix q + tie·(q >> 31) (q − [q < 0] for e < 0, q for
// e >= 0; VMLA by the scalar 0 or 1, which cannot wrap: SRDHM of int32 operands is >= −2^31 + 1, as
// (−2^31)·(2^31 − 1) is the most negative product) and the rounding shift by rneg (0 for e >= 0: no shift); + zp_y.
inline __attribute__((always_inline)) int32x4_t requant(int32x4_t acc, const Channel& ch) {
  acc = vqrdmulhq_n_s32(vqshlq_r_s32(acc, ch.left), ch.m);
  acc = vrshlq_n_s32(vmlaq_n_s32(acc, vshrq_n_s32(acc, 31), ch.tie), ch.rneg);
  return vqaddq_n_s32(acc, ch.zp_y);
}

template <int O0, int O1, bool kTail>
inline __attribute__((always_inline)) int32x4_t group(const int8_t* x, size_t outer, const Channel& ch, uint32x4_t off0,
                                                      uint32x4_t off1, uint32x4_t off2, mve_pred16_t pred) {
  int32x4_t acc = vdupq_n_s32(ch.fold);
#pragma GCC unroll 3
  for (int t = O0; t < O1; ++t, x += outer) {
    if (kTail) {
      acc = vmlaq_n_s32(acc, vldrbq_gather_offset_z_s32(x, off0, pred), ch.w[3 * t]);
      acc = vmlaq_n_s32(acc, vldrbq_gather_offset_z_s32(x, off1, pred), ch.w[3 * t + 1]);
      acc = vmlaq_n_s32(acc, vldrbq_gather_offset_z_s32(x, off2, pred), ch.w[3 * t + 2]);
    } else {
      acc = vmlaq_n_s32(acc, vldrbq_gather_offset_s32(x, off0), ch.w[3 * t]);
      acc = vmlaq_n_s32(acc, vldrbq_gather_offset_s32(x, off1), ch.w[3 * t + 1]);
      acc = vmlaq_n_s32(acc, vldrbq_gather_offset_s32(x, off2), ch.w[3 * t + 2]);
    }
  }
  return requant(acc, ch);
}

// Two lines whose windows overlap in all but one outer tap (the interior at row stride = row dilation): line 1's
// outer tap t is line 0's tap t + 1, so 4 outer taps' gathers (12) serve 18 multiply-accumulates.
inline __attribute__((always_inline)) void group_pair(const int8_t* x, size_t outer, const Channel& ch, uint32x4_t off0,
                                                      uint32x4_t off1, uint32x4_t off2, int32x4_t* q0, int32x4_t* q1) {
  int32x4_t acc0 = vdupq_n_s32(ch.fold), acc1 = acc0;
#pragma GCC unroll 4
  for (int r = 0; r < 4; ++r, x += outer) {
    int32x4_t g = vldrbq_gather_offset_s32(x, off0);
    if (r < 3) acc0 = vmlaq_n_s32(acc0, g, ch.w[3 * r]);
    if (r > 0) acc1 = vmlaq_n_s32(acc1, g, ch.w[3 * r - 3]);
    g = vldrbq_gather_offset_s32(x, off1);
    if (r < 3) acc0 = vmlaq_n_s32(acc0, g, ch.w[3 * r + 1]);
    if (r > 0) acc1 = vmlaq_n_s32(acc1, g, ch.w[3 * r - 2]);
    g = vldrbq_gather_offset_s32(x, off2);
    if (r < 3) acc0 = vmlaq_n_s32(acc0, g, ch.w[3 * r + 2]);
    if (r > 0) acc1 = vmlaq_n_s32(acc1, g, ch.w[3 * r - 1]);
  }
  *q0 = requant(acc0, ch);
  *q1 = requant(acc1, ch);
}

// The gather and scatter offsets of a set of lines, and the clamp.
struct Vectors {
  int32x4_t lo, hi;
  uint32x4_t off0, off1, off2, out_off;
};

// The lines of one channel (c: its offset in a pixel). A function of its own: inlined into the channel loop, GCC 12
// keeps fewer of the channel's weights in core registers.
template <int O0, int O1>
__attribute__((noinline)) void lines_channel(const Lines& l, const Channel& channel, size_t c, const Vectors& v) {
  const Channel ch = channel;
  const int32x4_t lo = v.lo, hi = v.hi;
  const uint32x4_t off0 = v.off0, off1 = v.off1, off2 = v.off2, out_off = v.out_off;
  const size_t outer = l.outer, x_step = 4 * (size_t)l.lane_in, y_step = 4 * (size_t)l.lane_out;
  const int8_t* x_line = l.x + c;
  int8_t* y_line = l.y + c;
  int32_t i = 0;
  if (O0 == 0 && O1 == 3 && l.line_in == outer) {
    // A separate copy for the assembly: were ch's address taken, GCC would reload its weights after every store.
    AsmChannel asm_ch;
    for (int t = 0; t < 9; ++t) asm_ch.w[t] = ch.w[t];
    asm_ch.fold = ch.fold;
    asm_ch.m = ch.m;
    asm_ch.rneg = ch.rneg;
    asm_ch.zp_y = ch.zp_y;
    asm_ch.tie = ch.tie;
    vst1q_s32(asm_ch.hi, hi);
    for (; i + 2 <= l.lines; i += 2, x_line += 2 * l.line_in, y_line += 2 * l.line_out) {
      const int8_t* x = x_line;
      int8_t* y = y_line;
      int32_t end = 4;  // lanes covered after the next group
      if (ch.left == 0 && l.lanes >= 4) {
        pair_groups_asm(x, y, l.lanes / 4, outer, x_step, y_step, l.line_out, &asm_ch, off0, off1, off2, out_off, lo);
        if (l.lanes % 4 != 0) {
          // The tail as one more group ending at the last lane: it overlaps the previous group, whose outputs it
          // writes again with the same values (the input is not the output).
          const size_t back = (size_t)(l.lanes - 4);
          pair_groups_asm(x + back * l.lane_in, y + back * l.lane_out, 1, outer, x_step, y_step, l.line_out, &asm_ch,
                          off0, off1, off2, out_off, lo);
        }
        continue;
      }
      for (; end <= l.lanes; end += 4, x += x_step, y += y_step) {
        int32x4_t q0, q1;
        group_pair(x, outer, ch, off0, off1, off2, &q0, &q1);
        vstrbq_scatter_offset_s32(y, out_off, vminq_s32(vmaxq_s32(q0, lo), hi));
        vstrbq_scatter_offset_s32(y + l.line_out, out_off, vminq_s32(vmaxq_s32(q1, lo), hi));
      }
      const int32_t j = l.lanes % 4;
      if (j > 0) {  // the lanes' tail, one line at a time
        const mve_pred16_t pred = vctp32q((uint32_t)j);
        for (int k = 0; k < 2; ++k, x += l.line_in, y += l.line_out) {
          const int32x4_t q = group<O0, O1, true>(x, outer, ch, off0, off1, off2, pred);
          vstrbq_scatter_offset_p_s32(y, out_off, vminq_s32(vmaxq_s32(q, lo), hi), pred);
        }
      }
    }
  }
  for (; i < l.lines; ++i, x_line += l.line_in, y_line += l.line_out) {
    const int8_t* x = x_line;
    int8_t* y = y_line;
    int32_t j = l.lanes;
    for (; j >= 4; j -= 4, x += x_step, y += y_step) {
      const int32x4_t q = group<O0, O1, false>(x, outer, ch, off0, off1, off2, 0);
      vstrbq_scatter_offset_s32(y, out_off, vminq_s32(vmaxq_s32(q, lo), hi));
    }
    if (j > 0) {
      const mve_pred16_t pred = vctp32q((uint32_t)j);
      const int32x4_t q = group<O0, O1, true>(x, outer, ch, off0, off1, off2, pred);
      vstrbq_scatter_offset_p_s32(y, out_off, vminq_s32(vmaxq_s32(q, lo), hi), pred);
    }
  }
}

// Every channel of `l`, whose valid outer taps are [O0, O1).
template <int O0, int O1>
__attribute__((noinline)) void lines_all(const Out& o, const Lines& l, const int8_t* weights, const int32_t* consts) {
  Vectors v;
  v.lo = o.lo;
  v.hi = o.hi;
  v.off0 = vmulq_n_u32(vidupq_n_u32(0, 1), l.lane_in);
  v.off1 = vaddq_n_u32(v.off0, l.inner);
  v.off2 = vaddq_n_u32(v.off0, 2 * l.inner);
  v.out_off = vmulq_n_u32(vidupq_n_u32(0, 1), l.lane_out);
  for (size_t c = 0; c < l.C; ++c) {
    const int8_t* wt = weights + (c / 4) * 36 + c % 4;  // tap t of the channel at wt[4t], t = kh·3 + kw
    const int32_t* k = consts + (c / 4) * 16 + c % 4;
    Channel ch;
    int32_t pad = 0;  // Σ of the weights of the outer taps in the padding
    for (int a = 0; a < 3; ++a) {
      for (int b = 0; b < 3; ++b) {
        const int32_t w = wt[4 * (l.transposed ? b * 3 + a : a * 3 + b)];
        ch.w[a * 3 + b] = w;
        if (a < O0 || a >= O1) pad += w;
      }
    }
    // Those taps add zp_x·w (wrapping, as every product of the sum).
    ch.fold = (int32_t)((uint32_t)k[0] + (uint32_t)o.zp_x * (uint32_t)pad);
    ch.m = k[4];
    ch.left = k[8];
    ch.rneg = k[12];
    ch.zp_y = o.zp_y;
    ch.tie = ch.rneg < 0 ? 1 : 0;
    lines_channel<O0, O1>(l, ch, c, v);
  }
}

// Every channel of `l`, whose valid outer taps are [o0, o1) (o1 − o0 >= 2).
void run_lines(const Out& o, const Lines& l, int o0, int o1, const int8_t* weights, const int32_t* consts) {
  if (o0 == 1) {
    lines_all<1, 3>(o, l, weights, consts);
  } else if (o1 == 2) {
    lines_all<0, 2>(o, l, weights, consts);
  } else {
    lines_all<0, 3>(o, l, weights, consts);
  }
}

// [lo, hi): the outputs along one axis whose 3 taps (dilation d, stride s, padding pad) are all inside [0, size).
void full_range(int32_t size, int32_t out, int32_t s, int32_t pad, int32_t d, int32_t* lo, int32_t* hi) {
  int32_t a = (pad + s - 1) / s;
  const int32_t last = size - 1 + pad - 2 * d;  // o·s <= last
  int32_t b = last < 0 ? 0 : last / s + 1;
  if (a > out) a = out;
  if (b > out) b = out;
  if (b < a) b = a;
  *lo = a;
  *hi = b;
}

// The taps [t0, t1) of output o inside [0, size) along one axis.
void valid_taps(int32_t o, int32_t size, int32_t s, int32_t pad, int32_t d, int* t0, int* t1) {
  *t0 = 3;
  *t1 = 0;
  for (int t = 0; t < 3; ++t) {
    const int32_t i = o * s - pad + t * d;
    if (i >= 0 && i < size) {
      if (t < *t0) *t0 = t;
      *t1 = t + 1;
    }
  }
}

}  // namespace

extern "C" void eb_qs8_conv_dw_minmax_ukernel__mve(const eb_qs8_conv_params* p, const int8_t* input,
                                                   const int8_t* weights, const int32_t* bias,
                                                   const int32_t* multiplier, const int32_t* shift, int8_t* output,
                                                   const int32_t* consts) {
  (void)bias;        // folded into consts
  (void)multiplier;  // copied into consts
  (void)shift;       // split into consts
  Out o;
  o.zp_y = p->output_zero_point;
  o.zp_x = p->input_zero_point;
  o.lo = vdupq_n_s32(p->output_min);
  o.hi = vdupq_n_s32(p->output_max);
  Geometry g;
  g.H = p->input_height;
  g.W = p->input_width;
  g.C = p->input_channels;
  g.KH = p->kernel_height;
  g.KW = p->kernel_width;
  g.dh = p->dilation_height;
  g.dw = p->dilation_width;
  const int32_t OH = p->output_height, OW = p->output_width, sh = p->stride_height, sw = p->stride_width;
  const int32_t pt = p->pad_top, pl = p->pad_left;
  const size_t C = (size_t)g.C, row = (size_t)g.W * C, plane = (size_t)g.H * row;
  const size_t out_row = (size_t)OW * C, out_plane = (size_t)OH * out_row;
  // The gather path: rows [oh_lo, oh_hi) have their window's rows inside the input, columns [ow_lo, ow_hi) their
  // window's columns.
  int32_t oh_lo = 0, oh_hi = 0, ow_lo = 0, ow_hi = 0;
  if (g.KH == 3 && g.KW == 3) {
    full_range(g.H, OH, sh, pt, g.dh, &oh_lo, &oh_hi);
    full_range(g.W, OW, sw, pl, g.dw, &ow_lo, &ow_hi);
  }
  const bool rows_ok = oh_hi > oh_lo, cols_ok = ow_hi > ow_lo;
  // Edge rows (columns) take lines when those have a whole vector of outputs; shorter ones cost more per output in
  // the lines' per-channel setup and a predicated group than `pixel` does (KWS's 25×5: 3 columns).
  const bool edge_rows = ow_hi - ow_lo >= 4, edge_cols = oh_hi - oh_lo >= 4;
  for (int32_t n = 0; n < p->batch; ++n, input += plane, output += out_plane) {
    if (rows_ok && cols_ok) {
      Lines l;
      l.C = C;
      // The interior and the edge rows: lines along the output's columns.
      l.lane_in = (uint32_t)((size_t)sw * C);
      l.lane_out = (uint32_t)C;
      l.inner = (uint32_t)((size_t)g.dw * C);
      l.outer = (size_t)g.dh * row;
      l.lanes = ow_hi - ow_lo;
      l.transposed = false;
      const size_t x_col = (size_t)(ow_lo * sw - pl) * C, y_col = (size_t)ow_lo * C;
      l.line_in = (size_t)sh * row;
      l.line_out = out_row;
      l.x = input + (size_t)(oh_lo * sh - pt) * row + x_col;
      l.y = output + (size_t)oh_lo * out_row + y_col;
      l.lines = oh_hi - oh_lo;
      if (oh_hi - oh_lo > ow_hi - ow_lo) {
        // A tall interior (KWS's 25×5 maps: 3 interior columns) runs its lines along the rows: more full vectors.
        Lines t = l;
        t.lane_in = (uint32_t)l.line_in;
        t.lane_out = (uint32_t)l.line_out;
        t.inner = (uint32_t)l.outer;
        t.outer = l.inner;
        t.line_in = l.lane_in;
        t.line_out = l.lane_out;
        t.lanes = l.lines;
        t.lines = l.lanes;
        t.transposed = true;
        run_lines(o, t, 0, 3, weights, consts);
      } else {
        run_lines(o, l, 0, 3, weights, consts);
      }
      l.lines = 1;
      for (int32_t oh = 0; edge_rows && oh < OH; ++oh) {
        if (oh == oh_lo) oh = oh_hi;
        if (oh >= OH) break;
        int t0, t1;
        valid_taps(oh, g.H, sh, pt, g.dh, &t0, &t1);
        if (t1 - t0 < 2) continue;  // pixel
        l.x = input + (size_t)(oh * sh - pt + t0 * g.dh) * row + x_col;
        l.y = output + (size_t)oh * out_row + y_col;
        run_lines(o, l, t0, t1, weights, consts);
      }
      // The edge columns: lines along the output's rows of the interior.
      l.lane_in = (uint32_t)((size_t)sh * row);
      l.lane_out = (uint32_t)out_row;
      l.inner = (uint32_t)((size_t)g.dh * row);
      l.outer = (size_t)g.dw * C;
      l.lanes = oh_hi - oh_lo;
      l.transposed = true;
      for (int32_t ow = 0; edge_cols && ow < OW; ++ow) {
        if (ow == ow_lo) ow = ow_hi;
        if (ow >= OW) break;
        int t0, t1;
        valid_taps(ow, g.W, sw, pl, g.dw, &t0, &t1);
        if (t1 - t0 < 2) continue;  // pixel
        l.x = input + (size_t)(oh_lo * sh - pt) * row + (size_t)(ow * sw - pl + t0 * g.dw) * C;
        l.y = output + (size_t)oh_lo * out_row + (size_t)ow * C;
        run_lines(o, l, t0, t1, weights, consts);
      }
    }
    // Every other output pixel.
    const bool gather = rows_ok && cols_ok;
    for (int32_t oh = 0; oh < OH; ++oh) {
      const bool row_inner = gather && oh >= oh_lo && oh < oh_hi;  // the edge columns' lines cover it
      int r0 = 0, r1 = 0;
      if (gather && !row_inner) valid_taps(oh, g.H, sh, pt, g.dh, &r0, &r1);
      const bool row_lines = row_inner || (edge_rows && r1 - r0 >= 2);  // [ow_lo, ow_hi) done
      for (int32_t ow = 0; ow < OW; ++ow) {
        if (row_lines && ow == ow_lo) ow = ow_hi;
        if (ow >= OW) break;
        if (row_inner && edge_cols) {
          int c0, c1;
          valid_taps(ow, g.W, sw, pl, g.dw, &c0, &c1);
          if (c1 - c0 >= 2) continue;
        }
        pixel(o, g, input, weights, consts, oh * sh - pt, ow * sw - pl, output + (size_t)oh * out_row + (size_t)ow * C);
      }
    }
  }
}
