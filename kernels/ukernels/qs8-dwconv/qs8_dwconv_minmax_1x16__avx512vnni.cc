// qs8_dwconv_minmax_1x16__avx512vnni.cc: int8 depthwise conv microkernel for AVX-512 cores (Skylake-X+, Zen 4+).
//
// One output pixel, 16 channels per zmm; 3×3 and 5×5 windows (any stride: the caller passes tap pointers) are
// compiled with a fixed tap count, other windows take the generic loop. A tap is one MAC per channel, so VNNI does
// not help; vpmaddwd of the sign-extended input against the weight in the low half of each lane is one exact
// multiply (the high half of the weight lane is 0). Part of the avx512vnni path, which requires AVX-512 BW/VL too.
#include <immintrin.h>

#include "../requant/requant__avx512vnni.h"
#include "edgebuild/ukernels_isa.h"

namespace {
constexpr size_t kCR = 16;

template <size_t kTaps>
void dwconv(size_t channels, size_t runtime_taps, const int8_t* const* input, const uint8_t* w, int8_t* output,
            const eb_qs8_requant_params* rq) {
  const size_t taps = kTaps != 0 ? kTaps : runtime_taps;
  const size_t block_bytes = (16 * kCR + taps * kCR * 4 + 63) / 64 * 64;  // packing.cc
  const __m512i lo = _mm512_set1_epi32(rq->lo), hi = _mm512_set1_epi32(rq->hi);
  const __m512i zp = _mm512_set1_epi32(rq->output_zero_point);
  for (size_t c0 = 0; c0 < channels; c0 += kCR, w += block_bytes) {
    const __mmask16 mask = channels - c0 >= kCR ? (__mmask16)0xFFFF : (__mmask16)((1u << (channels - c0)) - 1);
    const int32_t* header = reinterpret_cast<const int32_t*>(w);
    const int32_t* wt = header + 4 * kCR;
    __m512i acc = _mm512_loadu_si512(header);
    __m512i acc2 = _mm512_setzero_si512();
    size_t t = 0;
    for (; t + 2 <= taps; t += 2) {
      const __m512i x0 = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, input[t] + c0));
      const __m512i x1 = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, input[t + 1] + c0));
      acc = _mm512_add_epi32(acc, _mm512_madd_epi16(x0, _mm512_loadu_si512(wt + t * kCR)));
      acc2 = _mm512_add_epi32(acc2, _mm512_madd_epi16(x1, _mm512_loadu_si512(wt + (t + 1) * kCR)));
    }
    if (t < taps) {
      const __m512i x0 = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, input[t] + c0));
      acc = _mm512_add_epi32(acc, _mm512_madd_epi16(x0, _mm512_loadu_si512(wt + t * kCR)));
    }
    acc = _mm512_add_epi32(acc, acc2);
    const __m512i y = eb_requant_avx512(acc, _mm512_loadu_si512(header + kCR), _mm512_loadu_si512(header + 2 * kCR),
                                        _mm512_loadu_si512(header + 3 * kCR), lo, hi, zp);
    _mm_mask_storeu_epi8(output + c0, mask, _mm512_cvtepi32_epi8(y));
  }
}
}  // namespace

extern "C" void eb_qs8_dwconv_minmax_ukernel_1x16__avx512vnni(size_t channels, size_t taps,
                                                              const int8_t* const* input, const void* w,
                                                              int8_t* output, const eb_qs8_requant_params* rq) {
  const uint8_t* wb = static_cast<const uint8_t*>(w);
  switch (taps) {
    case 9: dwconv<9>(channels, taps, input, wb, output, rq); break;
    case 25: dwconv<25>(channels, taps, input, wb, output, rq); break;
    default: dwconv<0>(channels, taps, input, wb, output, rq); break;
  }
}
