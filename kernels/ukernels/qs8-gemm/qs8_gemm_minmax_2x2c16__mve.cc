// qs8_gemm_minmax_2x2c16__mve.cc: int8 FULLY_CONNECTED for Cortex-M55 (Helium / MVE), and the row kernel the MVE
// CONV2D variants (qs8-conv/qs8_conv_minmax__mve.cc) run their 1×1 rows and im2col rows through.
//
// Bit-identical to eb_qs8_gemm_ref (docs/quantization.md (6)): the reference's acc = b[n] + Σ (x − zp_x)·w is
// computed as Σ x·w + b'[n] with b'[n] = b[n] − zp_x·Σ_k w[n, k] folded at build time (edgebuild/mcu/variants/
// mve_fc.py); all of it wraps mod 2^32 (VMLADAVA's accumulator wraps too), so it equals the reference's wrapping sum.
// VMLADAVA multiplies 16 int8 pairs and adds them to a scalar accumulator: one instruction per 16 MACs. Tiles of
// 2 rows × 2 columns reuse each loaded vector twice (4 loads + 4 VMLADAVA + the loop's LE per 64 MACs); a single
// row (batch 1) takes 1 × 4 tiles (5 loads + 4 VMLADAVA per 64 MACs). A K tail of 1..15 is one predicated step
// (zeroing loads, so the masked lanes add 0). Four accumulators are requantized at once in int32 lanes (the
// per-column multiplier and exponent gathered for the tile's columns), then stored as bytes by a scatter store.
#include <arm_mve.h>
#include <stddef.h>
#include <stdint.h>

#include "edgebuild/ukernels.h"

namespace {

// docs/quantization.md (5) on 4 lanes, exactly:
//  - sat32(x · 2^max(e, 0)) is VQSHL by max(e, 0);
//  - SRDHM (4a) is VQRDMULH: both are floor((x·m + 2^30) / 2^31) saturated (the (4a) nudge 1 − 2^30 for a negative
//    product with truncation rounds a negative tie up, as VQRDMULH's + 2^30 with a floor does);
//  - RDBPOT (4b) rounds ties away from zero but VRSHL by −n rounds them up, so a negative x is first lowered by one
//    (a saturating add): that moves exactly the negative ties down and changes no other result. x & right has the
//    sign bit set iff x < 0 and n > 0 (right = −n is negative), so the shift by 31 gives the −1 or 0.
// Then sat32(q + zp_y) (VQADD) and the clamp to [act_min, act_max].
inline int32x4_t requantize(int32x4_t acc, int32x4_t mult, int32x4_t shift, int32x4_t zp, int32x4_t lo, int32x4_t hi) {
  const int32x4_t zero = vdupq_n_s32(0);
  const int32x4_t left = vmaxq_s32(shift, zero);
  const int32x4_t right = vminq_s32(shift, zero);
  int32x4_t x = vqrdmulhq_s32(vqshlq_s32(acc, left), mult);
  x = vqaddq_s32(x, vshrq_n_s32(vandq_s32(x, right), 31));
  x = vrshlq_s32(x, right);
  x = vqaddq_s32(x, zp);
  return vminq_s32(vmaxq_s32(x, lo), hi);
}

inline int32x4_t lanes(int32_t a, int32_t b, int32_t c, int32_t d) {
  int32x4_t v = vdupq_n_s32(a);
  v = vsetq_lane_s32(b, v, 1);
  v = vsetq_lane_s32(c, v, 2);
  return vsetq_lane_s32(d, v, 3);
}

// Σ_k x_i[k]·w_j[k] for P rows and Q columns, K bytes each (any alignment), wrapping int32.
template <int P, int Q>
__attribute__((always_inline)) inline void dot(const int8_t* const (&xs)[P], const int8_t* const (&ws)[Q], size_t K,
                                               int32_t (&acc)[P][Q]) {
  const int8_t* x[P];
  const int8_t* w[Q];
#pragma GCC unroll 4
  for (int i = 0; i < P; ++i) x[i] = xs[i];
#pragma GCC unroll 4
  for (int j = 0; j < Q; ++j) w[j] = ws[j];
#pragma GCC unroll 4
  for (int i = 0; i < P; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < Q; ++j) acc[i][j] = 0;
  for (size_t k = K >> 4; k != 0; --k) {
    int8x16_t vx[P], vw[Q];
#pragma GCC unroll 4
    for (int i = 0; i < P; ++i) {
      vx[i] = vldrbq_s8(x[i]);
      x[i] += 16;
    }
#pragma GCC unroll 4
    for (int j = 0; j < Q; ++j) {
      vw[j] = vldrbq_s8(w[j]);
      w[j] += 16;
    }
#pragma GCC unroll 4
    for (int i = 0; i < P; ++i)
#pragma GCC unroll 4
      for (int j = 0; j < Q; ++j) acc[i][j] = vmladavaq_s8(acc[i][j], vx[i], vw[j]);
  }
  if ((K & 15) != 0) {
    // Zeroing loads touch only the K & 15 valid bytes; the zero lanes add nothing.
    const mve_pred16_t tail = vctp8q((uint32_t)(K & 15));
    int8x16_t vx[P], vw[Q];
#pragma GCC unroll 4
    for (int i = 0; i < P; ++i) vx[i] = vldrbq_z_s8(x[i], tail);
#pragma GCC unroll 4
    for (int j = 0; j < Q; ++j) vw[j] = vldrbq_z_s8(w[j], tail);
#pragma GCC unroll 4
    for (int i = 0; i < P; ++i)
#pragma GCC unroll 4
      for (int j = 0; j < Q; ++j) acc[i][j] = vmladavaq_s8(acc[i][j], vx[i], vw[j]);
  }
}

}  // namespace

// Rows r = 0..p->m − 1 of x (row r at input + r·input_stride, p->k bytes) against weights [p->n, p->k]; output row r
// at output + r·p->n. bias_folded is b' above (never NULL). -fno-ivopts: with it, GCC 12 keeps the post-incremented
// loads (VLDRB [rN], #16) instead of one shared index plus four ADDs per step.
extern "C" __attribute__((optimize("no-ivopts"))) void eb_qs8_gemm_rows_minmax_ukernel_2x2c16__mve(
    const eb_qs8_gemm_params* p, const int8_t* input, size_t input_stride, const int8_t* weights,
    const int32_t* bias_folded, const int32_t* multiplier, const int32_t* shift, int8_t* output) {
  const size_t M = p->m, N = p->n, K = p->k;
  const int32x4_t zp = vdupq_n_s32(p->output_zero_point);
  const int32x4_t lo = vdupq_n_s32(p->output_min), hi = vdupq_n_s32(p->output_max);
  size_t m = 0;
  for (; m + 2 <= M; m += 2) {
    const int8_t* x[2] = {input + m * input_stride, input + (m + 1) * input_stride};
    int8_t* y = output + m * N;
    // Lanes are (row 0, col n), (row 0, col n + 1), (row 1, col n), (row 1, col n + 1).
    uint32x4_t col = vdupq_n_u32(0);
    col = vsetq_lane_u32(1, col, 1);
    col = vsetq_lane_u32(1, col, 3);
    uint32x4_t at = col;  // byte offsets of the lanes' outputs from y + n
    at = vsetq_lane_u32((uint32_t)N, at, 2);
    at = vsetq_lane_u32((uint32_t)N + 1, at, 3);
    const int8_t* w = weights;
    size_t n = 0;
    for (; n + 2 <= N; n += 2, w += 2 * K) {
      const int8_t* ws[2] = {w, w + K};
      int32_t a[2][2];
      dot<2, 2>(x, ws, K, a);
      int32x4_t acc =
          vaddq_s32(lanes(a[0][0], a[0][1], a[1][0], a[1][1]), vldrwq_gather_shifted_offset_s32(bias_folded, col));
      const int32x4_t q = requantize(acc, vldrwq_gather_shifted_offset_s32(multiplier, col),
                                     vldrwq_gather_shifted_offset_s32(shift, col), zp, lo, hi);
      vstrbq_scatter_offset_s32(y + n, at, q);
      col = vaddq_n_u32(col, 2);
    }
    if (n < N) {  // the last column of an odd N: lanes (row 0, n) and (row 1, n)
      const int8_t* ws[1] = {w};
      int32_t a[2][1];
      dot<2, 1>(x, ws, K, a);
      const mve_pred16_t two = vctp32q(2);
      const uint32_t cn = (uint32_t)n;
      const uint32x4_t c = vdupq_n_u32(cn);
      uint32x4_t rows = vdupq_n_u32(0);
      rows = vsetq_lane_u32((uint32_t)N, rows, 1);
      const int32x4_t acc =
          vaddq_s32(lanes(a[0][0], a[1][0], 0, 0), vldrwq_gather_shifted_offset_z_s32(bias_folded, c, two));
      const int32x4_t q = requantize(acc, vldrwq_gather_shifted_offset_z_s32(multiplier, c, two),
                                     vldrwq_gather_shifted_offset_z_s32(shift, c, two), zp, lo, hi);
      vstrbq_scatter_offset_p_s32(y + n, rows, q, two);
    }
  }
  if (m < M) {  // one row left (batch 1): 1 × 4 tiles, the last one predicated to N − n columns
    const int8_t* x[1] = {input + m * input_stride};
    int8_t* y = output + m * N;
    for (size_t n = 0; n < N; n += 4) {
      const size_t left = N - n;
      const int8_t* w = weights + n * K;
      // Columns past N repeat the last one (computed, never stored).
      const int8_t* ws[4] = {w, left > 1 ? w + K : w, left > 2 ? w + 2 * K : w, left > 3 ? w + 3 * K : w};
      int32_t a[1][4];
      dot<1, 4>(x, ws, K, a);
      const mve_pred16_t valid = vctp32q((uint32_t)(left < 4 ? left : 4));
      const int32x4_t acc = vaddq_s32(lanes(a[0][0], a[0][1], a[0][2], a[0][3]), vldrwq_z_s32(bias_folded + n, valid));
      const int32x4_t q =
          requantize(acc, vldrwq_z_s32(multiplier + n, valid), vldrwq_z_s32(shift + n, valid), zp, lo, hi);
      vstrbq_p_s32(y + n, q, valid);
    }
  }
}

// FULLY_CONNECTED, the reference's arguments plus b' (edgebuild/mcu/variants/mve_fc.py); `bias` is not read (b'
// holds it).
extern "C" void eb_qs8_gemm_minmax_ukernel_2x2c16__mve(const eb_qs8_gemm_params* p, const int8_t* input,
                                                       const int8_t* weights, const int32_t* bias,
                                                       const int32_t* multiplier, const int32_t* shift, int8_t* output,
                                                       const int32_t* bias_folded) {
  (void)bias;
  eb_qs8_gemm_rows_minmax_ukernel_2x2c16__mve(p, input, p->k, weights, bias_folded, multiplier, shift, output);
}
