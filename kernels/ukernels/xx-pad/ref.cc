// xx-pad/ref.cc: reference constant PAD of a rank <= 6 tensor with elements of any size.
#include <string.h>

#include "edgebuild/ukernels.h"

// Every output element is the value, then the input is copied row by row (last dim) into its window.
extern "C" void eb_xx_pad_ref(size_t element_size, size_t rank, const int32_t* input_dims, const int32_t* pad_before,
                              const int32_t* output_dims, const void* value, const void* input, void* output) {
  size_t out_stride[6], total = 1, in_total = 1;
  for (size_t k = rank; k-- > 0;) {
    out_stride[k] = total;
    total *= (size_t)output_dims[k];
    in_total *= (size_t)input_dims[k];
  }
  unsigned char* y = (unsigned char*)output;
  for (size_t i = 0; i < total; ++i) memcpy(y + i * element_size, value, element_size);
  if (in_total == 0) return;
  const size_t row = rank == 0 ? 1 : (size_t)input_dims[rank - 1];
  const unsigned char* x = (const unsigned char*)input;
  size_t index[6] = {0, 0, 0, 0, 0, 0};
  for (size_t r = 0; r < in_total / row; ++r) {
    size_t off = 0;
    for (size_t k = 0; k < rank; ++k) off += (index[k] + (size_t)pad_before[k]) * out_stride[k];
    memcpy(y + off * element_size, x + r * row * element_size, row * element_size);
    for (size_t k = rank - 1; k-- > 0;) {  // odometer over every dim but the last
      if (++index[k] < (size_t)input_dims[k]) break;
      index[k] = 0;
    }
  }
}
