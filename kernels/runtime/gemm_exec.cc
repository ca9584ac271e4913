// gemm_exec.cc: the optimized execution of CONV2D, FULLY_CONNECTED and the sparse ops (gemm_exec.h): im2col rows,
// GEMM tiles, depthwise rows and sparse strips, split into tasks that write disjoint outputs, so any thread count
// gives the same bytes.
#include "gemm_exec.h"

#include <string.h>

#if defined(__aarch64__)
#include <arm_neon.h>
#endif

#include "edgebuild/requant.h"
#include "threadpool.h"

namespace eb {

namespace {

// dst[0, n) = src[0, n) for the runs im2col copies (a window row of a 3-channel 7×7 stem is 21 bytes, of a 64-channel
// 3×3 conv 192): fixed-size memcpy calls, which compile to plain loads and stores, overlapping at the tail, not a libc
// call per run. On arm64 also the runs of 64 bytes and more, 64 bytes per ld1 / st1 of four q registers (the 192-byte
// runs of ResNet-18's 64-channel 3×3 convs: ~20 instructions fewer each than glibc's memcpy under qemu); x86 keeps
// memcpy for those (its AVX copies).
inline void copy_run(int8_t* dst, const int8_t* src, size_t n) {
  if (n < 16) {
    if (n >= 8) {
      memcpy(dst, src, 8);
      memcpy(dst + n - 8, src + n - 8, 8);
    } else {
      for (size_t i = 0; i < n; ++i) dst[i] = src[i];
    }
  } else if (n < 32) {
    memcpy(dst, src, 16);
    memcpy(dst + n - 16, src + n - 16, 16);
  } else {
#if defined(__aarch64__)
    if (n < 64) {
      memcpy(dst, src, 32);
      memcpy(dst + n - 32, src + n - 32, 32);
      return;
    }
    // 64 bytes per ld1 / st1 of four q registers, the last 64 overlapping.
    const int8_t* const end = src + n;
    do {
      vst1q_s8_x4(dst, vld1q_s8_x4(src));
      src += 64, dst += 64;
    } while (end - src >= 64);
    const size_t t = (size_t)(end - src);
    if (t != 0) vst1q_s8_x4(dst + t - 64, vld1q_s8_x4(src + t - 64));
#else
    if (n >= 64) {
      memcpy(dst, src, n);
      return;
    }
    memcpy(dst, src, 16);
    memcpy(dst + 16, src + 16, 16);
    if (n > 48) memcpy(dst + 32, src + 32, 16);
    memcpy(dst + n - 16, src + n - 16, 16);
#endif
  }
}

// dst[0, n) = v, the same way.
inline void fill_run(int8_t* dst, int8_t v, size_t n) {
  if (n >= 64) {
    memset(dst, v, n);
  } else if (n >= 8) {
    uint64_t v8;
    memset(&v8, v, 8);
    for (size_t i = 0; i + 8 < n; i += 8) memcpy(dst + i, &v8, 8);
    memcpy(dst + n - 8, &v8, 8);
  } else {
    for (size_t i = 0; i < n; ++i) dst[i] = v;
  }
}

// fill_rows for one group and no horizontal dilation: a window row is one contiguous run of kw·C bytes of x. The
// window rows inside the image ([kh_lo, kh_hi)) and their start in x are computed once per output row oh; an output
// pixel whose window lies inside horizontally (most of them) is then kh_hi − kh_lo plain copies, no clipping.
void fill_rows_contiguous(const GemmJob& j, size_t m0, size_t rows, int8_t* dst) {
  const size_t kc = j.plan->kc;
  const int8_t* x = reinterpret_cast<const int8_t*>(j.x->data);
  const Tensor& t = *j.x;
  const int64_t H = t.dims[1], W = t.dims[2];
  const size_t C = (size_t)t.dims[3];
  const ConvWindow& c = *j.conv;
  const size_t OW = (size_t)j.ow, ohw = j.M / (size_t)t.dims[0], OH = ohw / OW;
  const int8_t zp = (int8_t)t.zero_point;
  const size_t KH = (size_t)j.kh, run = (size_t)j.kw * C;  // bytes of one window row in the im2col row
  const size_t row_step = (size_t)c.dilation_h * (size_t)W * C;
  size_t n = m0 / ohw, oh = m0 % ohw / OW, ow = m0 % OW;
  size_t kh_lo = 0, kh_hi = 0;
  const int8_t* base = x;  // window row kh_lo, image column 0
  bool new_oh = true;
  for (size_t r = 0; r < rows; ++r) {
    if (new_oh) {
      const int64_t ih0 = (int64_t)oh * c.stride_h - c.pad_top;
      kh_lo = 0;
      while (kh_lo < KH && ih0 + (int64_t)kh_lo * c.dilation_h < 0) ++kh_lo;
      kh_hi = kh_lo;
      while (kh_hi < KH && ih0 + (int64_t)kh_hi * c.dilation_h < H) ++kh_hi;
      const int64_t ih_lo = ih0 + (int64_t)kh_lo * c.dilation_h;
      base = kh_hi > kh_lo ? x + (n * (size_t)H + (size_t)ih_lo) * (size_t)W * C : x;  // x: no row is read
      new_oh = false;
    }
    // Runs of 8..32 bytes (the 3-channel stems: 3×3×3 and 7×7×3) with the whole window inside the image: every
    // output pixel but the last of this row's interior ones is copied here, each window row as two overlapping
    // 8- or 16-byte moves, without the per-pixel clipping and bookkeeping below (~110 instructions per im2col row
    // of MobileNetV2's stem before).
    if (kh_lo == 0 && kh_hi == KH && run >= 8 && run <= 32) {
      // last: the largest ow·stride_w whose window ends inside the image.
      const int64_t iw0 = (int64_t)ow * c.stride_w - c.pad_left, last = W - j.kw + c.pad_left;
      if (iw0 >= 0 && iw0 + j.kw <= W) {
        const size_t ow_end = (size_t)(last / c.stride_w) + 1 < OW ? (size_t)(last / c.stride_w) + 1 : OW;
        size_t cnt = ow_end - ow < rows - r ? ow_end - ow : rows - r;
        if (cnt > 1) {
          --cnt;  // the last one goes the usual way, which also advances (oh, n)
          const int8_t* src = base + (size_t)iw0 * C;
          const size_t src_step = (size_t)c.stride_w * C;
          int8_t* out = dst + r * kc;
          if (run <= 16) {
            for (size_t i = 0; i < cnt; ++i, src += src_step, out += kc) {
              const int8_t* s = src;
              for (size_t kh = 0; kh < KH; ++kh, s += row_step) {
                memcpy(out + kh * run, s, 8);
                memcpy(out + kh * run + run - 8, s + run - 8, 8);
              }
            }
          } else {
            for (size_t i = 0; i < cnt; ++i, src += src_step, out += kc) {
              const int8_t* s = src;
              for (size_t kh = 0; kh < KH; ++kh, s += row_step) {
                memcpy(out + kh * run, s, 16);
                memcpy(out + kh * run + run - 16, s + run - 16, 16);
              }
            }
          }
          r += cnt, ow += cnt;  // ow + cnt < ow_end <= OW: still this output row
        }
      }
    }
    int8_t* out = dst + r * kc;
    if (kh_lo != 0) fill_run(out, zp, kh_lo * run);  // window rows above the image hold zp_x (docs/artifact.md)
    const int64_t iw0 = (int64_t)ow * c.stride_w - c.pad_left;
    if (iw0 >= 0 && iw0 + j.kw <= W) {
      const int8_t* src = base + (size_t)iw0 * C;
      for (size_t kh = kh_lo; kh < kh_hi; ++kh, src += row_step) copy_run(out + kh * run, src, run);
    } else {
      const int64_t v0 = iw0 < 0 ? 0 : iw0, v1 = iw0 + j.kw > W ? W : iw0 + j.kw;
      const size_t left = v1 > v0 ? (size_t)(v0 - iw0) * C : run, valid = v1 > v0 ? (size_t)(v1 - v0) * C : 0;
      const int8_t* src = base + (size_t)v0 * C;
      for (size_t kh = kh_lo; kh < kh_hi; ++kh, src += row_step) {
        int8_t* o = out + kh * run;
        if (left != 0) fill_run(o, zp, left);
        if (valid != 0) copy_run(o + left, src, valid);
        if (left + valid != run) fill_run(o + left + valid, zp, run - left - valid);
      }
    }
    if (kh_hi != KH) fill_run(out + kh_hi * run, zp, (KH - kh_hi) * run);  // and below it
    if (++ow == OW) {
      ow = 0;
      new_oh = true;
      if (++oh == OH) {
        oh = 0;
        ++n;
      }
    }
  }
}

// Writes rows [m0, m0 + rows) of the im2col matrix of group g (or plain rows of x, padded to kc) to dst.
// The output position (n, oh, ow) advances by one per row (no division per row).
void fill_rows(const GemmJob& j, size_t m0, size_t rows, int8_t* dst) {
  const size_t kc = j.plan->kc;
  const int8_t* x = reinterpret_cast<const int8_t*>(j.x->data);
  if (j.conv == NULL) {
    for (size_t r = 0; r < rows; ++r) memcpy(dst + r * kc, x + (m0 + r) * j.K, j.K);
    return;
  }
  const Tensor& t = *j.x;
  const int64_t H = t.dims[1], W = t.dims[2];
  const size_t C = (size_t)t.dims[3], cg = j.K / ((size_t)j.kh * (size_t)j.kw);
  const ConvWindow& c = *j.conv;
  const size_t OW = (size_t)j.ow, ohw = j.M / (size_t)t.dims[0], OH = ohw / OW;
  const int8_t zp = (int8_t)t.zero_point;
  const bool contiguous = cg == C && c.dilation_w == 1;
  if (contiguous) {
    fill_rows_contiguous(j, m0, rows, dst);
    return;
  }
  // Groups or a horizontal dilation: one run of cg bytes per tap.
  const size_t run = (size_t)j.kw * cg;  // bytes of one window row in the im2col row
  size_t n = m0 / ohw, oh = m0 % ohw / OW, ow = m0 % OW;
  for (size_t r = 0; r < rows; ++r) {
    int8_t* out = dst + r * kc;
    const int64_t iw0 = (int64_t)ow * c.stride_w - c.pad_left, ih0 = (int64_t)oh * c.stride_h - c.pad_top;
    for (int32_t kh = 0; kh < j.kh; ++kh, out += run) {
      const int64_t ih = ih0 + (int64_t)kh * c.dilation_h;
      if (ih < 0 || ih >= H) {
        fill_run(out, zp, run);
        continue;
      }
      const int8_t* xrow = x + (n * (size_t)H + (size_t)ih) * (size_t)W * C;
      for (int32_t kw = 0; kw < j.kw; ++kw) {
        const int64_t iw = iw0 + (int64_t)kw * c.dilation_w;
        if (iw < 0 || iw >= W) {
          fill_run(out + (size_t)kw * cg, zp, cg);  // padding holds zp_x (docs/artifact.md CONV2D)
        } else {
          copy_run(out + (size_t)kw * cg, xrow + (size_t)iw * C + j.group * cg, cg);
        }
      }
    }
    if (++ow == OW) {
      ow = 0;
      if (++oh == OH) {
        oh = 0;
        ++n;
      }
    }
  }
}

// Task = a range of m tiles × a range of n blocks. Within it: im2col a chunk of rows, then sweep its n blocks.
// kAllRows (GemmKernel::nc_any = 2): one kernel call per chunk, the kernel walking its tiles of rows and the blocks.
template <bool kAllRows>
void gemm_task(void* ctx, size_t task, size_t thread) {
  const GemmJob& j = *static_cast<const GemmJob*>(ctx);
  const OpPlan& p = *j.plan;
  const GemmKernel& g = p.gemm;
  const size_t mr = g.mr, nr = g.nr;
  const size_t m_tiles = (j.M + mr - 1) / mr, n_blocks = (j.N + nr - 1) / nr;
  const size_t tm = task / j.n_tasks_n, tn = task % j.n_tasks_n;
  const size_t mt0 = tm * j.m_tiles_per_task,
               mt1 = mt0 + j.m_tiles_per_task < m_tiles ? mt0 + j.m_tiles_per_task : m_tiles;
  const size_t nb0 = tn * j.n_blocks_per_task;
  const size_t nb1 = nb0 + j.n_blocks_per_task < n_blocks ? nb0 + j.n_blocks_per_task : n_blocks;
  const uint8_t* packed = p.packed + j.group * p.group_bytes;
  int8_t* scratch = reinterpret_cast<int8_t*>(j.m->scratch + thread * j.m->scratch_per_thread);
  const size_t chunk_tiles = p.chunk_rows / mr;
  for (size_t c0 = mt0; c0 < mt1; c0 += chunk_tiles) {
    const size_t c1 = c0 + chunk_tiles < mt1 ? c0 + chunk_tiles : mt1;
    const size_t row0 = c0 * mr, rows = (c1 * mr < j.M ? c1 * mr : j.M) - row0;
    const int8_t* a;
    size_t a_stride;
    if (p.direct) {
      a = reinterpret_cast<const int8_t*>(j.x->data) + row0 * j.K;
      a_stride = j.K;
    } else {
      fill_rows(j, row0, rows, scratch);
      a = scratch;
      a_stride = p.kc;
    }
    if (kAllRows) {
      const size_t n0 = nb0 * nr, n1 = nb1 * nr < j.N ? nb1 * nr : j.N;
      g.fn(rows, n1 - n0, p.kc, a, a_stride, packed + nb0 * p.block_bytes, j.y + row0 * j.y_stride + j.group * j.N + n0,
           j.y_stride, &j.rq);
      continue;
    }
    for (size_t mt = 0; mt < rows; mt += mr) {
      const size_t mrows = rows - mt < mr ? rows - mt : mr;
      if (g.nc_any) {  // the kernel walks the task's blocks itself
        const size_t n0 = nb0 * nr, n1 = nb1 * nr < j.N ? nb1 * nr : j.N;
        g.fn(mrows, n1 - n0, p.kc, a + mt * a_stride, a_stride, packed + nb0 * p.block_bytes,
             j.y + (row0 + mt) * j.y_stride + j.group * j.N + n0, j.y_stride, &j.rq);
        continue;
      }
      for (size_t nb = nb0; nb < nb1; ++nb) {
        const size_t n0 = nb * nr, nc = j.N - n0 < nr ? j.N - n0 : nr;
        g.fn(mrows, nc, p.kc, a + mt * a_stride, a_stride, packed + nb * p.block_bytes,
             j.y + (row0 + mt) * j.y_stride + j.group * j.N + n0, j.y_stride, &j.rq);
      }
    }
  }
}

// Task = a range of output rows (n, oh) of a depthwise conv; the kernel does a whole row per call.
void dw_task(void* ctx, size_t task, size_t thread) {
  const DwJob& j = *static_cast<const DwJob*>(ctx);
  const Tensor &x = *j.x, &y = *j.y;
  const ConvWindow& c = *j.conv;
  const int64_t H = x.dims[1];
  const size_t row_bytes = (size_t)x.dims[2] * (size_t)x.dims[3], OH = (size_t)y.dims[1];
  const size_t out_row_bytes = (size_t)y.dims[2] * (size_t)y.dims[3];
  const int8_t** rows =
      reinterpret_cast<const int8_t**>(j.m->scratch + thread * j.m->scratch_per_thread + j.m->im2col_bytes);
  const int8_t* xd = reinterpret_cast<const int8_t*>(x.data);
  int8_t* yd = reinterpret_cast<int8_t*>(y.data);
  const size_t total = (size_t)y.dims[0] * OH;
  const size_t r0 = task * j.rows_per_task, r1 = r0 + j.rows_per_task < total ? r0 + j.rows_per_task : total;
  for (size_t r = r0; r < r1; ++r) {
    const size_t n = r / OH;
    const int64_t oh = (int64_t)(r % OH);
    for (size_t i = 0; i < j.dw.kh; ++i) {
      const int64_t ih = oh * c.stride_h - c.pad_top + (int64_t)i * c.dilation_h;
      rows[i] = ih < 0 || ih >= H ? NULL : xd + (n * (size_t)H + (size_t)ih) * row_bytes;  // NULL: padding row
    }
    j.plan->dw.fn(&j.dw, rows, j.plan->packed, yd + r * out_row_bytes);
  }
}

// The tap pointers of rows [row0, row0 + rows) of a SPARSE_CONV2D (ukernels_isa.h: ptrs[i·taps + t]). The output
// position advances by one per row (no division per row); a window wholly inside x (most rows) is kh runs of kw
// pointers a fixed step apart, with no bounds check per tap.
void conv_tap_pointers(const SpmmJob& j, size_t row0, size_t rows, const int8_t** ptrs) {
  const ConvWindow& q = *j.conv;
  const Tensor& t = *j.x;
  const int8_t* xd = reinterpret_cast<const int8_t*>(t.data);
  const int8_t* zero = j.plan->zero_row;  // padding holds zp_x (docs/artifact.md CONV2D)
  const int64_t H = t.dims[1], W = t.dims[2];
  const size_t C = j.C, OW = (size_t)j.ow, ohw = j.M / (size_t)t.dims[0], OH = ohw / OW;
  const int64_t span_h = (int64_t)(j.kh - 1) * q.dilation_h, span_w = (int64_t)(j.kw - 1) * q.dilation_w;
  const size_t step_h = (size_t)q.dilation_h * (size_t)W * C, step_w = (size_t)q.dilation_w * C;
  size_t n = row0 / ohw, oh = row0 % ohw / OW, ow = row0 % OW;
  for (size_t i = 0; i < rows; ++i, ptrs += j.taps) {
    const int64_t ih0 = (int64_t)oh * q.stride_h - q.pad_top, iw0 = (int64_t)ow * q.stride_w - q.pad_left;
    if (ih0 >= 0 && ih0 + span_h < H && iw0 >= 0 && iw0 + span_w < W) {
      const int8_t* row = xd + ((n * (size_t)H + (size_t)ih0) * (size_t)W + (size_t)iw0) * C;
      size_t tap = 0;
      for (int32_t kh = 0; kh < j.kh; ++kh, row += step_h) {
        const int8_t* p = row;
        for (int32_t kw = 0; kw < j.kw; ++kw, ++tap, p += step_w) ptrs[tap] = p;
      }
    } else {
      size_t tap = 0;
      for (int32_t kh = 0; kh < j.kh; ++kh) {
        const int64_t ih = ih0 + (int64_t)kh * q.dilation_h;
        for (int32_t kw = 0; kw < j.kw; ++kw, ++tap) {
          const int64_t iw = iw0 + (int64_t)kw * q.dilation_w;
          ptrs[tap] = (ih < 0 || ih >= H || iw < 0 || iw >= W)
                          ? zero
                          : xd + ((n * (size_t)H + (size_t)ih) * (size_t)W + (size_t)iw) * C;
        }
      }
    }
    if (++ow == OW) {
      ow = 0;
      if (++oh == OH) {
        oh = 0;
        ++n;
      }
    }
  }
}

// Task = a range of m tiles × a range of strips. Per tile: the tap pointers of its rows, then the strips.
void spmm_task(void* ctx, size_t task, size_t thread) {
  const SpmmJob& j = *static_cast<const SpmmJob*>(ctx);
  const OpPlan& p = *j.plan;
  const SpmmKernel& k = p.spmm;
  const size_t mr = k.mr, nr = k.nr, m_tiles = (j.M + mr - 1) / mr;
  const size_t tm = task / j.n_tasks_n, tn = task % j.n_tasks_n;
  const size_t mt0 = tm * j.m_tiles_per_task;
  const size_t mt1 = mt0 + j.m_tiles_per_task < m_tiles ? mt0 + j.m_tiles_per_task : m_tiles;
  const size_t s0 = tn * j.strips_per_task, s1 = s0 + j.strips_per_task < p.strips ? s0 + j.strips_per_task : p.strips;
  const int8_t** ptrs =
      reinterpret_cast<const int8_t**>(j.m->scratch + thread * j.m->scratch_per_thread + j.m->im2col_bytes);
  const int8_t* xd = reinterpret_cast<const int8_t*>(j.x->data);
  const uint64_t* offsets = reinterpret_cast<const uint64_t*>(p.packed);
  const eb_qs8_spmm_ukernel_fn fn = k.fn;
  // A strip with no stored slice (count 0: frequent at high sparsity, e.g. a 1×1 layer with few input channels)
  // gives every row the same bytes, its requantized bias (Σw = 0, so bias' = bias): computed once here with the
  // reference's scalar helpers, docs/quantization.md (5) and (6), and stored per row instead of a kernel call.
  const size_t r0 = mt0 * mr, r1 = mt1 * mr < j.M ? mt1 * mr : j.M;
  bool any_stored = false;
  for (size_t s = s0; s < s1; ++s) {
    const int32_t* h = reinterpret_cast<const int32_t*>(p.packed + offsets[s]);
    any_stored |= h[4 * nr] != 0;
    if (h[4 * nr] != 0) continue;
    const size_t n0 = s * nr, nc = j.N - n0 < nr ? j.N - n0 : nr;
    int8_t row[64];
    for (size_t c = 0; c < nc; ++c) {
      int32_t q = eb_mbqm(h[c], h[nr + c], h[2 * nr + c] - h[3 * nr + c]);
      q = q < j.rq.lo ? j.rq.lo : (q > j.rq.hi ? j.rq.hi : q);
      row[c] = (int8_t)(q + j.rq.output_zero_point);
    }
    int8_t* y = j.y + r0 * j.N + n0;
    if (nc == 16) {
      for (size_t r = r0; r < r1; ++r, y += j.N) memcpy(y, row, 16);
    } else if (nc == 8) {
      for (size_t r = r0; r < r1; ++r, y += j.N) memcpy(y, row, 8);
    } else {
      for (size_t r = r0; r < r1; ++r, y += j.N) memcpy(y, row, nc);
    }
  }
  // Flat (OpPlan::flat_wp): a row's pointer is its first tap in the (padded) input, the strip's offsets do the rest.
  const int8_t* const xf = p.flat_copy ? reinterpret_cast<const int8_t*>(j.m->scratch) : xd;
  const size_t taps = p.flat_wp != 0 ? 1 : j.taps;
  for (size_t mt = mt0; mt < mt1 && any_stored; ++mt) {
    const size_t row0 = mt * mr, rows = j.M - row0 < mr ? j.M - row0 : mr;
    if (p.flat_wp != 0) {
      const size_t OW = (size_t)j.ow, ohw = j.M / (size_t)j.x->dims[0], hp = (size_t)p.flat_hp, wp = (size_t)p.flat_wp;
      size_t n = row0 / ohw, oh = row0 % ohw / OW, ow = row0 % OW;
      for (size_t i = 0; i < rows; ++i) {
        ptrs[i] = xf + ((n * hp + oh * (size_t)j.conv->stride_h) * wp + ow * (size_t)j.conv->stride_w) * j.C;
        if (++ow == OW) {
          ow = 0;
          if (++oh == ohw / OW) oh = 0, ++n;
        }
      }
    } else if (j.conv == NULL) {
      for (size_t i = 0; i < rows; ++i) ptrs[i] = xd + (row0 + i) * j.C;
    } else {
      conv_tap_pointers(j, row0, rows, ptrs);
    }
    int8_t* y = j.y + row0 * j.N;
    for (size_t s = s0; s < s1; ++s) {
      const uint8_t* strip = p.packed + offsets[s];
      if (reinterpret_cast<const int32_t*>(strip)[4 * nr] == 0) continue;  // written above
      const size_t n0 = s * nr, nc = j.N - n0 < nr ? j.N - n0 : nr;
      fn(rows, nc, ptrs, taps, strip, y + n0, j.N, &j.rq);
    }
  }
}

}  // namespace

void run_gemm(GemmJob& j) {
  const GemmKernel& g = j.plan->gemm;
  const size_t m_tiles = (j.M + g.mr - 1) / g.mr, n_blocks = (j.N + g.nr - 1) / g.nr;
  const size_t threads = (size_t)j.m->num_threads;
  // Split rows first (each thread packs its own rows); when there are few rows, split columns too.
  size_t tasks_m = m_tiles < threads * 4 ? m_tiles : threads * 4;
  size_t tasks_n = 1;
  if (threads > 1 && m_tiles < threads * 2) tasks_n = n_blocks < threads * 2 ? n_blocks : threads * 2;
  if (threads <= 1) tasks_m = 1;
  if (tasks_m == 0) tasks_m = 1;
  j.m_tiles_per_task = (m_tiles + tasks_m - 1) / tasks_m;
  tasks_m = (m_tiles + j.m_tiles_per_task - 1) / j.m_tiles_per_task;
  j.n_blocks_per_task = (n_blocks + tasks_n - 1) / tasks_n;
  j.n_tasks_n = (n_blocks + j.n_blocks_per_task - 1) / j.n_blocks_per_task;
  parallel_for(j.m, tasks_m * j.n_tasks_n, g.nc_any > 1 ? gemm_task<true> : gemm_task<false>, &j);
}

void run_dwconv(DwJob& j) {
  const size_t total = (size_t)j.y->dims[0] * (size_t)j.y->dims[1], threads = (size_t)j.m->num_threads;
  j.rows_per_task = threads <= 1 ? total : (total + threads * 4 - 1) / (threads * 4);
  parallel_for(j.m, (total + j.rows_per_task - 1) / j.rows_per_task, dw_task, &j);
}

void run_spmm(SpmmJob& j) {
  const OpPlan& plan = *j.plan;
  if (plan.flat_copy) {
    // The input with its padding (zp_x, docs/artifact.md CONV2D) into the front of thread 0's scratch (packing.cc
    // plan_spmm sized it), read by every task.
    const Tensor& x = *j.x;
    const ConvWindow& q = *j.conv;
    const size_t H = (size_t)x.dims[1], W = (size_t)x.dims[2], C = j.C, hp = (size_t)plan.flat_hp;
    const size_t wp = (size_t)plan.flat_wp, row = W * C, prow = wp * C, left = (size_t)q.pad_left * C;
    const size_t top = (size_t)q.pad_top, right = prow - left - row;
    const int8_t* src = reinterpret_cast<const int8_t*>(x.data);
    int8_t* dst = reinterpret_cast<int8_t*>(j.m->scratch);
    const int zp = (int8_t)x.zero_point;
    for (size_t n = 0; n < (size_t)x.dims[0]; ++n) {
      memset(dst, zp, top * prow + left);
      dst += top * prow + left;
      for (size_t h = 0; h < H; ++h, src += row, dst += prow) {
        memcpy(dst, src, row);
        memset(dst + row, zp, h + 1 < H ? right + left : right);
      }
      const size_t bottom = (hp - top - H) * prow;
      memset(dst - left, zp, bottom);  // dst - left: the row after the last one, from its start
      dst = dst - left + bottom;
    }
  }
  const size_t m_tiles = (j.M + plan.spmm.mr - 1) / plan.spmm.mr, threads = (size_t)j.m->num_threads;
  size_t tasks_m = threads <= 1 ? 1 : (m_tiles < threads * 4 ? m_tiles : threads * 4);
  size_t tasks_n = 1;
  if (threads > 1 && m_tiles < threads * 2) tasks_n = plan.strips < threads * 2 ? plan.strips : threads * 2;
  j.m_tiles_per_task = (m_tiles + tasks_m - 1) / tasks_m;
  tasks_m = (m_tiles + j.m_tiles_per_task - 1) / j.m_tiles_per_task;
  j.strips_per_task = (plan.strips + tasks_n - 1) / tasks_n;
  j.n_tasks_n = (plan.strips + j.strips_per_task - 1) / j.strips_per_task;
  parallel_for(j.m, tasks_m * j.n_tasks_n, spmm_task, &j);
}

}  // namespace eb
