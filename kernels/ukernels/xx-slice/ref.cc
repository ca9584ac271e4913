// xx-slice/ref.cc: reference strided SLICE of a rank <= 6 tensor with elements of any size.
#include <string.h>

#include "edgebuild/ukernels.h"

// y[i_0, …] = x[start_0 + i_0·step_0, …] for i_k < output_dims[k].
extern "C" void eb_xx_slice_ref(size_t element_size, size_t rank, const int32_t* input_dims, const int32_t* start,
                                const int32_t* step, const int32_t* output_dims, const void* input, void* output) {
  size_t in_stride[6], total = 1, s = 1;
  for (size_t k = rank; k-- > 0;) {
    in_stride[k] = s;
    s *= (size_t)input_dims[k];
    total *= (size_t)output_dims[k];
  }
  size_t base = 0;
  for (size_t k = 0; k < rank; ++k) base += (size_t)start[k] * in_stride[k];
  const unsigned char* x = (const unsigned char*)input;
  unsigned char* y = (unsigned char*)output;
  size_t index[6] = {0, 0, 0, 0, 0, 0}, off = base;
  for (size_t i = 0; i < total; ++i) {
    memmove(y + i * element_size, x + off * element_size, element_size);
    for (size_t k = rank; k-- > 0;) {
      off += (size_t)step[k] * in_stride[k];
      if (++index[k] < (size_t)output_dims[k]) break;
      off -= (size_t)step[k] * in_stride[k] * (size_t)output_dims[k];
      index[k] = 0;
    }
  }
}
