// qs8_dwconv_minmax_1x8__avx2.cc: int8 depthwise conv microkernel for AVX2 cores (Haswell+, Zen 1+).
//
// One output pixel, 8 channels per ymm; 3×3 and 5×5 windows compiled with a fixed tap count. vpmaddwd of the
// sign-extended input against the weight in the low half of each int32 lane (high half 0) is one exact multiply.
#include <immintrin.h>
#include <string.h>

#include "../requant/requant__avx2.h"
#include "edgebuild/ukernels_isa.h"

namespace {
constexpr size_t kCR = 8;

template <size_t kTaps>
void dwconv(size_t channels, size_t runtime_taps, const int8_t* const* input, const uint8_t* w, int8_t* output,
            const eb_qs8_requant_params* rq) {
  const size_t taps = kTaps != 0 ? kTaps : runtime_taps;
  const size_t block_bytes = (16 * kCR + taps * kCR * 4 + 63) / 64 * 64;  // packing.cc
  const __m256i lo = _mm256_set1_epi32(rq->lo), hi = _mm256_set1_epi32(rq->hi);
  const __m256i zp = _mm256_set1_epi32(rq->output_zero_point);
  for (size_t c0 = 0; c0 < channels; c0 += kCR, w += block_bytes) {
    const size_t n = channels - c0 < kCR ? channels - c0 : kCR;
    const int32_t* header = reinterpret_cast<const int32_t*>(w);
    const __m256i* wt = reinterpret_cast<const __m256i*>(header + 4 * kCR);
    __m256i acc = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(header));
    for (size_t t = 0; t < taps; ++t) {
      int64_t bytes = 0;  // a partial block reads only its channels
      if (n == kCR) memcpy(&bytes, input[t] + c0, 8); else memcpy(&bytes, input[t] + c0, n);
      const __m256i x = _mm256_cvtepi8_epi32(_mm_cvtsi64_si128(bytes));
      acc = _mm256_add_epi32(acc, _mm256_madd_epi16(x, _mm256_loadu_si256(wt + t)));
    }
    const __m256i y = eb_requant_avx2(acc, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(header + kCR)),
                                      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(header + 2 * kCR)),
                                      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(header + 3 * kCR)), lo,
                                      hi, zp);
    const __m256i b = _mm256_packs_epi16(_mm256_packs_epi32(y, y), _mm256_setzero_si256());
    const int32_t r0 = _mm256_cvtsi256_si32(b), r1 = _mm256_extract_epi32(b, 4);
    int8_t out[8];
    memcpy(out, &r0, 4);
    memcpy(out + 4, &r1, 4);
    memcpy(output + c0, out, n);
  }
}
}  // namespace

extern "C" void eb_qs8_dwconv_minmax_ukernel_1x8__avx2(size_t channels, size_t taps, const int8_t* const* input,
                                                       const void* w, int8_t* output,
                                                       const eb_qs8_requant_params* rq) {
  const uint8_t* wb = static_cast<const uint8_t*>(w);
  switch (taps) {
    case 9: dwconv<9>(channels, taps, input, wb, output, rq); break;
    case 25: dwconv<25>(channels, taps, input, wb, output, rq); break;
    default: dwconv<0>(channels, taps, input, wb, output, rq); break;
  }
}
