// xx-cast/ref.cc: reference CAST between float32 and int32, and to bool (int32 0/1).
//
// float32 -> int32 truncates toward zero and saturates at INT32_MIN / INT32_MAX (C's conversion is undefined out of
// range, and torch's result there is unspecified); NaN -> 0. int32 -> float32 rounds to nearest even (IEEE).
#include "edgebuild/ukernels.h"

namespace {

int32_t f32_to_i32(float x) {
  if (x != x) return 0;
  if (x >= 2147483648.0f) return INT32_MAX;
  if (x <= -2147483648.0f) return INT32_MIN;
  return (int32_t)x;
}

}  // namespace

// from_int / to_int: the dtypes of input and output (int32 or float32); to_bool: y = x != 0 (NaN != 0 is true).
extern "C" void eb_xx_cast_ref(size_t count, int from_int, int to_int, int to_bool, const void* input, void* output) {
  const float* xf = static_cast<const float*>(input);
  const int32_t* xi = static_cast<const int32_t*>(input);
  float* yf = static_cast<float*>(output);
  int32_t* yi = static_cast<int32_t*>(output);
  for (size_t i = 0; i < count; ++i) {
    if (to_bool) {
      const int32_t v = from_int ? xi[i] != 0 : xf[i] != 0.0f;
      if (to_int) {
        yi[i] = v;
      } else {
        yf[i] = (float)v;
      }
    } else if (from_int && to_int) {
      yi[i] = xi[i];
    } else if (from_int) {
      yf[i] = (float)xi[i];
    } else if (to_int) {
      yi[i] = f32_to_i32(xf[i]);
    } else {
      yf[i] = xf[i];
    }
  }
}
