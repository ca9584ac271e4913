// qs8-binary/ref.cc: reference int8 ADD / SUB / MUL with NumPy broadcasting (same rank, dims equal or 1).
#include "edgebuild/requant.h"
#include "edgebuild/ukernels.h"

namespace {

// Element strides of a tensor of `dims` read at output index space `out_dims`: 0 along a broadcast (size-1) dim.
void broadcast_strides(size_t rank, const int32_t* dims, const int32_t* out_dims, size_t* strides) {
  size_t s = 1;
  for (size_t k = rank; k-- > 0;) {
    strides[k] = dims[k] == 1 && out_dims[k] != 1 ? 0 : s;
    s *= (size_t)dims[k];
  }
}

int8_t combine(const eb_qs8_binary_params* p, const eb_qs8_vadd_params* add, int32_t a, int32_t b) {
  if (p->op == EB_BINARY_MUL) {
    // docs/quantization.md (12): y = clamp(MBQM((a − zp_a)·(b − zp_b), m_y, e_y) + zp_y); |product| <= 2^16.
    const int32_t prod = (a - p->a_zero_point) * (b - p->b_zero_point);
    const int32_t q = eb_mbqm(prod, p->output_multiplier, p->output_shift);
    return eb_clamp_s8(eb_sat32((int64_t)q + p->output_zero_point), p->output_min, p->output_max);
  }
  // ADD, SUB: docs/quantization.md (7), the one requantization qs8-vadd/ref.cc defines.
  return eb_qs8_vadd_requant_ref(add, a, b, p->op == EB_BINARY_SUB);
}

}  // namespace

// Walks the output in order with an odometer; a and b advance by their broadcast strides.
extern "C" void eb_qs8_binary_ref(const eb_qs8_binary_params* p, size_t rank, const int32_t* a_dims,
                                  const int32_t* b_dims, const int32_t* out_dims, const int8_t* a, const int8_t* b,
                                  int8_t* output) {
  const eb_qs8_vadd_params add = {p->a_zero_point,      p->b_zero_point, p->output_zero_point, p->left_shift,
                                  p->a_multiplier,      p->a_shift,      p->b_multiplier,      p->b_shift,
                                  p->output_multiplier, p->output_shift, p->output_min,        p->output_max};
  size_t sa[6], sb[6], index[6] = {0, 0, 0, 0, 0, 0};
  broadcast_strides(rank, a_dims, out_dims, sa);
  broadcast_strides(rank, b_dims, out_dims, sb);
  size_t total = 1;
  for (size_t k = 0; k < rank; ++k) total *= (size_t)out_dims[k];
  size_t ia = 0, ib = 0;
  for (size_t i = 0; i < total; ++i) {
    output[i] = combine(p, &add, a[ia], b[ib]);
    for (size_t k = rank; k-- > 0;) {
      ia += sa[k];
      ib += sb[k];
      if (++index[k] < (size_t)out_dims[k]) break;
      ia -= sa[k] * (size_t)out_dims[k];
      ib -= sb[k] * (size_t)out_dims[k];
      index[k] = 0;
    }
  }
}
