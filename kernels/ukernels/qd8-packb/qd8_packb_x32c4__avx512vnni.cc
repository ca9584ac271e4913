// qd8_packb_x32c4__avx512vnni.cc: ATTENTION's / DYNAMIC_BATCH_MATMUL's b quantized per vector (docs/quantization.md
// (16)) and packed for eb_qd8_gemm_minmax_ukernel_8x32c4__avx512vnni (blocks of 32 columns, k in groups of 4 bytes)
// in one pass over b's strided view, no transposed copy and no code buffer.
// Reference twin: eb_qd8_packb_ref (qd8-packb/ref.cc) at nr 32, kr 4, w_elem 1; equal bit for bit
// (kernels/test/ukernel_tester.cc).
//
// Two forms, by which stride is 1; any other view runs the reference.
// - Column form (stride_j == 1: a vector is a column of a row-major matrix, ATTENTION's V): 32 vectors are two
//   registers of a row. A first pass keeps their |max| (VMAXPS(a, m) returns m when a is NaN: the reference's
//   `a > m ? a : m`) and a mask of non-finite lanes (|v| > FLT_MAX or unordered); the per-vector scalars of (16) in
//   lanes (VDIVPS is the IEEE division); a second pass takes 4 rows at a time, VCVTPS2DQ (round to nearest even, as
//   nearbyintf) with zero masking for the vectors whose codes are 0, and merges the 4 rows' low bytes into each
//   column's 4-byte group (VPSLLD + VPTERNLOGD bit selects): one 64-byte store per 16 columns and 4 k.
// - Row form (stride_t == 1: a vector is contiguous, ATTENTION's K): per vector, 16 floats a step (masked tail), the
//   max and finiteness reduced, s and 1 / s as the reference's scalar statements, then the codes (VPMOVDB) stored as
//   4 groups of 4 bytes, 128 bytes apart.
// No clamp: for a finite vector with s >= FLT_MIN, |v · inv| <= max · fl(1 / fl(max / 127)) <= 127 (1 + 2^-22),
// which rounds to at most 127, so the reference's clamp to ±127 never changes a code (the tester's extremes check it).
#include <float.h>
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "edgebuild/ukernels.h"
#include "edgebuild/ukernels_isa.h"

namespace {

constexpr size_t kNr = 32;

inline __m512 abs16(__m512 v) {
  return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(0x7fffffff)));
}

// Lanes not finite: |v| > FLT_MAX, or NaN (unordered).
inline __mmask16 nonfinite(__m512 a) { return _mm512_cmp_ps_mask(a, _mm512_set1_ps(FLT_MAX), _CMP_NLE_UQ); }

// (16)'s per-vector scalars in lanes: inv (0 where the codes are 0), w_scale = (s, 1 or NaN) · alpha (0 outside
// `valid`), and the mask of vectors that get codes.
inline __mmask16 scalars(__m512 mx, __mmask16 bad, __mmask16 valid, float alpha, __m512* inv, __m512* ws) {
  const __m512 s = _mm512_div_ps(mx, _mm512_set1_ps(127.0f));
  const __mmask16 good = _mm512_cmp_ps_mask(s, _mm512_set1_ps(FLT_MIN), _CMP_GE_OQ) & (__mmask16)~bad;
  *inv = _mm512_maskz_div_ps(good, _mm512_set1_ps(1.0f), s);
  __m512 scale = _mm512_mask_blend_ps(bad, _mm512_set1_ps(1.0f), _mm512_set1_ps(NAN));
  scale = _mm512_mask_blend_ps(good, scale, s);
  *ws = _mm512_maskz_mul_ps(valid, scale, _mm512_set1_ps(alpha));
  return good;
}

// Bits of a where m is set, of b elsewhere.
inline __m512i select_bits(__m512i a, __m512i b, __m512i m) { return _mm512_ternarylogic_epi32(a, b, m, 0xE4); }

// Codes of 16 vectors at 4 consecutive k (rows r0..r3, NULL past k) merged into 16 groups of 4 bytes; sum += codes.
inline __m512i group4(const float* const* rows, __mmask16 ld, __mmask16 good, __m512 inv, __m512i* sum) {
  __m512i q[4];
  for (int r = 0; r < 4; ++r) {
    q[r] = rows[r] != NULL ? _mm512_maskz_cvtps_epi32(good, _mm512_mul_ps(_mm512_maskz_loadu_ps(ld, rows[r]), inv))
                           : _mm512_setzero_si512();
    *sum = _mm512_add_epi32(*sum, q[r]);
  }
  __m512i w = select_bits(q[0], _mm512_slli_epi32(q[1], 8), _mm512_set1_epi32(0xff));
  w = select_bits(w, _mm512_slli_epi32(q[2], 16), _mm512_set1_epi32(0xffff));
  return select_bits(w, _mm512_slli_epi32(q[3], 24), _mm512_set1_epi32(0xffffff));
}

__mmask16 lanes(size_t n) { return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1); }

void column_form(size_t n, size_t k, const float* b, size_t ld, float alpha, uint8_t* out, size_t bb) {
  for (size_t j0 = 0; j0 < n; j0 += kNr, b += kNr, out += bb) {
    const size_t nc = n - j0 < kNr ? n - j0 : kNr;
    const __mmask16 m0 = lanes(nc), m1 = lanes(nc > 16 ? nc - 16 : 0);
    __m512 mx0 = _mm512_setzero_ps(), mx1 = mx0;
    __mmask16 bad0 = 0, bad1 = 0;
    for (size_t t = 0; t < k; ++t) {
      const __m512 a0 = abs16(_mm512_maskz_loadu_ps(m0, b + t * ld));
      const __m512 a1 = abs16(_mm512_maskz_loadu_ps(m1, b + t * ld + 16));
      bad0 |= nonfinite(a0), bad1 |= nonfinite(a1);
      mx0 = _mm512_max_ps(a0, mx0), mx1 = _mm512_max_ps(a1, mx1);
    }
    __m512 inv0, inv1, ws0, ws1;
    const __mmask16 good0 = scalars(mx0, bad0, m0, alpha, &inv0, &ws0);
    const __mmask16 good1 = scalars(mx1, bad1, m1, alpha, &inv1, &ws1);
    __m512i sum0 = _mm512_setzero_si512(), sum1 = sum0;
    uint8_t* w = out + 12 * kNr;
    for (size_t t0 = 0; t0 < k; t0 += 4, w += 4 * kNr) {
      const float* rows[4];
      for (size_t r = 0; r < 4; ++r) rows[r] = t0 + r < k ? b + (t0 + r) * ld : NULL;
      _mm512_storeu_si512(w, group4(rows, m0, good0, inv0, &sum0));
      for (size_t r = 0; r < 4; ++r) rows[r] = rows[r] != NULL ? rows[r] + 16 : NULL;
      _mm512_storeu_si512(w + 64, group4(rows, m1, good1, inv1, &sum1));
    }
    _mm512_storeu_si512(out, sum0);
    _mm512_storeu_si512(out + 64, sum1);
    _mm512_storeu_ps(out + 128, ws0);
    _mm512_storeu_ps(out + 192, ws1);
    _mm512_storeu_ps(out + 256, _mm512_set1_ps(-0.0f));  // no bias: x + (−0) == x
    _mm512_storeu_ps(out + 320, _mm512_set1_ps(-0.0f));
  }
}

void row_form(size_t n, size_t k, const float* b, size_t stride_j, float alpha, uint8_t* out, size_t bb) {
  const size_t kc = (k + 3) / 4 * 4;
  for (size_t j0 = 0; j0 < n; j0 += kNr, out += bb) {
    const size_t nc = n - j0 < kNr ? n - j0 : kNr;
    if (nc < kNr) memset(out, 0, bb);  // padded columns: wsum, w_scale and codes 0
    int32_t* wsum = reinterpret_cast<int32_t*>(out);
    float* wscale = reinterpret_cast<float*>(out + 4 * kNr);
    for (size_t c = 0; c < nc; ++c) {
      const float* p = b + (j0 + c) * stride_j;
      __m512 mx = _mm512_setzero_ps();
      __mmask16 bad = 0;
      for (size_t t = 0; t < k; t += 16) {
        const __m512 a = abs16(_mm512_maskz_loadu_ps(lanes(k - t), p + t));
        bad |= nonfinite(a);
        mx = _mm512_max_ps(a, mx);
      }
      const float s = _mm512_reduce_max_ps(mx) / 127.0f;  // max of non-negative, non-NaN lanes: any order
      const bool good = bad == 0 && s >= FLT_MIN;
      const __m512 inv = _mm512_set1_ps(good ? 1.0f / s : 0.0f);
      const __mmask16 keep = good ? (__mmask16)0xffff : (__mmask16)0;
      __m512i sum = _mm512_setzero_si512();
      uint8_t* w = out + 12 * kNr + 4 * c;
      for (size_t t = 0; t < kc; t += 16, w += 4 * 4 * kNr) {
        const __mmask16 ld = lanes(k - t);
        const __m512i q = _mm512_maskz_cvtps_epi32(keep & ld, _mm512_mul_ps(_mm512_maskz_loadu_ps(ld, p + t), inv));
        sum = _mm512_add_epi32(sum, q);
        const __m128i bytes = _mm512_cvtepi32_epi8(q);
        const size_t groups = kc - t < 16 ? (kc - t) / 4 : 4;
        const uint32_t g0 = (uint32_t)_mm_cvtsi128_si32(bytes), g1 = (uint32_t)_mm_extract_epi32(bytes, 1);
        const uint32_t g2 = (uint32_t)_mm_extract_epi32(bytes, 2), g3 = (uint32_t)_mm_extract_epi32(bytes, 3);
        memcpy(w, &g0, 4);
        if (groups > 1) memcpy(w + 4 * kNr, &g1, 4);
        if (groups > 2) memcpy(w + 8 * kNr, &g2, 4);
        if (groups > 3) memcpy(w + 12 * kNr, &g3, 4);
      }
      wsum[c] = _mm512_reduce_add_epi32(sum);
      wscale[c] = (good ? s : (bad == 0 ? 1.0f : NAN)) * alpha;  // DYNAMIC_BATCH_MATMUL: w_scale = s_b · alpha
    }
    _mm512_storeu_ps(out + 256, _mm512_set1_ps(-0.0f));
    _mm512_storeu_ps(out + 320, _mm512_set1_ps(-0.0f));
  }
}

}  // namespace

extern "C" void eb_qd8_packb_ukernel_x32c4__avx512vnni(size_t n, size_t k, const float* b, size_t stride_j,
                                                       size_t stride_t, float alpha, void* packed) {
  const size_t kc = (k + 3) / 4 * 4, bb = eb_qd8_block_bytes(kNr, kc, 1);
  uint8_t* out = static_cast<uint8_t*>(packed);
  if (stride_j == 1)
    column_form(n, k, b, stride_t, alpha, out, bb);
  else if (stride_t == 1)
    row_form(n, k, b, stride_j, alpha, out, bb);
  else
    eb_qd8_packb_ref(kNr, 4, 1, n, k, b, stride_j, stride_t, alpha, packed);
}
