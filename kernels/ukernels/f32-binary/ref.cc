// f32-binary/ref.cc: reference float32 ADD / SUB / MUL with NumPy broadcasting (the float fallback).
#include <string.h>

#include "edgebuild/ukernels.h"

namespace {

void broadcast_strides(size_t rank, const int32_t* dims, const int32_t* out_dims, size_t* strides) {
  size_t s = 1;
  for (size_t k = rank; k-- > 0;) {
    strides[k] = dims[k] == 1 && out_dims[k] != 1 ? 0 : s;
    s *= (size_t)dims[k];
  }
}

// One output row (the last axis): a and b step by 0 (broadcast) or 1, the op and the step pattern fixed per call, so
// each loop is a plain elementwise loop the compiler vectorizes (elementwise IEEE ops: the same bits either way).
template <int32_t kOp>
inline float apply(float x, float y) {
  return kOp == EB_BINARY_MUL ? x * y : (kOp == EB_BINARY_SUB ? x - y : x + y);
}

#if defined(__aarch64__) || defined(__SSE2__)
typedef float v4f __attribute__((vector_size(16)));

// The row's first n / 4 · 4 elements on GCC vectors of 4 floats (arm64 and x86: IEEE lanes), each lane the scalar
// loop's operations on its element: the same bits. b is a row (sb 1) or one value (sb 0). Returns the count done.
template <int32_t kOp>
size_t row_v4(size_t n, const float* a, const float* b, size_t sb, float lo, float hi, float* y) {
  const v4f vlo = {lo, lo, lo, lo}, vhi = {hi, hi, hi, hi}, vb0 = {b[0], b[0], b[0], b[0]};
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    v4f va, vb = vb0;
    memcpy(&va, a + i, sizeof va);
    if (sb == 1) memcpy(&vb, b + i, sizeof vb);
    const v4f v = kOp == EB_BINARY_MUL ? va * vb : (kOp == EB_BINARY_SUB ? va - vb : va + vb);
    const v4f t = v > vhi ? vhi : v;
    const v4f r = v < vlo ? vlo : t;  // v < lo ? lo : (v > hi ? hi : v), NaN passes through
    memcpy(y + i, &r, sizeof r);
  }
  return i;
}
#endif

template <int32_t kOp>
void row(size_t n, const float* a, size_t sa, const float* b, size_t sb, float lo, float hi, float* y) {
#if defined(__aarch64__) || defined(__SSE2__)
  if (sa == 1) {  // a row, b a row or one value (the broadcast MUL of a mean pooling, the residual ADD)
    const size_t done = row_v4<kOp>(n, a, b, sb, lo, hi, y);
    a += done, y += done, n -= done;
    if (sb == 1) b += done;
  }
#endif
  if (sa == 1 && sb == 1) {
    for (size_t i = 0; i < n; ++i) {
      const float v = apply<kOp>(a[i], b[i]);
      y[i] = v < lo ? lo : (v > hi ? hi : v);  // NaN passes through
    }
  } else if (sa == 1) {  // b broadcast along the row (sb == 0)
    const float bv = b[0];
    for (size_t i = 0; i < n; ++i) {
      const float v = apply<kOp>(a[i], bv);
      y[i] = v < lo ? lo : (v > hi ? hi : v);
    }
  } else if (sb == 1) {
    const float av = a[0];
    for (size_t i = 0; i < n; ++i) {
      const float v = apply<kOp>(av, b[i]);
      y[i] = v < lo ? lo : (v > hi ? hi : v);
    }
  } else {
    const float v0 = apply<kOp>(a[0], b[0]);
    const float v = v0 < lo ? lo : (v0 > hi ? hi : v0);
    for (size_t i = 0; i < n; ++i) y[i] = v;
  }
}

template <int32_t kOp>
void binary(size_t rank, const int32_t* out_dims, const size_t* sa, const size_t* sb, const float* a, const float* b,
            float lo, float hi, float* output) {
  if (rank == 0) return row<kOp>(1, a, 0, b, 0, lo, hi, output);
  const size_t n = (size_t)out_dims[rank - 1];
  size_t rows = 1;
  for (size_t k = 0; k + 1 < rank; ++k) rows *= (size_t)out_dims[k];
  if (n == 0) return;
  size_t index[6] = {0, 0, 0, 0, 0, 0}, ia = 0, ib = 0;
  for (size_t r = 0; r < rows; ++r, output += n) {
    row<kOp>(n, a + ia, sa[rank - 1], b + ib, sb[rank - 1], lo, hi, output);
    for (size_t k = rank - 1; k-- > 0;) {  // odometer over the axes before the last
      ia += sa[k];
      ib += sb[k];
      if (++index[k] < (size_t)out_dims[k]) break;
      ia -= sa[k] * (size_t)out_dims[k];
      ib -= sb[k] * (size_t)out_dims[k];
      index[k] = 0;
    }
  }
}

}  // namespace

extern "C" void eb_f32_binary_ref(int32_t op, size_t rank, const int32_t* a_dims, const int32_t* b_dims,
                                  const int32_t* out_dims, const float* a, const float* b, float output_min,
                                  float output_max, float* output) {
  size_t sa[6], sb[6];
  broadcast_strides(rank, a_dims, out_dims, sa);
  broadcast_strides(rank, b_dims, out_dims, sb);
  for (size_t k = 0; k < rank; ++k)
    if (out_dims[k] == 0) return;
  switch (op) {
    case EB_BINARY_MUL: return binary<EB_BINARY_MUL>(rank, out_dims, sa, sb, a, b, output_min, output_max, output);
    case EB_BINARY_SUB: return binary<EB_BINARY_SUB>(rank, out_dims, sa, sb, a, b, output_min, output_max, output);
    default: return binary<EB_BINARY_ADD>(rank, out_dims, sa, sb, a, b, output_min, output_max, output);
  }
}
