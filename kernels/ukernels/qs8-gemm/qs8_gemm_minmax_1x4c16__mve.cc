// qs8_gemm_minmax_1x4c16__mve.cc: int8 FULLY_CONNECTED for Cortex-M55 (Helium / MVE), and the row kernel the MVE
// CONV2D variants (qs8-conv/qs8_conv_minmax__mve.cc) run their 1×1 rows and gathered patches through.
//
// Bit-identical to eb_qs8_gemm_ref (docs/quantization.md (6)): the reference's acc = b[n] + Σ (x − zp_x)·w is
// computed as Σ x·w + b'[n] with b'[n] = b[n] − zp_x·Σ_k w[n, k] folded at build time (edgebuild/mcu/variants/
// mve_fc.py); all of it wraps mod 2^32 (VMLADAVA's accumulator wraps too), so it equals the reference's wrapping sum.
//
// VMLADAVA multiplies 16 int8 pairs and adds them to a scalar accumulator: one instruction per 16 MACs. A tile is one
// row × 4 columns: 5 loads + 4 VMLADAVA + LE per 64 MACs, the K tail one predicated step, then the 4 accumulators are
// requantized together in int32 lanes and stored as 4 bytes. The per-column constants come from one build-time
// record per 4 columns, [b'[4], multiplier[4], exponent[4]] (`extra`: `records` in edgebuild/mcu/variants/
// mve_conv.py), read with one LDM and 2 post-incremented vector loads. A tile is inline assembly: GCC 12 compiles
// the intrinsics' version to 80 or so instructions of spills and predicate moves around the 10-instruction loop;
// this is ~33 (~20 of them the requantization of 4 outputs).
#include <arm_mve.h>
#include <stddef.h>
#include <stdint.h>

#include "edgebuild/ukernels.h"

namespace {

// docs/quantization.md (5) on 4 lanes, exactly (the same steps as the tile's assembly):
//  - sat32(x · 2^max(e, 0)) is VQSHL by max(e, 0);
//  - SRDHM (4a) is VQRDMULH: both are floor((x·m + 2^30) / 2^31) saturated (the (4a) nudge 1 − 2^30 for a negative
//    product with truncation rounds a negative tie up, as VQRDMULH's + 2^30 with a floor does);
//  - RDBPOT (4b) rounds ties away from zero but VRSHL by −n rounds them up, so a negative x is first lowered by one
//    (a saturating add): that moves exactly the negative ties down and changes no other result. x & right has the
//    sign bit set iff x < 0 and n > 0 (right = −n is negative), so the shift by 31 gives the −1 or 0.
//  - clamp(sat32(q + zp_y), lo, hi) = clamp(q, lo − zp_y, hi − zp_y) + zp_y for lo, hi, zp_y in int8 (the bounds
//    differ by at most 255, so the last add cannot overflow).
inline int32x4_t requantize(int32x4_t acc, int32x4_t mult, int32x4_t shift, int32x4_t lo, int32x4_t hi, int32x4_t zp) {
  const int32x4_t negative = vshrq_n_s32(shift, 31);
  const int32x4_t right = vandq_s32(shift, negative), left = vbicq_s32(shift, negative);
  int32x4_t x = vqrdmulhq_s32(vqshlq_s32(acc, left), mult);
  x = vqaddq_s32(x, vshrq_n_s32(vandq_s32(x, right), 31));
  x = vrshlq_s32(x, right);
  return vaddq_s32(vminq_s32(vmaxq_s32(x, lo), hi), zp);
}

// A tile's K loop, in assembly: the accumulators start at b' (one LDM), then 16 k a step: 5 loads, 4 VMLADAVA, LE;
// the K tail (1..15) one predicated step: x's inactive lanes are zero, so whatever the weights' hold adds 0, and the
// loads touch only the tail's bytes. w3 then moves to the end of its row, which is the next tile's first row; x back
// to its start.
#define EB_MVE_TILE_K_LOOP                \
  "add %[w1], %[w0], %[K]\n\t"            \
  "add %[w2], %[w1], %[K]\n\t"            \
  "add %[w3], %[w2], %[K]\n\t"            \
  "ldmia %[rec]!, {r4, r6, r8, r10}\n\t"  \
  "lsr lr, %[K], #4\n\t"                  \
  "wls lr, lr, 2f\n"                      \
  "1:\n\t"                                \
  "vldrb.8 %q[vx], [%[x]], #16\n\t"       \
  "vldrb.8 %q[v0], [%[w0]], #16\n\t"      \
  "vldrb.8 %q[v1], [%[w1]], #16\n\t"      \
  "vldrb.8 %q[v2], [%[w2]], #16\n\t"      \
  "vldrb.8 %q[v3], [%[w3]], #16\n\t"      \
  "vmladava.s8 %[a0], %q[vx], %q[v0]\n\t" \
  "vmladava.s8 %[a1], %q[vx], %q[v1]\n\t" \
  "vmladava.s8 %[a2], %q[vx], %q[v2]\n\t" \
  "vmladava.s8 %[a3], %q[vx], %q[v3]\n\t" \
  "le lr, 1b\n"                           \
  "2:\n\t"                                \
  "ands lr, %[K], #15\n\t"                \
  "beq 3f\n\t"                            \
  "vctp.8 lr\n\t"                         \
  "vmov.i32 %q[vx], #0\n\t"               \
  "vpstttt\n\t"                           \
  "vldrbt.8 %q[vx], [%[x]]\n\t"           \
  "vldrbt.8 %q[v0], [%[w0]]\n\t"          \
  "vldrbt.8 %q[v1], [%[w1]]\n\t"          \
  "vldrbt.8 %q[v2], [%[w2]]\n\t"          \
  "vpst\n\t"                              \
  "vldrbt.8 %q[v3], [%[w3]]\n\t"          \
  "vmladava.s8 %[a0], %q[vx], %q[v0]\n\t" \
  "vmladava.s8 %[a1], %q[vx], %q[v1]\n\t" \
  "vmladava.s8 %[a2], %q[vx], %q[v2]\n\t" \
  "vmladava.s8 %[a3], %q[vx], %q[v3]\n\t" \
  "add %[w3], %[w3], lr\n"                \
  "3:\n\t"                                \
  "bic lr, %[K], #15\n\t"                 \
  "sub %[x], %[x], lr\n\t"                \
  "mov %[w0], %[w3]\n\t"

// The same for K <= 16: the predicated step alone, no loop.
#define EB_MVE_TILE_K_SHORT               \
  "add %[w1], %[w0], %[K]\n\t"            \
  "add %[w2], %[w1], %[K]\n\t"            \
  "add %[w3], %[w2], %[K]\n\t"            \
  "ldmia %[rec]!, {r4, r6, r8, r10}\n\t"  \
  "vctp.8 %[K]\n\t"                       \
  "vmov.i32 %q[vx], #0\n\t"               \
  "vpstttt\n\t"                           \
  "vldrbt.8 %q[vx], [%[x]]\n\t"           \
  "vldrbt.8 %q[v0], [%[w0]]\n\t"          \
  "vldrbt.8 %q[v1], [%[w1]]\n\t"          \
  "vldrbt.8 %q[v2], [%[w2]]\n\t"          \
  "vpst\n\t"                              \
  "vldrbt.8 %q[v3], [%[w3]]\n\t"          \
  "vmladava.s8 %[a0], %q[vx], %q[v0]\n\t" \
  "vmladava.s8 %[a1], %q[vx], %q[v1]\n\t" \
  "vmladava.s8 %[a2], %q[vx], %q[v2]\n\t" \
  "vmladava.s8 %[a3], %q[vx], %q[v3]\n\t" \
  "add %[w0], %[w3], %[K]\n\t"

// A tile's requantization (see `requantize`): lanes a0..a3 (b' included; one lane a move: the two-lane VMOV's lane
// order is where QEMU 7.2 and the architecture manual's wording could differ, so it is not used) and the
// multipliers, then the exponents: any sign (split into left and right, VQSHL by left), or, when every exponent of
// the layer is <= 0 (checked per call), the exponents are the right shifts as they are and there is no left shift.
#define EB_MVE_TILE_LANES        \
  "vmov.32 %q[vx][0], %[a0]\n\t" \
  "vmov.32 %q[vx][1], %[a1]\n\t" \
  "vmov.32 %q[vx][2], %[a2]\n\t" \
  "vmov.32 %q[vx][3], %[a3]\n\t" \
  "vldrw.32 %q[v1], [%[rec]], #16\n\t"
#define EB_MVE_TILE_EXPONENT_ANY       \
  "vldrw.32 %q[v2], [%[rec]], #16\n\t" \
  "vshr.s32 %q[v0], %q[v2], #31\n\t"   \
  "vand %q[v3], %q[v2], %q[v0]\n\t"    \
  "vbic %q[v2], %q[v2], %q[v0]\n\t"    \
  "vqshl.s32 %q[vx], %q[vx], %q[v2]\n\t"
#define EB_MVE_TILE_EXPONENT_RIGHT "vldrw.32 %q[v3], [%[rec]], #16\n\t"
#define EB_MVE_TILE_FINISH                  \
  "vqrdmulh.s32 %q[vx], %q[vx], %q[v1]\n\t" \
  "vand %q[v0], %q[vx], %q[v3]\n\t"         \
  "vshr.s32 %q[v0], %q[v0], #31\n\t"        \
  "vqadd.s32 %q[vx], %q[vx], %q[v0]\n\t"    \
  "vrshl.s32 %q[vx], %q[vx], %q[v3]\n\t"    \
  "vmax.s32 %q[vx], %q[vx], %q[lo]\n\t"     \
  "vmin.s32 %q[vx], %q[vx], %q[hi]\n\t"     \
  "vadd.i32 %q[vx], %q[vx], %q[zp]\n\t"     \
  "vstrb.32 %q[vx], [%[y]], #4\n\t"

#define EB_MVE_TILE_OUTPUTS                                                                                         \
  [w0] "+r"(w), [w1] "=&r"(w1), [w2] "=&r"(w2), [w3] "=&r"(w3), [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2),     \
      [a3] "=&r"(a3), [rec] "+r"(rec), [y] "+r"(y), [vx] "=&w"(vx), [v0] "=&w"(v0), [v1] "=&w"(v1), [v2] "=&w"(v2), \
      [v3] "=&w"(v3)
#define EB_MVE_TILE_INPUTS [K] "r"(K), [lo] "w"(lo), [hi] "w"(hi), [zp] "w"(zp)
// The loop moves x (and puts it back) and counts in LR; the short tile only reads x and leaves LR to the caller.
#define EB_MVE_TILE_ASM_LOOP(body) \
  __asm__ volatile(body : [x] "+r"(x), EB_MVE_TILE_OUTPUTS:EB_MVE_TILE_INPUTS : "lr", "cc", "memory")
#define EB_MVE_TILE_ASM_SHORT(body) \
  __asm__ volatile(body:EB_MVE_TILE_OUTPUTS : [x] "r"(x), EB_MVE_TILE_INPUTS : "cc", "memory")

// One 1 × 4 tile: y[0..3] from row x (K bytes) and weight rows w, w + K, w + 2K, w + 3K, record rec; advances w by
// 4K, rec by 12 and y by 4; x is left as it was. kShort: K <= 16; kRight: every exponent <= 0.
template <bool kShort, bool kRight>
__attribute__((always_inline)) inline void tile(const int8_t* x, const int8_t*& w, const int32_t*& rec, int8_t*& y,
                                                size_t K, int32x4_t lo, int32x4_t hi, int32x4_t zp) {
  const int8_t *w1, *w2, *w3;
  // The accumulators start at b' with one LDM, which takes its registers in ascending order: so they are pinned
  // (VMLADAVA's accumulator must be an even register too).
  register int32_t a0 __asm__("r4");
  register int32_t a1 __asm__("r6");
  register int32_t a2 __asm__("r8");
  register int32_t a3 __asm__("r10");
  int8x16_t vx, v0, v1, v2, v3;
  if constexpr (kShort && kRight) {
    EB_MVE_TILE_ASM_SHORT(EB_MVE_TILE_K_SHORT EB_MVE_TILE_LANES EB_MVE_TILE_EXPONENT_RIGHT EB_MVE_TILE_FINISH);
  } else if constexpr (kShort) {
    EB_MVE_TILE_ASM_SHORT(EB_MVE_TILE_K_SHORT EB_MVE_TILE_LANES EB_MVE_TILE_EXPONENT_ANY EB_MVE_TILE_FINISH);
  } else if constexpr (kRight) {
    EB_MVE_TILE_ASM_LOOP(EB_MVE_TILE_K_LOOP EB_MVE_TILE_LANES EB_MVE_TILE_EXPONENT_RIGHT EB_MVE_TILE_FINISH);
  } else {
    EB_MVE_TILE_ASM_LOOP(EB_MVE_TILE_K_LOOP EB_MVE_TILE_LANES EB_MVE_TILE_EXPONENT_ANY EB_MVE_TILE_FINISH);
  }
}

// The last n < 4 columns (intrinsics; weight rows past N are not read: their pointers repeat the last row).
void tail_tile(const int8_t* x, const int8_t* w, const int32_t* rec, int8_t* y, size_t K, size_t n, int32x4_t lo,
               int32x4_t hi, int32x4_t zp) {
  const int8_t* ws[4] = {w, n > 1 ? w + K : w, n > 2 ? w + 2 * K : w, w};
  int32_t acc[4] = {0, 0, 0, 0};
  for (int j = 0; j < 4; ++j) {
    const int8_t* xp = x;
    const int8_t* wp = ws[j];
    for (size_t k = 0; k < K; k += 16, xp += 16, wp += 16) {
      const mve_pred16_t p = vctp8q((uint32_t)(K - k));
      acc[j] = vmladavaq_s8(acc[j], vldrbq_z_s8(xp, p), vldrbq_z_s8(wp, p));
    }
  }
  const int32x4_t sums = vaddq_s32(vldrwq_s32(acc), vldrwq_s32(rec));
  vstrbq_p_s32(y, requantize(sums, vldrwq_s32(rec + 4), vldrwq_s32(rec + 8), lo, hi, zp), vctp32q((uint32_t)n));
}

// Rows r = 0..M − 1 (see eb_qs8_gemm_rows_minmax_ukernel_1x4c16__mve), one tile variant for all.
template <bool kShort, bool kRight>
void rows(size_t M, size_t N, size_t K, const int8_t* input, size_t input_stride, const int8_t* weights,
          const int32_t* records, int8_t* output, int32x4_t lo, int32x4_t hi, int32x4_t zp) {
  for (size_t m = 0; m < M; ++m) {
    const int8_t* x = input + m * input_stride;
    const int8_t* w = weights;
    const int32_t* rec = records;
    int8_t* y = output + m * N;
    for (size_t n = N / 4; n != 0; --n) tile<kShort, kRight>(x, w, rec, y, K, lo, hi, zp);
    if ((N & 3) != 0) tail_tile(x, w, rec, y, K, N & 3, lo, hi, zp);
  }
}

}  // namespace

// Rows r = 0..p->m − 1 of x (row r at input + r·input_stride, p->k bytes) against weights [p->n, p->k]; output row r
// at output + r·p->n; records as above (never NULL). p->input_zero_point is not read (b' holds it).
extern "C" void eb_qs8_gemm_rows_minmax_ukernel_1x4c16__mve(const eb_qs8_gemm_params* p, const int8_t* input,
                                                            size_t input_stride, const int8_t* weights,
                                                            const int32_t* records, int8_t* output) {
  const size_t M = p->m, N = p->n, K = p->k;
  const int32_t zp_y = p->output_zero_point;
  const int32x4_t lo = vdupq_n_s32(p->output_min - zp_y), hi = vdupq_n_s32(p->output_max - zp_y);
  const int32x4_t zp = vdupq_n_s32(zp_y);
  // Every exponent <= 0 (the usual case: M < 1)? Then the tiles skip the left shift.
  int32_t max_exponent = INT32_MIN;
  for (size_t g = 0; g < N / 4; ++g) max_exponent = vmaxvq_s32(max_exponent, vldrwq_s32(records + 12 * g + 8));
  if (K <= 16 && max_exponent <= 0) {
    rows<true, true>(M, N, K, input, input_stride, weights, records, output, lo, hi, zp);
  } else if (K <= 16) {
    rows<true, false>(M, N, K, input, input_stride, weights, records, output, lo, hi, zp);
  } else if (max_exponent <= 0) {
    rows<false, true>(M, N, K, input, input_stride, weights, records, output, lo, hi, zp);
  } else {
    rows<false, false>(M, N, K, input, input_stride, weights, records, output, lo, hi, zp);
  }
}

// FULLY_CONNECTED, the reference's arguments plus the records (edgebuild/mcu/variants/mve_fc.py); bias, multiplier
// and shift are not read (the records hold them).
extern "C" void eb_qs8_gemm_minmax_ukernel_1x4c16__mve(const eb_qs8_gemm_params* p, const int8_t* input,
                                                       const int8_t* weights, const int32_t* bias,
                                                       const int32_t* multiplier, const int32_t* shift, int8_t* output,
                                                       const int32_t* records) {
  (void)bias, (void)multiplier, (void)shift;
  eb_qs8_gemm_rows_minmax_ukernel_1x4c16__mve(p, input, p->k, weights, records, output);
}
