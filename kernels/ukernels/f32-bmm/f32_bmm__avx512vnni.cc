// f32_bmm__avx512vnni.cc: float32 BATCH_MATMUL (attention's Q·Kᵀ and P·V) for AVX-512 cores, 8 double lanes per zmm.
// Reference twin: eb_f32_bmm_ref (f32-bmm/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc). Also the
// matrix core of eb_f32_gemm_ukernel__avx512vnni (f32-gemm/, twin eb_f32_gemm_ref): FULLY_CONNECTED is the same
// product with B = wᵀ, a bias as the start value and a clamp.
//
// Why the bits are the reference's: the twin sums each output in double over t = 0 .. k−1 in order, starting from
// 0 (or the bias), and rounds once (after · alpha). Here one double lane holds one output column and walks t in the
// same order, so every output sees the same sequence of double additions. The step is one FMA, fma(x, w, acc), where
// the twin does acc + x·w with x·w rounded first. The two are equal because x·w of two floats is exact in double:
// 24 + 24 significand bits fit double's 53, and the exponent range does too (|x·w| <= (2^128)² = 2^256, and a non-zero
// |x·w| >= 2^−149 · 2^−149 = 2^−298, far above double's least normal 2^−1022), so rounding the product is the
// identity and fma's single rounding of x·w + acc is the twin's rounding of (x·w) + acc. The same holds for the
// special values: inf·0 is NaN in both, inf + (−inf) is NaN in both, and the sign of an exact zero sum is decided by
// the exact product's sign in both (IEEE 754 fusedMultiplyAdd). NaN payloads are not part of the contract (x86 and
// ARM already differ there): a NaN output is a NaN on every path. Partial sums are never subnormal (they are
// multiples of 2^−298), so a flush-to-zero mode would not matter either; the final (float) rounding is cvtpd2ps in
// the default round-to-nearest mode, as the twin's cast.
//
// Layout (scratch, EB_F32_MM_SCRATCH_BYTES(k)): per batch and per 64 output columns, B's rows t = 0 .. k−1 are
// converted once into doubles, two panels [k][32] (a transposed B, b [N, K] as in Q·Kᵀ and every FULLY_CONNECTED,
// is transposed there in 8×8 blocks); then per tile of 6 rows, a's rows once into doubles [6][k], and per panel
// 24 zmm accumulators stay in registers over the whole k loop: per t, 4 panel loads and 24 FMAs whose broadcast
// operand is a[i, t] from memory (192 multiply-adds). Converting a's rows up front instead of per t (a broadcast
// and a vcvtps2pd per row and t) measured the same on Zen 5, where the FMAs bound the loop, but leaves the
// conversion off the FMA ports of cores that share them (Intel's p0 / p5).
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "edgebuild/ukernels_isa.h"

namespace {

constexpr size_t kNR = 32;  // columns per panel: 4 zmm of doubles
constexpr size_t kMR = 6;   // rows per tile: 24 accumulators, 4 panel rows, a broadcast (of 32 zmm)
constexpr size_t kNC = 64;  // columns packed at a time (2 panels): a tile's rows are converted once for both
static_assert(kNC % kNR == 0 && kMR <= EB_F32_MM_SCRATCH_MR && kNC <= EB_F32_MM_SCRATCH_NC, "scratch layout");

// The 8×8 block r[0..7] (row i = 8 floats) transposed in place.
inline void transpose8(__m256 r[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xee);
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xee);
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xee);
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xee);
  r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
  r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
  r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
  r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
  r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
  r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
  r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
  r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

// panel[t·32 + jj] = (double)B[t, j0 + jj] for jj < nr, 0 for nr <= jj < 32 (those columns are computed, not stored).
void pack(const float* b, size_t n, size_t k, int transpose_b, size_t j0, size_t nr, double* panel) {
  if (!transpose_b) {  // B[t, j] = b[t·n + j]: rows as they are, masked at the panel's end
    __mmask8 mask[4];
    for (size_t g = 0; g < 4; ++g) {
      const size_t left = nr > 8 * g ? nr - 8 * g : 0;
      mask[g] = (__mmask8)(left >= 8 ? 0xff : (1u << left) - 1);
    }
    for (size_t t = 0; t < k; ++t) {
      const float* src = b + t * n + j0;
      double* dst = panel + t * kNR;
      for (size_t g = 0; g < 4; ++g)
        _mm512_store_pd(dst + 8 * g, _mm512_cvtps_pd(_mm256_maskz_loadu_ps(mask[g], src + 8 * g)));
    }
    return;
  }
  // B[t, j] = b[j·k + t]: 8 columns × 8 t at a time through an 8×8 transpose; the remainders one by one.
  if (nr < kNR) memset(panel, 0, k * kNR * sizeof(double));
  const size_t k8 = k & ~(size_t)7;
  size_t g = 0;
  for (; g + 8 <= nr; g += 8) {
    const float* src = b + (j0 + g) * k;
    for (size_t t = 0; t < k8; t += 8) {
      __m256 r[8];
      for (size_t q = 0; q < 8; ++q) r[q] = _mm256_loadu_ps(src + q * k + t);
      transpose8(r);
      for (size_t q = 0; q < 8; ++q) _mm512_store_pd(panel + (t + q) * kNR + g, _mm512_cvtps_pd(r[q]));
    }
    for (size_t t = k8; t < k; ++t)
      for (size_t q = 0; q < 8; ++q) panel[t * kNR + g + q] = (double)src[q * k + t];
  }
  for (; g < nr; ++g)
    for (size_t t = 0; t < k; ++t) panel[t * kNR + g] = (double)b[(j0 + g) * k + t];
}

// Rows [0, MR) of the tile, in double (ad[r·k + t]: each a[i, t] an FMA's broadcast memory operand), times one
// panel: y[r, jj] for the columns in `mask`.
template <size_t MR>
void tile(size_t k, const double* ad, const double* panel, const double* init, __m512d alpha, __m256 lo, __m256 hi,
          float* y, size_t y_stride, const __mmask8* mask) {
  __m512d acc[MR][4];
#pragma GCC unroll 8
  for (size_t r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (size_t v = 0; v < 4; ++v) acc[r][v] = _mm512_load_pd(init + 8 * v);
  for (size_t t = 0; t < k; ++t) {
    const double* p = panel + t * kNR;
    const __m512d b0 = _mm512_load_pd(p), b1 = _mm512_load_pd(p + 8);
    const __m512d b2 = _mm512_load_pd(p + 16), b3 = _mm512_load_pd(p + 24);
#pragma GCC unroll 8
    for (size_t r = 0; r < MR; ++r) {
      // x·w exact in double, so fma = the twin's mul then add (the opening comment).
      const __m512d x = _mm512_set1_pd(ad[r * k + t]);
      acc[r][0] = _mm512_fmadd_pd(x, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_pd(x, b1, acc[r][1]);
      acc[r][2] = _mm512_fmadd_pd(x, b2, acc[r][2]);
      acc[r][3] = _mm512_fmadd_pd(x, b3, acc[r][3]);
    }
  }
#pragma GCC unroll 8
  for (size_t r = 0; r < MR; ++r) {
#pragma GCC unroll 4
    for (size_t v = 0; v < 4; ++v) {
      // The twin's (float)(acc · alpha), then its clamp y < lo ? lo : (y > hi ? hi : y) with the same compares
      // (a NaN passes; −0 against +0 stays): alpha = 1 is exact (acc is never a signaling NaN), ±inf bounds no-ops.
      __m256 f = _mm512_cvtpd_ps(_mm512_mul_pd(acc[r][v], alpha));
      f = _mm256_mask_blend_ps(_mm256_cmp_ps_mask(f, hi, _CMP_GT_OQ), f, hi);
      f = _mm256_mask_blend_ps(_mm256_cmp_ps_mask(f, lo, _CMP_LT_OQ), f, lo);
      _mm256_mask_storeu_ps(y + r * y_stride + 8 * v, mask[v], f);
    }
  }
}

}  // namespace

// One matrix: y[i, j] = clamp(float((init_j + Σ_t a[i, t]·B[t, j]) · alpha), lo, hi), ukernels_isa.h.
extern "C" void eb_f32_bmm_matrix__avx512vnni(size_t m, size_t n, size_t k, int transpose_b, const float* a,
                                              const float* b, const float* bias, float alpha, float lo, float hi,
                                              float* y, void* scratch) {
  double* panels = static_cast<double*>(scratch);  // kPanels × [k][kNR]
  double* ad = panels + k * kNC;                   // [kMR][k]
  alignas(64) double init[kNC];
  __mmask8 mask[kNC / 8];
  const __m512d va = _mm512_set1_pd((double)alpha);
  const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
  const size_t k8 = k & ~(size_t)7;
  for (size_t j0 = 0; j0 < n; j0 += kNC) {
    const size_t nc = n - j0 < kNC ? n - j0 : kNC, np = (nc + kNR - 1) / kNR;
    for (size_t jj = 0; jj < kNC; ++jj) init[jj] = bias != NULL && jj < nc ? (double)bias[j0 + jj] : 0.0;
    for (size_t g = 0; g < kNC / 8; ++g) {
      const size_t left = nc > 8 * g ? nc - 8 * g : 0;
      mask[g] = (__mmask8)(left >= 8 ? 0xff : (1u << left) - 1);
    }
    for (size_t p = 0; p < np; ++p)
      pack(b, n, k, transpose_b, j0 + p * kNR, nc - p * kNR < kNR ? nc - p * kNR : kNR, panels + p * k * kNR);
    for (size_t i = 0; i < m; i += kMR) {
      const size_t mr = m - i < kMR ? m - i : kMR;
      for (size_t r = 0; r < mr; ++r) {  // the tile's rows in double, once for all its panels
        const float* ar = a + (i + r) * k;
        for (size_t t = 0; t < k8; t += 8) _mm512_storeu_pd(ad + r * k + t, _mm512_cvtps_pd(_mm256_loadu_ps(ar + t)));
        for (size_t t = k8; t < k; ++t) ad[r * k + t] = (double)ar[t];
      }
      for (size_t p = 0; p < np; ++p) {
        const double* panel = panels + p * k * kNR;
        const double* ip = init + p * kNR;
        const __mmask8* mp = mask + p * (kNR / 8);
        float* yp = y + i * n + j0 + p * kNR;
        switch (mr) {
          case 6: tile<6>(k, ad, panel, ip, va, vlo, vhi, yp, n, mp); break;
          case 5: tile<5>(k, ad, panel, ip, va, vlo, vhi, yp, n, mp); break;
          case 4: tile<4>(k, ad, panel, ip, va, vlo, vhi, yp, n, mp); break;
          case 3: tile<3>(k, ad, panel, ip, va, vlo, vhi, yp, n, mp); break;
          case 2: tile<2>(k, ad, panel, ip, va, vlo, vhi, yp, n, mp); break;
          default: tile<1>(k, ad, panel, ip, va, vlo, vhi, yp, n, mp); break;
        }
      }
    }
  }
}

// docs/artifact.md BATCH_MATMUL (float), as eb_f32_bmm_ref; scratch: EB_F32_MM_SCRATCH_BYTES(k), 64-aligned.
extern "C" void eb_f32_bmm_ukernel__avx512vnni(size_t batch, size_t m, size_t n, size_t k, int transpose_b, float alpha,
                                               const float* a, const float* b, float* output, void* scratch) {
  for (size_t s = 0; s < batch; ++s)
    eb_f32_bmm_matrix__avx512vnni(m, n, k, transpose_b, a + s * m * k, b + s * k * n, NULL, alpha, -INFINITY, INFINITY,
                                  output + s * m * n, scratch);
}
