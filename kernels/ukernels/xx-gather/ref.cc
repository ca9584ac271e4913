// xx-gather/ref.cc: reference GATHER, GATHER_ELEMENTS and BROADCAST_TO of elements of any size (bytes moved).
#include <string.h>

#include "edgebuild/ukernels.h"

namespace {

// A run-time index i of an axis of n: [0, n) as is, [-n, 0) counts from the end (PyTorch's indexing), anything
// else is out of range (-1).
inline ptrdiff_t resolve(int32_t i, size_t n) {
  const int64_t v = i < 0 ? (int64_t)i + (int64_t)n : (int64_t)i;
  return v >= 0 && (uint64_t)v < (uint64_t)n ? (ptrdiff_t)v : -1;
}

}  // namespace

// x viewed as [outer, axis_size, inner], y as [outer, count, inner]: y[o, j, :] = x[o, indices[j], :]; an
// out-of-range index writes a zero row (never reads outside x).
extern "C" void eb_xx_gather_ref(size_t element_size, size_t outer, size_t axis_size, size_t inner, size_t count,
                                 const int32_t* indices, const void* input, void* output) {
  const unsigned char* x = (const unsigned char*)input;
  unsigned char* y = (unsigned char*)output;
  const size_t row = inner * element_size;
  for (size_t o = 0; o < outer; ++o) {
    for (size_t j = 0; j < count; ++j, y += row) {
      const ptrdiff_t i = resolve(indices[j], axis_size);
      if (i < 0) {
        memset(y, 0, row);
      } else {
        memmove(y, x + (o * axis_size + (size_t)i) * row, row);
      }
    }
  }
}

// torch.gather: y has the index's dims; y[p] = x[p with p[axis] = indices[p]] (index dims <= input dims off the
// axis). An out-of-range index writes a zero element.
extern "C" void eb_xx_gather_elements_ref(size_t element_size, size_t rank, const int32_t* input_dims,
                                          const int32_t* index_dims, size_t axis, const int32_t* indices,
                                          const void* input, void* output) {
  size_t stride[6], total = 1, s = 1;
  for (size_t k = rank; k-- > 0;) {
    stride[k] = s;
    s *= (size_t)input_dims[k];
    total *= (size_t)index_dims[k];
  }
  const unsigned char* x = (const unsigned char*)input;
  unsigned char* y = (unsigned char*)output;
  size_t pos[6] = {0, 0, 0, 0, 0, 0};
  size_t base = 0;  // offset of pos in x with pos[axis] = 0
  for (size_t n = 0; n < total; ++n, y += element_size) {
    const ptrdiff_t i = resolve(indices[n], (size_t)input_dims[axis]);
    if (i < 0) {
      memset(y, 0, element_size);
    } else {
      memmove(y, x + (base + (size_t)i * stride[axis]) * element_size, element_size);
    }
    for (size_t k = rank; k-- > 0;) {
      if (k != axis) base += stride[k];
      if (++pos[k] < (size_t)index_dims[k]) break;
      if (k != axis) base -= stride[k] * (size_t)index_dims[k];
      pos[k] = 0;
    }
  }
}

// y[p] = x[p with every dim where x has size 1 set to 0] (same rank).
extern "C" void eb_xx_gather_broadcast_ref(size_t element_size, size_t rank, const int32_t* input_dims,
                                           const int32_t* output_dims, const void* input, void* output) {
  size_t stride[6], total = 1, s = 1;
  for (size_t k = rank; k-- > 0;) {
    stride[k] = input_dims[k] == 1 ? 0 : s;
    s *= (size_t)input_dims[k];
    total *= (size_t)output_dims[k];
  }
  const unsigned char* x = (const unsigned char*)input;
  unsigned char* y = (unsigned char*)output;
  size_t pos[6] = {0, 0, 0, 0, 0, 0}, off = 0;
  for (size_t n = 0; n < total; ++n, y += element_size) {
    memmove(y, x + off * element_size, element_size);
    for (size_t k = rank; k-- > 0;) {
      off += stride[k];
      if (++pos[k] < (size_t)output_dims[k]) break;
      off -= stride[k] * (size_t)output_dims[k];
      pos[k] = 0;
    }
  }
}
