// xx-reduce/ref.cc: reference REDUCE (f32, s32, s8) and CUMSUM (f32, s32): plain loops, a fixed visiting order.
#include <stdint.h>

#include "edgebuild/f32math.h"
#include "edgebuild/ops_enums.h"
#include "edgebuild/ukernels.h"

namespace {

constexpr size_t kMaxRank = 6;

// The kept and the reduced axes of x with their element strides; outputs run row-major over the kept axes, the
// elements of one output row-major over the reduced axes.
struct Walk {
  size_t kept, reduced;  // counts of axes
  size_t kdim[kMaxRank], kstride[kMaxRank], rdim[kMaxRank], rstride[kMaxRank];
  size_t outputs, count;  // number of outputs; elements per output
};

Walk make_walk(size_t rank, const int32_t* dims, uint32_t axes) {
  Walk w = {};
  w.outputs = 1;
  w.count = 1;
  size_t stride = 1;
  size_t kstride[kMaxRank], rstride[kMaxRank], kdim[kMaxRank], rdim[kMaxRank];
  for (size_t k = rank; k-- > 0;) {  // innermost first, then reversed below
    const size_t d = (size_t)dims[k];
    if ((axes >> k) & 1u) {
      rdim[w.reduced] = d;
      rstride[w.reduced++] = stride;
      w.count *= d;
    } else {
      kdim[w.kept] = d;
      kstride[w.kept++] = stride;
      w.outputs *= d;
    }
    stride *= d;
  }
  for (size_t i = 0; i < w.kept; ++i) w.kdim[i] = kdim[w.kept - 1 - i], w.kstride[i] = kstride[w.kept - 1 - i];
  for (size_t i = 0; i < w.reduced; ++i) w.rdim[i] = rdim[w.reduced - 1 - i], w.rstride[i] = rstride[w.reduced - 1 - i];
  return w;
}

// Advances a row-major counter over (dim, stride) pairs; returns the change of the element offset.
inline ptrdiff_t step(size_t n, const size_t* dim, const size_t* stride, size_t* idx) {
  ptrdiff_t delta = 0;
  for (size_t k = n; k-- > 0;) {
    delta += (ptrdiff_t)stride[k];
    if (++idx[k] < dim[k]) return delta;
    delta -= (ptrdiff_t)(stride[k] * dim[k]);
    idx[k] = 0;
  }
  return delta;
}

// Calls f(out_index, offsets_begin) once per output with a functor that visits that output's elements in order.
template <class PerOutput>
void for_each_output(const Walk& w, PerOutput per_output) {
  size_t kidx[kMaxRank] = {0, 0, 0, 0, 0, 0};
  size_t base = 0;
  for (size_t o = 0; o < w.outputs; ++o) {
    per_output(o, base);
    base = (size_t)((ptrdiff_t)base + step(w.kept, w.kdim, w.kstride, kidx));
  }
}

template <class T, class Visit>
void for_each_element(const Walk& w, size_t base, const T* x, Visit visit) {
  size_t ridx[kMaxRank] = {0, 0, 0, 0, 0, 0};
  size_t off = base;
  for (size_t i = 0; i < w.count; ++i) {
    visit(i, x[off]);
    off = (size_t)((ptrdiff_t)off + step(w.reduced, w.rdim, w.rstride, ridx));
  }
}

// log(s) for a finite s > 0 in double, no libm: s = m·2^e with m in [√½, √2), log m = 2·atanh(u), u = (m−1)/(m+1),
// |u| <= 0.1716, by its series to u^41 (the next term is below 2^-60 of the sum), plus e·ln 2.
double f64_log(double s) {
  uint64_t bits;
  memcpy(&bits, &s, sizeof bits);
  int64_t e = (int64_t)((bits >> 52) & 0x7ff) - 1023;
  if (e == -1023) return f64_log(s * 18014398509481984.0) - 54.0 * 0.6931471805599453;  // subnormal: scale by 2^54
  bits = (bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull;                        // m in [1, 2)
  double m;
  memcpy(&m, &bits, sizeof m);
  if (m > 1.4142135623730951) m *= 0.5, e += 1;
  const double u = (m - 1.0) / (m + 1.0), u2 = u * u;
  double sum = 0.0;
  for (int k = 41; k >= 3; k -= 2) sum = (sum + 1.0 / (double)k) * u2;
  const double log_m = 2.0 * u * (1.0 + sum);
  // ln 2 split in two so e·ln 2 keeps double precision for every exponent.
  return (double)e * 0.6931471803691238 + ((double)e * 1.9082149292705877e-10 + log_m);
}

inline bool is_nan(float v) { return v != v; }

// SUM / MEAN when the innermost axis is kept (mean pooling over a sequence: [1, L, D] over L): up to 64 neighbouring
// outputs at a time, each a double sum of its elements in the reference's order (so the same bits), reading rows of
// the input instead of one strided element per step.
void sum_inner_kept(int32_t func, const Walk& w, const float* input, float* yf) {
  const size_t inner = w.kdim[w.kept - 1];
  Walk outer = w;  // the kept axes before the innermost: one row of `inner` outputs each
  outer.kept -= 1;
  outer.outputs = inner == 0 ? 0 : w.outputs / inner;
  for_each_output(outer, [&](size_t oo, size_t base) {
    for (size_t j0 = 0; j0 < inner; j0 += 64) {
      const size_t nb = inner - j0 < 64 ? inner - j0 : 64;
      double acc[64];
      for (size_t j = 0; j < nb; ++j) acc[j] = 0.0;
      size_t ridx[kMaxRank] = {0, 0, 0, 0, 0, 0};
      size_t off = base + j0;
      for (size_t i = 0; i < w.count; ++i) {
        for (size_t j = 0; j < nb; ++j) acc[j] += (double)input[off + j];
        off = (size_t)((ptrdiff_t)off + step(w.reduced, w.rdim, w.rstride, ridx));
      }
      for (size_t j = 0; j < nb; ++j)
        yf[oo * inner + j0 + j] = (float)(func == EB_REDUCE_FUNC_SUM ? acc[j] : acc[j] / (double)w.count);
    }
  });
}

}  // namespace

extern "C" void eb_xx_reduce_ref(int32_t func, size_t rank, const int32_t* dims, uint32_t axes, float correction,
                                 const float* input, void* output) {
  const Walk w = make_walk(rank, dims, axes);
  float* yf = static_cast<float*>(output);
  int32_t* yi = static_cast<int32_t*>(output);
  if ((func == EB_REDUCE_FUNC_SUM || func == EB_REDUCE_FUNC_MEAN) && w.kept > 0 && w.kstride[w.kept - 1] == 1)
    return sum_inner_kept(func, w, input, yf);
  for_each_output(w, [&](size_t o, size_t base) {
    switch (func) {
      case EB_REDUCE_FUNC_SUM:
      case EB_REDUCE_FUNC_MEAN: {
        double s = 0.0;
        for_each_element(w, base, input, [&](size_t, float v) { s += (double)v; });
        yf[o] = (float)(func == EB_REDUCE_FUNC_SUM ? s : s / (double)w.count);
        break;
      }
      case EB_REDUCE_FUNC_PROD: {
        double p = 1.0;
        for_each_element(w, base, input, [&](size_t, float v) { p *= (double)v; });
        yf[o] = (float)p;
        break;
      }
      case EB_REDUCE_FUNC_MAX:
      case EB_REDUCE_FUNC_MIN:
      case EB_REDUCE_FUNC_ARGMAX:
      case EB_REDUCE_FUNC_ARGMIN: {
        // The first NaN wins (torch propagates NaN and its argmax points at the first one), else the first extreme.
        const bool want_max = func == EB_REDUCE_FUNC_MAX || func == EB_REDUCE_FUNC_ARGMAX;
        float best = 0.0f;
        size_t at = 0;
        for_each_element(w, base, input, [&](size_t i, float v) {
          if (i == 0 || (!is_nan(best) && (is_nan(v) || (want_max ? v > best : v < best)))) best = v, at = i;
        });
        if (func == EB_REDUCE_FUNC_MAX || func == EB_REDUCE_FUNC_MIN)
          yf[o] = best;
        else
          yi[o] = (int32_t)at;
        break;
      }
      case EB_REDUCE_FUNC_ANY:
      case EB_REDUCE_FUNC_ALL: {
        size_t nonzero = 0;
        for_each_element(w, base, input, [&](size_t, float v) { nonzero += v != 0.0f; });
        yi[o] = func == EB_REDUCE_FUNC_ANY ? nonzero > 0 : nonzero == w.count;
        break;
      }
      case EB_REDUCE_FUNC_VAR: {
        // Two passes in double: the mean, then Σ (x − mean)²; divisor max(0, N − correction) as torch.
        double s = 0.0, ss = 0.0;
        for_each_element(w, base, input, [&](size_t, float v) { s += (double)v; });
        const double mean = s / (double)w.count;
        for_each_element(w, base, input, [&](size_t, float v) { ss += ((double)v - mean) * ((double)v - mean); });
        double dof = (double)w.count - (double)correction;
        if (dof < 0.0) dof = 0.0;
        yf[o] = (float)(ss / dof);
        break;
      }
      default: {  // EB_REDUCE_FUNC_LOGSUMEXP: m + log Σ exp(x − m), m the max (±inf and NaN pass through)
        float m = 0.0f;
        for_each_element(w, base, input, [&](size_t i, float v) {
          if (i == 0 || (!is_nan(m) && (is_nan(v) || v > m))) m = v;
        });
        if (is_nan(m) || m == 1.0f / 0.0f || m == -1.0f / 0.0f) {
          yf[o] = m;
          break;
        }
        double s = 0.0;
        for_each_element(w, base, input, [&](size_t, float v) { s += eb_f64_exp((double)v - (double)m); });
        yf[o] = (float)((double)m + f64_log(s));  // s >= 1: the max's own term is exp(0)
        break;
      }
    }
  });
}

extern "C" void eb_xx_reduce_s32_ref(int32_t func, size_t rank, const int32_t* dims, uint32_t axes,
                                     const int32_t* input, int32_t* output) {
  const Walk w = make_walk(rank, dims, axes);
  for_each_output(w, [&](size_t o, size_t base) {
    uint32_t acc = func == EB_REDUCE_FUNC_PROD ? 1u : 0u;  // unsigned: wraps without undefined behaviour
    int32_t best = 0;
    size_t at = 0, nonzero = 0;
    for_each_element(w, base, input, [&](size_t i, int32_t v) {
      acc = func == EB_REDUCE_FUNC_PROD ? acc * (uint32_t)v : acc + (uint32_t)v;
      nonzero += v != 0;
      const bool want_max = func == EB_REDUCE_FUNC_MAX || func == EB_REDUCE_FUNC_ARGMAX;
      if (i == 0 || (want_max ? v > best : v < best)) best = v, at = i;
    });
    switch (func) {
      case EB_REDUCE_FUNC_SUM:
      case EB_REDUCE_FUNC_PROD: output[o] = (int32_t)acc; break;
      case EB_REDUCE_FUNC_MAX:
      case EB_REDUCE_FUNC_MIN: output[o] = best; break;
      case EB_REDUCE_FUNC_ARGMAX:
      case EB_REDUCE_FUNC_ARGMIN: output[o] = (int32_t)at; break;
      case EB_REDUCE_FUNC_ANY: output[o] = nonzero > 0; break;
      default:  // ALL (validate admits no other function)
        output[o] = nonzero == w.count;
        break;
    }
  });
}

extern "C" void eb_xx_reduce_s8_ref(int32_t func, size_t rank, const int32_t* dims, uint32_t axes, const int8_t* input,
                                    void* output) {
  const Walk w = make_walk(rank, dims, axes);
  const bool want_max = func == EB_REDUCE_FUNC_MAX || func == EB_REDUCE_FUNC_ARGMAX;
  for_each_output(w, [&](size_t o, size_t base) {
    int8_t best = 0;
    size_t at = 0;
    for_each_element(w, base, input, [&](size_t i, int8_t v) {
      if (i == 0 || (want_max ? v > best : v < best)) best = v, at = i;
    });
    if (func == EB_REDUCE_FUNC_MAX || func == EB_REDUCE_FUNC_MIN)
      static_cast<int8_t*>(output)[o] = best;
    else
      static_cast<int32_t*>(output)[o] = (int32_t)at;
  });
}

extern "C" void eb_xx_reduce_cumsum_ref(size_t outer, size_t n, size_t inner, const float* input, float* output) {
  for (size_t a = 0; a < outer; ++a) {
    for (size_t c = 0; c < inner; ++c) {
      double s = 0.0;
      for (size_t i = 0; i < n; ++i) {
        const size_t at = (a * n + i) * inner + c;
        s += (double)input[at];
        output[at] = (float)s;
      }
    }
  }
}

extern "C" void eb_xx_reduce_cumsum_s32_ref(size_t outer, size_t n, size_t inner, const int32_t* input,
                                            int32_t* output) {
  for (size_t a = 0; a < outer; ++a) {
    for (size_t c = 0; c < inner; ++c) {
      uint32_t s = 0;
      for (size_t i = 0; i < n; ++i) {
        const size_t at = (a * n + i) * inner + c;
        s += (uint32_t)input[at];
        output[at] = (int32_t)s;
      }
    }
  }
}
