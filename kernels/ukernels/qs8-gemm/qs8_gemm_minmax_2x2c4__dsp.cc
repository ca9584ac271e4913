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
#include <arm_acle.h>
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

// SXTB16 of w rotated right by 8: (w1, w3); SXTAB16 likewise. One instruction with the rotate operand: GCC 12
// emits __sxtb16 of a rotated value as a separate ROR, and ACLE has no intrinsic for the rotated forms.
inline int32_t sxtb16_ror8(uint32_t w) {
  int32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(w));
  return r;
}
inline int32_t sxtab16_ror8(uint32_t a, uint32_t w) {
  int32_t r;
  __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(w));
  return r;
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

struct Rq {
  int32_t m, e, sh;
  uint32_t k_lo, k_hi;  // K for acc >= 0
  bool fast;
};

inline Rq rq_setup(int32_t m, int32_t e) {
  Rq r;
  r.m = m;
  r.e = e;
  r.fast = m > 0 && e < 0 && e >= -31;
  const uint32_t n = r.fast ? (uint32_t)-e : 1u;
  const uint32_t b = 1u << n;        // 2^n: K = 2^30 + b·2^30 as (hi, lo)
  r.k_lo = 0x40000000u | (b << 30);  // b << 30 keeps only n = 1's 2^31
  r.k_hi = b >> 2;
  r.sh = (int32_t)n - 1;
  return r;
}

inline int32_t rq_apply(const Rq& r, int32_t acc) {
  if (__builtin_expect(r.fast, 1)) {
    const uint64_t k = (((uint64_t)r.k_hi << 32) | r.k_lo) - ((uint64_t)(acc < 0) << 31);
    const int64_t sum = (int64_t)(k + (uint64_t)((int64_t)acc * r.m));
    return (int32_t)(sum >> 32) >> r.sh;
  }
  return mbqm_slow(acc, r.m, r.e);
}

// q + zp_y saturated to int32 (QADD: sat32 of eq. 6's output stage), then clamped to [min, max].
inline int8_t finish(int32_t q, int32_t zp, int32_t lo, int32_t hi) { return eb_clamp_s8(__qadd(q, zp), lo, hi); }

// One group of 4 k of a ROWS x COLS tile in C (the odd group the unrolled loops leave, and the 1-column tiles).
template <int ROWS, int COLS>
inline void group(const uint32_t*& x, const int8_t*& w0, const int8_t*& w1, int32_t& a00, int32_t& a01, int32_t& a10,
                  int32_t& a11) {
  const uint32_t xa0 = x[0], xa1 = x[1];
  const uint32_t xb0 = ROWS > 1 ? x[2] : 0, xb1 = ROWS > 1 ? x[3] : 0;
  x += 2 * ROWS;
  {
    const uint32_t w = load_u32(w0);
    w0 += 4;
    const int32_t we = __sxtb16(w), wo = sxtb16_ror8(w);
    a00 = __smlad(we, xa0, a00);
    a00 = __smlad(wo, xa1, a00);
    if (ROWS > 1) {
      a10 = __smlad(we, xb0, a10);
      a10 = __smlad(wo, xb1, a10);
    }
  }
  if (COLS > 1) {
    const uint32_t w = load_u32(w1);
    w1 += 4;
    const int32_t we = __sxtb16(w), wo = sxtb16_ror8(w);
    a01 = __smlad(we, xa0, a01);
    a01 = __smlad(wo, xa1, a01);
    if (ROWS > 1) {
      a11 = __smlad(we, xb0, a11);
      a11 = __smlad(wo, xb1, a11);
    }
  }
}

// The k loop of the 2 x 2 and 1 x 2 tiles, two groups (8 k) an iteration, in inline assembly: the 2 x 2 loop needs
// 14 registers (4 accumulators, 4 x words, 2 weight words, 3 pointers and the end), which GCC 12's allocator does
// not find from the intrinsics (it spills the end pointer and re-reads it every group). Per group of the 2 x 2:
// 2 LDRD (both rows' x), 2 LDR (two weight words, unaligned allowed), 4 SXTB16, 8 SMLAD.
#define EB_DSP_2X2_GROUP                    \
  "ldrd %[xa0], %[xa1], [%[x]], #8\n\t"     \
  "ldrd %[xb0], %[xb1], [%[x]], #8\n\t"     \
  "ldr %[w], [%[w0]], #4\n\t"               \
  "sxtb16 %[we], %[w]\n\t"                  \
  "sxtb16 %[w], %[w], ror #8\n\t"           \
  "smlad %[a00], %[we], %[xa0], %[a00]\n\t" \
  "smlad %[a10], %[we], %[xb0], %[a10]\n\t" \
  "smlad %[a00], %[w], %[xa1], %[a00]\n\t"  \
  "smlad %[a10], %[w], %[xb1], %[a10]\n\t"  \
  "ldr %[w], [%[w1]], #4\n\t"               \
  "sxtb16 %[we], %[w]\n\t"                  \
  "sxtb16 %[w], %[w], ror #8\n\t"           \
  "smlad %[a01], %[we], %[xa0], %[a01]\n\t" \
  "smlad %[a11], %[we], %[xb0], %[a11]\n\t" \
  "smlad %[a01], %[w], %[xa1], %[a01]\n\t"  \
  "smlad %[a11], %[w], %[xb1], %[a11]\n\t"

#define EB_DSP_1X2_GROUP                    \
  "ldrd %[xa0], %[xa1], [%[x]], #8\n\t"     \
  "ldr %[w], [%[w0]], #4\n\t"               \
  "sxtb16 %[we], %[w]\n\t"                  \
  "sxtb16 %[w], %[w], ror #8\n\t"           \
  "smlad %[a00], %[we], %[xa0], %[a00]\n\t" \
  "smlad %[a00], %[w], %[xa1], %[a00]\n\t"  \
  "ldr %[w], [%[w1]], #4\n\t"               \
  "sxtb16 %[we], %[w]\n\t"                  \
  "sxtb16 %[w], %[w], ror #8\n\t"           \
  "smlad %[a01], %[we], %[xa0], %[a01]\n\t" \
  "smlad %[a01], %[w], %[xa1], %[a01]\n\t"

// ROWS x COLS tile of outputs (columns c, c + 1) over all k: x is eb_qs8_gemm_dsp_pack_rows's layout, group g of
// row r at words (g·ROWS + r)·2 + {0, 1}.
template <int ROWS, int COLS>
inline void tile(const eb_qs8_gemm_dsp_tile* t, size_t c) {
  const size_t k = t->k, groups = k / 4, tail = k % 4;
  const int8_t* w0 = t->weights + c * k;
  const int8_t* w1 = w0 + (COLS > 1 ? k : 0);
  const int32_t b0 = t->bias != NULL ? t->bias[c] : 0;
  const int32_t b1 = (COLS > 1 && t->bias != NULL) ? t->bias[c + 1] : 0;
  int32_t a00 = b0, a01 = b1, a10 = b0, a11 = b1;  // a<row><col>
  const uint32_t* x = (const uint32_t*)t->x;
  size_t g = 0;
  if (groups % 2 != 0) {
    group<ROWS, COLS>(x, w0, w1, a00, a01, a10, a11);
    g = 1;
  }
  if (COLS == 2 && g < groups) {
    const uint32_t* end = x + (groups - g) * 2 * ROWS;
    uint32_t xa0, xa1, xb0, xb1, w, we;
    if (ROWS == 2) {
      __asm__ volatile("1:\n\t" EB_DSP_2X2_GROUP EB_DSP_2X2_GROUP
                       "cmp %[x], %[end]\n\t"
                       "bne 1b\n\t"
                       : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [x] "+r"(x), [w0] "+r"(w0),
                         [w1] "+r"(w1), [xa0] "=&r"(xa0), [xa1] "=&r"(xa1), [xb0] "=&r"(xb0), [xb1] "=&r"(xb1),
                         [w] "=&r"(w), [we] "=&r"(we)
                       : [end] "r"(end)
                       : "memory");
    } else {
      __asm__ volatile("1:\n\t" EB_DSP_1X2_GROUP EB_DSP_1X2_GROUP
                       "cmp %[x], %[end]\n\t"
                       "bne 1b\n\t"
                       : [a00] "+r"(a00), [a01] "+r"(a01), [x] "+r"(x), [w0] "+r"(w0), [w1] "+r"(w1), [xa0] "=&r"(xa0),
                         [xa1] "=&r"(xa1), [w] "=&r"(w), [we] "=&r"(we)
                       : [end] "r"(end)
                       : "memory");
    }
  } else {
    for (; g < groups; ++g) group<ROWS, COLS>(x, w0, w1, a00, a01, a10, a11);
  }
  if (tail != 0) {  // natural order: row 0's tail, then row 1's
    const int16_t* xt = (const int16_t*)x;
    for (size_t i = 0; i < tail; ++i) {
      const int32_t xa = xt[i], xb = ROWS > 1 ? xt[tail + i] : 0;
      a00 = eb_add_wrap_s32(a00, xa * w0[i]);
      if (ROWS > 1) a10 = eb_add_wrap_s32(a10, xb * w0[i]);
      if (COLS > 1) {
        a01 = eb_add_wrap_s32(a01, xa * w1[i]);
        if (ROWS > 1) a11 = eb_add_wrap_s32(a11, xb * w1[i]);
      }
    }
  }
  const int32_t zp = t->output_zero_point, lo = t->output_min, hi = t->output_max;
  const Rq r0 = rq_setup(t->multiplier[c], t->shift[c]);
  t->y0[c] = finish(rq_apply(r0, a00), zp, lo, hi);
  if (ROWS > 1) t->y1[c] = finish(rq_apply(r0, a10), zp, lo, hi);
  if (COLS > 1) {
    const Rq r1 = rq_setup(t->multiplier[c + 1], t->shift[c + 1]);
    t->y0[c + 1] = finish(rq_apply(r1, a01), zp, lo, hi);
    if (ROWS > 1) t->y1[c + 1] = finish(rq_apply(r1, a11), zp, lo, hi);
  }
}

template <int ROWS>
void all_columns(const eb_qs8_gemm_dsp_tile* t) {
  size_t c = 0;
  for (; c + 2 <= t->n; c += 2) tile<ROWS, 2>(t, c);
  if (c < t->n) tile<ROWS, 1>(t, c);
}

}  // namespace

extern "C" void eb_qs8_gemm_dsp_pack_rows(const int8_t* row0, const int8_t* row1, size_t k, int32_t input_zero_point,
                                          int16_t* packed) {
  // SXTAB16(offset, w) adds the sign-extended bytes 0 and 2 of w to the halfwords of offset: (x0 − zp, x2 − zp).
  const uint32_t offset = ((uint32_t)(-input_zero_point) & 0xFFFFu) * 0x10001u;
  const size_t groups = k / 4, tail = k % 4, rows = row1 != NULL ? 2 : 1;
  uint32_t* out = (uint32_t*)packed;
  for (size_t g = 0; g < groups; ++g) {
    const uint32_t a = load_u32(row0 + 4 * g);
    out[0] = __sxtab16(offset, a);
    out[1] = sxtab16_ror8(offset, a);
    if (rows > 1) {
      const uint32_t b = load_u32(row1 + 4 * g);
      out[2] = __sxtab16(offset, b);
      out[3] = sxtab16_ror8(offset, b);
    }
    out += 2 * rows;
  }
  int16_t* t = (int16_t*)out;
  for (size_t i = 0; i < tail; ++i) t[i] = (int16_t)(row0[4 * groups + i] - input_zero_point);
  if (rows > 1) {
    for (size_t i = 0; i < tail; ++i) t[tail + i] = (int16_t)(row1[4 * groups + i] - input_zero_point);
  }
}

extern "C" void eb_qs8_gemm_minmax_ukernel_2x2c4__dsp(const eb_qs8_gemm_dsp_tile* t, size_t rows) {
  if (rows >= 2) {
    all_columns<2>(t);
  } else {
    all_columns<1>(t);
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
