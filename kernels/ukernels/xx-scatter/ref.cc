// xx-scatter/ref.cc: reference SCATTER_ELEMENTS (torch.scatter / scatter_add / scatter_reduce) for f32, i32, i8.
#include <string.h>

#include "edgebuild/edgebuild.h"
#include "edgebuild/ops_enums.h"
#include "edgebuild/ukernels.h"

namespace {

template <typename T>
inline T combine(int reduce, T a, T b) {
  switch (reduce) {
    case EB_SCATTER_REDUCE_ADD: return (T)(a + b);
    case EB_SCATTER_REDUCE_MUL: return (T)(a * b);
    case EB_SCATTER_REDUCE_MAX: return b > a || b != b ? b : a;  // NaN propagates, as torch's amax
    case EB_SCATTER_REDUCE_MIN: return b < a || b != b ? b : a;
    default: return b;
  }
}

// int32 add and multiply wrap (two's complement) instead of overflowing, as PyTorch's int64 would before narrowing.
template <>
inline int32_t combine(int reduce, int32_t a, int32_t b) {
  if (reduce == EB_SCATTER_REDUCE_ADD) return (int32_t)((uint32_t)a + (uint32_t)b);
  if (reduce == EB_SCATTER_REDUCE_MUL) return (int32_t)((uint32_t)a * (uint32_t)b);
  if (reduce == EB_SCATTER_REDUCE_MAX) return b > a ? b : a;
  if (reduce == EB_SCATTER_REDUCE_MIN) return b < a ? b : a;
  return b;
}

template <typename T>
void scatter(size_t rank, const int32_t* input_dims, const int32_t* index_dims, size_t axis, int reduce,
             int include_self, const int32_t* indices, const T* src, const int32_t* src_dims, T* y) {
  size_t stride[6], sstride[6], total = 1, s = 1, ss = 1;
  for (size_t k = rank; k-- > 0;) {
    stride[k] = s;
    sstride[k] = ss;
    s *= (size_t)input_dims[k];
    ss *= (size_t)src_dims[k];
    total *= (size_t)index_dims[k];
  }
  const size_t n = (size_t)input_dims[axis];
  // Two passes when the old value is left out: the first sets every target to a value the second pass's
  // reduction keeps (the reduction's identity, or for MAX / MIN one of the scattered values themselves).
  for (int pass = include_self || reduce == EB_SCATTER_REDUCE_NONE ? 1 : 0; pass < 2; ++pass) {
    size_t pos[6] = {0, 0, 0, 0, 0, 0}, base = 0, sbase = 0;
    for (size_t e = 0; e < total; ++e) {
      const int64_t raw = indices[e] < 0 ? (int64_t)indices[e] + (int64_t)n : (int64_t)indices[e];
      if (raw >= 0 && (uint64_t)raw < (uint64_t)n) {  // out of range: skipped
        T* dst = y + base + (size_t)raw * stride[axis];
        const T v = src[sbase + pos[axis] * sstride[axis]];
        if (pass == 1) {
          *dst = combine(reduce, *dst, v);
        } else if (reduce == EB_SCATTER_REDUCE_ADD) {
          *dst = (T)0;
        } else if (reduce == EB_SCATTER_REDUCE_MUL) {
          *dst = (T)1;
        } else {
          *dst = v;
        }
      }
      for (size_t k = rank; k-- > 0;) {
        if (k != axis) {
          base += stride[k];
          sbase += sstride[k];
        }
        if (++pos[k] < (size_t)index_dims[k]) break;
        if (k != axis) {
          base -= stride[k] * (size_t)index_dims[k];
          sbase -= sstride[k] * (size_t)index_dims[k];
        }
        pos[k] = 0;
      }
    }
  }
}

}  // namespace

// y = x, then for each index position p (row-major): y[p with p[axis] = indices[p]] = reduce(that, src[p]).
// Contributions to one element are applied in increasing order of their position along the axis (PyTorch's CPU
// order, so float sums round the same). A index outside [-n, n) is skipped. src has dims >= the index's.
extern "C" void eb_xx_scatter_ref(int dtype, size_t rank, const int32_t* input_dims, const int32_t* index_dims,
                                  const int32_t* src_dims, size_t axis, int reduce, int include_self,
                                  const int32_t* indices, const void* src, const void* input, void* output) {
  size_t count = 1;
  for (size_t k = 0; k < rank; ++k) count *= (size_t)input_dims[k];
  const size_t size = dtype == EB_DTYPE_INT8 ? 1 : 4;
  if (output != input) memmove(output, input, count * size);
  if (dtype == EB_DTYPE_FLOAT32) {
    scatter(rank, input_dims, index_dims, axis, reduce, include_self, indices, (const float*)src, src_dims,
            (float*)output);
  } else if (dtype == EB_DTYPE_INT32) {
    scatter(rank, input_dims, index_dims, axis, reduce, include_self, indices, (const int32_t*)src, src_dims,
            (int32_t*)output);
  } else {
    scatter(rank, input_dims, index_dims, axis, reduce, include_self, indices, (const int8_t*)src, src_dims,
            (int8_t*)output);
  }
}
