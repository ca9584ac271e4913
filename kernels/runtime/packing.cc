// packing.cc: at load, each op's plan (kernels/runtime/ops/<op>.cc) packs its weights for the selected ISA's
// micro-kernels with the helpers here (layouts in edgebuild/ukernels_isa.h), and prepare_ops sizes the scratch the
// executor uses (im2col rows, depthwise row pointers, sparse tap pointers).
//
// Packing happens at load, not at build time, because the kernel (and so the layout) is chosen at run time from the
// CPU the artifact lands on; the artifact keeps the reference layout, so one file serves every ISA of its target.
// Everything allocated here is tracked and freed with the model; invoke allocates nothing.
#include <stdlib.h>
#include <string.h>

#include "packing.h"

#include "op.h"

namespace eb {

namespace {

// im2col scratch per thread: rows of kc bytes, at most this many bytes (and at least one MR tile).
constexpr size_t kScratchBudget = 256 * 1024;

size_t round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }

void store_elem(uint8_t* dst, uint32_t elem, int32_t v) {
  if (elem == 1) {
    *reinterpret_cast<int8_t*>(dst) = (int8_t)v;
  } else if (elem == 2) {
    const int16_t s = (int16_t)v;
    memcpy(dst, &s, 2);
  } else {  // 4: int16 in the low half, 0 in the high half (vpmaddwd against a sign-extended int32 lane)
    const uint32_t u = (uint32_t)(uint16_t)(int16_t)v;
    memcpy(dst, &u, 4);
  }
}

// The four int32 arrays that open every packed block; sum[j] = sum of column j's weights.
void pack_header(uint8_t* out, size_t nr, size_t valid, const int32_t* bias, const int32_t* mult, const int32_t* shift,
                 const int32_t* sum, int32_t zp_shift) {
  int32_t* h = reinterpret_cast<int32_t*>(out);
  for (size_t j = 0; j < nr; ++j) {
    if (j < valid) {
      // bias' = bias − (zp_x + a_offset)·Σw, wrapping like eb_add_wrap_s32 (ukernels_isa.h).
      const uint32_t b = bias != NULL ? (uint32_t)bias[j] : 0u;
      h[j] = (int32_t)(b - (uint32_t)zp_shift * (uint32_t)sum[j]);
      h[nr + j] = mult[j];
      h[2 * nr + j] = shift[j] > 0 ? shift[j] : 0;   // docs/quantization.md (5): left shift
      h[3 * nr + j] = shift[j] < 0 ? -shift[j] : 0;  // and right shift; the loader keeps shift in [−31, 30]
    } else {
      h[j] = 0;
      h[nr + j] = 1 << 30;
      h[2 * nr + j] = 0;
      h[3 * nr + j] = 0;
    }
  }
}

// Whether the unsigned-offset requantization (requant__avx512vnni.h eb_requantu_*) is exact for an output channel
// with `bias`, the n weights w and exponent e: |bias| + 255·Σ|w| bounds |acc| (|x − zp_x| <= 255), and that form
// needs e <= 0 and bound + 2^(r−1) + 128·2^r + 1 <= 2^31 − 1 with r = −e.
bool requantu_exact(const int32_t* bias, const int8_t* w, size_t n, int32_t e) {
  int64_t a = bias != NULL ? (int64_t)*bias : 0;
  a = a < 0 ? -a : a;
  for (size_t k = 0; k < n; ++k) a += 255 * (int64_t)(w[k] < 0 ? -w[k] : w[k]);
  const int64_t r = e < 0 ? -(int64_t)e : 0;
  return e <= 0 && a + (r > 0 ? (int64_t)1 << (r - 1) : 0) + ((int64_t)128 << r) + 1 <= INT32_MAX;
}

// GEMM weights of one group: rows w[n, 0..K) for n < N, K apart.
void pack_gemm_group(const GemmKernel& g, size_t N, size_t K, size_t kc, const int8_t* w, const int32_t* bias,
                     const int32_t* mult, const int32_t* shift, int32_t zp_x, size_t block_bytes, uint8_t* out) {
  const size_t nr = g.nr, kr = g.kr;
  int32_t sum[64];
  for (size_t n0 = 0; n0 < N; n0 += nr) {
    const size_t valid = N - n0 < nr ? N - n0 : nr;
    uint8_t* block = out + (n0 / nr) * block_bytes;
    for (size_t j = 0; j < nr; ++j) {
      uint32_t s = 0;
      for (size_t k = 0; j < valid && k < K; ++k) s += (uint32_t)(int32_t)w[(n0 + j) * K + k];
      sum[j] = (int32_t)s;
    }
    pack_header(block, nr, valid, bias != NULL ? bias + n0 : NULL, mult + n0, shift + n0, sum, zp_x + g.a_offset);
    if (g.flags) {
      // −right and the block's flags (ukernels_isa.h, GemmKernel::flags); padded columns are never stored.
      int32_t* h = reinterpret_cast<int32_t*>(block);
      int32_t f = EB_GEMM_BLOCK_RSHIFT;
      for (size_t j = 0; j < nr; ++j) {
        h[3 * nr + j] = -h[3 * nr + j];
        h[4 * nr + j] = 0;
        if (j < valid && shift[n0 + j] >= 0) f &= ~EB_GEMM_BLOCK_RSHIFT;
        if (j < valid && shift[n0 + j] > 0) f |= EB_GEMM_BLOCK_LSHIFT;
      }
      h[4 * nr] = f;
    } else if (g.header_arrays == 5) {
      // rq_u[j] (ukernels_isa.h); padded columns are not stored: any path will do for them.
      int32_t* ok = reinterpret_cast<int32_t*>(block) + 4 * nr;
      for (size_t j = 0; j < nr; ++j)
        ok[j] = j >= valid || requantu_exact(bias != NULL ? bias + n0 + j : NULL, w + (n0 + j) * K, K, shift[n0 + j]);
    }
    uint8_t* dst = block + 4 * g.header_arrays * nr;
    for (size_t kb = 0; kb < kc; kb += kr) {
      for (size_t j = 0; j < nr; ++j) {
        for (size_t r = 0; r < kr; ++r, dst += g.w_elem) {
          const size_t k = kb + r;
          store_elem(dst, g.w_elem, j < valid && k < K ? (int32_t)w[(n0 + j) * K + k] : 0);
        }
      }
    }
  }
}

size_t dw_header_bytes(const DwKernel& d) { return (d.rq64 ? 40 : d.flags ? 20 : 16) * d.cr; }

// An rq64 depthwise header (ukernels_isa.h): bias' and mult stay, then per channel pair (2i, 2i+1) the int64
// constants of docs/quantization.md (5) folded into one rounding shift (left = max(e, 0), right = max(−e, 0)):
//   s = 31 − left + right,  K = 2^(30 − left) + (right > 0 ? 2^(30 + right) : 0),  D = (right > 0 ? −2^31 : 0)
// and mult[2i + 1] in the low half of an int64 (the odd lanes' multiplier for vpmuldq); then int32 u_right[cr]: the
// right shift when the unsigned-offset requantization (requant__avx512vnni.h eb_requantu_*) is exact for the
// channel, i.e. e <= 0 and |bias| + 255·Σ|w| + 2^(r−1) + 128·2^r + 1 <= 2^31 − 1, else −1 (0 for padded channels).
void pack_rq64(int32_t* h, size_t cr, size_t valid, const int32_t* mult, const int32_t* shift, const int32_t* bias,
               const int8_t* w, size_t taps) {
  int32_t* u_right = h + 9 * cr;
  for (size_t j = 0; j < cr; ++j) {
    const bool ok = j >= valid || requantu_exact(bias != NULL ? bias + j : NULL, w + j * taps, taps, shift[j]);
    u_right[j] = j >= valid ? 0 : ok ? (shift[j] < 0 ? -shift[j] : 0) : -1;
  }
  int64_t* q = reinterpret_cast<int64_t*>(h + 2 * cr);
  const size_t half = cr / 2;
  for (size_t j = 0; j < cr; ++j) {
    const int32_t m = j < valid ? mult[j] : 1 << 30, e = j < valid ? shift[j] : 0;
    const int64_t left = e > 0 ? e : 0, right = e < 0 ? -e : 0;
    const size_t i = j / 2, odd = j % 2;
    if (odd) q[i] = m;                                                                                     // mult_odd
    q[(1 + odd) * half + i] = ((int64_t)1 << (30 - left)) + (right > 0 ? (int64_t)1 << (30 + right) : 0);  // K
    q[(3 + odd) * half + i] = right > 0 ? -((int64_t)1 << 31) : 0;                                         // D
    q[(5 + odd) * half + i] = 31 - left + right;                                                           // s
  }
}

// The flags header of ukernels_isa.h (DwKernel::flags): −right in the fourth array, then flags[cr] with the block's
// EB_DW_BLOCK_* bits in flags[0]. Padded channels are left out of the flags: their outputs are never stored.
void pack_dw_flags(int32_t* h, size_t cr, size_t valid, const int32_t* shift, const int8_t* w, size_t taps) {
  int32_t flags = EB_DW_BLOCK_PAIRS | EB_DW_BLOCK_RSHIFT;
  for (size_t j = 0; j < cr; ++j) {
    h[3 * cr + j] = -h[3 * cr + j];
    h[4 * cr + j] = 0;
    if (j >= valid) continue;
    if (shift[j] >= 0) flags &= ~EB_DW_BLOCK_RSHIFT;
    for (size_t t = 0; t < taps; ++t)
      if (w[j * taps + t] == -128) flags &= ~EB_DW_BLOCK_PAIRS;
  }
  h[4 * cr] = flags;
}

// Depthwise weights w[c, taps] (OC = C, one input channel per group).
void pack_dw(const DwKernel& d, size_t C, size_t taps, const int8_t* w, const int32_t* bias, const int32_t* mult,
             const int32_t* shift, int32_t zp_x, size_t block_bytes, uint8_t* out) {
  const size_t cr = d.cr;
  int32_t sum[64];
  for (size_t c0 = 0; c0 < C; c0 += cr) {
    const size_t valid = C - c0 < cr ? C - c0 : cr;
    uint8_t* block = out + (c0 / cr) * block_bytes;
    for (size_t j = 0; j < cr; ++j) {
      uint32_t s = 0;
      for (size_t t = 0; j < valid && t < taps; ++t) s += (uint32_t)(int32_t)w[(c0 + j) * taps + t];
      sum[j] = (int32_t)s;
    }
    pack_header(block, cr, valid, bias != NULL ? bias + c0 : NULL, mult + c0, shift + c0, sum, zp_x);
    if (d.rq64)
      pack_rq64(reinterpret_cast<int32_t*>(block), cr, valid, mult + c0, shift + c0, bias != NULL ? bias + c0 : NULL,
                w + c0 * taps, taps);
    if (d.flags) pack_dw_flags(reinterpret_cast<int32_t*>(block), cr, valid, shift + c0, w + c0 * taps, taps);
    uint8_t* dst = block + dw_header_bytes(d);
    for (size_t t = 0; t < taps; ++t)
      for (size_t j = 0; j < cr; ++j, dst += d.w_elem)
        store_elem(dst, d.w_elem, j < valid ? (int32_t)w[(c0 + j) * taps + t] : 0);
  }
}

// Rows [n0, n0 + rows) of the block-CSR weight of a sparse op, densified into out[rows][K] (docs/artifact.md).
void densify_rows(const eb_model* m, const Op& op, int32_t br, int32_t bc, size_t K, size_t n0, size_t rows,
                  int8_t* out) {
  const int8_t* values = reinterpret_cast<const int8_t*>(m->tensors[op.inputs[1]].data);
  const int32_t* row_ptr = reinterpret_cast<const int32_t*>(m->tensors[op.inputs[5]].data);
  const int32_t* col = reinterpret_cast<const int32_t*>(m->tensors[op.inputs[6]].data);
  memset(out, 0, rows * K);
  for (size_t r = 0; r < rows; ++r) {
    const size_t n = n0 + r, br_row = n / (size_t)br, lane = n % (size_t)br;
    for (int32_t b = row_ptr[br_row]; b < row_ptr[br_row + 1]; ++b)
      memcpy(out + r * K + (size_t)col[b] * (size_t)bc, values + ((size_t)b * (size_t)br + lane) * (size_t)bc,
             (size_t)bc);
  }
}

// Whether any of the strip's `valid` columns has a non-zero weight in k = kb + [0, kr): the slice is stored.
bool slice_used(const int8_t* tmp, size_t K, size_t valid, size_t kr, size_t kb) {
  for (size_t j = 0; j < valid; ++j)
    for (size_t r = 0; r < kr; ++r)
      if (tmp[j * K + kb + r] != 0) return true;
  return false;
}

// Bytes of one packed sparse strip with `count` entries in `groups` runs of one tap (ukernels_isa.h).
size_t strip_bytes(const SpmmKernel& k, size_t count, size_t groups) {
  const size_t index = k.grouped ? groups * 8 + count * 4 : count * 8;
  return 16 * k.nr + 64 + round_up(index, 64) + round_up(count * k.nr * k.kr * k.w_elem, 64);
}

// Packs a sparse op for kernel k: strip offsets, then one strip per nr output columns. tmp: nr × K bytes. With
// out == NULL only returns the bytes needed. tap_off (grouped kernels only): each tap's byte offset from a row's
// first tap (OpPlan::flat_wp); the strip is then one tap group (tap 0) whose entry offsets are tap_off[tap] + channel.
size_t pack_sparse(const eb_model* m, const Op& op, const SpmmKernel& k, size_t N, size_t K, size_t C, int32_t br,
                   int32_t bc, int32_t zp_x, const size_t* tap_off, int8_t* tmp, uint8_t* out) {
  const size_t nr = k.nr, kr = k.kr, strips = (N + nr - 1) / nr;
  const int32_t* bias = op.inputs[2] < 0 ? NULL : reinterpret_cast<const int32_t*>(m->tensors[op.inputs[2]].data);
  const int32_t* mult = reinterpret_cast<const int32_t*>(m->tensors[op.inputs[3]].data);
  const int32_t* shift = reinterpret_cast<const int32_t*>(m->tensors[op.inputs[4]].data);
  size_t offset = round_up(strips * 8, 64);
  for (size_t s = 0; s < strips; ++s) {
    const size_t n0 = s * nr, valid = N - n0 < nr ? N - n0 : nr;
    densify_rows(m, op, br, bc, K, n0, valid, tmp);
    size_t count = 0, groups = 0, last_tap = (size_t)-1;
    for (size_t kb = 0; kb < K; kb += kr) {
      if (!slice_used(tmp, K, valid, kr, kb)) continue;
      ++count;
      const size_t tap = tap_off != NULL ? 0 : kb / C;
      if (tap != last_tap) ++groups, last_tap = tap;
    }
    if (out != NULL) {
      const uint64_t offset64 = offset;  // the table holds uint64_t (gemm_exec.cc); size_t is 4 bytes on armv7
      memcpy(out + s * 8, &offset64, 8);
      uint8_t* strip = out + offset;
      int32_t sum[64];
      bool has_m128 = false, has_left = false;
      for (size_t j = 0; j < nr; ++j) {
        uint32_t t = 0;
        for (size_t kk = 0; j < valid && kk < K; ++kk) {
          t += (uint32_t)(int32_t)tmp[j * K + kk];
          has_m128 |= tmp[j * K + kk] == -128;
        }
        sum[j] = (int32_t)t;
        has_left |= j < valid && shift[n0 + j] > 0;
      }
      pack_header(strip, nr, valid, bias != NULL ? bias + n0 : NULL, mult + n0, shift + n0, sum, zp_x + k.a_offset);
      int32_t* hdr = reinterpret_cast<int32_t*>(strip + 16 * nr);
      memset(hdr, 0, 64);
      hdr[0] = (int32_t)count;
      int32_t* idx = hdr + 16;
      int32_t* offs = idx;  // grouped: the channel offsets follow the (tap, n) pairs
      if (k.grouped) {
        hdr[1] = (int32_t)groups;
        hdr[2] = (has_m128 ? 1 : 0) | (has_left ? 2 : 0);
        offs = idx + 2 * groups;
      }
      uint8_t* wdst = reinterpret_cast<uint8_t*>(idx) + round_up(k.grouped ? groups * 8 + count * 4 : count * 8, 64);
      size_t e = 0, g = 0;
      last_tap = (size_t)-1;
      for (size_t kb = 0; kb < K; kb += kr) {
        if (!slice_used(tmp, K, valid, kr, kb)) continue;
        if (k.grouped) {
          const size_t tap = tap_off != NULL ? 0 : kb / C;
          if (tap != last_tap) {
            last_tap = tap;
            idx[2 * g] = (int32_t)last_tap;
            idx[2 * g + 1] = 0;
            ++g;
          }
          ++idx[2 * g - 1];
          offs[e] = (int32_t)((tap_off != NULL ? tap_off[kb / C] : 0) + kb % C);
        } else {
          idx[2 * e] = (int32_t)(kb / C);
          idx[2 * e + 1] = (int32_t)(kb % C);
        }
        // [kr / kg][nr][kg]
        for (size_t g0 = 0; g0 < kr; g0 += k.kg)
          for (size_t j = 0; j < nr; ++j)
            for (size_t r = 0; r < k.kg; ++r, wdst += k.w_elem)
              store_elem(wdst, k.w_elem, j < valid ? (int32_t)tmp[j * K + kb + g0 + r] : 0);
        ++e;
      }
    }
    offset += strip_bytes(k, count, groups);
  }
  return offset;
}

}  // namespace

eb_status plan_gemm(eb_model* m, OpPlan& p, PlanContext& ctx, const GemmWeights& w, size_t groups, size_t N, size_t K,
                    size_t M, bool direct_shape) {
  GemmKernel gk = ctx.gemm;
  // The ISA may pick another kernel for the layer's K, weights or exponents (cpu.cc).
  gemm_kernel_for_layer(K, w.w, groups * N * K, w.shift, groups * N, &gk);
  p.kind = kPlanGemm;
  p.gemm = gk;
  p.kc = round_up(K, gk.kr);
  p.block_bytes = round_up(4 * gk.header_arrays * gk.nr + p.kc * gk.nr * gk.w_elem, 64);
  p.group_bytes = round_up(N, gk.nr) / gk.nr * p.block_bytes;
  p.direct = direct_shape && K == p.kc;
  p.packed = static_cast<uint8_t*>(tracked_alloc_aligned(m, p.group_bytes * groups, &p.packed_raw));
  if (p.packed == NULL) return EB_ERR_NOMEM;
  for (size_t g = 0; g < groups; ++g)
    pack_gemm_group(gk, N, K, p.kc, w.w + g * N * K, w.bias != NULL ? w.bias + g * N : NULL, w.mult + g * N,
                    w.shift + g * N, w.zp_x, p.block_bytes, p.packed + g * p.group_bytes);
  if (!p.direct) {
    size_t rows = kScratchBudget / p.kc / gk.mr * gk.mr;
    if (rows < gk.mr) rows = gk.mr;
    if (rows > round_up(M, gk.mr)) rows = round_up(M, gk.mr);
    p.chunk_rows = rows;
    if (rows * p.kc > ctx.im2col_bytes) ctx.im2col_bytes = rows * p.kc;
  } else {
    p.chunk_rows = round_up(M, gk.mr);
  }
  return EB_OK;
}

eb_status plan_dwconv(eb_model* m, OpPlan& p, PlanContext& ctx, const GemmWeights& w, size_t C, size_t taps) {
  const DwKernel& dk = ctx.dw;
  p.kind = kPlanDwconv;
  p.dw = dk;
  p.block_bytes = round_up(dw_header_bytes(dk) + taps * dk.cr * dk.w_elem, 64);
  p.group_bytes = round_up(C, dk.cr) / dk.cr * p.block_bytes;
  p.packed = static_cast<uint8_t*>(tracked_alloc_aligned(m, p.group_bytes, &p.packed_raw));
  p.zero_row = static_cast<int8_t*>(tracked_calloc(m, C + 64, 1));
  if (p.packed == NULL || p.zero_row == NULL) return EB_ERR_NOMEM;
  memset(p.zero_row, (int8_t)w.zp_x, C + 64);
  pack_dw(dk, C, taps, w.w, w.bias, w.mult, w.shift, w.zp_x, p.block_bytes, p.packed);
  if (taps > ctx.max_taps) ctx.max_taps = taps;
  return EB_OK;
}

eb_status plan_spmm(eb_model* m, const Op& op, OpPlan& p, PlanContext& ctx, size_t taps, int32_t br, int32_t bc,
                    const ConvGeometry* conv, int32_t kw) {
  // Taps of C channels each; the kernel reads kr channels of one tap, so C % kr == 0 (else the reference path).
  const SpmmKernel& sk = ctx.spmm;
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  const size_t C = (size_t)x.dims[x.rank - 1], K = taps * C, N = (size_t)y.dims[y.rank - 1];
  if (C % sk.kr != 0) return EB_OK;
  // A conv of several taps on a grouped (ARM) kernel runs flat: the tap groups of a strip cost ~13 instructions each
  // per call and the tap pointers of a tile ~3 each; flat, a row has one pointer into the padded input and a strip
  // one group, for one copy of the input with its padding per invoke (bench/README.md, sparse table).
  size_t* tap_off = NULL;
  p.flat_hp = p.flat_wp = 0;
  p.flat_copy = false;
  size_t pad_bytes = 0;
  if (conv != NULL && taps > 1 && sk.grouped) {
    const size_t H = (size_t)x.dims[1], W = (size_t)x.dims[2];
    const size_t hp = H + (size_t)conv->pad_top + (size_t)conv->pad_bottom;
    const size_t wp = W + (size_t)conv->pad_left + (size_t)conv->pad_right;
    // The offsets are int32; a padded copy is kept within 4 × the im2col budget (a larger input keeps the tap
    // pointers: the scratch is per thread).
    const uint64_t bytes = (uint64_t)hp * wp * C * (uint64_t)x.dims[0];
    const bool copy = hp != H || wp != W;
    if (bytes < ((uint64_t)1 << 31) && (!copy || bytes <= 4 * kScratchBudget)) {
      tap_off = static_cast<size_t*>(malloc(taps * sizeof(size_t)));
      if (tap_off == NULL) return EB_ERR_NOMEM;
      for (size_t t = 0; t < taps; ++t)
        tap_off[t] =
            ((t / (size_t)kw) * (size_t)conv->dilation_h * wp + (t % (size_t)kw) * (size_t)conv->dilation_w) * C;
      p.flat_hp = (int32_t)hp;
      p.flat_wp = (int32_t)wp;
      p.flat_copy = copy;
      if (copy) pad_bytes = (size_t)bytes;
    }
  }
  int8_t* tmp = static_cast<int8_t*>(malloc(sk.nr * K));  // load-time only, freed below
  if (tmp == NULL) {
    free(tap_off);
    return EB_ERR_NOMEM;
  }
  const size_t bytes = pack_sparse(m, op, sk, N, K, C, br, bc, x.zero_point, tap_off, tmp, NULL);
  p.kind = kPlanSpmm;
  p.spmm = sk;
  p.strips = (N + sk.nr - 1) / sk.nr;
  p.packed = static_cast<uint8_t*>(tracked_alloc_aligned(m, bytes, &p.packed_raw));
  p.zero_row = static_cast<int8_t*>(tracked_calloc(m, C + 64, 1));
  if (p.packed != NULL && p.zero_row != NULL) {
    memset(p.zero_row, (int8_t)x.zero_point, C + 64);
    pack_sparse(m, op, sk, N, K, C, br, bc, x.zero_point, tap_off, tmp, p.packed);
  }
  free(tmp);
  free(tap_off);
  if (p.packed == NULL || p.zero_row == NULL) return EB_ERR_NOMEM;
  // The padded input goes to the front of thread 0's scratch (the im2col region; sparse ops use no im2col).
  if (pad_bytes > ctx.im2col_bytes) ctx.im2col_bytes = pad_bytes;
  if (sk.mr * taps > ctx.max_taps) ctx.max_taps = sk.mr * taps;
  return EB_OK;
}

eb_status prepare_ops(eb_model* m, char* err, size_t err_len) {
  if (m->isa == kIsaRef) return EB_OK;
  PlanContext ctx = {};
  ctx.have_gemm = gemm_kernel(m->isa, &ctx.gemm, m->core.cls);
  ctx.have_dw = dw_kernel(m->isa, &ctx.dw);
  if (ctx.have_gemm) gemm_kernel_name(ctx.gemm, m->isa, m->gemm_kernel, sizeof m->gemm_kernel);
  ctx.have_spmm = spmm_kernel(m->isa, &ctx.spmm);
  m->plans = static_cast<OpPlan*>(tracked_calloc(m, m->num_ops, sizeof(OpPlan)));
  if (m->plans == NULL) {
    format_message(err, err_len, "out of memory for op plans");
    return EB_ERR_NOMEM;
  }
  for (uint32_t i = 0; i < m->num_ops; ++i) {
    const Op& op = m->ops[i];
    const OpImpl& impl = impl_of(op);
    if (impl.plan == NULL) continue;
    const eb_status s = impl.plan(m, op, m->plans[i], ctx);
    if (s != EB_OK) {
      format_message(err, err_len, "out of memory packing the weights of op %u", i);
      return s;
    }
  }
  // One scratch region per thread: im2col rows, then pointers (a depthwise op's window rows, a sparse tile's taps).
  m->scratch_per_thread = round_up(ctx.im2col_bytes, 64) + round_up(ctx.max_taps * sizeof(void*), 64);
  const size_t threads = m->max_threads > 0 ? (size_t)m->max_threads : 1;
  if (m->scratch_per_thread > 0) {
    m->scratch = static_cast<uint8_t*>(tracked_alloc_aligned(m, m->scratch_per_thread * threads, &m->scratch_raw));
    if (m->scratch == NULL) {
      format_message(err, err_len, "out of memory for %zu bytes of kernel scratch", m->scratch_per_thread * threads);
      return EB_ERR_NOMEM;
    }
  }
  m->im2col_bytes = round_up(ctx.im2col_bytes, 64);
  return EB_OK;
}

void free_plans(eb_model* m) {
  if (m->plans != NULL) {
    for (uint32_t i = 0; i < m->num_ops; ++i) {
      free(m->plans[i].packed_raw);
      free(m->plans[i].zero_row);
    }
    free(m->plans);
    m->plans = NULL;
  }
  free(m->scratch_raw);
  m->scratch_raw = NULL;
}

}  // namespace eb
