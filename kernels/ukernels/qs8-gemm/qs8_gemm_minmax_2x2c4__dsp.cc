// qs8_gemm_minmax_2x2c4__dsp.cc: Cortex-M DSP extension (M4/M7/M33) int8 GEMM, bit-identical to its reference
// twin eb_qs8_gemm_ref (and, through the CONV2D kernel that calls the same core, to eb_qs8_conv_ref).
//
// The sum of docs/quantization.md (6) runs as SMLAD: two exact int16 x int16 products added to an int32 accumulator
// per instruction. x is widened once per row, with zp_x subtracted (SXTAB16), into the order SXTB16 widens a
// weight word (eb_qs8_gemm_dsp_pack_rows), so the weights stay int8 in flash, in the reference's layout, and the
// inner loop is, per 4 k of a 2-row x 2-channel tile, 2 LDRD + 2 LDR + 4 SXTB16 + 8 SMLAD = 16 instructions for 16
// MACs. |x - zp| <= 255 and |w| <= 128 fit int16 and a pair of products fits int32, and SMLAD's accumulation wraps
// like eb_add_wrap_s32, so the accumulator equals the reference's. The requantization (5) is done once per output
// (rq_apply below, derivation there).
#include <string.h>

#include "edgebuild/requant.h"
#include "edgebuild/ukernels.h"
#include "qs8_gemm_dsp.h"

namespace {

inline uint32_t load_u32(const void* p) {  // unaligned-safe (LDR on M4/M7/M33 allows unaligned words)
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

// Requantization of one channel, docs/quantization.md (5): when e < 0 (the usual case, M < 0.5) and m > 0 (eq. 3:
// m >= 2^30), MBQM(acc, m, e) is one 64-bit multiply-accumulate and one shift:
//   SRDHM(acc, m) = floor(P / 2^31), P = acc·m + 2^30: (4a)'s nudge with a truncating division rounds half up
//   (for acc·m < 0, trunc((acc·m + 1 − 2^30) / 2^31) = floor((acc·m + 2^30) / 2^31)); it saturates only for
//   acc = m = −2^31, not a valid m. With n = −e >= 1, (4b) is RDBPOT(x, n) = floor((x + 2^(n−1) − [x < 0]) / 2^n)
//   (r > t ⇔ r + 2^(n−1) − [x < 0] >= 2^n), and floor((floor(P / 2^31) + c) / 2^n) = floor((P + c·2^31) /
//   2^(31+n)) for an integer c, so
//     MBQM = (acc·m + K) >> (31 + n),  K = 2^30 + 2^(n+30) − [x < 0]·2^31,
//   the high word of the 64-bit sum shifted right by n − 1. [x < 0] may be taken as [acc < 0]: they differ only
//   when x = 0, where both give 0 (P + (2^(n−1) − 1)·2^31 < 2^(n+30) for 0 <= P < 2^30).
// Other (m, e) take eb_mbqm itself.
__attribute__((noinline)) int32_t mbqm_slow(int32_t acc, int32_t m, int32_t e) { return eb_mbqm(acc, m, e); }

// One channel's constants for the fast path: m, K for acc >= 0 as (k_hi, k_lo), and the final shift n − 1.
struct Rq {
  int32_t m, sh;
  uint32_t k_lo, k_hi;
};

inline bool rq_fast(int32_t m, int32_t e) { return m > 0 && e < 0 && e >= -31; }

inline Rq rq_setup(int32_t m, int32_t e) {  // for rq_fast(m, e)
  Rq r;
  r.m = m;
  const uint32_t n = (uint32_t)-e;
  const uint32_t b = 1u << n;        // 2^n: K = 2^30 + b·2^30 as (hi, lo)
  r.k_lo = 0x40000000u | (b << 30);  // b << 30 keeps only n = 1's 2^31
  r.k_hi = b >> 2;
  r.sh = (int32_t)n - 1;
  return r;
}

// MBQM(acc, m, e) + zp_y for rq_fast(m, e): |MBQM| <= 2^30 there (n >= 1), so + zp_y cannot overflow.
inline int32_t rq_apply(const Rq& r, int32_t acc, int32_t zp) {
  const uint64_t k = (((uint64_t)r.k_hi << 32) | r.k_lo) - ((uint64_t)(acc < 0) << 31);
  const int64_t sum = (int64_t)(k + (uint64_t)((int64_t)acc * r.m));
  return ((int32_t)(sum >> 32) >> r.sh) + zp;
}

// Any (m, e): eq. (6)'s output stage exactly as the reference writes it.
inline int8_t finish_slow(int32_t acc, int32_t m, int32_t e, int32_t zp, int32_t lo, int32_t hi) {
  return eb_clamp_s8(__qadd(mbqm_slow(acc, m, e), zp), lo, hi);
}

// The k loops, in assembly: per group of 4 k of a 2 x 2 tile, 2 LDRD (both rows' x), 2 LDR (two weight words,
// unaligned allowed), 4 SXTB16 (the rotated form is one instruction; ACLE has no intrinsic for it), 8 SMLAD: 16
// instructions for 16 MACs, two groups an iteration, entered at the second group when the count is odd ((end − x)
// in bytes is 16 per group in the 2 x 2 loop, 4 in the 1 x 4 one). A 2 x 2 loop needs 14 registers, so it cannot be
// inline asm with operands: GCC's allocator fails on it at -Os and -O3 or with a frame pointer ("impossible
// constraints"). So each loop is a naked function with its registers spelled out, whatever the optimization level,
// taking its state in a struct:
//   r0 = the struct, r1..r4 the accumulators, r5 x, r6 the end of x, r7 / r8 the weight pointers, r9 k, r10 the
//   SXTAB16 offset (−zp_x in both halves); the rest are temporaries.
struct LoopArgs {
  int32_t acc[4];    // 2 x 2: a00, a01, a10, a11; 1 x 4: a0..a3
  const void* x;     // groups >= 1
  const void* end;   // x + groups groups
  const int8_t* w0;  // column 0's weights
  const int8_t* w1;  // column 1's (1 x 4: column 2's)
  size_t k;          // 1 x 4: the weight row length (columns 1 and 3 are read at [w0 + k], [w1 + k])
  uint32_t offset;   // 1 x 4 on int8 x
};

// One instruction per line (clang-format-14 reflows these string macros differently on each pass).
// clang-format off
#define EB_DSP_LOOP_BEGIN(LAST, ODD)    \
  "push {r0, r4-r11, lr}\n\t"           \
  "ldm r0, {r1-" LAST "}\n\t"           \
  "sub lr, r6, r5\n\t"                  \
  "tst lr, #" ODD "\n\t"                \
  "bne 2f\n\t"                          \
  "1:\n\t"
#define EB_DSP_LOOP_END                 \
  "cmp r5, r6\n\t"                      \
  "bne 1b\n\t"                          \
  "ldr r0, [sp]\n\t"                    \
  "stm r0, {r1-r4}\n\t"                 \
  "pop {r0, r4-r11, pc}\n\t"

// One weight word at ADDR widened into r0 (w0, w2) and lr (w1, w3), then two SMLADs into ACC with x words XE, XO.
#define EB_DSP_W(ADDR)                  \
  "ldr lr, " ADDR "\n\t"                \
  "sxtb16 r0, lr\n\t"                   \
  "sxtb16 lr, lr, ror #8\n\t"
#define EB_DSP_MAC(ACC, XE, XO)         \
  "smlad " ACC ", r0, " XE ", " ACC "\n\t" \
  "smlad " ACC ", lr, " XO ", " ACC "\n\t"

#define EB_DSP_2X2_GROUP                \
  "ldrd r9, r10, [r5], #8\n\t"          \
  "ldrd r11, r12, [r5], #8\n\t"         \
  EB_DSP_W("[r7], #4")                  \
  EB_DSP_MAC("r1", "r9", "r10")         \
  EB_DSP_MAC("r3", "r11", "r12")        \
  EB_DSP_W("[r8], #4")                  \
  EB_DSP_MAC("r2", "r9", "r10")         \
  EB_DSP_MAC("r4", "r11", "r12")

// 1 x 4 on int8 x widened here: 23 instructions per 16 MACs.
#define EB_DSP_1X4_S8_GROUP             \
  "ldr r12, [r5], #4\n\t"               \
  "sxtab16 r11, r10, r12\n\t"           \
  "sxtab16 r12, r10, r12, ror #8\n\t"   \
  EB_DSP_W("[r7, r9]")                  \
  EB_DSP_MAC("r2", "r11", "r12")        \
  EB_DSP_W("[r7], #4")                  \
  EB_DSP_MAC("r1", "r11", "r12")        \
  EB_DSP_W("[r8, r9]")                  \
  EB_DSP_MAC("r4", "r11", "r12")        \
  EB_DSP_W("[r8], #4")                  \
  EB_DSP_MAC("r3", "r11", "r12")
// clang-format on

__attribute__((naked, noinline)) void loop_2x2(LoopArgs*) {
  __asm__ volatile(EB_DSP_LOOP_BEGIN("r8", "16") EB_DSP_2X2_GROUP "2:\n\t" EB_DSP_2X2_GROUP EB_DSP_LOOP_END);
}
__attribute__((naked, noinline)) void loop_1x4_s8(LoopArgs*) {
  __asm__ volatile(EB_DSP_LOOP_BEGIN("r10", "4") EB_DSP_1X4_S8_GROUP "2:\n\t" EB_DSP_1X4_S8_GROUP EB_DSP_LOOP_END);
}

// Four adjacent outputs of one row: requantized (fast path when every channel allows it), clamped as packed bytes.
inline void finish4(int32_t a0, int32_t a1, int32_t a2, int32_t a3, const int32_t* mult, const int32_t* shift,
                    int32_t zp, int32_t lo, int32_t hi, int8_t* y) {
  const int32_t m0 = mult[0], e0 = shift[0], m1 = mult[1], e1 = shift[1];
  const int32_t m2 = mult[2], e2 = shift[2], m3 = mult[3], e3 = shift[3];
  if (__builtin_expect(rq_fast(m0, e0) && rq_fast(m1, e1) && rq_fast(m2, e2) && rq_fast(m3, e3), 1)) {
    const uint32_t lo4 = (uint32_t)(uint8_t)lo * 0x01010101u, hi4 = (uint32_t)(uint8_t)hi * 0x01010101u;
    uint32_t v = (uint32_t)__ssat(rq_apply(rq_setup(m0, e0), a0, zp), 8) & 0xFFu;
    v |= ((uint32_t)__ssat(rq_apply(rq_setup(m1, e1), a1, zp), 8) & 0xFFu) << 8;
    v |= ((uint32_t)__ssat(rq_apply(rq_setup(m2, e2), a2, zp), 8) & 0xFFu) << 16;
    v |= (uint32_t)__ssat(rq_apply(rq_setup(m3, e3), a3, zp), 8) << 24;
    __ssub8(v, lo4);
    v = __sel(v, lo4);
    __ssub8(hi4, v);
    v = __sel(v, hi4);
    memcpy(y, &v, 4);
  } else {
    y[0] = finish_slow(a0, m0, e0, zp, lo, hi);
    y[1] = finish_slow(a1, m1, e1, zp, lo, hi);
    y[2] = finish_slow(a2, m2, e2, zp, lo, hi);
    y[3] = finish_slow(a3, m3, e3, zp, lo, hi);
  }
}

// All n columns of the two packed rows: x is eb_qs8_gemm_dsp_pack_rows's layout, group g of row r at words
// (2g + r)·2 + {0, 1}, the K % 4 tail after the groups, row 0's then row 1's.
void columns(const eb_qs8_gemm_dsp_tile* t) {
  const size_t k = t->k, n = t->n, groups = k / 4, tail = k % 4;
  const uint32_t* const xg = (const uint32_t*)t->x;
  const uint32_t* const xg_end = xg + groups * 4;
  const int16_t* const xt = (const int16_t*)xg_end;
  const int8_t* w = t->weights;
  const int32_t* const bias = t->bias;
  const int32_t* const mult = t->multiplier;
  const int32_t* const shift = t->shift;
  int8_t* const y0 = t->y0;
  int8_t* const y1 = t->y1;
  const int32_t zp = t->output_zero_point, lo = t->output_min, hi = t->output_max;
  // The clamp to [lo, hi] on four int8 lanes at once: SSUB8 sets a lane's GE flag where a − b >= 0, SEL picks.
  const uint32_t lo4 = (uint32_t)(uint8_t)lo * 0x01010101u, hi4 = (uint32_t)(uint8_t)hi * 0x01010101u;
  size_t c = 0;
  for (; c + 2 <= n; c += 2, w += 2 * k) {
    int32_t a00 = bias != NULL ? bias[c] : 0, a01 = bias != NULL ? bias[c + 1] : 0;
    int32_t a10 = a00, a11 = a01;  // a<row><col>
    if (groups != 0) {
      LoopArgs s = {{a00, a01, a10, a11}, xg, xg_end, w, w + k, 0, 0};
      loop_2x2(&s);
      a00 = s.acc[0];
      a01 = s.acc[1];
      a10 = s.acc[2];
      a11 = s.acc[3];
    }
    const int8_t* w0 = w + 4 * groups;  // the tails
    const int8_t* w1 = w0 + k;
    for (size_t i = 0; i < tail; ++i) {
      const int32_t xa = xt[i], xb = xt[tail + i];
      a00 = eb_add_wrap_s32(a00, xa * w0[i]);
      a01 = eb_add_wrap_s32(a01, xa * w1[i]);
      a10 = eb_add_wrap_s32(a10, xb * w0[i]);
      a11 = eb_add_wrap_s32(a11, xb * w1[i]);
    }
    const int32_t m0 = mult[c], e0 = shift[c], m1 = mult[c + 1], e1 = shift[c + 1];
    if (__builtin_expect(rq_fast(m0, e0) && rq_fast(m1, e1), 1)) {
      const Rq r0 = rq_setup(m0, e0), r1 = rq_setup(m1, e1);
      // Saturated to int8 (SSAT), then packed as bytes [y0[c], y0[c + 1], y1[c], y1[c + 1]] and clamped together.
      uint32_t v = (uint32_t)__ssat(rq_apply(r0, a00, zp), 8) & 0xFFu;
      v |= ((uint32_t)__ssat(rq_apply(r1, a01, zp), 8) & 0xFFu) << 8;
      v |= ((uint32_t)__ssat(rq_apply(r0, a10, zp), 8) & 0xFFu) << 16;
      v |= (uint32_t)__ssat(rq_apply(r1, a11, zp), 8) << 24;
      __ssub8(v, lo4);
      v = __sel(v, lo4);
      __ssub8(hi4, v);
      v = __sel(v, hi4);
      const uint16_t v0 = (uint16_t)v, v1 = (uint16_t)(v >> 16);
      memcpy(y1 + c, &v1, 2);  // row 1 first: when y1 = y0 (one row packed twice) the bytes are the same
      memcpy(y0 + c, &v0, 2);
    } else {
      y1[c] = finish_slow(a10, m0, e0, zp, lo, hi);
      y1[c + 1] = finish_slow(a11, m1, e1, zp, lo, hi);
      y0[c] = finish_slow(a00, m0, e0, zp, lo, hi);
      y0[c + 1] = finish_slow(a01, m1, e1, zp, lo, hi);
    }
  }
  if (c < n) {  // the last column of an odd n, in C
    int32_t a0 = bias != NULL ? bias[c] : 0, a1 = a0;
    const uint32_t* x = xg;
    const int8_t* w0 = w;
    for (size_t g = 0; g < groups; ++g, x += 4, w0 += 4) {
      const uint32_t wv = load_u32(w0);
      const int32_t we = __sxtb16(wv), wo = eb_sxtb16_ror8(wv);
      a0 = __smlad(wo, x[1], __smlad(we, x[0], a0));
      a1 = __smlad(wo, x[3], __smlad(we, x[2], a1));
    }
    for (size_t i = 0; i < tail; ++i) {
      a0 = eb_add_wrap_s32(a0, xt[i] * w0[i]);
      a1 = eb_add_wrap_s32(a1, xt[tail + i] * w0[i]);
    }
    y1[c] = finish_slow(a1, mult[c], shift[c], zp, lo, hi);
    y0[c] = finish_slow(a0, mult[c], shift[c], zp, lo, hi);
  }
}

}  // namespace

extern "C" void eb_qs8_gemm_dsp_pack_rows(const int8_t* row0, const int8_t* row1, size_t k, int32_t input_zero_point,
                                          int16_t* packed) {
  if (row1 == NULL) row1 = row0;  // one row: packed twice (eb_qs8_gemm_minmax_ukernel_2x2c4__dsp with rows = 1)
  // SXTAB16(offset, w) adds the sign-extended bytes 0 and 2 of w to the halfwords of offset: (x0 − zp, x2 − zp).
  const uint32_t offset = ((uint32_t)(-input_zero_point) & 0xFFFFu) * 0x10001u;
  const size_t groups = k / 4, tail = k % 4;
  uint32_t* out = (uint32_t*)packed;
  for (size_t g = 0; g < groups; ++g, out += 4) {
    const uint32_t a = load_u32(row0 + 4 * g), b = load_u32(row1 + 4 * g);
    out[0] = __sxtab16(offset, a);
    out[1] = eb_sxtab16_ror8(offset, a);
    out[2] = __sxtab16(offset, b);
    out[3] = eb_sxtab16_ror8(offset, b);
  }
  int16_t* t = (int16_t*)out;
  for (size_t i = 0; i < tail; ++i) {
    t[i] = (int16_t)(row0[4 * groups + i] - input_zero_point);
    t[tail + i] = (int16_t)(row1[4 * groups + i] - input_zero_point);
  }
}

extern "C" void eb_qs8_gemm_minmax_ukernel_2x2c4__dsp(const eb_qs8_gemm_dsp_tile* t, size_t rows) {
  if (rows >= 2) {
    columns(t);
  } else {  // row 1 is row 0 packed again: its outputs land on row 0's, with the same bytes
    eb_qs8_gemm_dsp_tile one = *t;
    one.y1 = one.y0;
    columns(&one);
  }
}

// FULLY_CONNECTED of one row (batch 1), the reference's signature exactly: no scratch, x widened in the k loop.
extern "C" void eb_qs8_gemm_minmax_ukernel_1x4c4__dsp(const eb_qs8_gemm_params* p, const int8_t* input,
                                                      const int8_t* weights, const int32_t* bias,
                                                      const int32_t* multiplier, const int32_t* shift, int8_t* output) {
  const size_t k = p->k, groups = k / 4, tail = k % 4;
  const int32_t zx = p->input_zero_point, zp = p->output_zero_point, lo = p->output_min, hi = p->output_max;
  const uint32_t offs = ((uint32_t)(-zx) & 0xFFFFu) * 0x10001u;
  const int8_t* const x_end = input + 4 * groups;
  const int8_t* w = weights;
  for (size_t c = 0; c < p->n; w += k) {
    if (c + 4 <= p->n) {
      int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
      if (bias != NULL) {
        a0 = bias[c];
        a1 = bias[c + 1];
        a2 = bias[c + 2];
        a3 = bias[c + 3];
      }
      if (groups != 0) {
        LoopArgs s = {{a0, a1, a2, a3}, input, x_end, w, w + 2 * k, k, offs};
        loop_1x4_s8(&s);
        a0 = s.acc[0];
        a1 = s.acc[1];
        a2 = s.acc[2];
        a3 = s.acc[3];
      }
      const int8_t* w0 = w + 4 * groups;  // the tails
      const int8_t* w2 = w0 + 2 * k;
      const int8_t* w1 = w0 + k;
      const int8_t* w3 = w2 + k;
      for (size_t i = 0; i < tail; ++i) {
        const int32_t xa = x_end[i] - zx;
        a0 = eb_add_wrap_s32(a0, xa * w0[i]);
        a1 = eb_add_wrap_s32(a1, xa * w1[i]);
        a2 = eb_add_wrap_s32(a2, xa * w2[i]);
        a3 = eb_add_wrap_s32(a3, xa * w3[i]);
      }
      finish4(a0, a1, a2, a3, multiplier + c, shift + c, zp, lo, hi, output + c);
      c += 4;
      w += 3 * k;
    } else {  // the last n % 4 columns
      int32_t a = bias != NULL ? bias[c] : 0;
      const int8_t* w0 = w;
      for (const int8_t* x = input; x != x_end; x += 4, w0 += 4) {
        const uint32_t xv = load_u32(x), wv = load_u32(w0);
        a = __smlad(__sxtb16(wv), __sxtab16(offs, xv), a);
        a = __smlad(eb_sxtb16_ror8(wv), eb_sxtab16_ror8(offs, xv), a);
      }
      for (size_t i = 0; i < tail; ++i) a = eb_add_wrap_s32(a, (x_end[i] - zx) * w0[i]);
      output[c] = finish_slow(a, multiplier[c], shift[c], zp, lo, hi);
      c += 1;
    }
  }
}

// FULLY_CONNECTED, the reference's arguments plus EB_QS8_GEMM_DSP_PACKED_BYTES(k) of scratch: rows two at a time.
extern "C" void eb_qs8_gemm_minmax_ukernel__dsp(const eb_qs8_gemm_params* p, const int8_t* input, const int8_t* weights,
                                                const int32_t* bias, const int32_t* multiplier, const int32_t* shift,
                                                int8_t* output, void* scratch) {
  eb_qs8_gemm_dsp_tile t;
  t.x = (const int16_t*)scratch;
  t.weights = weights;
  t.bias = bias;
  t.multiplier = multiplier;
  t.shift = shift;
  t.n = p->n;
  t.k = p->k;
  t.output_zero_point = p->output_zero_point;
  t.output_min = p->output_min;
  t.output_max = p->output_max;
  for (size_t m = 0; m < p->m; m += 2) {
    const size_t rows = p->m - m >= 2 ? 2 : 1;
    const int8_t* x0 = input + m * p->k;
    eb_qs8_gemm_dsp_pack_rows(x0, rows > 1 ? x0 + p->k : NULL, p->k, p->input_zero_point, (int16_t*)scratch);
    t.y0 = output + m * p->n;
    t.y1 = t.y0 + p->n;
    eb_qs8_gemm_minmax_ukernel_2x2c4__dsp(&t, rows);
  }
}
