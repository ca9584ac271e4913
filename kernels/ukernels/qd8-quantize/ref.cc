// qd8-quantize/ref.cc: reference dynamic per-row quantization of float32 rows to int8 (DYNAMIC_FULLY_CONNECTED's
// input), docs/quantization.md (14). These bits define every variant's.
#include <float.h>
#include <math.h>

#include "edgebuild/ukernels.h"

namespace {

// Round half to even, for |v| well inside int32 (callers clamp first): nearbyintf under the default rounding mode.
inline int32_t rne(float v) { return (int32_t)nearbyintf(v); }

inline bool finite(float v) { return v - v == 0.0f; }  // false for NaN and ±inf

}  // namespace

extern "C" void eb_qd8_quantize_ref(size_t m, size_t k, const float* x, size_t x_stride, int8_t* q,
                                    eb_qd8_row_params* params) {
  for (size_t r = 0; r < m; ++r, x += x_stride, q += k) {
    float lo = 0.0f, hi = 0.0f;
    bool ok = true;
    for (size_t i = 0; i < k; ++i) {
      ok = ok && finite(x[i]);
      lo = x[i] < lo ? x[i] : lo;
      hi = x[i] > hi ? x[i] : hi;
    }
    if (!ok) {  // (14): a NaN or an infinity makes the row's outputs NaN on every ISA
      params[r].scale = NAN;
      params[r].zero_point = 0;
      for (size_t i = 0; i < k; ++i) q[i] = 0;
      continue;
    }
    const float s = (hi - lo) / 255.0f;
    if (!(s >= FLT_MIN)) {  // (14): an all-zero row, or one whose range is subnormal (armv7 NEON would flush it)
      params[r].scale = 1.0f;
      params[r].zero_point = 0;
      for (size_t i = 0; i < k; ++i) q[i] = 0;
      continue;
    }
    int32_t zp = -128 - rne(lo / s);
    zp = zp < -128 ? -128 : (zp > 127 ? 127 : zp);
    const float inv = 1.0f / s;
    for (size_t i = 0; i < k; ++i) {
      float v = x[i] * inv;  // |v| <= 255 (1 + 2^-22) for a finite row: no clamp needed before rounding
      int32_t c = rne(v) + zp;
      q[i] = (int8_t)(c < -128 ? -128 : (c > 127 ? 127 : c));
    }
    params[r].scale = s;
    params[r].zero_point = zp;
  }
}

extern "C" void eb_qd8_quantize_cols_ref(size_t n, size_t k, const float* b, size_t stride_j, size_t stride_t,
                                         int8_t* q, float* scale) {
  for (size_t j = 0; j < n; ++j, q += k) {
    const float* bj = b + j * stride_j;
    float c = 0.0f;
    bool ok = true;
    for (size_t t = 0; t < k; ++t) {
      const float v = bj[t * stride_t];
      ok = ok && finite(v);
      const float a = v < 0.0f ? -v : v;
      c = a > c ? a : c;
    }
    const float s = c / 127.0f;
    if (!ok || !(s >= FLT_MIN)) {  // (16): NaN outputs for a non-finite column; 0 for an all-zero / subnormal one
      scale[j] = ok ? 1.0f : NAN;
      for (size_t t = 0; t < k; ++t) q[t] = 0;
      continue;
    }
    const float inv = 1.0f / s;
    for (size_t t = 0; t < k; ++t) {
      const int32_t v = rne(bj[t * stride_t] * inv);  // |v| <= 127 (1 + 2^-22): clamp after rounding
      q[t] = (int8_t)(v < -127 ? -127 : (v > 127 ? 127 : v));
    }
    scale[j] = s;
  }
}
