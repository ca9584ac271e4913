// xx-transpose/ref.cc: reference TRANSPOSE of a rank <= 6 tensor with elements of any size.
#include <string.h>

#include "edgebuild/ukernels.h"

namespace {

// One element through a local copy: two non-overlapping memcpys of a constant size (a load and a store once
// compiled), defined even when a crafted artifact makes input and output overlap (fuzz finding, b7b6d86).
template <size_t kSize>
inline void copy_row(unsigned char* y, const unsigned char* x, size_t count, size_t x_step) {
  unsigned char tmp[kSize];
  for (size_t i = 0; i < count; ++i, x += x_step, y += kSize) {
    memcpy(tmp, x, kSize);
    memcpy(y, tmp, kSize);
  }
}

void copy_row_any(unsigned char* y, const unsigned char* x, size_t count, size_t x_step, size_t size) {
  for (size_t i = 0; i < count; ++i, x += x_step, y += size) memmove(y, x, size);
}

}  // namespace

// Walks the output in order: an odometer over every output axis but the last, and a strided row copy along the
// last (output index j_k reads input axis perm[k], so the input offset advances by that axis' input stride).
// A per-element memmove here made ShuffleNetV2's channel shuffles 92% of its run time (host profile, issue 8); the
// row loop with constant-size copies stays plain loops.
extern "C" void eb_xx_transpose_ref(size_t element_size, size_t rank, const int32_t* input_dims, const int32_t* perm,
                                    const void* input, void* output) {
  size_t input_stride[6];
  size_t stride = element_size;
  for (size_t i = rank; i-- > 0;) {
    input_stride[i] = stride;
    stride *= (size_t)input_dims[i];
  }
  const size_t total_bytes = stride;  // product of dims × element size (1 element for rank 0)
  if (total_bytes == 0) return;
  size_t out_dims[6], out_stride[6], index[6] = {0, 0, 0, 0, 0, 0};
  for (size_t k = 0; k < rank; ++k) {
    out_dims[k] = (size_t)input_dims[perm[k]];
    out_stride[k] = input_stride[perm[k]];
  }
  const size_t row = rank == 0 ? 1 : out_dims[rank - 1];
  const size_t row_step = rank == 0 ? element_size : out_stride[rank - 1];
  const size_t row_bytes = row * element_size;
  const unsigned char* x = (const unsigned char*)input;
  unsigned char* y = (unsigned char*)output;
  size_t offset = 0;  // input byte offset of the current output row's first element
  for (size_t done = 0; done < total_bytes; done += row_bytes) {
    if (row_step == element_size) {  // the last axis stays last: one contiguous run (attention's head split/merge)
      memmove(y + done, x + offset, row_bytes);
    } else {
      switch (element_size) {
        case 1: copy_row<1>(y + done, x + offset, row, row_step); break;
        case 2: copy_row<2>(y + done, x + offset, row, row_step); break;
        case 4: copy_row<4>(y + done, x + offset, row, row_step); break;
        case 8: copy_row<8>(y + done, x + offset, row, row_step); break;
        default: copy_row_any(y + done, x + offset, row, row_step, element_size); break;
      }
    }
    for (size_t k = rank > 0 ? rank - 1 : 0; k-- > 0;) {  // odometer over the output axes before the last
      offset += out_stride[k];
      if (++index[k] < out_dims[k]) break;
      offset -= out_stride[k] * out_dims[k];
      index[k] = 0;
    }
  }
}
