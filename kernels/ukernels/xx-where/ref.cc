// xx-where/ref.cc: reference WHERE: y = cond != 0 ? a : b, all three broadcast to y (any element size).
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

}  // namespace

extern "C" void eb_xx_where_ref(size_t element_size, size_t rank, const int32_t* cond_dims, const int32_t* a_dims,
                                const int32_t* b_dims, const int32_t* out_dims, const int32_t* cond, const void* a,
                                const void* b, void* output) {
  size_t sc[6], sa[6], sb[6], index[6] = {0, 0, 0, 0, 0, 0};
  broadcast_strides(rank, cond_dims, out_dims, sc);
  broadcast_strides(rank, a_dims, out_dims, sa);
  broadcast_strides(rank, b_dims, out_dims, sb);
  size_t total = 1;
  for (size_t k = 0; k < rank; ++k) total *= (size_t)out_dims[k];
  const char *pa = static_cast<const char*>(a), *pb = static_cast<const char*>(b);
  char* py = static_cast<char*>(output);
  size_t ic = 0, ia = 0, ib = 0;
  for (size_t i = 0; i < total; ++i) {
    const char* src = cond[ic] != 0 ? pa + ia * element_size : pb + ib * element_size;
    memcpy(py + i * element_size, src, element_size);
    for (size_t k = rank; k-- > 0;) {
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
