// xx-topk/ref.cc: reference TOPK (torch.topk / torch.sort) for f32, i32 and i8 (int8 codes order as their values).
#include "edgebuild/edgebuild.h"
#include "edgebuild/ukernels.h"

namespace {

// The total order of TOPK: by value (descending when largest, NaN above every number as in PyTorch), ties by
// the lower index first. before(a, b): a comes first.
template <typename T>
inline bool before(T va, size_t ia, T vb, size_t ib, bool largest) {
  const bool na = va != va, nb = vb != vb;  // NaN (floats only)
  if (na || nb) {
    if (na && nb) return ia < ib;
    return largest ? na : nb;  // largest: NaN first; smallest: NaN last
  }
  if (va != vb) return largest ? va > vb : va < vb;
  return ia < ib;
}

// Selection without scratch: the j-th output is the first element (in the order above) after the (j-1)-th, so
// O(n·k) per column; k = n sorts (stable).
template <typename T>
void topk(size_t outer, size_t n, size_t inner, size_t k, bool largest, const T* x, T* values, int32_t* indices) {
  for (size_t o = 0; o < outer; ++o) {
    for (size_t c = 0; c < inner; ++c) {
      const T* col = x + o * n * inner + c;
      bool have_prev = false;
      T prev_v = col[0];
      size_t prev_i = 0;
      for (size_t j = 0; j < k; ++j) {
        bool found = false;
        T best_v = col[0];
        size_t best_i = 0;
        for (size_t i = 0; i < n; ++i) {
          const T v = col[i * inner];
          if (have_prev && !before(prev_v, prev_i, v, i, largest)) continue;
          if (!found || before(v, i, best_v, best_i, largest)) {
            best_v = v;
            best_i = i;
            found = true;
          }
        }
        const size_t out = (o * k + j) * inner + c;
        if (values != nullptr) values[out] = best_v;
        if (indices != nullptr) indices[out] = (int32_t)best_i;
        prev_v = best_v;
        prev_i = best_i;
        have_prev = true;
      }
    }
  }
}

}  // namespace

// x viewed as [outer, n, inner]; the output [outer, k, inner] holds the values (values != NULL, the input's
// dtype) or the int32 indices (indices != NULL). 1 <= k <= n.
extern "C" void eb_xx_topk_ref(int dtype, size_t outer, size_t n, size_t inner, size_t k, int largest,
                               const void* input, void* values, int32_t* indices) {
  if (dtype == EB_DTYPE_FLOAT32) {
    topk(outer, n, inner, k, largest != 0, (const float*)input, (float*)values, indices);
  } else if (dtype == EB_DTYPE_INT32) {
    topk(outer, n, inner, k, largest != 0, (const int32_t*)input, (int32_t*)values, indices);
  } else {
    topk(outer, n, inner, k, largest != 0, (const int8_t*)input, (int8_t*)values, indices);
  }
}
