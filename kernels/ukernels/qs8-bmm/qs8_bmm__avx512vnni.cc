// qs8_bmm__avx512vnni.cc: int8 BATCH_MATMUL of two activations (attention's Q·Kᵀ and P·V) for AVX-512 VNNI cores.
// Reference twin: eb_qs8_bmm_ref (qs8-bmm/ref.cc); equal bit for bit (kernels/test/ukernel_tester.cc).
//
// Why the bits are the twin's: the twin sums (a − zp_a)(b − zp_b) over t with wrapping int32 adds, so its acc is the
// exact integer sum mod 2^32, and any way of computing that sum mod 2^32 gives the same acc. Expanding the product,
//   acc = Σ a·b − zp_b·Σ_t a − zp_a·Σ_t b + k·zp_a·zp_b,
// and vpdpbusd (unsigned × signed bytes, four products per int32 lane, wrapping) gives Σ (a + 128)·b = Σ a·b +
// 128·Σ_t b from a flipped to unsigned (a xor 0x80). So acc = dot − (128 + zp_a)·colsum − zp_b·rowsum + k·zp_a·zp_b,
// every step a wrapping int32 operation. Then the twin's requantization, docs/quantization.md (5), (6), lane by lane
// (requant__avx512vnni.h, equal to eb_mbqm with the op's one multiplier in every column).
//
// Layout (scratch, EB_QS8_BMM_SCRATCH_BYTES(m, k)): per batch, a's rows flipped to unsigned, kc bytes each (k padded
// to kc = k rounded up to 4), and their sums; per 32 columns, B as [kc / 4][32][4] bytes with zero bytes in k's
// padding (their products vanish whatever a holds there), and its column sums. 16 zmm accumulators: per 4 t, 2
// panel loads and 16 vpdpbusd whose broadcast operand is 4 bytes of a row (1024 multiply-adds).
#include <immintrin.h>
#include <string.h>

#include "../requant/requant__avx512vnni.h"
#include "edgebuild/ukernels_isa.h"

namespace {

constexpr size_t kNR = 32;  // columns per panel: 2 zmm of int32
constexpr size_t kMR = 8;   // rows per tile: 16 accumulators

// panel[(t / 4)·128 + jj·4 + t % 4] = B[t, j0 + jj] for t < k, jj < nr; 0 elsewhere; colsum[jj] = Σ_t B[t, j0 + jj]
// (|colsum| <= 128·33025: no overflow, the loader bounds k).
void pack(const int8_t* b, size_t n, size_t k, size_t kc, int transpose_b, size_t j0, size_t nr, int8_t* panel,
          int32_t* colsum) {
  const size_t k4 = k & ~(size_t)3;
  if (transpose_b) {  // column jj is the row b[j0 + jj] of k bytes: 4 of them per dword of the panel
    if (nr < kNR || k4 < k) memset(panel, 0, kc * kNR);
    for (size_t jj = 0; jj < nr; ++jj) {
      const int8_t* src = b + (j0 + jj) * k;
      int32_t sum = 0;
      for (size_t t = 0; t < k4; t += 4) memcpy(panel + t * kNR + jj * 4, src + t, 4);
      for (size_t t = k4; t < k; ++t) panel[k4 * kNR + jj * 4 + t - k4] = src[t];
      for (size_t t = 0; t < k; ++t) sum += src[t];
      colsum[jj] = sum;
    }
    for (size_t jj = nr; jj < kNR; ++jj) colsum[jj] = 0;
    return;
  }
  // b [k, n]: rows t..t+3 interleaved byte by byte (unpack 8 then 16, per 128-bit lane, then the lanes put in
  // column order); sums as int32 lanes.
  __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
  const __mmask32 mask = nr >= 32 ? 0xffffffffu : (__mmask32)((1u << nr) - 1);
  for (size_t t = 0; t < kc; t += 4) {
    __m256i r[4];
    for (size_t q = 0; q < 4; ++q)
      r[q] = t + q < k ? _mm256_maskz_loadu_epi8(mask, b + (t + q) * n + j0) : _mm256_setzero_si256();
    for (size_t q = 0; q < 4; ++q) {
      s0 = _mm512_add_epi32(s0, _mm512_cvtepi8_epi32(_mm256_castsi256_si128(r[q])));
      s1 = _mm512_add_epi32(s1, _mm512_cvtepi8_epi32(_mm256_extracti128_si256(r[q], 1)));
    }
    const __m256i lo01 = _mm256_unpacklo_epi8(r[0], r[1]), hi01 = _mm256_unpackhi_epi8(r[0], r[1]);
    const __m256i lo23 = _mm256_unpacklo_epi8(r[2], r[3]), hi23 = _mm256_unpackhi_epi8(r[2], r[3]);
    const __m256i q0 = _mm256_unpacklo_epi16(lo01, lo23), q1 = _mm256_unpackhi_epi16(lo01, lo23);
    const __m256i q2 = _mm256_unpacklo_epi16(hi01, hi23), q3 = _mm256_unpackhi_epi16(hi01, hi23);
    int8_t* dst = panel + t * kNR;
    _mm256_store_si256(reinterpret_cast<__m256i*>(dst), _mm256_permute2x128_si256(q0, q1, 0x20));
    _mm256_store_si256(reinterpret_cast<__m256i*>(dst + 32), _mm256_permute2x128_si256(q2, q3, 0x20));
    _mm256_store_si256(reinterpret_cast<__m256i*>(dst + 64), _mm256_permute2x128_si256(q0, q1, 0x31));
    _mm256_store_si256(reinterpret_cast<__m256i*>(dst + 96), _mm256_permute2x128_si256(q2, q3, 0x31));
  }
  _mm512_store_si512(colsum, s0);
  _mm512_store_si512(colsum + 16, s1);
}

template <size_t MR>
void tile(size_t kc, const uint8_t* ua, const int32_t* rowterm, const int8_t* panel, const __m512i* colterm,
          const eb_requant_cols_avx512* rq, int8_t* y, size_t y_stride, __mmask16 m0, __mmask16 m1) {
  __m512i acc[MR][2];
#pragma GCC unroll 8
  for (size_t r = 0; r < MR; ++r) {
    acc[r][0] = _mm512_setzero_si512();
    acc[r][1] = _mm512_setzero_si512();
  }
  for (size_t t = 0; t < kc; t += 4) {
    const __m512i w0 = _mm512_load_si512(panel + t * kNR), w1 = _mm512_load_si512(panel + t * kNR + 64);
#pragma GCC unroll 8
    for (size_t r = 0; r < MR; ++r) {
      int32_t x4;
      memcpy(&x4, ua + r * kc + t, 4);
      const __m512i x = _mm512_set1_epi32(x4);
      acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], x, w0);
      acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], x, w1);
    }
  }
#pragma GCC unroll 8
  for (size_t r = 0; r < MR; ++r) {
    const __m512i rt = _mm512_set1_epi32(rowterm[r]);
    const __m512i q0 = eb_requant_apply_avx512(_mm512_add_epi32(_mm512_add_epi32(acc[r][0], colterm[0]), rt), rq);
    const __m512i q1 = eb_requant_apply_avx512(_mm512_add_epi32(_mm512_add_epi32(acc[r][1], colterm[1]), rt), rq);
    _mm_mask_storeu_epi8(y + r * y_stride, m0, _mm512_cvtepi32_epi8(q0));
    _mm_mask_storeu_epi8(y + r * y_stride + 16, m1, _mm512_cvtepi32_epi8(q1));
  }
}

}  // namespace

// docs/artifact.md BATCH_MATMUL (int8), as eb_qs8_bmm_ref; scratch: EB_QS8_BMM_SCRATCH_BYTES(m, k), 64-aligned.
extern "C" void eb_qs8_bmm_ukernel__avx512vnni(const eb_qs8_bmm_params* p, const int8_t* a, const int8_t* b,
                                               int8_t* output, void* scratch) {
  const size_t m = p->m, n = p->n, k = p->k, kc = (k + 3) & ~(size_t)3;
  int8_t* panel = static_cast<int8_t*>(scratch);                                      // [kc / 4][32][4]
  uint8_t* ua = reinterpret_cast<uint8_t*>(panel + kc * kNR);                         // [m][kc]: a flipped to unsigned
  int32_t* rowterm = reinterpret_cast<int32_t*>(ua + ((m * kc + 63) & ~(size_t)63));  // [m]
  const int32_t e = p->shift;
  int32_t mult[16], left[16], right[16];
  for (size_t i = 0; i < 16; ++i) mult[i] = p->multiplier, left[i] = e > 0 ? e : 0, right[i] = e < 0 ? -e : 0;
  const eb_requant_cols_avx512 rq =
      eb_requant_cols_load_avx512(mult, left, right, p->output_min - p->output_zero_point,
                                  p->output_max - p->output_zero_point, p->output_zero_point);
  const uint32_t za = (uint32_t)p->a_zero_point, zb = (uint32_t)p->b_zero_point;
  const uint32_t kzz = (uint32_t)k * za * zb;  // wrapping, as every term below
  const __m512i flip = _mm512_set1_epi8((char)0x80), f = _mm512_set1_epi32((int32_t)(128 + za));
  alignas(64) int32_t colsum[kNR];
  for (size_t s = 0; s < p->batch; ++s) {
    const int8_t* as = a + s * m * k;
    const int8_t* bs = b + s * k * n;
    int8_t* ys = output + s * m * n;
    // a's rows once per batch: u = a xor 0x80 (k's padding 0, times a 0 weight), Σ_t a = Σ u − 128·k.
    for (size_t i = 0; i < m; ++i) {
      const int8_t* ar = as + i * k;
      uint8_t* dst = ua + i * kc;
      __m512i sad = _mm512_setzero_si512();
      for (size_t t = 0; t < kc; t += 64) {
        const __mmask64 mk = k - t >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (k - t)) - 1);
        const __m512i uu = _mm512_maskz_mov_epi8(mk, _mm512_xor_si512(_mm512_maskz_loadu_epi8(mk, ar + t), flip));
        sad = _mm512_add_epi64(sad, _mm512_sad_epu8(uu, _mm512_setzero_si512()));
        _mm512_mask_storeu_epi8(dst + t, kc - t >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (kc - t)) - 1), uu);
      }
      const uint32_t sum_a = (uint32_t)_mm512_reduce_add_epi64(sad) - 128u * (uint32_t)k;
      rowterm[i] = (int32_t)(kzz - zb * sum_a);
    }
    for (size_t j0 = 0; j0 < n; j0 += kNR) {
      const size_t nr = n - j0 < kNR ? n - j0 : kNR;
      pack(bs, n, k, kc, p->transpose_b, j0, nr, panel, colsum);
      const __m512i colterm[2] = {
          _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_mullo_epi32(f, _mm512_load_si512(colsum))),
          _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_mullo_epi32(f, _mm512_load_si512(colsum + 16)))};
      const __mmask16 m0 = (__mmask16)(nr >= 16 ? 0xffff : (1u << nr) - 1);
      const __mmask16 m1 = (__mmask16)(nr >= 32 ? 0xffff : nr > 16 ? (1u << (nr - 16)) - 1 : 0);
      for (size_t i = 0; i < m; i += kMR) {
        const size_t mr = m - i < kMR ? m - i : kMR;
        const uint8_t* ui = ua + i * kc;
        const int32_t* ri = rowterm + i;
        int8_t* yp = ys + i * n + j0;
        switch (mr) {
          case 8: tile<8>(kc, ui, ri, panel, colterm, &rq, yp, n, m0, m1); break;
          case 7: tile<7>(kc, ui, ri, panel, colterm, &rq, yp, n, m0, m1); break;
          case 6: tile<6>(kc, ui, ri, panel, colterm, &rq, yp, n, m0, m1); break;
          case 5: tile<5>(kc, ui, ri, panel, colterm, &rq, yp, n, m0, m1); break;
          case 4: tile<4>(kc, ui, ri, panel, colterm, &rq, yp, n, m0, m1); break;
          case 3: tile<3>(kc, ui, ri, panel, colterm, &rq, yp, n, m0, m1); break;
          case 2: tile<2>(kc, ui, ri, panel, colterm, &rq, yp, n, m0, m1); break;
          default: tile<1>(kc, ui, ri, panel, colterm, &rq, yp, n, m0, m1); break;
        }
      }
    }
  }
}
