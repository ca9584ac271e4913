// pool_window.h: the window geometry of MAX_POOL2D and AVG_POOL2D (docs/artifact.md), one axis at a time, shared by
// the int8 and float reference kernels and every optimized pooling kernel. Usable from C99 and C++.
#ifndef EDGEBUILD_POOL_WINDOW_H_
#define EDGEBUILD_POOL_WINDOW_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// MAX_POOL2D: taps k = 0 .. kernel−1 of a window starting at `start` read input position start + k·dilation;
// [*first, *last] are the taps inside [0, size) (empty when *first > *last). Computing the range instead of testing
// every tap bounds the work by the input size whatever the kernel parameters are.
static inline void eb_pool_valid_taps(int64_t start, int64_t kernel, int64_t dilation, int64_t size, int64_t* first,
                                      int64_t* last) {
  *first = start >= 0 ? 0 : (-start + dilation - 1) / dilation;
  *last = start > size - 1 ? -1 : (size - 1 - start) / dilation;
  if (*last > kernel - 1) *last = kernel - 1;
}

// AVG_POOL2D (docs/quantization.md (9)): the window of output o is s = o·stride − pad, e = min(s + kernel,
// size + pad); *pool = e − s (the divisor's share when padding counts); [*start, *end) is that window clipped to
// [0, size).
static inline void eb_avgpool_window(int64_t o, int64_t stride, int64_t pad, int64_t kernel, int64_t size,
                                     int64_t* start, int64_t* end, int64_t* pool) {
  int64_t s = o * stride - pad, e = s + kernel;
  if (e > size + pad) e = size + pad;
  *pool = e - s;
  *start = s < 0 ? 0 : s;
  *end = e > size ? size : e;
}

#ifdef __cplusplus
}  // extern "C"
#endif

#endif  // EDGEBUILD_POOL_WINDOW_H_
