// qs8_gemm_minmax_4x16c8__i8mm.cc: int8 GEMM microkernel for armv8.6 cores with I8MM (Cortex-A510/A710/X2 and
// later, Neoverse N2/V1/V2).
// Reference twin: eb_qs8_gemm_ref (qs8-gemm/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc).
//
// SMMLA (vmmlaq_s32) multiplies a 2×8 int8 block of A (two rows, 8 k) by an 8×2 block of B (two columns, 8 k) into a
// 2×2 int32 block: 32 exact MACs per instruction, twice SDOT. The packed weights are the c8 layout every kr = 8
// kernel uses ([kc / 8][nr][8], ukernels_isa.h): the 16 bytes of columns j and j+1 at one k step are exactly the B
// operand, so packing needs nothing new, and one 4-register `ld1` fetches the operands of 8 columns. A pair of rows
// is one A operand: one 16-byte load per row covers two k steps, zip1 / zip2 of the 64-bit halves make the two
// operands. Per 16 k: 4 row loads, 4 zips, 4 weight loads, 32 SMMLA for 1024 MACs (46 with the loop control:
// 1.44× MACs / 32). 8x8 would need 8 row loads and 8 zips for the same 32 SMMLA; 6x16 or 8x12 need 24 of the 32
// vector registers for accumulators (docs/kernel-naming.md).
//
// One call covers every column block of its rows (GemmKernel::nc_any, ukernels_isa.h): the per-call work (row
// pointers, output constants, saving registers) is paid once per 4 rows, and the first block's loop also stores its
// zipped A operands to the stack, so that every further block reads them with one 64-byte load per 16 k: 39
// instructions per 16 k (1.22× MACs / 32) instead of 46.
//
// The accumulators stay in SMMLA's 2×2 order ([r0c0, r0c1, r1c0, r1c1] for rows 2P, 2P + 1 and columns 2Q, 2Q + 1)
// through the whole kernel: they start from the bias replicated into that order (`ld4r` of 64-bit column pairs, one
// instruction per 4 registers), the requantization constants are loaded in the same order, and only the narrowed
// bytes are put in row order (one UZP per two rows: the 16-bit lanes of the narrowed bytes are column pairs of
// alternating rows). This costs 4 permutes per tile where un-zipping the int32 blocks costs 16.
#include <arm_neon.h>
#include <string.h>

#include "../requant/requant__neon.h"
#include "edgebuild/ukernels_isa.h"

namespace {
constexpr size_t kNR = 16;
// Longest kc whose zipped rows (4 · kc bytes, on the stack) are kept for the blocks after the first: ResNet's 3×3×512
// convolutions; longer rows are zipped again per block. 18 KiB of stack, within musl's 128 KiB thread stacks.
constexpr size_t kMaxZippedKc = 4608;

// Eight int32 of a header array (columns 8h .. 8h + 7) in SMMLA order: register q = [v[2q], v[2q + 1]] twice.
inline int64x2x4_t pairs8(const int32_t* v) { return vld4q_dup_s64(reinterpret_cast<const int64_t*>(v)); }
inline int32x4_t s32(int64x2_t v) { return vreinterpretq_s32_s64(v); }

// Stores the first nc (< 16) bytes of v at c.
inline void store_partial(int8_t* c, int8x16_t v, size_t nc) {
  if (nc & 8) {
    vst1_s8(c, vget_low_s8(v));
    c += 8;
    v = vextq_s8(v, v, 8);
  }
  if (nc & 4) {
    vst1q_lane_s32(reinterpret_cast<int32_t*>(c), vreinterpretq_s32_s8(v), 0);
    c += 4;
    v = vextq_s8(v, v, 4);
  }
  if (nc & 2) {
    vst1q_lane_s16(reinterpret_cast<int16_t*>(c), vreinterpretq_s16_s8(v), 0);
    c += 2;
    v = vextq_s8(v, v, 2);
  }
  if (nc & 1) vst1q_lane_s8(c, v, 0);
}

// The output constants of a call: docs/quantization.md (6).
struct Out {
  int16x8_t zp;
  int8x16_t act_min, act_max;
  bool clamp;  // false: [act_min, act_max] is all of int8 and narrowing's saturation is the clamp
};

// The accumulators of one block (SMMLA order, accP_Q = acc[P][Q]) to its 4 rows of 16 bytes (row i in out[i]).
inline void requantize(const int32_t* header, int32x4_t (&acc)[2][8], const Out& o, int8x16_t (&out)[4]) {
  // docs/quantization.md (5) on every accumulator, 8 columns (one ld4r per constant array) at a time. The header
  // holds −right and the block's flags (GemmKernel::flags, packed once at load), so neither a negation nor a test of
  // the shifts is needed here.
  // Fast path: when every stored column has e < 0 (EB_GEMM_BLOCK_RSHIFT: right = −e > 0, left = 0: the usual case,
  // multipliers below 1/2), the left shift is the identity and RDBPOT's "−1 when x < 0" needs no test of n, so MBQM
  // is SQRDMULH, SSRA #31 (x + (x >> 31): x > INT32_MIN since m < 2^31, so it never wraps) and SRSHL: 3
  // instructions instead of eb_mbqm_rshl_neon's 6 (requant__neon.h says why SRSHL by −n is RDBPOT after the −1).
  if (header[4 * kNR] & EB_GEMM_BLOCK_RSHIFT) {
#pragma GCC unroll 2
    for (size_t h = 0; h < 2; ++h) {
      const int64x2x4_t mult = pairs8(header + kNR + 8 * h), nr = pairs8(header + 3 * kNR + 8 * h);
#pragma GCC unroll 4
      for (size_t q = 0; q < 4; ++q) {
#pragma GCC unroll 2
        for (size_t p = 0; p < 2; ++p) {
          int32x4_t x = vqrdmulhq_s32(acc[p][4 * h + q], s32(mult.val[q]));
          x = vsraq_n_s32(x, x, 31);
          acc[p][4 * h + q] = vrshlq_s32(x, s32(nr.val[q]));
        }
      }
    }
  } else {
#pragma GCC unroll 2
    for (size_t h = 0; h < 2; ++h) {
      const int64x2x4_t mult = pairs8(header + kNR + 8 * h), left = pairs8(header + 2 * kNR + 8 * h);
      const int64x2x4_t nr = pairs8(header + 3 * kNR + 8 * h);
#pragma GCC unroll 4
      for (size_t q = 0; q < 4; ++q) {
#pragma GCC unroll 2
        for (size_t p = 0; p < 2; ++p)
          acc[p][4 * h + q] = eb_mbqm_rshl_neon(acc[p][4 * h + q], s32(mult.val[q]), s32(left.val[q]), s32(nr.val[q]));
      }
    }
  }

  // docs/quantization.md (6) as in eb_narrow16_zp_neon, on SMMLA's order: the bytes of rows 2P, 2P + 1 come out as
  // 16-bit lanes [r0 c0c1, r1 c0c1, r0 c2c3, r1 c2c3, ...] (8 columns per register); UZP1 / UZP2 of those lanes
  // give the two rows.
#pragma GCC unroll 2
  for (size_t p = 0; p < 2; ++p) {
    int8x16_t half[2];
#pragma GCC unroll 2
    for (size_t h = 0; h < 2; ++h) {
      const int32x4_t* v = &acc[p][4 * h];
      const int16x8_t lo = vqaddq_s16(vcombine_s16(vqmovn_s32(v[0]), vqmovn_s32(v[1])), o.zp);
      const int16x8_t hi = vqaddq_s16(vcombine_s16(vqmovn_s32(v[2]), vqmovn_s32(v[3])), o.zp);
      half[h] = vcombine_s8(vqmovn_s16(lo), vqmovn_s16(hi));
      if (o.clamp) half[h] = vminq_s8(vmaxq_s8(half[h], o.act_min), o.act_max);
    }
    const int16x8_t u = vreinterpretq_s16_s8(half[0]), v = vreinterpretq_s16_s8(half[1]);
    out[2 * p] = vreinterpretq_s8_s16(vuzp1q_s16(u, v));
    out[2 * p + 1] = vreinterpretq_s8_s16(vuzp2q_s16(u, v));
  }
}
}  // namespace

// Assembly pieces of the k loops (see the kernel for why they are assembly). Accumulator accP_Q (rows 2P, 2P + 1,
// columns 2Q, 2Q + 1) lives in v(16 + 8P + Q). EB_I8MM_COLS_LO / _HI: columns 0–7 / 8–15 × 8 k of weights (64
// bytes) into v0–v3, then their 8 SMMLA with A operands X01 (rows 0, 1) and X23 (rows 2, 3). The two halves step
// through the weights with two pointers (%[w] and x16 = %[w] + 64, each advanced by x17 = 128): with one pointer the
// four post-indexed loads of 16 k form a chain that llvm-mca (LLVM 14, -mcpu=neoverse-n2 / cortex-a76) puts on the
// critical path, 32 cycles per 16 k instead of 22.
// clang-format off
#define EB_I8MM_COLS_LO(X01, X23)             \
  "ld1 {v0.16b - v3.16b}, [%[w]], x17\n"      \
  "smmla v16.4s, " X01 ".16b, v0.16b\n"       \
  "smmla v24.4s, " X23 ".16b, v0.16b\n"       \
  "smmla v17.4s, " X01 ".16b, v1.16b\n"       \
  "smmla v25.4s, " X23 ".16b, v1.16b\n"       \
  "smmla v18.4s, " X01 ".16b, v2.16b\n"       \
  "smmla v26.4s, " X23 ".16b, v2.16b\n"       \
  "smmla v19.4s, " X01 ".16b, v3.16b\n"       \
  "smmla v27.4s, " X23 ".16b, v3.16b\n"
#define EB_I8MM_COLS_HI(X01, X23)             \
  "ld1 {v0.16b - v3.16b}, [x16], x17\n"       \
  "smmla v20.4s, " X01 ".16b, v0.16b\n"       \
  "smmla v28.4s, " X23 ".16b, v0.16b\n"       \
  "smmla v21.4s, " X01 ".16b, v1.16b\n"       \
  "smmla v29.4s, " X23 ".16b, v1.16b\n"       \
  "smmla v22.4s, " X01 ".16b, v2.16b\n"       \
  "smmla v30.4s, " X23 ".16b, v2.16b\n"       \
  "smmla v23.4s, " X01 ".16b, v3.16b\n"       \
  "smmla v31.4s, " X23 ".16b, v3.16b\n"
// The bias of the block in SMMLA order, replicated for both row pairs (ld4r: 4 accumulators per load); leaves
// %[w] at the block's weights, 320 bytes after its header (GemmKernel::flags: 5 arrays), and x16, x17 as
// EB_I8MM_COLS_HI wants them.
#define EB_I8MM_BIAS                          \
  "ld4r {v16.2d - v19.2d}, [%[w]], #32\n"     \
  "ld4r {v20.2d - v23.2d}, [%[w]]\n"          \
  "sub %[w], %[w], #32\n"                     \
  "ld4r {v24.2d - v27.2d}, [%[w]], #32\n"     \
  "ld4r {v28.2d - v31.2d}, [%[w]]\n"           \
  "add x16, %[w], #352\n"                      \
  "add %[w], %[w], #288\n"                     \
  "mov x17, #128\n"
// 16 k of four rows: 4 loads, zipped into v4, v6 = rows (0, 1), (2, 3) at k .. k + 7 and v5, v7 at k + 8 .. k + 15.
#define EB_I8MM_ROWS16                        \
  "ldr q0, [%[a0]], #16\n"                    \
  "ldr q1, [%[a1]], #16\n"                    \
  "ldr q2, [%[a2]], #16\n"                    \
  "ldr q3, [%[a3]], #16\n"                    \
  "zip1 v4.2d, v0.2d, v1.2d\n"                \
  "zip2 v5.2d, v0.2d, v1.2d\n"                \
  "zip1 v6.2d, v2.2d, v3.2d\n"                \
  "zip2 v7.2d, v2.2d, v3.2d\n"
// The last 8 k when kc % 16 = 8: ldr d clears the upper halves, so zip1 pairs the rows (v4 = rows 0, 1; v5 = 2, 3).
#define EB_I8MM_ROWS8                         \
  "ldr d0, [%[a0]]\n"                         \
  "ldr d1, [%[a1]]\n"                         \
  "ldr d2, [%[a2]]\n"                         \
  "ldr d3, [%[a3]]\n"                         \
  "zip1 v4.2d, v0.2d, v1.2d\n"                \
  "zip1 v5.2d, v2.2d, v3.2d\n"
// The SMMLA of 16 k (operands in v4–v7) and of the last 8 k (v4, v5). %[n] counts 8-k steps, minus 2 per 16 k: it
// ends at −1 when an 8-k step is left, −2 otherwise.
#define EB_I8MM_MMLA16                        \
  EB_I8MM_COLS_LO("v4", "v6") EB_I8MM_COLS_HI("v4", "v6") \
  EB_I8MM_COLS_LO("v5", "v7") "subs %[n], %[n], #2\n" \
  EB_I8MM_COLS_HI("v5", "v7")
#define EB_I8MM_MMLA8 EB_I8MM_COLS_LO("v4", "v5") EB_I8MM_COLS_HI("v4", "v5")
#define EB_I8MM_OUTPUTS                                                                                           \
  "=w"(acc0_0), "=w"(acc0_1), "=w"(acc0_2), "=w"(acc0_3), "=w"(acc0_4), "=w"(acc0_5), "=w"(acc0_6), "=w"(acc0_7), \
      "=w"(acc1_0), "=w"(acc1_1), "=w"(acc1_2), "=w"(acc1_3), "=w"(acc1_4), "=w"(acc1_5), "=w"(acc1_6), "=w"(acc1_7)
#define EB_I8MM_CLOBBERS "cc", "memory", "x16", "x17", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7"
// clang-format on

extern "C" void eb_qs8_gemm_minmax_ukernel_4x16c8__i8mm(size_t mr, size_t nc, size_t kc, const int8_t* a,
                                                        size_t a_stride, const void* w, int8_t* c, size_t c_stride,
                                                        const eb_qs8_requant_params* rq) {
  // Rows past mr repeat the last valid row, in and out: a repeated row computes the same bytes as the row it
  // repeats, so storing both to one place stores the right ones.
  const int8_t* a0 = a;
  const int8_t* a1 = mr > 1 ? a0 + a_stride : a0;
  const int8_t* a2 = mr > 2 ? a1 + a_stride : a1;
  const int8_t* a3 = mr > 3 ? a2 + a_stride : a2;
  int8_t* c0 = c;
  int8_t* c1 = mr > 1 ? c0 + c_stride : c0;
  int8_t* c2 = mr > 2 ? c1 + c_stride : c1;
  int8_t* c3 = mr > 3 ? c2 + c_stride : c2;
  Out o;
  o.zp = vdupq_n_s16(static_cast<int16_t>(rq->output_zero_point));
  const int32_t y_min = rq->lo + rq->output_zero_point, y_max = rq->hi + rq->output_zero_point;
  o.act_min = vdupq_n_s8(static_cast<int8_t>(y_min));
  o.act_max = vdupq_n_s8(static_cast<int8_t>(y_max));
  o.clamp = y_min > -128 || y_max < 127;
  // The first block's zipped A operands ([kc / 16][x01, y01, x23, y23], then [x01, x23] for a last 8 k), for the
  // blocks after it.
  alignas(16) int8_t zipped[4 * kMaxZippedKc];
  const bool keep = nc > kNR && kc <= kMaxZippedKc;
  // accP_Q: rows 2P, 2P + 1 × columns 2Q, 2Q + 1 in SMMLA order, pinned to v16 + 8P + Q so that one ld4r starts four
  // of them from the bias and the k loops can name them.
  register int32x4_t acc0_0 __asm__("v16"), acc0_1 __asm__("v17"), acc0_2 __asm__("v18"), acc0_3 __asm__("v19");
  register int32x4_t acc0_4 __asm__("v20"), acc0_5 __asm__("v21"), acc0_6 __asm__("v22"), acc0_7 __asm__("v23");
  register int32x4_t acc1_0 __asm__("v24"), acc1_1 __asm__("v25"), acc1_2 __asm__("v26"), acc1_3 __asm__("v27");
  register int32x4_t acc1_4 __asm__("v28"), acc1_5 __asm__("v29"), acc1_6 __asm__("v30"), acc1_7 __asm__("v31");
  const int8_t* wp = static_cast<const int8_t*>(w);  // each k loop leaves it at the next block
  for (bool first = true;; first = false) {
    const int32_t* header = reinterpret_cast<const int32_t*>(wp);
    ptrdiff_t n = static_cast<ptrdiff_t>(kc >> 3);  // 8-k steps (kc is a multiple of 8)
    int8_t* z = zipped;
    // The k loops are assembly because GCC 12 cannot be steered to them from intrinsics: it indexes the
    // post-incremented pointers with one counter plus an address add per weight load (51 instructions per 16 k
    // instead of 46), or, when the increments are hidden from it, hoists all four weight loads and spills; and it
    // copies ld4r's results into other registers (16 movs) instead of loading the accumulators in place. Only v0–v7
    // are scratch (v8–v15 are callee-saved).
    if (keep && !first) {  // the kept operands: one 64-byte load per 16 k
      __asm__ volatile(EB_I8MM_BIAS
                       "subs %[n], %[n], #2\n"
                       "b.lt 2f\n"
                       "1:\n"
                       "ld1 {v4.16b - v7.16b}, [%[z]], #64\n" EB_I8MM_MMLA16
                       "b.ge 1b\n"
                       "2:\n"
                       "tbz %[n], #0, 3f\n"
                       "ld1 {v4.16b - v5.16b}, [%[z]]\n" EB_I8MM_MMLA8 "3:\n"
                       : EB_I8MM_OUTPUTS, [w] "+r"(wp), [n] "+r"(n), [z] "+r"(z)
                       :
                       : EB_I8MM_CLOBBERS);
    } else if (keep) {  // rows, zipped and kept
      const int8_t *r0 = a0, *r1 = a1, *r2 = a2, *r3 = a3;
      __asm__ volatile(EB_I8MM_BIAS
                       "subs %[n], %[n], #2\n"
                       "b.lt 2f\n"
                       "1:\n" EB_I8MM_ROWS16 "st1 {v4.16b - v7.16b}, [%[z]], #64\n" EB_I8MM_MMLA16
                       "b.ge 1b\n"
                       "2:\n"
                       "tbz %[n], #0, 3f\n" EB_I8MM_ROWS8 "st1 {v4.16b - v5.16b}, [%[z]]\n" EB_I8MM_MMLA8 "3:\n"
                       : EB_I8MM_OUTPUTS, [a0] "+r"(r0), [a1] "+r"(r1), [a2] "+r"(r2), [a3] "+r"(r3), [w] "+r"(wp),
                         [n] "+r"(n), [z] "+r"(z)
                       :
                       : EB_I8MM_CLOBBERS);
    } else {  // rows
      const int8_t *r0 = a0, *r1 = a1, *r2 = a2, *r3 = a3;
      __asm__ volatile(
          EB_I8MM_BIAS
          "subs %[n], %[n], #2\n"
          "b.lt 2f\n"
          "1:\n" EB_I8MM_ROWS16 EB_I8MM_MMLA16
          "b.ge 1b\n"
          "2:\n"
          "tbz %[n], #0, 3f\n" EB_I8MM_ROWS8 EB_I8MM_MMLA8 "3:\n"
          : EB_I8MM_OUTPUTS, [a0] "+r"(r0), [a1] "+r"(r1), [a2] "+r"(r2), [a3] "+r"(r3), [w] "+r"(wp), [n] "+r"(n)
          :
          : EB_I8MM_CLOBBERS);
    }
    int32x4_t acc[2][8] = {{acc0_0, acc0_1, acc0_2, acc0_3, acc0_4, acc0_5, acc0_6, acc0_7},
                           {acc1_0, acc1_1, acc1_2, acc1_3, acc1_4, acc1_5, acc1_6, acc1_7}};
    int8x16_t out[4];
    requantize(header, acc, o, out);
    if (nc < kNR) {
      store_partial(c3, out[3], nc);
      store_partial(c2, out[2], nc);
      store_partial(c1, out[1], nc);
      store_partial(c0, out[0], nc);
      return;
    }
    vst1q_s8(c3, out[3]);
    vst1q_s8(c2, out[2]);
    vst1q_s8(c1, out[1]);
    vst1q_s8(c0, out[0]);
    nc -= kNR;
    if (nc == 0) return;
    c0 += kNR, c1 += kNR, c2 += kNR, c3 += kNR;
  }
}
