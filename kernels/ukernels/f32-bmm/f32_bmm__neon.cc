// f32_bmm__neon.cc: float32 BATCH_MATMUL (attention's Q·Kᵀ and P·V) for aarch64 NEON, 2 double lanes per register.
// Reference twin: eb_f32_bmm_ref (f32-bmm/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc). Also the
// matrix core of eb_f32_gemm_ukernel__neon (f32-gemm/, twin eb_f32_gemm_ref).
//
// The arithmetic is f32_bmm__avx512vnni.cc's (its opening comment says why a double FMA per t, one lane per output
// column, gives the twin's bits: FMLA on .2d rounds x·w + acc once, and x·w of two floats is exact in double). With
// FPCR.FZ clear (Linux's default) FCVTL / FCVTN keep subnormal floats, as the twin's scalar conversions do.
// Tiles of 4 rows × 8 columns: 16 accumulators; per two t, 4 loads of a's rows (2 doubles each, used by lane),
// 2 four-register loads of the panel and 32 FMLA (64 multiply-adds). Rows past m in the last tile repeat row m − 1
// and are not stored, so one tile shape serves every m (the arm64 library has a size budget).
//
// armv7: NEON has no double lanes (and flushes subnormals), so armv7 keeps the twin, which is bit-identical by
// definition; this file compiles to nothing there.
#if defined(__aarch64__)
#include <arm_neon.h>
#include <math.h>
#include <string.h>

#include "edgebuild/ukernels_isa.h"

namespace {

constexpr size_t kNR = 8;   // columns per panel: 4 registers of doubles
constexpr size_t kMR = 4;   // rows per tile
constexpr size_t kNC = 64;  // columns packed at a time (8 panels): a tile's rows are converted once for all
static_assert(kNC % kNR == 0 && kMR <= EB_F32_MM_SCRATCH_MR && kNC <= EB_F32_MM_SCRATCH_NC, "scratch layout");

// 4 floats as doubles at dst.
inline void store_as_double(double* dst, float32x4_t f) {
  vst1q_f64(dst, vcvt_f64_f32(vget_low_f32(f)));
  vst1q_f64(dst + 2, vcvt_high_f64_f32(f));
}

// panel[t·8 + jj] = (double)B[t, j0 + jj] for jj < nr, 0 for nr <= jj < 8 (those columns are computed, not stored).
void pack(const float* b, size_t n, size_t k, int transpose_b, size_t j0, size_t nr, double* panel) {
  if (nr < kNR) {  // the last panel of a matrix: one by one
    for (size_t t = 0; t < k; ++t)
      for (size_t q = 0; q < kNR; ++q)
        panel[t * kNR + q] = q >= nr ? 0.0 : (double)(transpose_b ? b[(j0 + q) * k + t] : b[t * n + j0 + q]);
    return;
  }
  if (!transpose_b) {  // B[t, j] = b[t·n + j]: rows as they are
    for (size_t t = 0; t < k; ++t) {
      store_as_double(panel + t * kNR, vld1q_f32(b + t * n + j0));
      store_as_double(panel + t * kNR + 4, vld1q_f32(b + t * n + j0 + 4));
    }
    return;
  }
  // B[t, j] = b[j·k + t]: 4 columns × 4 t at a time through a 4×4 transpose; the remainder of k one by one.
  const size_t k4 = k & ~(size_t)3;
  for (size_t g = 0; g < kNR; g += 4) {
    const float* src = b + (j0 + g) * k;
    for (size_t t = 0; t < k4; t += 4) {
      const float32x4_t r0 = vld1q_f32(src + t), r1 = vld1q_f32(src + k + t);
      const float32x4_t r2 = vld1q_f32(src + 2 * k + t), r3 = vld1q_f32(src + 3 * k + t);
      const float32x4_t u0 = vtrn1q_f32(r0, r1), u1 = vtrn2q_f32(r0, r1);
      const float32x4_t u2 = vtrn1q_f32(r2, r3), u3 = vtrn2q_f32(r2, r3);
      const float64x2_t d0 = vreinterpretq_f64_f32(u0), d1 = vreinterpretq_f64_f32(u1);
      const float64x2_t d2 = vreinterpretq_f64_f32(u2), d3 = vreinterpretq_f64_f32(u3);
      double* dst = panel + t * kNR + g;
      store_as_double(dst, vreinterpretq_f32_f64(vtrn1q_f64(d0, d2)));
      store_as_double(dst + kNR, vreinterpretq_f32_f64(vtrn1q_f64(d1, d3)));
      store_as_double(dst + 2 * kNR, vreinterpretq_f32_f64(vtrn2q_f64(d0, d2)));
      store_as_double(dst + 3 * kNR, vreinterpretq_f32_f64(vtrn2q_f64(d1, d3)));
    }
    for (size_t t = k4; t < k; ++t)
      for (size_t q = 0; q < 4; ++q) panel[t * kNR + g + q] = (double)src[q * k + t];
  }
}

// The tile's 4 rows in double (ad[r·k + t]) times one panel: y[r, jj] for r < mr, jj < nr. The 16 accumulators are
// named, not an array: GCC 12 keeps an array of them in memory.
void tile(size_t k, const double* ad, const double* panel, const double* init, float64x2_t alpha, float32x4_t lo,
          float32x4_t hi, float* y, size_t y_stride, size_t mr, size_t nr) {
  const float64x2x4_t c = vld1q_f64_x4(init);
  float64x2_t c00 = c.val[0], c01 = c.val[1], c02 = c.val[2], c03 = c.val[3];
  float64x2_t c10 = c00, c11 = c01, c12 = c02, c13 = c03;
  float64x2_t c20 = c00, c21 = c01, c22 = c02, c23 = c03;
  float64x2_t c30 = c00, c31 = c01, c32 = c02, c33 = c03;
  const double *a0 = ad, *a1 = ad + k, *a2 = ad + 2 * k, *a3 = ad + 3 * k;
  // x·w exact in double, so FMLA = the twin's mul then add (f32_bmm__avx512vnni.cc).
#define EB_ROW(R, X, P, LANE)                            \
  c##R##0 = vfmaq_laneq_f64(c##R##0, P.val[0], X, LANE); \
  c##R##1 = vfmaq_laneq_f64(c##R##1, P.val[1], X, LANE); \
  c##R##2 = vfmaq_laneq_f64(c##R##2, P.val[2], X, LANE); \
  c##R##3 = vfmaq_laneq_f64(c##R##3, P.val[3], X, LANE);
#define EB_STEP(P, LANE) \
  EB_ROW(0, x0, P, LANE) \
  EB_ROW(1, x1, P, LANE) \
  EB_ROW(2, x2, P, LANE) \
  EB_ROW(3, x3, P, LANE)
  size_t t = 0;
  for (; t + 2 <= k; t += 2) {  // t, then t + 1: lane 0, then lane 1 of each row's pair
    const float64x2_t x0 = vld1q_f64(a0 + t), x1 = vld1q_f64(a1 + t), x2 = vld1q_f64(a2 + t), x3 = vld1q_f64(a3 + t);
    const float64x2x4_t p = vld1q_f64_x4(panel + t * kNR), q = vld1q_f64_x4(panel + t * kNR + kNR);
    EB_STEP(p, 0)
    EB_STEP(q, 1)
  }
  if (t < k) {
    const float64x2_t x0 = vld1q_dup_f64(a0 + t), x1 = vld1q_dup_f64(a1 + t), x2 = vld1q_dup_f64(a2 + t),
                      x3 = vld1q_dup_f64(a3 + t);
    const float64x2x4_t p = vld1q_f64_x4(panel + t * kNR);
    EB_STEP(p, 0)
  }
#undef EB_STEP
#undef EB_ROW
  const float64x2_t rows[kMR][4] = {
      {c00, c01, c02, c03}, {c10, c11, c12, c13}, {c20, c21, c22, c23}, {c30, c31, c32, c33}};
  for (size_t r = 0; r < mr; ++r) {
    float out[kNR];
    for (size_t v = 0; v < 2; ++v) {
      // The twin's (float)(acc · alpha), then its clamp y < lo ? lo : (y > hi ? hi : y) with the same compares
      // (a NaN passes; −0 against +0 stays; FMAX/FMIN would differ on both).
      float32x4_t f =
          vcvt_high_f32_f64(vcvt_f32_f64(vmulq_f64(rows[r][2 * v], alpha)), vmulq_f64(rows[r][2 * v + 1], alpha));
      f = vbslq_f32(vcgtq_f32(f, hi), hi, f);
      f = vbslq_f32(vcltq_f32(f, lo), lo, f);
      vst1q_f32(out + 4 * v, f);
    }
    memcpy(y + r * y_stride, out, nr * sizeof(float));
  }
}

}  // namespace

// One matrix: y[i, j] = clamp(float((init_j + Σ_t a[i, t]·B[t, j]) · alpha), lo, hi), ukernels_isa.h.
extern "C" void eb_f32_bmm_matrix__neon(size_t m, size_t n, size_t k, int transpose_b, const float* a, const float* b,
                                        const float* bias, float alpha, float lo, float hi, float* y, void* scratch) {
  double* panels = static_cast<double*>(scratch);  // [kNC / kNR][k][kNR]
  double* ad = panels + k * kNC;                   // [kMR][k]
  double init[kNC];
  const float64x2_t va = vdupq_n_f64((double)alpha);
  const float32x4_t vlo = vdupq_n_f32(lo), vhi = vdupq_n_f32(hi);
  for (size_t j0 = 0; j0 < n; j0 += kNC) {
    const size_t nc = n - j0 < kNC ? n - j0 : kNC, np = (nc + kNR - 1) / kNR;
    for (size_t jj = 0; jj < kNC; ++jj) init[jj] = bias != NULL && jj < nc ? (double)bias[j0 + jj] : 0.0;
    for (size_t p = 0; p < np; ++p)
      pack(b, n, k, transpose_b, j0 + p * kNR, nc - p * kNR < kNR ? nc - p * kNR : kNR, panels + p * k * kNR);
    for (size_t i = 0; i < m; i += kMR) {
      const size_t mr = m - i < kMR ? m - i : kMR;
      for (size_t r = 0; r < kMR; ++r) {  // the tile's rows in double (past m: row m − 1 again), once for all panels
        const float* ar = a + (r < mr ? i + r : m - 1) * k;
        size_t t = 0;
        for (; t + 4 <= k; t += 4) store_as_double(ad + r * k + t, vld1q_f32(ar + t));
        for (; t < k; ++t) ad[r * k + t] = (double)ar[t];
      }
      for (size_t p = 0; p < np; ++p)
        tile(k, ad, panels + p * k * kNR, init + p * kNR, va, vlo, vhi, y + i * n + j0 + p * kNR, n, mr,
             nc - p * kNR < kNR ? nc - p * kNR : kNR);
    }
  }
}

// docs/artifact.md BATCH_MATMUL (float), as eb_f32_bmm_ref; scratch: EB_F32_MM_SCRATCH_BYTES(k), 64-aligned.
extern "C" void eb_f32_bmm_ukernel__neon(size_t batch, size_t m, size_t n, size_t k, int transpose_b, float alpha,
                                         const float* a, const float* b, float* output, void* scratch) {
  for (size_t s = 0; s < batch; ++s)
    eb_f32_bmm_matrix__neon(m, n, k, transpose_b, a + s * m * k, b + s * k * n, NULL, alpha, -INFINITY, INFINITY,
                            output + s * m * n, scratch);
}
#endif  // __aarch64__
