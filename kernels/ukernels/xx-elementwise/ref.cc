// xx-elementwise/ref.cc: reference ELEMENTWISE (float32 or int32 a, b broadcast to y), torch's semantics per function.
//
// Float functions are single IEEE operations (the same bits on every target) or, for POW and ATAN2, double helpers
// of edgebuild/f32math.h rounded once. Integer arithmetic wraps (two's complement, as int32 narrowing of torch's
// int64 result does); where torch raises (integer division or remainder by zero) the result is 0, and
// INT32_MIN / −1 gives INT32_MIN (the wrapped quotient) instead of a trap.
#include "edgebuild/f32math.h"
#include "edgebuild/ukernels.h"

namespace {

bool is_compare(int32_t f) { return f >= EB_BINARY_FUNC_EQ && f <= EB_BINARY_FUNC_LOGICAL_XOR; }

int32_t compare_f32(int32_t f, float a, float b) {
  switch (f) {
    case EB_BINARY_FUNC_EQ: return a == b;
    case EB_BINARY_FUNC_NE: return a != b;
    case EB_BINARY_FUNC_LT: return a < b;
    case EB_BINARY_FUNC_LE: return a <= b;
    case EB_BINARY_FUNC_GT: return a > b;
    case EB_BINARY_FUNC_GE: return a >= b;
    case EB_BINARY_FUNC_LOGICAL_AND: return a != 0.0f && b != 0.0f;  // NaN counts as true, as in torch
    case EB_BINARY_FUNC_LOGICAL_OR: return a != 0.0f || b != 0.0f;
    default: return (a != 0.0f) != (b != 0.0f);  // LOGICAL_XOR
  }
}

int32_t compare_i32(int32_t f, int32_t a, int32_t b) {
  switch (f) {
    case EB_BINARY_FUNC_EQ: return a == b;
    case EB_BINARY_FUNC_NE: return a != b;
    case EB_BINARY_FUNC_LT: return a < b;
    case EB_BINARY_FUNC_LE: return a <= b;
    case EB_BINARY_FUNC_GT: return a > b;
    case EB_BINARY_FUNC_GE: return a >= b;
    case EB_BINARY_FUNC_LOGICAL_AND: return a != 0 && b != 0;
    case EB_BINARY_FUNC_LOGICAL_OR: return a != 0 || b != 0;
    default: return (a != 0) != (b != 0);
  }
}

// c10::div_floor_floating: floor of the quotient computed from fmod, so a result an ulp off in a / b still floors
// right; a zero quotient keeps the sign of a / b.
float div_floor_f32(float a, float b) {
  if (b == 0.0f) return a / b;
  const float mod = __builtin_fmodf(a, b);
  float div = (a - mod) / b;
  if (mod != 0.0f && (b < 0.0f) != (mod < 0.0f)) div -= 1.0f;
  if (div == 0.0f) return __builtin_copysignf(0.0f, a / b);
  float floordiv = __builtin_floorf(div);
  if (div - floordiv > 0.5f) floordiv += 1.0f;
  return floordiv;
}

float apply_f32(int32_t f, float a, float b) {
  switch (f) {
    case EB_BINARY_FUNC_ADD: return a + b;
    case EB_BINARY_FUNC_SUB: return a - b;
    case EB_BINARY_FUNC_MUL: return a * b;
    case EB_BINARY_FUNC_DIV: return a / b;
    case EB_BINARY_FUNC_DIV_TRUNC: return __builtin_truncf(a / b);
    case EB_BINARY_FUNC_DIV_FLOOR: return div_floor_f32(a, b);
    case EB_BINARY_FUNC_POW: return (float)eb_f64_pow((double)a, (double)b);
    case EB_BINARY_FUNC_MAXIMUM: return a != a || b != b ? a + b : (a > b ? a : b);  // NaN propagates
    case EB_BINARY_FUNC_MINIMUM: return a != a || b != b ? a + b : (a < b ? a : b);
    case EB_BINARY_FUNC_FMOD: return __builtin_fmodf(a, b);  // exact
    case EB_BINARY_FUNC_REMAINDER: {                         // sign of b, as Python's %
      float mod = __builtin_fmodf(a, b);
      if (mod != 0.0f && (b < 0.0f) != (mod < 0.0f)) mod += b;
      return mod;
    }
    case EB_BINARY_FUNC_ATAN2: return (float)eb_f64_atan2((double)a, (double)b);
    default: return 0.0f;  // unreachable: the loader refuses integer-only functions on float32
  }
}

// torch's integer power (c10 powi): negative exponents give 0 except for bases 1 and −1.
int32_t pow_i32(int32_t a, int32_t b) {
  if (b < 0) return a == 1 ? 1 : (a == -1 ? ((b & 1) ? -1 : 1) : 0);
  uint32_t result = 1, base = (uint32_t)a;
  for (uint32_t e = (uint32_t)b; e != 0; e >>= 1) {
    if (e & 1) result *= base;
    base *= base;
  }
  return (int32_t)result;
}

int32_t apply_i32(int32_t f, int32_t a, int32_t b) {
  const uint32_t ua = (uint32_t)a, ub = (uint32_t)b;
  const bool bad_div = b == 0 || (a == INT32_MIN && b == -1);
  switch (f) {
    case EB_BINARY_FUNC_ADD: return (int32_t)(ua + ub);
    case EB_BINARY_FUNC_SUB: return (int32_t)(ua - ub);
    case EB_BINARY_FUNC_MUL: return (int32_t)(ua * ub);
    case EB_BINARY_FUNC_DIV_TRUNC: return b == 0 ? 0 : (bad_div ? a : a / b);
    case EB_BINARY_FUNC_DIV_FLOOR: {
      if (bad_div) return b == 0 ? 0 : a;
      const int32_t q = a / b, r = a % b;
      return r != 0 && ((r < 0) != (b < 0)) ? q - 1 : q;
    }
    case EB_BINARY_FUNC_POW: return pow_i32(a, b);
    case EB_BINARY_FUNC_MAXIMUM: return a > b ? a : b;
    case EB_BINARY_FUNC_MINIMUM: return a < b ? a : b;
    case EB_BINARY_FUNC_BITWISE_AND: return a & b;
    case EB_BINARY_FUNC_BITWISE_OR: return a | b;
    case EB_BINARY_FUNC_BITWISE_XOR: return a ^ b;
    case EB_BINARY_FUNC_FMOD: return bad_div ? 0 : a % b;
    case EB_BINARY_FUNC_REMAINDER: {
      if (bad_div) return 0;
      const int32_t r = a % b;
      return r != 0 && ((r < 0) != (b < 0)) ? r + b : r;
    }
    // torch: a shift by a negative amount or >= the width gives 0 (left) or the sign (right)
    case EB_BINARY_FUNC_SHIFT_LEFT: return b < 0 || b >= 32 ? 0 : (int32_t)(ua << b);
    case EB_BINARY_FUNC_SHIFT_RIGHT: return a >> (b < 0 || b >= 32 ? 31 : b);
    default: return 0;  // unreachable: the loader refuses DIV and ATAN2 on int32
  }
}

void broadcast_strides(size_t rank, const int32_t* dims, const int32_t* out_dims, size_t* strides) {
  size_t s = 1;
  for (size_t k = rank; k-- > 0;) {
    strides[k] = dims[k] == 1 && out_dims[k] != 1 ? 0 : s;
    s *= (size_t)dims[k];
  }
}

}  // namespace

extern "C" void eb_xx_elementwise_ref(int32_t func, int is_int, size_t rank, const int32_t* a_dims,
                                      const int32_t* b_dims, const int32_t* out_dims, const void* a, const void* b,
                                      void* output) {
  size_t sa[6], sb[6], index[6] = {0, 0, 0, 0, 0, 0};
  broadcast_strides(rank, a_dims, out_dims, sa);
  broadcast_strides(rank, b_dims, out_dims, sb);
  size_t total = 1;
  for (size_t k = 0; k < rank; ++k) total *= (size_t)out_dims[k];
  const float *af = static_cast<const float*>(a), *bf = static_cast<const float*>(b);
  const int32_t *ai = static_cast<const int32_t*>(a), *bi = static_cast<const int32_t*>(b);
  float* yf = static_cast<float*>(output);
  int32_t* yi = static_cast<int32_t*>(output);
  const bool compare = is_compare(func);
  size_t ia = 0, ib = 0;
  for (size_t i = 0; i < total; ++i) {
    if (is_int) {
      yi[i] = compare ? compare_i32(func, ai[ia], bi[ib]) : apply_i32(func, ai[ia], bi[ib]);
    } else if (compare) {
      yi[i] = compare_f32(func, af[ia], bf[ib]);
    } else {
      yf[i] = apply_f32(func, af[ia], bf[ib]);
    }
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
