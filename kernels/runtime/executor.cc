// executor.cc: runs a loaded model's ops in order on its arena, calling the reference micro-kernels.
//
// Everything here was validated by the loader (shapes, parameters, requantization constants), so the executor only
// translates an op record into a kernel call; it never allocates and never fails.
#include <string.h>
#include <time.h>

#include "dispatch.h"
#include "edgebuild/ukernels.h"
#include "internal.h"
#include "threadpool.h"

namespace eb {

namespace {

uint64_t now_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

template <typename T>
T* data_of(eb_model* m, int32_t id) {
  return reinterpret_cast<T*>(m->tensors[id].data);
}

const int32_t* const_i32_or_null(eb_model* m, int32_t id) { return id < 0 ? NULL : data_of<const int32_t>(m, id); }

void run_quantize(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  float inv_scale;
  memcpy(&inv_scale, &op.params[1], sizeof inv_scale);  // the IEEE bits of float32(1 / scale)
  const float* xd = reinterpret_cast<const float*>(x.data);
  int8_t* yd = reinterpret_cast<int8_t*>(y.data);
  if (op.params[0]) {
    elem_kernels(m->isa).quantize_to_nhwc((size_t)x.dims[0], (size_t)x.dims[1], (size_t)x.dims[2],
                                          (size_t)x.dims[3], xd, yd, inv_scale, y.zero_point);
  } else {
    elem_kernels(m->isa).quantize(x.num_elements, xd, yd, inv_scale, y.zero_point);
  }
}

void run_dequantize(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  if (op.params[0]) {
    eb_qs8_dequantize_to_nchw_ref((size_t)x.dims[0], (size_t)x.dims[1], (size_t)x.dims[2], (size_t)x.dims[3],
                                  reinterpret_cast<const int8_t*>(x.data), reinterpret_cast<float*>(y.data),
                                  x.scale, x.zero_point);
  } else {
    eb_qs8_dequantize_ref(x.num_elements, reinterpret_cast<const int8_t*>(x.data), reinterpret_cast<float*>(y.data),
                          x.scale, x.zero_point);
  }
}

// ---- optimized CONV2D / FULLY_CONNECTED (plans from packing.cc) ----

// One GEMM of the optimized path: rows M of K taps (an im2col row of group g, or a row of x), N columns.
struct GemmJob {
  eb_model* m;
  const OpPlan* plan;
  const Tensor* x;
  int8_t* y;
  const int32_t* params;  // CONV2D params, or NULL for FULLY_CONNECTED
  size_t M, N, K, group, y_stride;
  int32_t kh, kw, ow;  // CONV2D window and output width
  eb_qs8_requant_params rq;
  size_t m_tiles_per_task, n_blocks_per_task, n_tasks_n;
};

// dst[0, n) = src[0, n) for the short runs im2col copies (a window row of a 3-channel 7×7 stem is 21 bytes):
// fixed-size memcpy calls, which compile to plain loads and stores, overlapping at the tail, not a libc call per run.
inline void copy_run(int8_t* dst, const int8_t* src, size_t n) {
  if (n >= 64) {
    memcpy(dst, src, n);
  } else if (n >= 16) {
    for (size_t i = 0; i + 16 < n; i += 16) memcpy(dst + i, src + i, 16);
    memcpy(dst + n - 16, src + n - 16, 16);
  } else if (n >= 8) {
    memcpy(dst, src, 8);
    memcpy(dst + n - 8, src + n - 8, 8);
  } else {
    for (size_t i = 0; i < n; ++i) dst[i] = src[i];
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

// Writes rows [m0, m0 + rows) of the im2col matrix of group g (or plain rows of x, padded to kc) to dst.
// The output position (n, oh, ow) advances by one per row (no division per row), and with one group and no dilation
// a window row is one contiguous run of x whose clipped extent depends on ow only: it is computed once per row.
void fill_rows(const GemmJob& j, size_t m0, size_t rows, int8_t* dst) {
  const size_t kc = j.plan->kc;
  const int8_t* x = reinterpret_cast<const int8_t*>(j.x->data);
  if (j.params == NULL) {
    for (size_t r = 0; r < rows; ++r) memcpy(dst + r * kc, x + (m0 + r) * j.K, j.K);
    return;
  }
  const Tensor& t = *j.x;
  const int64_t H = t.dims[1], W = t.dims[2];
  const size_t C = (size_t)t.dims[3], cg = j.K / ((size_t)j.kh * (size_t)j.kw);
  const int32_t* p = j.params;
  const size_t OW = (size_t)j.ow, ohw = j.M / (size_t)t.dims[0], OH = ohw / OW;
  const int8_t zp = (int8_t)t.zero_point;
  const bool contiguous = cg == C && p[7] == 1;
  const size_t run = (size_t)j.kw * cg;  // bytes of one window row in the im2col row
  size_t n = m0 / ohw, oh = m0 % ohw / OW, ow = m0 % OW;
  for (size_t r = 0; r < rows; ++r) {
    int8_t* out = dst + r * kc;
    const int64_t iw0 = (int64_t)ow * p[1] - p[3], ih0 = (int64_t)oh * p[0] - p[2];
    const int64_t v0 = iw0 < 0 ? 0 : iw0, v1 = iw0 + j.kw > W ? W : iw0 + j.kw;
    const size_t left = v1 > v0 ? (size_t)(v0 - iw0) * C : run, valid = v1 > v0 ? (size_t)(v1 - v0) * C : 0;
    if (contiguous && valid == run && ih0 >= 0 && ih0 + (int64_t)(j.kh - 1) * p[6] < H) {
      // The whole window is inside x: kh runs of kw·C bytes, p[6] image rows apart.
      const size_t row_step = (size_t)p[6] * (size_t)W * C;
      const int8_t* src = x + ((n * (size_t)H + (size_t)ih0) * (size_t)W + (size_t)v0) * C;
      for (int32_t kh = 0; kh < j.kh; ++kh, out += run, src += row_step) copy_run(out, src, run);
    } else {
      for (int32_t kh = 0; kh < j.kh; ++kh, out += run) {
        const int64_t ih = ih0 + (int64_t)kh * p[6];
        if (ih < 0 || ih >= H) {
          fill_run(out, zp, run);
          continue;
        }
        const int8_t* xrow = x + (n * (size_t)H + (size_t)ih) * (size_t)W * C;
        if (contiguous) {  // the taps of this window row are adjacent pixels, i.e. contiguous bytes of x
          if (left != 0) fill_run(out, zp, left);
          if (valid != 0) copy_run(out + left, xrow + (size_t)v0 * C, valid);
          if (left + valid != run) fill_run(out + left + valid, zp, run - left - valid);
          continue;
        }
        for (int32_t kw = 0; kw < j.kw; ++kw) {
          const int64_t iw = iw0 + (int64_t)kw * p[7];
          if (iw < 0 || iw >= W) {
            fill_run(out + (size_t)kw * cg, zp, cg);  // padding holds zp_x (docs/artifact.md CONV2D)
          } else {
            copy_run(out + (size_t)kw * cg, xrow + (size_t)iw * C + j.group * cg, cg);
          }
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
void gemm_task(void* ctx, size_t task, size_t thread) {
  const GemmJob& j = *static_cast<const GemmJob*>(ctx);
  const OpPlan& p = *j.plan;
  const GemmKernel& g = p.gemm;
  const size_t mr = g.mr, nr = g.nr;
  const size_t m_tiles = (j.M + mr - 1) / mr, n_blocks = (j.N + nr - 1) / nr;
  const size_t tm = task / j.n_tasks_n, tn = task % j.n_tasks_n;
  const size_t mt0 = tm * j.m_tiles_per_task, mt1 = mt0 + j.m_tiles_per_task < m_tiles ? mt0 + j.m_tiles_per_task
                                                                                        : m_tiles;
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
    for (size_t mt = 0; mt < rows; mt += mr) {
      const size_t mrows = rows - mt < mr ? rows - mt : mr;
      for (size_t nb = nb0; nb < nb1; ++nb) {
        const size_t n0 = nb * nr, nc = j.N - n0 < nr ? j.N - n0 : nr;
        g.fn(mrows, nc, p.kc, a + mt * a_stride, a_stride, packed + nb * p.block_bytes,
             j.y + (row0 + mt) * j.y_stride + j.group * j.N + n0, j.y_stride, &j.rq);
      }
    }
  }
}

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
  parallel_for(j.m, tasks_m * j.n_tasks_n, gemm_task, &j);
}

eb_qs8_requant_params requant_of(const Tensor& y, int32_t act_min, int32_t act_max) {
  eb_qs8_requant_params rq;
  rq.output_zero_point = y.zero_point;
  rq.lo = act_min - y.zero_point;  // docs/quantization.md (6): clamp(q + zp) = clamp(q, lo − zp, hi − zp) + zp
  rq.hi = act_max - y.zero_point;
  return rq;
}

struct DwJob {
  eb_model* m;
  const OpPlan* plan;
  const Tensor *x, *y;
  const int32_t* params;
  eb_qs8_dwconv_params dw;  // the row geometry and requantization every row call shares
  size_t rows_per_task;
};

// Task = a range of output rows (n, oh) of a depthwise conv; the kernel does a whole row per call.
void dw_task(void* ctx, size_t task, size_t thread) {
  const DwJob& j = *static_cast<const DwJob*>(ctx);
  const Tensor &x = *j.x, &y = *j.y;
  const int32_t* p = j.params;
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
      const int64_t ih = oh * p[0] - p[2] + (int64_t)i * p[6];
      rows[i] = ih < 0 || ih >= H ? NULL : xd + (n * (size_t)H + (size_t)ih) * row_bytes;  // NULL: padding row
    }
    j.plan->dw.fn(&j.dw, rows, j.plan->packed, yd + r * out_row_bytes);
  }
}

void run_conv2d_fast(eb_model* m, const Op& op, const OpPlan& plan) {
  const Tensor &x = m->tensors[op.inputs[0]], &w = m->tensors[op.inputs[1]], &y = m->tensors[op.outputs[0]];
  const int32_t* p = op.params;
  if (plan.kind == kPlanDwconv) {
    DwJob j;
    j.m = m;
    j.plan = &plan;
    j.x = &x;
    j.y = &y;
    j.params = p;
    j.dw.channels = (size_t)x.dims[3];
    j.dw.in_width = (size_t)x.dims[2];
    j.dw.out_width = (size_t)y.dims[2];
    j.dw.kh = (size_t)w.dims[1];
    j.dw.kw = (size_t)w.dims[2];
    j.dw.stride = (size_t)p[1];
    j.dw.dilation = (size_t)p[7];
    j.dw.pad_left = (size_t)p[3];
    j.dw.zero = plan.zero_row;
    j.dw.rq = requant_of(y, p[9], p[10]);
    const size_t total = (size_t)y.dims[0] * (size_t)y.dims[1], threads = (size_t)m->num_threads;
    j.rows_per_task = threads <= 1 ? total : (total + threads * 4 - 1) / (threads * 4);
    parallel_for(m, (total + j.rows_per_task - 1) / j.rows_per_task, dw_task, &j);
    return;
  }
  const size_t groups = (size_t)p[8];
  GemmJob j;
  j.m = m;
  j.plan = &plan;
  j.x = &x;
  j.y = reinterpret_cast<int8_t*>(y.data);
  j.params = p;
  j.kh = w.dims[1];
  j.kw = w.dims[2];
  j.ow = y.dims[2];
  j.M = (size_t)y.dims[0] * (size_t)y.dims[1] * (size_t)y.dims[2];
  j.N = (size_t)y.dims[3] / groups;
  j.K = (size_t)w.dims[1] * (size_t)w.dims[2] * (size_t)w.dims[3];
  j.y_stride = (size_t)y.dims[3];
  j.rq = requant_of(y, p[9], p[10]);
  for (size_t g = 0; g < groups; ++g) {
    j.group = g;
    run_gemm(j);
  }
}

void run_fully_connected_fast(eb_model* m, const Op& op, const OpPlan& plan) {
  const Tensor &x = m->tensors[op.inputs[0]], &w = m->tensors[op.inputs[1]], &y = m->tensors[op.outputs[0]];
  GemmJob j;
  j.m = m;
  j.plan = &plan;
  j.x = &x;
  j.y = reinterpret_cast<int8_t*>(y.data);
  j.params = NULL;
  j.kh = j.kw = 1;
  j.ow = 1;
  j.K = (size_t)w.dims[1];
  j.N = (size_t)w.dims[0];
  j.M = x.num_elements / j.K;
  j.group = 0;
  j.y_stride = j.N;
  j.rq = requant_of(y, op.params[0], op.params[1]);
  run_gemm(j);
}

// ---- SPARSE_CONV2D / SPARSE_FULLY_CONNECTED ----

// Sparse GEMM of the optimized path: rows M (output pixels, or rows of x), N output channels, taps pointers per row.
struct SpmmJob {
  eb_model* m;
  const OpPlan* plan;
  const Tensor* x;
  int8_t* y;
  const int32_t* params;  // SPARSE_CONV2D params, or NULL for SPARSE_FULLY_CONNECTED
  size_t M, N, C, taps;
  int32_t kh, kw, ow;
  eb_qs8_requant_params rq;
  size_t m_tiles_per_task, strips_per_task, n_tasks_n;
};

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
  for (size_t mt = mt0; mt < mt1; ++mt) {
    const size_t row0 = mt * mr, rows = j.M - row0 < mr ? j.M - row0 : mr;
    for (size_t i = 0; i < rows; ++i) {
      const size_t row = row0 + i;
      if (j.params == NULL) {
        ptrs[i] = xd + row * j.C;
        continue;
      }
      const int32_t* q = j.params;
      const Tensor& t = *j.x;
      const int64_t H = t.dims[1], W = t.dims[2];
      const size_t OW = (size_t)j.ow, ohw = j.M / (size_t)t.dims[0];
      const size_t n = row / ohw, rem = row % ohw;
      const int64_t oh = (int64_t)(rem / OW), ow = (int64_t)(rem % OW);
      size_t tap = 0;
      for (int32_t kh = 0; kh < j.kh; ++kh) {
        const int64_t ih = oh * q[0] - q[2] + (int64_t)kh * q[6];
        for (int32_t kw = 0; kw < j.kw; ++kw, ++tap) {
          const int64_t iw = ow * q[1] - q[3] + (int64_t)kw * q[7];
          ptrs[i * j.taps + tap] = (ih < 0 || ih >= H || iw < 0 || iw >= W)
                                       ? p.zero_row  // padding holds zp_x (docs/artifact.md CONV2D)
                                       : xd + ((n * (size_t)H + (size_t)ih) * (size_t)W + (size_t)iw) * j.C;
        }
      }
    }
    for (size_t s = s0; s < s1; ++s) {
      const size_t n0 = s * nr, nc = j.N - n0 < nr ? j.N - n0 : nr;
      k.fn(rows, nc, ptrs, j.taps, p.packed + offsets[s], j.y + row0 * j.N + n0, j.N, &j.rq);
    }
  }
}

void run_sparse_fast(eb_model* m, const Op& op, const OpPlan& plan) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  const bool conv = op.opcode == kOpSparseConv2d;
  SpmmJob j;
  j.m = m;
  j.plan = &plan;
  j.x = &x;
  j.y = reinterpret_cast<int8_t*>(y.data);
  j.params = conv ? op.params : NULL;
  j.kh = conv ? op.params[11] : 1;
  j.kw = conv ? op.params[12] : 1;
  j.ow = conv ? y.dims[2] : 1;
  j.taps = (size_t)j.kh * (size_t)j.kw;
  j.C = (size_t)x.dims[x.rank - 1];
  j.N = (size_t)y.dims[y.rank - 1];
  j.M = y.num_elements / j.N;
  j.rq = conv ? requant_of(y, op.params[9], op.params[10]) : requant_of(y, op.params[0], op.params[1]);
  const size_t m_tiles = (j.M + plan.spmm.mr - 1) / plan.spmm.mr, threads = (size_t)m->num_threads;
  size_t tasks_m = threads <= 1 ? 1 : (m_tiles < threads * 4 ? m_tiles : threads * 4);
  size_t tasks_n = 1;
  if (threads > 1 && m_tiles < threads * 2) tasks_n = plan.strips < threads * 2 ? plan.strips : threads * 2;
  j.m_tiles_per_task = (m_tiles + tasks_m - 1) / tasks_m;
  tasks_m = (m_tiles + j.m_tiles_per_task - 1) / j.m_tiles_per_task;
  j.strips_per_task = (plan.strips + tasks_n - 1) / tasks_n;
  j.n_tasks_n = (plan.strips + j.strips_per_task - 1) / j.strips_per_task;
  parallel_for(m, tasks_m * j.n_tasks_n, spmm_task, &j);
}

// Reference path: eb_qs8_spmm_ref, a SPARSE_FULLY_CONNECTED as a 1×1 conv over rows.
void run_sparse(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  const int32_t* p = op.params;
  eb_qs8_spmm_params k;
  memset(&k, 0, sizeof k);
  eb_qs8_conv_params& c = k.conv;
  c.groups = 1;
  c.stride_height = c.stride_width = c.dilation_height = c.dilation_width = 1;
  c.input_zero_point = x.zero_point;
  c.output_zero_point = y.zero_point;
  if (op.opcode == kOpSparseConv2d) {
    c.batch = x.dims[0];
    c.input_height = x.dims[1];
    c.input_width = x.dims[2];
    c.input_channels = x.dims[3];
    c.output_height = y.dims[1];
    c.output_width = y.dims[2];
    c.output_channels = y.dims[3];
    c.kernel_height = p[11];
    c.kernel_width = p[12];
    c.stride_height = p[0];
    c.stride_width = p[1];
    c.pad_top = p[2];
    c.pad_left = p[3];
    c.dilation_height = p[6];
    c.dilation_width = p[7];
    c.output_min = p[9];
    c.output_max = p[10];
    k.block_rows = p[13];
    k.block_cols = p[14];
  } else {
    c.input_channels = x.dims[x.rank - 1];
    c.output_channels = y.dims[y.rank - 1];
    c.batch = (int32_t)(x.num_elements / (size_t)c.input_channels);
    c.input_height = c.input_width = c.output_height = c.output_width = 1;
    c.kernel_height = c.kernel_width = 1;
    c.output_min = p[0];
    c.output_max = p[1];
    k.block_rows = p[2];
    k.block_cols = p[3];
  }
  eb_qs8_spmm_ref(&k, reinterpret_cast<const int8_t*>(x.data), data_of<const int8_t>(m, op.inputs[1]),
                  data_of<const int32_t>(m, op.inputs[5]), data_of<const int32_t>(m, op.inputs[6]),
                  const_i32_or_null(m, op.inputs[2]), data_of<const int32_t>(m, op.inputs[3]),
                  data_of<const int32_t>(m, op.inputs[4]), reinterpret_cast<int8_t*>(y.data));
}

// The geometry shared by the int8 and float CONV2D parameter blocks: NHWC shapes of x, w, y and the op's params
// (docs/artifact.md: stride h/w, pad top/left/bottom/right, dilation h/w, groups).
template <typename Params>
void set_conv_geometry(Params* k, const Tensor& x, const Tensor& w, const Tensor& y, const int32_t* p) {
  k->batch = x.dims[0];
  k->input_height = x.dims[1];
  k->input_width = x.dims[2];
  k->input_channels = x.dims[3];
  k->output_height = y.dims[1];
  k->output_width = y.dims[2];
  k->output_channels = y.dims[3];
  k->kernel_height = w.dims[1];
  k->kernel_width = w.dims[2];
  k->groups = p[8];
  k->stride_height = p[0];
  k->stride_width = p[1];
  k->pad_top = p[2];
  k->pad_left = p[3];
  k->dilation_height = p[6];
  k->dilation_width = p[7];
}

void run_conv2d(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &w = m->tensors[op.inputs[1]], &y = m->tensors[op.outputs[0]];
  const int32_t* p = op.params;
  eb_qs8_conv_params k;
  set_conv_geometry(&k, x, w, y, p);
  k.input_zero_point = x.zero_point;
  k.output_zero_point = y.zero_point;
  k.output_min = p[9];
  k.output_max = p[10];
  eb_qs8_conv_ref(&k, reinterpret_cast<const int8_t*>(x.data), reinterpret_cast<const int8_t*>(w.data),
                  const_i32_or_null(m, op.inputs[2]), data_of<const int32_t>(m, op.inputs[3]),
                  data_of<const int32_t>(m, op.inputs[4]), reinterpret_cast<int8_t*>(y.data));
}

void run_fully_connected(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &w = m->tensors[op.inputs[1]], &y = m->tensors[op.outputs[0]];
  eb_qs8_gemm_params k;
  k.k = (size_t)w.dims[1];
  k.n = (size_t)w.dims[0];
  k.m = x.num_elements / k.k;  // rows: every dim of x but the last
  k.input_zero_point = x.zero_point;
  k.output_zero_point = y.zero_point;
  k.output_min = op.params[0];
  k.output_max = op.params[1];
  eb_qs8_gemm_ref(&k, reinterpret_cast<const int8_t*>(x.data), reinterpret_cast<const int8_t*>(w.data),
                  const_i32_or_null(m, op.inputs[2]), data_of<const int32_t>(m, op.inputs[3]),
                  data_of<const int32_t>(m, op.inputs[4]), reinterpret_cast<int8_t*>(y.data));
}

struct AddJob {
  const eb_qs8_add_params* k;
  void (*fn)(const eb_qs8_add_params*, size_t, const int8_t*, const int8_t*, int8_t*);
  const int8_t *a, *b;
  int8_t* y;
  size_t count, chunk;
};

void add_task(void* ctx, size_t task, size_t) {
  const AddJob& j = *static_cast<const AddJob*>(ctx);
  const size_t i0 = task * j.chunk, n = j.count - i0 < j.chunk ? j.count - i0 : j.chunk;
  j.fn(j.k, n, j.a + i0, j.b + i0, j.y + i0);
}

void run_add(eb_model* m, const Op& op) {
  const Tensor &a = m->tensors[op.inputs[0]], &b = m->tensors[op.inputs[1]], &y = m->tensors[op.outputs[0]];
  const int32_t* p = op.params;
  eb_qs8_add_params k;
  k.a_zero_point = a.zero_point;
  k.b_zero_point = b.zero_point;
  k.output_zero_point = y.zero_point;
  k.left_shift = p[0];
  k.a_multiplier = p[1];
  k.a_shift = p[2];
  k.b_multiplier = p[3];
  k.b_shift = p[4];
  k.output_multiplier = p[5];
  k.output_shift = p[6];
  k.output_min = p[7];
  k.output_max = p[8];
  AddJob j = {&k, elem_kernels(m->isa).add, reinterpret_cast<const int8_t*>(a.data),
              reinterpret_cast<const int8_t*>(b.data), reinterpret_cast<int8_t*>(y.data), y.num_elements, 0};
  // Elementwise: any split gives the same bytes. Chunks of >= 16 KiB, a multiple of 64 elements.
  const size_t threads = (size_t)m->num_threads;
  j.chunk = threads <= 1 ? j.count : ((j.count + threads * 2 - 1) / (threads * 2) + 63) / 64 * 64;
  if (j.chunk < 16384) j.chunk = 16384;
  if (j.count <= j.chunk) return j.fn(&k, j.count, j.a, j.b, j.y);
  parallel_for(m, (j.count + j.chunk - 1) / j.chunk, add_task, &j);
}

// ADD, SUB, MUL (docs/artifact.md): same-shape int8 ADD keeps its flat kernel; everything else broadcasts.
void run_binary(eb_model* m, const Op& op) {
  const Tensor &a = m->tensors[op.inputs[0]], &b = m->tensors[op.inputs[1]], &y = m->tensors[op.outputs[0]];
  const int32_t* p = op.params;
  const int32_t kind = op.opcode == kOpMul ? EB_BINARY_MUL : (op.opcode == kOpSub ? EB_BINARY_SUB : EB_BINARY_ADD);
  if (a.dtype == EB_DTYPE_FLOAT32) {
    float lo, hi;  // float form: params are the bits of two bounds
    memcpy(&lo, &p[0], sizeof lo);
    memcpy(&hi, &p[1], sizeof hi);
    eb_f32_binary_ref(kind, y.rank, a.dims, b.dims, y.dims, reinterpret_cast<const float*>(a.data),
                      reinterpret_cast<const float*>(b.data), lo, hi, reinterpret_cast<float*>(y.data));
    return;
  }
  const bool same = a.num_elements == y.num_elements && b.num_elements == y.num_elements;
  if (kind == EB_BINARY_ADD && same) {
    run_add(m, op);  // the flat (SIMD, threaded) int8 ADD
    return;
  }
  eb_qs8_binary_params k;
  memset(&k, 0, sizeof k);
  k.op = kind;
  k.a_zero_point = a.zero_point;
  k.b_zero_point = b.zero_point;
  k.output_zero_point = y.zero_point;
  if (kind == EB_BINARY_MUL) {
    k.output_multiplier = p[0];
    k.output_shift = p[1];
    k.output_min = p[2];
    k.output_max = p[3];
  } else {
    k.left_shift = p[0];
    k.a_multiplier = p[1];
    k.a_shift = p[2];
    k.b_multiplier = p[3];
    k.b_shift = p[4];
    k.output_multiplier = p[5];
    k.output_shift = p[6];
    k.output_min = p[7];
    k.output_max = p[8];
  }
  eb_qs8_binary_ref(&k, y.rank, a.dims, b.dims, y.dims, reinterpret_cast<const int8_t*>(a.data),
                    reinterpret_cast<const int8_t*>(b.data), reinterpret_cast<int8_t*>(y.data));
}

void run_unary(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  const size_t channels = x.rank == 0 ? 1 : (size_t)x.dims[x.rank - 1];
  const Tensor* t = op.inputs[1] < 0 ? NULL : &m->tensors[op.inputs[1]];
  if (x.dtype == EB_DTYPE_INT8) {
    eb_qs8_lut_ref(x.num_elements, channels, (size_t)t->dims[0], reinterpret_cast<const int8_t*>(t->data),
                   reinterpret_cast<const int8_t*>(x.data), reinterpret_cast<int8_t*>(y.data));
    return;
  }
  float alpha;
  memcpy(&alpha, &op.params[1], sizeof alpha);
  eb_f32_unary_ref(op.params[0], x.num_elements, channels, t != NULL ? (size_t)t->dims[0] : 1,
                   t != NULL ? reinterpret_cast<const float*>(t->data) : NULL, alpha,
                   reinterpret_cast<const float*>(x.data), reinterpret_cast<float*>(y.data));
}

void run_pad(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  const int32_t value = op.params[2 * x.rank];
  const int8_t code = (int8_t)value;  // int8: a code in -128..127 (checked); float32: the IEEE bits
  eb_xx_pad_ref(dtype_size(x.dtype), x.rank, x.dims, op.params, y.dims,
                x.dtype == EB_DTYPE_INT8 ? static_cast<const void*>(&code) : static_cast<const void*>(&value), x.data,
                y.data);
}

void run_slice(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  eb_xx_slice_ref(dtype_size(x.dtype), x.rank, x.dims, op.params, op.params + x.rank, y.dims, x.data, y.data);
}

void run_resize(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  const Tensor &ht = m->tensors[op.inputs[1]], &wt = m->tensors[op.inputs[2]];
  const size_t n = (size_t)x.dims[0], ih = (size_t)x.dims[1], iw = (size_t)x.dims[2], c = (size_t)x.dims[3];
  const size_t oh = (size_t)y.dims[1], ow = (size_t)y.dims[2];
  if (x.dtype == EB_DTYPE_INT8) {
    eb_qs8_resize_ref(n, ih, iw, c, oh, ow, reinterpret_cast<const int32_t*>(ht.data),
                      reinterpret_cast<const int32_t*>(wt.data), reinterpret_cast<const int8_t*>(x.data),
                      reinterpret_cast<int8_t*>(y.data));
  } else {
    eb_f32_resize_ref(n, ih, iw, c, oh, ow, reinterpret_cast<const float*>(ht.data),
                      reinterpret_cast<const float*>(wt.data), reinterpret_cast<const float*>(x.data),
                      reinterpret_cast<float*>(y.data));
  }
}

struct PoolJob {
  const eb_qs8_maxpool_params* k;
  void (*fn)(const eb_qs8_maxpool_params*, const int8_t*, int8_t*);
  const int8_t* x;
  int8_t* y;
  size_t rows_per_task;
};

// Task = output rows [r0, r1) of the batch × output_height rows, as a pool of its own: one image, the rows shifted
// into a (possibly negative) top padding, so the kernel computes exactly the windows of those rows.
void maxpool_task(void* ctx, size_t task, size_t) {
  const PoolJob& j = *static_cast<const PoolJob*>(ctx);
  const eb_qs8_maxpool_params& k = *j.k;
  const size_t OH = (size_t)k.output_height, total = (size_t)k.batch * OH;
  const size_t in_image = (size_t)k.input_height * (size_t)k.input_width * (size_t)k.channels;
  const size_t out_row = (size_t)k.output_width * (size_t)k.channels;
  size_t r = task * j.rows_per_task;
  const size_t r1 = r + j.rows_per_task < total ? r + j.rows_per_task : total;
  while (r < r1) {  // one piece per image the range touches
    const size_t n = r / OH, oh0 = r % OH, oh1 = (r1 - n * OH < OH ? r1 - n * OH : OH);
    eb_qs8_maxpool_params sub = k;
    sub.batch = 1;
    sub.output_height = (int32_t)(oh1 - oh0);
    sub.pad_height = k.pad_height - (int32_t)oh0 * k.stride_height;
    j.fn(&sub, j.x + n * in_image, j.y + r * out_row);
    r += oh1 - oh0;
  }
}

// The window geometry shared by the int8 and float MAX/AVG_POOL2D parameter blocks: NHWC shapes of x and y, then
// params kernel h/w, stride h/w, pad h/w (docs/artifact.md).
template <typename Params>
void set_pool_geometry(Params* k, const Tensor& x, const Tensor& y, const int32_t* p) {
  k->batch = x.dims[0];
  k->input_height = x.dims[1];
  k->input_width = x.dims[2];
  k->channels = x.dims[3];
  k->output_height = y.dims[1];
  k->output_width = y.dims[2];
  k->kernel_height = p[0];
  k->kernel_width = p[1];
  k->stride_height = p[2];
  k->stride_width = p[3];
  k->pad_height = p[4];
  k->pad_width = p[5];
}

void run_max_pool(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  const int32_t* p = op.params;
  eb_qs8_maxpool_params k;
  set_pool_geometry(&k, x, y, p);
  k.dilation_height = p[6];
  k.dilation_width = p[7];
  k.output_min = p[8];
  k.output_max = p[9];
  PoolJob j = {&k, elem_kernels(m->isa).maxpool, reinterpret_cast<const int8_t*>(x.data),
               reinterpret_cast<int8_t*>(y.data), 0};
  const size_t threads = (size_t)m->num_threads, rows = (size_t)k.batch * (size_t)k.output_height;
  if (threads <= 1 || rows < 2) return j.fn(&k, j.x, j.y);
  j.rows_per_task = (rows + threads * 2 - 1) / (threads * 2);
  parallel_for(m, (rows + j.rows_per_task - 1) / j.rows_per_task, maxpool_task, &j);
}

void run_avg_pool(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  const int32_t* p = op.params;
  eb_qs8_avgpool_params k;
  set_pool_geometry(&k, x, y, p);
  k.count_include_pad = p[6];
  k.zero_point = x.zero_point;
  k.output_min = p[7];
  k.output_max = p[8];
  elem_kernels(m->isa).avgpool(&k, reinterpret_cast<const int8_t*>(x.data), reinterpret_cast<int8_t*>(y.data));
}

void run_concat(eb_model* m, const Op& op) {
  const Tensor& y = m->tensors[op.outputs[0]];
  const uint32_t axis = (uint32_t)op.params[0];
  // View every tensor as [outer, dims[axis] × inner]: outer = product of dims before axis, inner after.
  size_t outer = 1, inner = 1;
  for (uint32_t d = 0; d < axis; ++d) outer *= (size_t)y.dims[d];
  for (uint32_t d = axis + 1; d < y.rank; ++d) inner *= (size_t)y.dims[d];
  const size_t output_row = (size_t)y.dims[axis] * inner;
  size_t slot = 0;  // byte offset of this input's slot within an output row
  for (uint32_t i = 0; i < op.num_inputs; ++i) {
    const Tensor& x = m->tensors[op.inputs[i]];
    eb_qs8_concat_params k;
    k.outer = outer;
    k.input_row = (size_t)x.dims[axis] * inner;
    k.output_stride = output_row;
    k.input_zero_point = x.zero_point;
    k.output_zero_point = y.zero_point;
    k.multiplier = op.params[1 + 2 * i];
    k.shift = op.params[2 + 2 * i];
    eb_qs8_concat_ref(&k, reinterpret_cast<const int8_t*>(x.data), reinterpret_cast<int8_t*>(y.data) + slot);
    slot += k.input_row;
  }
}

void run_transpose(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  eb_xx_transpose_ref(dtype_size(x.dtype), x.rank, x.dims, op.params, x.data, y.data);
}

// ---- float fallback (docs/artifact.md "Float fallback"): the f32 reference kernels ----

float param_f32(int32_t bits) {
  float v;
  memcpy(&v, &bits, sizeof v);
  return v;
}

const float* const_f32_or_null(eb_model* m, int32_t id) { return id < 0 ? NULL : data_of<const float>(m, id); }

void run_conv2d_f32(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &w = m->tensors[op.inputs[1]], &y = m->tensors[op.outputs[0]];
  const int32_t* p = op.params;
  eb_f32_conv_params k;
  set_conv_geometry(&k, x, w, y, p);
  k.output_min = param_f32(p[9]);
  k.output_max = param_f32(p[10]);
  eb_f32_conv_ref(&k, data_of<const float>(m, op.inputs[0]), data_of<const float>(m, op.inputs[1]),
                  const_f32_or_null(m, op.inputs[2]), data_of<float>(m, op.outputs[0]));
}

void run_fully_connected_f32(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &w = m->tensors[op.inputs[1]];
  const size_t k = (size_t)w.dims[1], n = (size_t)w.dims[0];
  eb_f32_gemm_ref(x.num_elements / k, n, k, data_of<const float>(m, op.inputs[0]),
                  data_of<const float>(m, op.inputs[1]), const_f32_or_null(m, op.inputs[2]),
                  param_f32(op.params[0]), param_f32(op.params[1]), data_of<float>(m, op.outputs[0]));
}

eb_f32_pool_params pool_params_f32(const Tensor& x, const Tensor& y, const int32_t* p) {
  eb_f32_pool_params k;
  set_pool_geometry(&k, x, y, p);
  k.dilation_height = 1;
  k.dilation_width = 1;
  k.count_include_pad = 0;
  return k;
}

void run_max_pool_f32(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  eb_f32_pool_params k = pool_params_f32(x, y, op.params);
  k.dilation_height = op.params[6];
  k.dilation_width = op.params[7];
  k.output_min = param_f32(op.params[8]);
  k.output_max = param_f32(op.params[9]);
  eb_f32_maxpool_ref(&k, reinterpret_cast<const float*>(x.data), reinterpret_cast<float*>(y.data));
}

void run_avg_pool_f32(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  eb_f32_pool_params k = pool_params_f32(x, y, op.params);
  k.count_include_pad = op.params[6];
  k.output_min = param_f32(op.params[7]);
  k.output_max = param_f32(op.params[8]);
  eb_f32_avgpool_ref(&k, reinterpret_cast<const float*>(x.data), reinterpret_cast<float*>(y.data));
}

// CONCAT (float): each input's rows copied into its slot of the output rows.
void run_concat_f32(eb_model* m, const Op& op) {
  const Tensor& y = m->tensors[op.outputs[0]];
  const uint32_t axis = (uint32_t)op.params[0];
  size_t outer = 1, inner = 1;
  for (uint32_t d = 0; d < axis; ++d) outer *= (size_t)y.dims[d];
  for (uint32_t d = axis + 1; d < y.rank; ++d) inner *= (size_t)y.dims[d];
  const size_t output_row = (size_t)y.dims[axis] * inner * sizeof(float);
  size_t slot = 0;
  for (uint32_t i = 0; i < op.num_inputs; ++i) {
    const Tensor& x = m->tensors[op.inputs[i]];
    const size_t row = (size_t)x.dims[axis] * inner * sizeof(float);
    for (size_t o = 0; o < outer; ++o) eb_xx_copy_ref(row, x.data + o * row, y.data + o * output_row + slot);
    slot += row;
  }
}

void run_batch_matmul(eb_model* m, const Op& op) {
  const Tensor &a = m->tensors[op.inputs[0]], &b = m->tensors[op.inputs[1]], &y = m->tensors[op.outputs[0]];
  const uint32_t r = a.rank;
  eb_qs8_bmm_params k;
  k.m = (size_t)a.dims[r - 2];
  k.k = (size_t)a.dims[r - 1];
  k.n = (size_t)y.dims[r - 1];
  k.batch = a.num_elements / (k.m * k.k);
  k.transpose_b = op.params[0];
  k.a_zero_point = a.zero_point;
  k.b_zero_point = b.zero_point;
  k.output_zero_point = y.zero_point;
  k.multiplier = op.params[1];
  k.shift = op.params[2];
  k.output_min = op.params[3];
  k.output_max = op.params[4];
  eb_qs8_bmm_ref(&k, reinterpret_cast<const int8_t*>(a.data), reinterpret_cast<const int8_t*>(b.data),
                 reinterpret_cast<int8_t*>(y.data));
}

void run_batch_matmul_f32(eb_model* m, const Op& op) {
  const Tensor &a = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  const uint32_t r = a.rank;
  const size_t M = (size_t)a.dims[r - 2], K = (size_t)a.dims[r - 1], N = (size_t)y.dims[r - 1];
  eb_f32_bmm_ref(a.num_elements / (M * K), M, N, K, op.params[0], param_f32(op.params[1]),
                 data_of<const float>(m, op.inputs[0]), data_of<const float>(m, op.inputs[1]),
                 data_of<float>(m, op.outputs[0]));
}

void run_op_f32(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  switch (op.opcode) {
    case kOpConv2d: run_conv2d_f32(m, op); break;
    case kOpFullyConnected: run_fully_connected_f32(m, op); break;
    case kOpAdd:
      if (x.num_elements != y.num_elements || m->tensors[op.inputs[1]].num_elements != y.num_elements) {
        run_binary(m, op);  // broadcasting
        break;
      }
      eb_f32_add_ref(y.num_elements, data_of<const float>(m, op.inputs[0]), data_of<const float>(m, op.inputs[1]),
                     param_f32(op.params[0]), param_f32(op.params[1]), data_of<float>(m, op.outputs[0]));
      break;
    case kOpSub:
    case kOpMul: run_binary(m, op); break;
    case kOpUnary: run_unary(m, op); break;
    case kOpPad: run_pad(m, op); break;
    case kOpSlice: run_slice(m, op); break;
    case kOpResize: run_resize(m, op); break;
    case kOpMaxPool2d: run_max_pool_f32(m, op); break;
    case kOpAvgPool2d: run_avg_pool_f32(m, op); break;
    case kOpConcat: run_concat_f32(m, op); break;
    case kOpClamp:
      eb_f32_clamp_ref(x.num_elements, reinterpret_cast<const float*>(x.data), reinterpret_cast<float*>(y.data),
                       param_f32(op.params[0]), param_f32(op.params[1]));
      break;
    case kOpBatchMatmul: run_batch_matmul_f32(m, op); break;
    case kOpSoftmax: {
      const size_t cols = (size_t)x.dims[x.rank - 1];
      eb_f32_softmax_ref(x.num_elements / cols, cols, reinterpret_cast<const float*>(x.data),
                         reinterpret_cast<float*>(y.data));
      break;
    }
    case kOpLayerNorm: {
      const size_t cols = (size_t)x.dims[x.rank - 1];
      eb_f32_layernorm_ref(x.num_elements / cols, cols, reinterpret_cast<const float*>(x.data),
                           const_f32_or_null(m, op.inputs[1]), const_f32_or_null(m, op.inputs[2]),
                           param_f32(op.params[0]), reinterpret_cast<float*>(y.data));
      break;
    }
    case kOpEmbedding: {
      const Tensor& ids = m->tensors[op.inputs[1]];
      eb_f32_embedding_ref(ids.num_elements, (size_t)x.dims[0], (size_t)x.dims[1],
                           reinterpret_cast<const float*>(x.data), reinterpret_cast<const int32_t*>(ids.data),
                           reinterpret_cast<float*>(y.data));
      break;
    }
    default: break;  // unreachable: the loader accepts a float32 output only for these opcodes
  }
}

bool is_float_form(eb_model* m, const Op& op) {
  switch (op.opcode) {
    case kOpQuantize:
    case kOpDequantize:
    case kOpReshape:
    case kOpTranspose: return false;  // one form each
    default: return m->tensors[op.outputs[0]].dtype == EB_DTYPE_FLOAT32;
  }
}

void run_op(eb_model* m, const Op& op) {
  if (is_float_form(m, op)) return run_op_f32(m, op);
  // The optimized path where load planned one (dispatch.h); the reference kernels otherwise.
  const OpPlan* plan = m->plans != NULL ? &m->plans[&op - m->ops] : NULL;
  if (plan != NULL && plan->kind != kPlanRef) {
    if (op.opcode == kOpConv2d) return run_conv2d_fast(m, op, *plan);
    if (op.opcode == kOpFullyConnected) return run_fully_connected_fast(m, op, *plan);
    if (plan->kind == kPlanSpmm) return run_sparse_fast(m, op, *plan);
  }
  switch (op.opcode) {
    case kOpQuantize: run_quantize(m, op); break;
    case kOpDequantize: run_dequantize(m, op); break;
    case kOpConv2d: run_conv2d(m, op); break;
    case kOpFullyConnected: run_fully_connected(m, op); break;
    case kOpAdd: run_binary(m, op); break;
    case kOpSub: run_binary(m, op); break;
    case kOpMul: run_binary(m, op); break;
    case kOpUnary: run_unary(m, op); break;
    case kOpPad: run_pad(m, op); break;
    case kOpSlice: run_slice(m, op); break;
    case kOpResize: run_resize(m, op); break;
    case kOpMaxPool2d: run_max_pool(m, op); break;
    case kOpAvgPool2d: run_avg_pool(m, op); break;
    case kOpConcat: run_concat(m, op); break;
    case kOpReshape: {
      const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
      eb_xx_copy_ref((size_t)x.size, x.data, y.data);
      break;
    }
    case kOpTranspose: run_transpose(m, op); break;
    case kOpBatchMatmul: run_batch_matmul(m, op); break;
    case kOpSparseConv2d:
    case kOpSparseFullyConnected: run_sparse(m, op); break;
    case kOpClamp: {
      const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
      eb_qs8_clamp_ref(x.num_elements, reinterpret_cast<const int8_t*>(x.data), reinterpret_cast<int8_t*>(y.data),
                       op.params[0], op.params[1]);
      break;
    }
    default: break;  // unreachable: the loader rejects unknown opcodes
  }
}

}  // namespace

void run_ops(eb_model* m) {
  if (!m->profiling) {
    for (uint32_t i = 0; i < m->num_ops; ++i) run_op(m, m->ops[i]);
    return;
  }
  for (uint32_t i = 0; i < m->num_ops; ++i) {
    const uint64_t start = now_ns();
    eb_profile_op_begin();  // markers for the qemu instruction-count plugin (model.cc)
    run_op(m, m->ops[i]);
    eb_profile_op_end();
    m->op_ns[i] = now_ns() - start;
  }
}

}  // namespace eb
