// qs8_bmm__neondot.cc: int8 BATCH_MATMUL of two activations (attention's Q·Kᵀ and P·V) for armv8.2 dotprod cores.
// Reference twin: eb_qs8_bmm_ref (qs8-bmm/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc).
//
// The twin's acc is its exact integer sum mod 2^32 (wrapping adds), so any computation of that sum mod 2^32 is the
// same acc: acc = Σ a·b − zp_b·Σ_t a − zp_a·Σ_t b + k·zp_a·zp_b, with Σ a·b from SDOT (signed bytes, four products
// per int32 lane, wrapping) and the rest as wrapping int32 terms per row and per column (qs8_bmm__avx512vnni.cc says
// the same for its unsigned form). Then the twin's requantization, docs/quantization.md (5), (6), lane by lane
// (requant__neon.h, equal to eb_mbqm with the op's one multiplier in every column).
//
// Layout (scratch, EB_QS8_BMM_SCRATCH_BYTES(m, k)): per batch, a's rows with k padded to kc = k rounded up to 16 by
// zero bytes, and their sums; per 16 columns, B as [kc / 4][16][4] bytes (zero in k's padding) and its column sums.
// Tiles of 4 rows × 16 columns: 16 accumulators; per 8 t, 4 row loads and 2 four-register panel loads for 32
// lane-indexed SDOTs (512 multiply-adds). Rows past m in the last tile repeat row m − 1 and are not stored (one
// tile shape: the arm64 library has a size budget).
#if defined(__aarch64__)
#include <arm_neon.h>
#include <string.h>

#include "../requant/requant__neon.h"
#include "edgebuild/ukernels_isa.h"

namespace {

constexpr size_t kNR = 16;  // columns per panel: 4 registers of int32
constexpr size_t kMR = 4;   // rows per tile

// panel[(t / 4)·64 + jj·4 + t % 4] = B[t, j0 + jj] for t < k, jj < nr; 0 elsewhere; colsum[jj] = Σ_t B[t, j0 + jj]
// (|colsum| <= 128·33025: no overflow, the loader bounds k).
void pack(const int8_t* b, size_t n, size_t k, size_t kc, int transpose_b, size_t j0, size_t nr, int8_t* panel,
          int32_t* colsum) {
  memset(panel, 0, kc * kNR);
  for (size_t jj = 0; jj < kNR; ++jj) colsum[jj] = 0;
  if (transpose_b) {  // column jj is the row b[j0 + jj] of k bytes: 4 of them per dword of the panel
    const size_t k4 = k & ~(size_t)3;
    for (size_t jj = 0; jj < nr; ++jj) {
      const int8_t* src = b + (j0 + jj) * k;
      for (size_t t = 0; t < k4; t += 4) memcpy(panel + t * kNR + jj * 4, src + t, 4);
      int32_t sum = 0;
      for (size_t t = k4; t < k; ++t) panel[k4 * kNR + jj * 4 + t - k4] = src[t];
      size_t t = 0;
      for (; t + 16 <= k; t += 16) sum += vaddlvq_s8(vld1q_s8(src + t));
      for (; t < k; ++t) sum += src[t];
      colsum[jj] = sum;
    }
    return;
  }
  if (nr < kNR) {  // the last panel of a matrix: one by one
    for (size_t jj = 0; jj < nr; ++jj) {
      int32_t sum = 0;
      for (size_t t = 0; t < k; ++t) {
        panel[(t / 4) * (kNR * 4) + jj * 4 + t % 4] = b[t * n + j0 + jj];
        sum += b[t * n + j0 + jj];
      }
      colsum[jj] = sum;
    }
    return;
  }
  // b [k, n]: rows t..t+3 interleaved byte by byte (zip 8, then zip 16); sums as int32 lanes.
  int32x4_t s0 = vdupq_n_s32(0), s1 = s0, s2 = s0, s3 = s0;
  for (size_t t = 0; t < k; t += 4) {
    int8x16_t r[4];
    for (size_t q = 0; q < 4; ++q) {
      r[q] = t + q < k ? vld1q_s8(b + (t + q) * n + j0) : vdupq_n_s8(0);
      const int16x8_t lo = vmovl_s8(vget_low_s8(r[q])), hi = vmovl_high_s8(r[q]);
      s0 = vaddw_s16(s0, vget_low_s16(lo));
      s1 = vaddw_high_s16(s1, lo);
      s2 = vaddw_s16(s2, vget_low_s16(hi));
      s3 = vaddw_high_s16(s3, hi);
    }
    const int16x8_t z01l = vreinterpretq_s16_s8(vzip1q_s8(r[0], r[1])),
                    z01h = vreinterpretq_s16_s8(vzip2q_s8(r[0], r[1]));
    const int16x8_t z23l = vreinterpretq_s16_s8(vzip1q_s8(r[2], r[3])),
                    z23h = vreinterpretq_s16_s8(vzip2q_s8(r[2], r[3]));
    int8_t* dst = panel + t * kNR;
    vst1q_s16(reinterpret_cast<int16_t*>(dst), vzip1q_s16(z01l, z23l));
    vst1q_s16(reinterpret_cast<int16_t*>(dst + 16), vzip2q_s16(z01l, z23l));
    vst1q_s16(reinterpret_cast<int16_t*>(dst + 32), vzip1q_s16(z01h, z23h));
    vst1q_s16(reinterpret_cast<int16_t*>(dst + 48), vzip2q_s16(z01h, z23h));
  }
  vst1q_s32(colsum, s0);
  vst1q_s32(colsum + 4, s1);
  vst1q_s32(colsum + 8, s2);
  vst1q_s32(colsum + 12, s3);
}

}  // namespace

// docs/artifact.md BATCH_MATMUL (int8), as eb_qs8_bmm_ref; scratch: EB_QS8_BMM_SCRATCH_BYTES(m, k), 64-aligned.
extern "C" void eb_qs8_bmm_ukernel__neondot(const eb_qs8_bmm_params* p, const int8_t* a, const int8_t* b,
                                            int8_t* output, void* scratch) {
  const size_t m = p->m, n = p->n, k = p->k, kc = (k + 15) & ~(size_t)15;
  int8_t* panel = static_cast<int8_t*>(scratch);                                      // [kc / 4][16][4]
  int8_t* ap = panel + kc * kNR;                                                      // [m][kc]
  int32_t* rowterm = reinterpret_cast<int32_t*>(ap + ((m * kc + 63) & ~(size_t)63));  // [m]
  const int32_t e = p->shift;
  const int32x4_t mult = vdupq_n_s32(p->multiplier), left = vdupq_n_s32(e > 0 ? e : 0);
  const int32x4_t neg_right = vdupq_n_s32(e < 0 ? e : 0);
  const int16x8_t zp = vdupq_n_s16((int16_t)p->output_zero_point);
  const int8x16_t act_min = vdupq_n_s8((int8_t)p->output_min), act_max = vdupq_n_s8((int8_t)p->output_max);
  const uint32_t za = (uint32_t)p->a_zero_point, zb = (uint32_t)p->b_zero_point;
  const uint32_t kzz = (uint32_t)k * za * zb;  // wrapping, as every term below
  int32_t colsum[kNR];
  for (size_t s = 0; s < p->batch; ++s) {
    const int8_t* as = a + s * m * k;
    const int8_t* bs = b + s * k * n;
    int8_t* ys = output + s * m * n;
    for (size_t i = 0; i < m; ++i) {  // a's rows once per batch, zero-padded to kc, and Σ_t a
      int8_t* dst = ap + i * kc;
      memcpy(dst, as + i * k, k);
      memset(dst + k, 0, kc - k);
      int32_t sum = 0;
      for (size_t t = 0; t < kc; t += 16) sum += vaddlvq_s8(vld1q_s8(dst + t));
      rowterm[i] = (int32_t)(kzz - zb * (uint32_t)sum);
    }
    for (size_t j0 = 0; j0 < n; j0 += kNR) {
      const size_t nr = n - j0 < kNR ? n - j0 : kNR;
      pack(bs, n, k, kc, p->transpose_b, j0, nr, panel, colsum);
      const int32x4_t nza = vdupq_n_s32(-(int32_t)za);
      const int32x4_t ct0 = vmulq_s32(nza, vld1q_s32(colsum)), ct1 = vmulq_s32(nza, vld1q_s32(colsum + 4));
      const int32x4_t ct2 = vmulq_s32(nza, vld1q_s32(colsum + 8)), ct3 = vmulq_s32(nza, vld1q_s32(colsum + 12));
      for (size_t i = 0; i < m; i += kMR) {
        const size_t mr = m - i < kMR ? m - i : kMR;
        const int8_t* a0 = ap + i * kc;
        const int8_t* a1 = ap + (mr > 1 ? i + 1 : m - 1) * kc;
        const int8_t* a2 = ap + (mr > 2 ? i + 2 : m - 1) * kc;
        const int8_t* a3 = ap + (mr > 3 ? i + 3 : m - 1) * kc;
        int32x4_t c00 = vdupq_n_s32(0), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
        int32x4_t c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00, c31 = c00, c32 = c00, c33 = c00;
        // 8 t a step: 4 rows of 8 bytes (used by lane), 2 four-register panel loads, 16 accumulators (28 of the 32
        // registers; 16 t a step made GCC 12 spill accumulators).
        for (size_t t = 0; t < kc; t += 8) {
          const int8x8_t x0 = vld1_s8(a0 + t), x1 = vld1_s8(a1 + t), x2 = vld1_s8(a2 + t), x3 = vld1_s8(a3 + t);
#define EB_ROW(R, X, W, G)                           \
  c##R##0 = vdotq_lane_s32(c##R##0, W.val[0], X, G); \
  c##R##1 = vdotq_lane_s32(c##R##1, W.val[1], X, G); \
  c##R##2 = vdotq_lane_s32(c##R##2, W.val[2], X, G); \
  c##R##3 = vdotq_lane_s32(c##R##3, W.val[3], X, G);
#define EB_STEP(G)                                                \
  {                                                               \
    const int8x16x4_t w = vld1q_s8_x4(panel + (t + 4 * G) * kNR); \
    EB_ROW(0, x0, w, G)                                           \
    EB_ROW(1, x1, w, G)                                           \
    EB_ROW(2, x2, w, G)                                           \
    EB_ROW(3, x3, w, G)                                           \
  }
          EB_STEP(0)
          EB_STEP(1)
#undef EB_STEP
#undef EB_ROW
        }
        const int32x4_t rows[kMR][4] = {
            {c00, c01, c02, c03}, {c10, c11, c12, c13}, {c20, c21, c22, c23}, {c30, c31, c32, c33}};
        for (size_t r = 0; r < mr; ++r) {
          const int32x4_t rt = vdupq_n_s32(rowterm[i + r]);
          int32x4_t q[4];
          const int32x4_t ct[4] = {ct0, ct1, ct2, ct3};
          for (size_t v = 0; v < 4; ++v)
            q[v] = eb_mbqm_rshl_neon(vaddq_s32(vaddq_s32(rows[r][v], ct[v]), rt), mult, left, neg_right);
          const int8x16_t y = eb_narrow16_zp_neon(q[0], q[1], q[2], q[3], zp, act_min, act_max);
          int8_t* yr = ys + (i + r) * n + j0;
          if (nr == kNR) {
            vst1q_s8(yr, y);
          } else {
            int8_t tmp[kNR];
            vst1q_s8(tmp, y);
            memcpy(yr, tmp, nr);
          }
        }
      }
    }
  }
}
#endif  // __aarch64__
