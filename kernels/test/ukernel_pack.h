// ukernel_pack.h: the packed weight layouts of edgebuild/ukernels_isa.h, built from the unpacked operands the
// reference twins take, for the microkernel tester only.
//
// Written from the layout comments of ukernels_isa.h; kernels/runtime/packing.cc builds the same bytes at load
// (the e2e ISA tier checks that path). Both should become one packer next to the kernels once the runtime rewrite
// has landed (one op, one place).
#ifndef EDGEBUILD_TEST_UKERNEL_PACK_H_
#define EDGEBUILD_TEST_UKERNEL_PACK_H_

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edgebuild/ukernels_isa.h"

namespace ebt {

inline size_t round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }

inline void store_elem(uint8_t* dst, size_t elem, int32_t v) {
  if (elem == 1) {
    *reinterpret_cast<int8_t*>(dst) = (int8_t)v;
  } else if (elem == 2) {
    const int16_t s = (int16_t)v;
    memcpy(dst, &s, 2);
  } else {  // 4: int16 in the low half of an int32 lane, high half 0
    const uint32_t u = (uint32_t)(uint16_t)(int16_t)v;
    memcpy(dst, &u, 4);
  }
}

// bias' = bias − (zp_x + a_offset)·Σw (wrapping), mult, left = max(e, 0), right = max(−e, 0); padded columns get
// 0, 2^30, 0, 0.
inline void pack_header(int32_t* h, size_t nr, size_t valid, const int32_t* bias, const int32_t* mult,
                        const int32_t* shift, const int32_t* sum, int32_t zp_shift) {
  for (size_t j = 0; j < nr; ++j) {
    const bool in = j < valid;
    const uint32_t b = in && bias != NULL ? (uint32_t)bias[j] : 0u;
    h[j] = in ? (int32_t)(b - (uint32_t)zp_shift * (uint32_t)sum[j]) : 0;
    h[nr + j] = in ? mult[j] : 1 << 30;
    h[2 * nr + j] = in && shift[j] > 0 ? shift[j] : 0;
    h[3 * nr + j] = in && shift[j] < 0 ? -shift[j] : 0;
  }
}

// Whether the unsigned-offset requantization is exact for a column: e <= 0 and
// |bias| + 255·Σ|w| + 2^(r−1) + 128·2^r + 1 <= 2^31 − 1 with r = −e (ukernels_isa.h, rq_u and u_right).
inline bool requantu_exact(const int32_t* bias, const int8_t* w, size_t n, size_t step, int32_t e) {
  int64_t a = bias != NULL ? (int64_t)*bias : 0;
  a = a < 0 ? -a : a;
  for (size_t k = 0; k < n; ++k) a += 255 * (int64_t)(w[k * step] < 0 ? -w[k * step] : w[k * step]);
  const int64_t r = e < 0 ? -(int64_t)e : 0;
  return e <= 0 && a + (r > 0 ? (int64_t)1 << (r - 1) : 0) + ((int64_t)128 << r) + 1 <= INT32_MAX;
}

inline int32_t column_sum(const int8_t* w, size_t n, size_t step) {
  uint32_t s = 0;
  for (size_t k = 0; k < n; ++k) s += (uint32_t)(int32_t)w[k * step];
  return (int32_t)s;
}

// ---- GEMM: blocks of nr columns: header_arrays int32 arrays of nr, then weights [kc / kr][nr][kr] ----
inline size_t gemm_block_bytes(size_t nr, size_t kr, size_t w_elem, size_t header_arrays, size_t K) {
  return round_up(4 * header_arrays * nr + round_up(K, kr) * nr * w_elem, 64);
}

// w [N, K]; out: ceil(N / nr) blocks of gemm_block_bytes.
inline void pack_gemm(size_t nr, size_t kr, size_t w_elem, size_t header_arrays, int32_t a_offset, size_t N, size_t K,
                      const int8_t* w, const int32_t* bias, const int32_t* mult, const int32_t* shift, int32_t zp_x,
                      uint8_t* out, bool flags = false) {
  const size_t kc = round_up(K, kr), block_bytes = gemm_block_bytes(nr, kr, w_elem, header_arrays, K);
  int32_t sum[64];
  for (size_t n0 = 0; n0 < N; n0 += nr) {
    const size_t valid = N - n0 < nr ? N - n0 : nr;
    uint8_t* block = out + (n0 / nr) * block_bytes;
    for (size_t j = 0; j < nr; ++j) sum[j] = j < valid ? column_sum(w + (n0 + j) * K, K, 1) : 0;
    int32_t* h = reinterpret_cast<int32_t*>(block);
    pack_header(h, nr, valid, bias != NULL ? bias + n0 : NULL, mult + n0, shift + n0, sum, zp_x + a_offset);
    if (flags) {  // GemmKernel::flags: −right, then EB_GEMM_BLOCK_* over the valid columns in flags[0]
      int32_t f = EB_GEMM_BLOCK_RSHIFT;
      for (size_t j = 0; j < nr; ++j) {
        h[3 * nr + j] = -h[3 * nr + j];
        h[4 * nr + j] = 0;
        if (j < valid && shift[n0 + j] >= 0) f &= ~EB_GEMM_BLOCK_RSHIFT;
        if (j < valid && shift[n0 + j] > 0) f |= EB_GEMM_BLOCK_LSHIFT;
      }
      h[4 * nr] = f;
    } else if (header_arrays == 5) {
      for (size_t j = 0; j < nr; ++j)
        h[4 * nr + j] =
            j >= valid || requantu_exact(bias != NULL ? bias + n0 + j : NULL, w + (n0 + j) * K, K, 1, shift[n0 + j]);
    }
    uint8_t* dst = block + 4 * header_arrays * nr;
    for (size_t kb = 0; kb < kc; kb += kr)
      for (size_t j = 0; j < nr; ++j)
        for (size_t r = 0; r < kr; ++r, dst += w_elem)
          store_elem(dst, w_elem, j < valid && kb + r < K ? (int32_t)w[(n0 + j) * K + kb + r] : 0);
  }
}

// ---- Depthwise: blocks of cr channels: header (4 int32 arrays, or the rq64 form), then weights [taps][cr] ----
inline size_t dw_header_bytes(size_t cr, bool rq64, bool flags = false) { return (rq64 ? 40 : flags ? 20 : 16) * cr; }
inline size_t dw_block_bytes(size_t cr, size_t w_elem, bool rq64, size_t taps, bool flags = false) {
  return round_up(dw_header_bytes(cr, rq64, flags) + taps * cr * w_elem, 64);
}

// The flags header (ukernels_isa.h, DwKernel::flags): −right, then flags[cr] with EB_DW_BLOCK_* in flags[0] from
// the valid channels.
inline void pack_dw_flags(int32_t* h, size_t cr, size_t valid, const int32_t* shift, const int8_t* w, size_t taps) {
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

// The rq64 header after bias' and mult (ukernels_isa.h): int64 mult_odd, K, D, s per channel pair, int32 u_right.
inline void pack_rq64(int32_t* h, size_t cr, size_t valid, const int32_t* mult, const int32_t* shift,
                      const int32_t* bias, const int8_t* w, size_t taps) {
  int32_t* u_right = h + 9 * cr;
  for (size_t j = 0; j < cr; ++j) {
    const bool ok = j >= valid || requantu_exact(bias != NULL ? bias + j : NULL, w + j * taps, taps, 1, shift[j]);
    u_right[j] = j >= valid ? 0 : ok ? (shift[j] < 0 ? -shift[j] : 0) : -1;
  }
  int64_t* q = reinterpret_cast<int64_t*>(h + 2 * cr);
  const size_t half = cr / 2;
  for (size_t j = 0; j < cr; ++j) {
    const int32_t m = j < valid ? mult[j] : 1 << 30, e = j < valid ? shift[j] : 0;
    const int64_t left = e > 0 ? e : 0, right = e < 0 ? -e : 0;
    const size_t i = j / 2, odd = j % 2;
    if (odd) q[i] = m;
    q[(1 + odd) * half + i] = ((int64_t)1 << (30 - left)) + (right > 0 ? (int64_t)1 << (30 + right) : 0);
    q[(3 + odd) * half + i] = right > 0 ? -((int64_t)1 << 31) : 0;
    q[(5 + odd) * half + i] = 31 - left + right;
  }
}

// w [C, taps]; out: ceil(C / cr) blocks of dw_block_bytes.
inline void pack_dw(size_t cr, size_t w_elem, bool rq64, size_t C, size_t taps, const int8_t* w, const int32_t* bias,
                    const int32_t* mult, const int32_t* shift, int32_t zp_x, uint8_t* out, bool flags = false) {
  const size_t block_bytes = dw_block_bytes(cr, w_elem, rq64, taps, flags);
  int32_t sum[64];
  for (size_t c0 = 0; c0 < C; c0 += cr) {
    const size_t valid = C - c0 < cr ? C - c0 : cr;
    uint8_t* block = out + (c0 / cr) * block_bytes;
    for (size_t j = 0; j < cr; ++j) sum[j] = j < valid ? column_sum(w + (c0 + j) * taps, taps, 1) : 0;
    int32_t* h = reinterpret_cast<int32_t*>(block);
    pack_header(h, cr, valid, bias != NULL ? bias + c0 : NULL, mult + c0, shift + c0, sum, zp_x);
    if (rq64) pack_rq64(h, cr, valid, mult + c0, shift + c0, bias != NULL ? bias + c0 : NULL, w + c0 * taps, taps);
    if (flags) pack_dw_flags(h, cr, valid, shift + c0, w + c0 * taps, taps);
    uint8_t* dst = block + dw_header_bytes(cr, rq64, flags);
    for (size_t t = 0; t < taps; ++t)
      for (size_t j = 0; j < cr; ++j, dst += w_elem)
        store_elem(dst, w_elem, j < valid ? (int32_t)w[(c0 + j) * taps + t] : 0);
  }
}

// ---- Sparse strip of nr columns: the 4 GEMM arrays, int32 count + 15 padding, (tap, offset) pairs padded to 64
// bytes, then weights [count][kr / kg][nr][kg]. An entry covers k = tap·C + offset + [0, kr) where any of the
// strip's columns has a non-zero weight. w [valid, K] are the strip's dense rows (K = taps·C, C % kr == 0).
// grouped (the ARM kernels): count, groups, flags (bit 0: a −128 weight; bit 1: a left shift), 13 padding, then
// (tap, n) pairs per run of entries of one tap, then count channel offsets, padded to 64 bytes. ----
inline bool spmm_slice_used(const int8_t* w, size_t valid, size_t K, size_t kr, size_t kb) {
  for (size_t j = 0; j < valid; ++j)
    for (size_t r = 0; r < kr; ++r)
      if (w[j * K + kb + r] != 0) return true;
  return false;
}

inline size_t spmm_strip_bytes(size_t nr, size_t kr, size_t w_elem, bool grouped, const int8_t* w, size_t valid,
                               size_t K, size_t C, size_t* count_out, size_t* groups_out) {
  size_t count = 0, groups = 0, last = (size_t)-1;
  for (size_t kb = 0; kb < K; kb += kr) {
    if (!spmm_slice_used(w, valid, K, kr, kb)) continue;
    ++count;
    if (kb / C != last) ++groups, last = kb / C;
  }
  *count_out = count;
  *groups_out = groups;
  const size_t index = grouped ? groups * 8 + count * 4 : count * 8;
  return 16 * nr + 64 + round_up(index, 64) + round_up(count * nr * kr * w_elem, 64);
}

inline void pack_spmm_strip(size_t nr, size_t kr, size_t w_elem, size_t kg, int32_t a_offset, bool grouped,
                            size_t valid, size_t K, size_t C, const int8_t* w, const int32_t* bias, const int32_t* mult,
                            const int32_t* shift, int32_t zp_x, uint8_t* out) {
  int32_t sum[64];
  for (size_t j = 0; j < nr; ++j) sum[j] = j < valid ? column_sum(w + j * K, K, 1) : 0;
  pack_header(reinterpret_cast<int32_t*>(out), nr, valid, bias, mult, shift, sum, zp_x + a_offset);
  int32_t* hdr = reinterpret_cast<int32_t*>(out + 16 * nr);
  size_t count = 0, groups = 0;
  spmm_strip_bytes(nr, kr, w_elem, grouped, w, valid, K, C, &count, &groups);
  memset(hdr, 0, 64);
  hdr[0] = (int32_t)count;
  int32_t* idx = hdr + 16;
  int32_t* offs = idx + 2 * groups;
  if (grouped) {
    bool m128 = false, left = false;
    for (size_t j = 0; j < valid; ++j) {
      left |= shift[j] > 0;
      for (size_t k = 0; k < K; ++k) m128 |= w[j * K + k] == -128;
    }
    hdr[1] = (int32_t)groups;
    hdr[2] = (m128 ? 1 : 0) | (left ? 2 : 0);
  }
  uint8_t* wdst = reinterpret_cast<uint8_t*>(idx) + round_up(grouped ? groups * 8 + count * 4 : count * 8, 64);
  size_t e = 0, g = 0, last = (size_t)-1;
  for (size_t kb = 0; kb < K; kb += kr) {
    if (!spmm_slice_used(w, valid, K, kr, kb)) continue;
    if (grouped) {
      if (kb / C != last) {
        last = kb / C;
        idx[2 * g] = (int32_t)last;
        idx[2 * g + 1] = 0;
        ++g;
      }
      ++idx[2 * g - 1];
      offs[e] = (int32_t)(kb % C);
    } else {
      idx[2 * e] = (int32_t)(kb / C);
      idx[2 * e + 1] = (int32_t)(kb % C);
    }
    for (size_t g0 = 0; g0 < kr; g0 += kg)
      for (size_t j = 0; j < nr; ++j)
        for (size_t r = 0; r < kg; ++r, wdst += w_elem)
          store_elem(wdst, w_elem, j < valid ? (int32_t)w[j * K + kb + g0 + r] : 0);
    ++e;
  }
}

// 64-byte aligned, zeroed; the packed blocks and strips are read with aligned loads.
inline void* alloc64(size_t bytes) {
  void* p = NULL;
  if (posix_memalign(&p, 64, round_up(bytes + 64, 64)) != 0) abort();
  memset(p, 0, round_up(bytes + 64, 64));
  return p;
}

}  // namespace ebt

#endif  // EDGEBUILD_TEST_UKERNEL_PACK_H_
