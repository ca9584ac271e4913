// xx-transpose/ref.cc: reference TRANSPOSE of a rank <= 6 tensor with elements of any size.
#include <string.h>

#include "edgebuild/ukernels.h"

// Walks the output in order with an odometer over its indices; each output index j_k reads input axis perm[k],
// so the input offset advances by the input stride of axis perm[k].
extern "C" void eb_xx_transpose_ref(size_t element_size, size_t rank, const int32_t* input_dims,
                                    const int32_t* perm, const void* input, void* output) {
  size_t input_stride[6];
  size_t stride = element_size;
  for (size_t i = rank; i-- > 0;) {
    input_stride[i] = stride;
    stride *= (size_t)input_dims[i];
  }
  const size_t total_bytes = stride;  // product of dims × element size (1 element for rank 0)
  size_t out_dims[6], out_stride[6], index[6] = {0, 0, 0, 0, 0, 0};
  for (size_t k = 0; k < rank; ++k) {
    out_dims[k] = (size_t)input_dims[perm[k]];
    out_stride[k] = input_stride[perm[k]];
  }
  const unsigned char* x = (const unsigned char*)input;
  unsigned char* y = (unsigned char*)output;
  size_t offset = 0;  // input byte offset of the current output element
  for (size_t done = 0; done < total_bytes; done += element_size) {
    memmove(y + done, x + offset, element_size);  // overlap-safe, as in qs8-concat (fuzz finding)
    for (size_t k = rank; k-- > 0;) {  // increment the odometer, last output axis fastest
      offset += out_stride[k];
      if (++index[k] < out_dims[k]) break;
      offset -= out_stride[k] * out_dims[k];
      index[k] = 0;
    }
  }
}
