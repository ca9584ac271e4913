// xx-where/ref.cc: reference WHERE: y = cond != 0 ? a : b, all three broadcast to y (any element size).
#include <stdint.h>
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

// One output row (the last axis, n elements) of element type T: each operand steps by 0 (broadcast) or 1.
template <class T>
void row(size_t n, const int32_t* cond, size_t sc, const char* a, size_t sa, const char* b, size_t sb, char* y) {
  const T* pa = reinterpret_cast<const T*>(a);
  const T* pb = reinterpret_cast<const T*>(b);
  T* py = reinterpret_cast<T*>(y);
  for (size_t i = 0; i < n; ++i) py[i] = cond[i * sc] != 0 ? pa[i * sa] : pb[i * sb];
}

}  // namespace

// Row by row (an odometer over the axes before the last), the element copies typed: at -Os a memcpy of a run-time
// size is a library call per element.
extern "C" void eb_xx_where_ref(size_t element_size, size_t rank, const int32_t* cond_dims, const int32_t* a_dims,
                                const int32_t* b_dims, const int32_t* out_dims, const int32_t* cond, const void* a,
                                const void* b, void* output) {
  size_t sc[6], sa[6], sb[6], index[6] = {0, 0, 0, 0, 0, 0};
  broadcast_strides(rank, cond_dims, out_dims, sc);
  broadcast_strides(rank, a_dims, out_dims, sa);
  broadcast_strides(rank, b_dims, out_dims, sb);
  size_t rows = 1;
  for (size_t k = 0; k + 1 < rank; ++k) rows *= (size_t)out_dims[k];
  const size_t n = rank == 0 ? 1 : (size_t)out_dims[rank - 1];
  const size_t last = rank == 0 ? 0 : rank - 1;
  const size_t lc = rank == 0 ? 0 : sc[last], la = rank == 0 ? 0 : sa[last], lb = rank == 0 ? 0 : sb[last];
  if (n == 0) return;
  const char *pa = static_cast<const char*>(a), *pb = static_cast<const char*>(b);
  char* py = static_cast<char*>(output);
  size_t ic = 0, ia = 0, ib = 0;
  for (size_t r = 0; r < rows; ++r, py += n * element_size) {
    const char *ra = pa + ia * element_size, *rb = pb + ib * element_size;
    switch (element_size) {
      case 4: row<uint32_t>(n, cond + ic, lc, ra, la, rb, lb, py); break;
      default:
        for (size_t i = 0; i < n; ++i)
          memcpy(py + i * element_size,
                 cond[ic + i * lc] != 0 ? ra + i * la * element_size : rb + i * lb * element_size, element_size);
    }
    for (size_t k = last; k-- > 0;) {
      ic += sc[k];
      ia += sa[k];
      ib += sb[k];
      if (++index[k] < (size_t)out_dims[k]) break;
      ic -= sc[k] * (size_t)out_dims[k];
      ia -= sa[k] * (size_t)out_dims[k];
      ib -= sb[k] * (size_t)out_dims[k];
      index[k] = 0;
    }
  }
}
