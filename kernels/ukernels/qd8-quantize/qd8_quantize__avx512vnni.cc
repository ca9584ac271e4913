// qd8_quantize__avx512vnni.cc: DYNAMIC_FULLY_CONNECTED's per-row quantization for AVX-512 cores (Ice Lake+, Zen 4+).
// Reference twin: eb_qd8_quantize_ref (qd8-quantize/ref.cc), docs/quantization.md (14); equal bit for bit
// (kernels/test/ukernel_tester.cc). Stores q + 128 as uint8 (Qd8Kernel::a_offset 128): vpdpbusd multiplies
// unsigned bytes of A by signed weights, so the GEMM (qd8_gemm_minmax_8x32c4__avx512vnni.cc) reads the rows as they
// are and folds the 128 into its per-row correction, with no flip in its K loop.
//
// Pass 1 (16 floats a step, two accumulator sets): min and max start at +0 and take x only when strictly beyond
// (vminps / vmaxps return their second operand for NaN and for equal zeros), exactly the reference's comparisons,
// so a lane holds +0 or a value of the row and any reduction order gives the same lo and hi; x − x is +0 for a
// finite x and NaN otherwise, OR-ed into a bit mask that is zero iff the row is finite. The scalar steps of (14)
// are the reference's code. Pass 2: x · inv, vcvtps2dq (round half to even under the default MXCSR), + zp, signed
// saturation to int8 (the clamp), xor 0x80.
#include <float.h>
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "edgebuild/ukernels_isa.h"

namespace {

inline int32_t rne(float v) { return (int32_t)nearbyintf(v); }

// Pass 1 of one row: lo, hi (14), and whether every value is finite.
inline bool row_range(const float* x, size_t k, float* lo_out, float* hi_out) {
  const size_t tail = k % 16;
  __m512 lo0 = _mm512_setzero_ps(), hi0 = lo0, lo1 = lo0, hi1 = lo0;
  __m512i bad0 = _mm512_setzero_si512(), bad1 = bad0;
  size_t i = 0;
  for (; i + 32 <= k; i += 32) {
    const __m512 v0 = _mm512_loadu_ps(x + i), v1 = _mm512_loadu_ps(x + i + 16);
    lo0 = _mm512_min_ps(v0, lo0);
    hi0 = _mm512_max_ps(v0, hi0);
    bad0 = _mm512_or_si512(bad0, _mm512_castps_si512(_mm512_sub_ps(v0, v0)));
    lo1 = _mm512_min_ps(v1, lo1);
    hi1 = _mm512_max_ps(v1, hi1);
    bad1 = _mm512_or_si512(bad1, _mm512_castps_si512(_mm512_sub_ps(v1, v1)));
  }
  if (i + 16 <= k) {
    const __m512 v = _mm512_loadu_ps(x + i);
    lo0 = _mm512_min_ps(v, lo0);
    hi0 = _mm512_max_ps(v, hi0);
    bad0 = _mm512_or_si512(bad0, _mm512_castps_si512(_mm512_sub_ps(v, v)));
    i += 16;
  }
  if (tail != 0) {  // masked-off lanes load +0, which changes neither lo (<= 0), hi (>= 0) nor the mask
    const __m512 v = _mm512_maskz_loadu_ps((__mmask16)((1u << tail) - 1), x + i);
    lo1 = _mm512_min_ps(v, lo1);
    hi1 = _mm512_max_ps(v, hi1);
    bad1 = _mm512_or_si512(bad1, _mm512_castps_si512(_mm512_sub_ps(v, v)));
  }
  const __m512i bad = _mm512_or_si512(bad0, bad1);
  *lo_out = _mm512_reduce_min_ps(_mm512_min_ps(lo0, lo1));
  *hi_out = _mm512_reduce_max_ps(_mm512_max_ps(hi0, hi1));
  return _mm512_test_epi32_mask(bad, bad) == 0;
}

}  // namespace

// Rows go in groups of up to 8, each step over the whole group (ranges, then the scalar steps, then the codes), so
// the reductions and the three divisions of one row overlap other rows' work instead of stalling the row.
extern "C" void eb_qd8_quantize_ukernel__avx512vnni(size_t m, size_t k, const float* x, size_t x_stride, void* qv,
                                                    size_t q_stride, eb_qd8_row_params* params) {
  uint8_t* q = static_cast<uint8_t*>(qv);
  const size_t tail = k % 16;
  const __mmask16 tail_mask = (__mmask16)((1u << tail) - 1);
  const __m128i flip = _mm_set1_epi8((char)0x80);
  for (size_t r0 = 0; r0 < m; r0 += 8) {
    const size_t rows = m - r0 < 8 ? m - r0 : 8;
    float lo[8], hi[8], inv[8];
    bool ok[8];
    for (size_t j = 0; j < rows; ++j) ok[j] = row_range(x + (r0 + j) * x_stride, k, &lo[j], &hi[j]);
    for (size_t j = 0; j < rows; ++j) {
      eb_qd8_row_params& p = params[r0 + j];
      if (!ok[j]) {  // (14): a NaN or an infinity: s = NaN, zp = 0, q = 0
        p.scale = NAN;
        p.zero_point = 0;
        continue;
      }
      const float s = (hi[j] - lo[j]) / 255.0f;
      if (!(s >= FLT_MIN)) {  // (14): an all-zero row, or a subnormal range
        p.scale = 1.0f;
        p.zero_point = 0;
        ok[j] = false;
        continue;
      }
      int32_t zp = -128 - rne(lo[j] / s);
      zp = zp < -128 ? -128 : (zp > 127 ? 127 : zp);
      inv[j] = 1.0f / s;
      p.scale = s;
      p.zero_point = zp;
    }
    for (size_t j = 0; j < rows; ++j) {
      const float* xr = x + (r0 + j) * x_stride;
      uint8_t* qr = q + (r0 + j) * q_stride;
      if (!ok[j]) {  // q = 0 (stored as 0x80)
        memset(qr, 0x80, k);
        continue;
      }
      const __m512 vinv = _mm512_set1_ps(inv[j]);
      const __m512i vzp = _mm512_set1_epi32(params[r0 + j].zero_point);
      size_t i = 0;
      for (; i + 16 <= k; i += 16) {
        const __m512i c = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(xr + i), vinv)), vzp);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(qr + i), _mm_xor_si128(_mm512_cvtsepi32_epi8(c), flip));
      }
      if (tail != 0) {
        const __m512i c =
            _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_maskz_loadu_ps(tail_mask, xr + i), vinv)), vzp);
        _mm_mask_storeu_epi8(qr + i, tail_mask, _mm_xor_si128(_mm512_cvtsepi32_epi8(c), flip));
      }
    }
  }
}
