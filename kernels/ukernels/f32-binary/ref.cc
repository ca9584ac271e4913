// f32-binary/ref.cc: reference float32 ADD / SUB / MUL with NumPy broadcasting (the float fallback).
#include "edgebuild/ukernels.h"

namespace {

void broadcast_strides(size_t rank, const int32_t* dims, const int32_t* out_dims, size_t* strides) {
  size_t s = 1;
  for (size_t k = rank; k-- > 0;) {
    strides[k] = dims[k] == 1 && out_dims[k] != 1 ? 0 : s;
    s *= (size_t)dims[k];
  }
}

}  // namespace

extern "C" void eb_f32_binary_ref(int32_t op, size_t rank, const int32_t* a_dims, const int32_t* b_dims,
                                  const int32_t* out_dims, const float* a, const float* b, float output_min,
                                  float output_max, float* output) {
  size_t sa[6], sb[6], index[6] = {0, 0, 0, 0, 0, 0};
  broadcast_strides(rank, a_dims, out_dims, sa);
  broadcast_strides(rank, b_dims, out_dims, sb);
  size_t total = 1;
  for (size_t k = 0; k < rank; ++k) total *= (size_t)out_dims[k];
  size_t ia = 0, ib = 0;
  for (size_t i = 0; i < total; ++i) {
    const float x = a[ia], y = b[ib];
    const float v = op == EB_BINARY_MUL ? x * y : (op == EB_BINARY_SUB ? x - y : x + y);
    output[i] = v < output_min ? output_min : (v > output_max ? output_max : v);  // NaN passes through
    for (size_t k = rank; k-- > 0;) {
      ia += sa[k];
      ib += sb[k];
      if (++index[k] < (size_t)out_dims[k]) break;
      ia -= sa[k] * (size_t)out_dims[k];
      ib -= sb[k] * (size_t)out_dims[k];
      index[k] = 0;
    }
  }
}
