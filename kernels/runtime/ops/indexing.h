// indexing.h: rules shared by GATHER, GATHER_ELEMENTS, SCATTER_ELEMENTS, BROADCAST_TO and TOPK (any dtype).
#ifndef EDGEBUILD_RUNTIME_OPS_INDEXING_H_
#define EDGEBUILD_RUNTIME_OPS_INDEXING_H_

#include "../op.h"

namespace eb {

// y has x's dtype (int8, int32 or float32) and, for int8, its scale and zero point (bytes are moved, not computed).
inline eb_status need_moved_dtype(OpCheck& c, const char* role, int32_t y, int32_t x) {
  const uint8_t dt = c.T(x).dtype;
  if (dt != EB_DTYPE_INT8 && dt != EB_DTYPE_INT32 && dt != EB_DTYPE_FLOAT32)
    return c.fail("input ('%.*s') is %s, expected int8, int32 or float32", c.tlen(x), c.tname(x), dtype_text(dt));
  eb_status s;
  if ((s = c.need_dtype(role, y, dt)) != EB_OK) return s;
  if (dt == EB_DTYPE_INT8) return c.need_same_quant(role, y, "input", x);
  return EB_OK;
}

// 0 <= axis < rank of tensor x.
inline eb_status need_axis(OpCheck& c, int32_t axis, int32_t x) {
  if (axis < 0 || (uint32_t)axis >= c.T(x).rank)
    return c.fail("axis %d outside 0..%d (input rank %u)", (int)axis, (int)c.T(x).rank - 1, c.T(x).rank);
  return EB_OK;
}

// The product of dims [from, to) of t.
inline size_t dims_product(const Tensor& t, uint32_t from, uint32_t to) {
  size_t n = 1;
  for (uint32_t d = from; d < to; ++d) n *= (size_t)t.dims[d];
  return n;
}

}  // namespace eb

#endif  // EDGEBUILD_RUNTIME_OPS_INDEXING_H_
