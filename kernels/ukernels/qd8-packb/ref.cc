// qd8-packb/ref.cc: reference quantize-and-pack of a DYNAMIC_BATCH_MATMUL / ATTENTION b operand into the qd8 GEMM's
// packed blocks in one step (issue 19): b's n vectors (the GEMM's columns) quantized symmetrically per vector by
// docs/quantization.md (16) with exactly eb_qd8_quantize_cols_ref's arithmetic, each code stored at its place in the
// packed layout of ukernels_isa.h ("qd8": wsum, w_scale = s_b · alpha, bias −0, weights [kc / kr][nr][kr]). These
// bits define every variant's; the composition they replace (eb_qd8_quantize_cols_ref, then the packer) is what the
// microkernel tester holds them to.
#include <float.h>
#include <math.h>
#include <string.h>

#include "edgebuild/ukernels.h"
#include "edgebuild/ukernels_isa.h"

extern "C" void eb_qd8_packb_ref(size_t nr, size_t kr, size_t w_elem, size_t n, size_t k, const float* b,
                                 size_t stride_j, size_t stride_t, float alpha, void* packed) {
  const float kRound = 12582912.0f;  // 1.5 · 2^23
  const size_t kc = (k + kr - 1) / kr * kr, bb = eb_qd8_block_bytes(nr, kc, w_elem);
  uint8_t* out = static_cast<uint8_t*>(packed);
  memset(out, 0, (n + nr - 1) / nr * bb);  // padded columns and k >= K: wsum 0, w_scale 0, weights 0
  for (size_t j = 0; j < n; ++j) {
    uint8_t* block = out + j / nr * bb;
    const size_t c = j % nr;
    const float no_bias = -0.0f;  // x + (−0) == x
    if (c == 0)
      for (size_t i = 0; i < nr; ++i) memcpy(block + 4 * (2 * nr + i), &no_bias, 4);
    const float* bj = b + j * stride_j;
    float m = 0.0f, e = 0.0f;
    for (size_t t = 0; t < k; ++t) {  // eb_qd8_quantize_cols_ref's column maximum and finiteness
      const float v = bj[t * stride_t];
      e = e + (v - v);           // NaN once a NaN or an infinity was seen: the reference's `ok` without a branch
      const float a = fabsf(v);  // as the reference's v < 0 ? −v : v for the max (−0 and NaN never exceed m)
      m = a > m ? a : m;
    }
    const bool ok = e == 0.0f;
    const float s = m / 127.0f;
    float scale = s;
    int32_t sum = 0;
    if (!ok || !(s >= FLT_MIN)) {  // (16): NaN outputs for a non-finite column; 0 for an all-zero / subnormal one
      scale = ok ? 1.0f : NAN;     // codes 0: the block is zeroed
    } else {
      const float inv = 1.0f / s;
      uint8_t* w = block + 12 * nr + c * kr * w_elem;
      for (size_t t0 = 0; t0 < k; t0 += kr, w += nr * kr * w_elem)
        for (size_t r = 0; r < kr && t0 + r < k; ++r) {
          // Round half to even as nearbyintf (default mode), without its call on cores lacking a rounding
          // instruction: the 1.5 · 2^23 add-subtract is exact for |x| <= 2^22, and |x| <= 127 (1 + 2^-22) here, so
          // the clamp to ±127 (eb_qd8_quantize_cols_ref's) never bites.
          const float x = bj[(t0 + r) * stride_t] * inv;
          int32_t v = (int32_t)((x + kRound) - kRound);
          v = v < -127 ? -127 : (v > 127 ? 127 : v);
          sum += v;
          if (w_elem == 1) {
            w[r] = (uint8_t)(int8_t)v;
          } else {  // little endian, as the packed layout
            w[2 * r] = (uint8_t)(v & 0xff);
            w[2 * r + 1] = (uint8_t)((uint32_t)v >> 8);
          }
        }
    }
    const float ws = scale * alpha;  // DYNAMIC_BATCH_MATMUL: w_scale = s_b · alpha
    memcpy(block + 4 * c, &sum, 4);
    memcpy(block + 4 * (nr + c), &ws, 4);
  }
}
