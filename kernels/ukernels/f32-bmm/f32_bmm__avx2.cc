// f32_bmm__avx2.cc: float32 BATCH_MATMUL (attention's Q·Kᵀ and P·V) for AVX2 + FMA cores, 4 double lanes per ymm.
// Reference twin: eb_f32_bmm_ref (f32-bmm/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc). Also the
// matrix core of eb_f32_gemm_ukernel__avx2 (f32-gemm/, twin eb_f32_gemm_ref).
//
// The arithmetic is f32_bmm__avx512vnni.cc's (its opening comment says why a double FMA per t, one lane per output
// column, gives the twin's bits), with 16 ymm registers: tiles of 6 rows × 8 columns (12 accumulators, 2 panel
// rows, a broadcast), per t 2 panel loads, 6 broadcast loads of a[i, t] (in double) and 12 FMAs. FMA3 is not part of
// AVX2 proper: the file is compiled with -mfma (ukernels/isa.cmake) and cpu.cc picks it only when the CPU reports FMA
// (every AVX2 core from Haswell and Zen 1 on).
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "edgebuild/ukernels_isa.h"

namespace {

constexpr size_t kNR = 8;   // columns per panel: 2 ymm of doubles
constexpr size_t kMR = 6;   // rows per tile: 12 accumulators, 2 panel rows, a broadcast (of 16 ymm)
constexpr size_t kNC = 64;  // columns packed at a time (8 panels): a tile's rows are converted once for all
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

// Lanes [0, count) of an 8-lane mask (all ones), the rest 0.
inline __m256i lanes(size_t count) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// 8 floats as doubles at dst (32-aligned).
inline void store_as_double(double* dst, __m256 f) {
  _mm256_store_pd(dst, _mm256_cvtps_pd(_mm256_castps256_ps128(f)));
  _mm256_store_pd(dst + 4, _mm256_cvtps_pd(_mm256_extractf128_ps(f, 1)));
}

// panel[t·8 + jj] = (double)B[t, j0 + jj] for jj < nr, 0 for nr <= jj < 8 (those columns are computed, not stored).
void pack(const float* b, size_t n, size_t k, int transpose_b, size_t j0, size_t nr, double* panel) {
  if (!transpose_b) {  // B[t, j] = b[t·n + j]: rows as they are, masked at the panel's end
    const __m256i mask = lanes(nr);
    for (size_t t = 0; t < k; ++t) store_as_double(panel + t * kNR, _mm256_maskload_ps(b + t * n + j0, mask));
    return;
  }
  // B[t, j] = b[j·k + t]: 8 columns × 8 t at a time through an 8×8 transpose; the remainders one by one.
  const size_t k8 = k & ~(size_t)7;
  if (nr == kNR) {
    const float* src = b + j0 * k;
    for (size_t t = 0; t < k8; t += 8) {
      __m256 r[8];
      for (size_t q = 0; q < 8; ++q) r[q] = _mm256_loadu_ps(src + q * k + t);
      transpose8(r);
      for (size_t q = 0; q < 8; ++q) store_as_double(panel + (t + q) * kNR, r[q]);
    }
    for (size_t t = k8; t < k; ++t)
      for (size_t q = 0; q < 8; ++q) panel[t * kNR + q] = (double)src[q * k + t];
    return;
  }
  for (size_t t = 0; t < k; ++t)
    for (size_t q = 0; q < kNR; ++q) panel[t * kNR + q] = q < nr ? (double)b[(j0 + q) * k + t] : 0.0;
}

// Rows [0, MR) of the tile, in double (ad[r·k + t]), times one panel: y[r, jj] for the lanes of `mask`.
template <size_t MR>
void tile(size_t k, const double* ad, const double* panel, const double* init, __m256d alpha, __m128 lo, __m128 hi,
          float* y, size_t y_stride, const __m128i* mask) {
  __m256d acc[MR][2];
#pragma GCC unroll 8
  for (size_t r = 0; r < MR; ++r) {
    acc[r][0] = _mm256_load_pd(init);
    acc[r][1] = _mm256_load_pd(init + 4);
  }
  for (size_t t = 0; t < k; ++t) {
    const double* p = panel + t * kNR;
    const __m256d b0 = _mm256_load_pd(p), b1 = _mm256_load_pd(p + 4);
#pragma GCC unroll 8
    for (size_t r = 0; r < MR; ++r) {
      // x·w exact in double, so fma = the twin's mul then add (f32_bmm__avx512vnni.cc).
      const __m256d x = _mm256_broadcast_sd(ad + r * k + t);
      acc[r][0] = _mm256_fmadd_pd(x, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_pd(x, b1, acc[r][1]);
    }
  }
#pragma GCC unroll 8
  for (size_t r = 0; r < MR; ++r) {
#pragma GCC unroll 2
    for (size_t v = 0; v < 2; ++v) {
      // The twin's (float)(acc · alpha) and clamp, with its compares (f32_bmm__avx512vnni.cc).
      __m128 f = _mm256_cvtpd_ps(_mm256_mul_pd(acc[r][v], alpha));
      f = _mm_blendv_ps(f, hi, _mm_cmp_ps(f, hi, _CMP_GT_OQ));
      f = _mm_blendv_ps(f, lo, _mm_cmp_ps(f, lo, _CMP_LT_OQ));
      _mm_maskstore_ps(y + r * y_stride + 4 * v, mask[v], f);
    }
  }
}

}  // namespace

// One matrix: y[i, j] = clamp(float((init_j + Σ_t a[i, t]·B[t, j]) · alpha), lo, hi), ukernels_isa.h.
extern "C" void eb_f32_bmm_matrix__avx2(size_t m, size_t n, size_t k, int transpose_b, const float* a, const float* b,
                                        const float* bias, float alpha, float lo, float hi, float* y, void* scratch) {
  double* panels = static_cast<double*>(scratch);  // [kNC / kNR][k][kNR]
  double* ad = panels + k * kNC;                   // [kMR][k]
  alignas(32) double init[kNC];
  __m128i mask[kNC / 4];
  const __m256d va = _mm256_set1_pd((double)alpha);
  const __m128 vlo = _mm_set1_ps(lo), vhi = _mm_set1_ps(hi);
  const size_t k4 = k & ~(size_t)3;
  for (size_t j0 = 0; j0 < n; j0 += kNC) {
    const size_t nc = n - j0 < kNC ? n - j0 : kNC, np = (nc + kNR - 1) / kNR;
    for (size_t jj = 0; jj < kNC; ++jj) init[jj] = bias != NULL && jj < nc ? (double)bias[j0 + jj] : 0.0;
    for (size_t g = 0; g < kNC / 4; ++g)
      mask[g] = _mm_cmpgt_epi32(_mm_set1_epi32((int)(nc > 4 * g ? nc - 4 * g : 0)), _mm_setr_epi32(0, 1, 2, 3));
    for (size_t p = 0; p < np; ++p)
      pack(b, n, k, transpose_b, j0 + p * kNR, nc - p * kNR < kNR ? nc - p * kNR : kNR, panels + p * k * kNR);
    for (size_t i = 0; i < m; i += kMR) {
      const size_t mr = m - i < kMR ? m - i : kMR;
      for (size_t r = 0; r < mr; ++r) {  // the tile's rows in double, once for all its panels
        const float* ar = a + (i + r) * k;
        for (size_t t = 0; t < k4; t += 4) _mm256_storeu_pd(ad + r * k + t, _mm256_cvtps_pd(_mm_loadu_ps(ar + t)));
        for (size_t t = k4; t < k; ++t) ad[r * k + t] = (double)ar[t];
      }
      for (size_t p = 0; p < np; ++p) {
        const double* panel = panels + p * k * kNR;
        const double* ip = init + p * kNR;
        const __m128i* mp = mask + p * (kNR / 4);
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
extern "C" void eb_f32_bmm_ukernel__avx2(size_t batch, size_t m, size_t n, size_t k, int transpose_b, float alpha,
                                         const float* a, const float* b, float* output, void* scratch) {
  for (size_t s = 0; s < batch; ++s)
    eb_f32_bmm_matrix__avx2(m, n, k, transpose_b, a + s * m * k, b + s * k * n, NULL, alpha, -INFINITY, INFINITY,
                            output + s * m * n, scratch);
}
