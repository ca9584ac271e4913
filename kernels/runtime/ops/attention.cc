// attention.cc: ATTENTION (issue 19): scaled dot-product attention in one op, defined as exactly the ops the lowering
// fused (edgebuild/lower/fuse_attention.py), per batch index g ("head"):
//   scores = BATCH_MATMUL float (Q, Kᵀ, alpha), or with `quantized` DYNAMIC_BATCH_MATMUL (docs/quantization.md
//            (14)-(16): Q per row, Kᵀ per column, both at run time);
//   scores = scores + mask (ADD float, bounds ±inf: the plain IEEE sum), when a mask is given;
//   P = SOFTMAX float (scores) over S, through the ISA's softmax (f32_softmax_fn), as the SOFTMAX op runs it;
//   Y = BATCH_MATMUL float (P, V), or DYNAMIC_BATCH_MATMUL with `quantized` (alpha 1).
// So a model gives the same bytes with the fusion on or off, on every ISA. Each operand is its tensor permuted by
// its perm (a TRANSPOSE the op absorbs: Q = q.permute(q_perm), Y = y.permute(y_perm)), read and written through
// strides; the mask broadcasts over its dims of 1. The scores of a block of query rows live in the op's scratch, never
// in the arena, and each head's K and V are quantized (or copied) once.
//
// Paths: with a scratch (every ISA but the reference) the heads run in parallel, each on its thread's scratch: the
// qd8 kernels of the ISA (qd8_gemm.h) for `quantized`, the ISA's float matmul (f32_bmm_fn, or its reference) else.
// Without one (reference ISA), or `quantized` on an ISA without qd8 kernels, one query row at a time with the
// reference kernels and rows on the stack (kMaxSeq bounds S, D and Dv, so the stack stays below 40 KiB).
#include <math.h>
#include <string.h>

#include "../dispatch.h"
#include "../gemm_exec.h"
#include "../op.h"
#include "../packing.h"
#include "../qd8_gemm.h"
#include "../threadpool.h"
#include "edgebuild/ukernels.h"
#include "edgebuild/ukernels_isa.h"

namespace eb {

namespace {

constexpr int32_t kMaxSeq = 2048;   // S, D and Dv at most (the stack rows of the reference path)
constexpr size_t kRows = 32;        // query rows per block on the qd8 path
constexpr size_t kFloatRows = 128;  // and on the float path (each matmul call converts its B panels anew)

size_t round64(size_t x) { return (x + 63) / 64 * 64; }

// An operand as the op reads it: logical dims [batch..., rows, cols] of its tensor permuted by perm, with the element
// stride of each logical axis (0 for a broadcast mask axis).
struct View {
  const float* data;
  int32_t dims[EB_MAX_RANK];
  size_t stride[EB_MAX_RANK];
};

View view_of(const eb_model* m, int32_t id, const int32_t* perm, uint32_t r) {
  const Tensor& t = m->tensors[id];
  size_t ts[EB_MAX_RANK], s = 1;
  for (uint32_t a = r; a-- > 0;) {
    ts[a] = s;
    s *= (size_t)t.dims[a];
  }
  View v;
  v.data = reinterpret_cast<const float*>(t.data);
  for (uint32_t a = 0; a < r; ++a) {
    v.dims[a] = t.dims[perm[a]];
    v.stride[a] = ts[perm[a]];
  }
  return v;
}

// Everything run needs: the views, the sizes, and per head the offset of each operand (batch_offset).
struct Geometry {
  uint32_t r;
  View q, k, v, y, mask;
  bool has_mask;
  size_t batch, L, S, D, Dv;
};

Geometry geometry_of(const eb_model* m, const Op& op) {
  const AttentionFloatParams& p = op.p.attention_float;
  Geometry g;
  g.r = m->tensors[op.inputs[0]].rank;
  g.q = view_of(m, op.inputs[0], p.q_perm, g.r);
  g.k = view_of(m, op.inputs[1], p.k_perm, g.r);
  g.v = view_of(m, op.inputs[2], p.v_perm, g.r);
  g.y = view_of(m, op.outputs[0], p.y_perm, g.r);
  g.has_mask = op.inputs[3] >= 0;
  const int32_t ident[EB_MAX_RANK] = {0, 1, 2, 3, 4, 5};
  if (g.has_mask) {
    g.mask = view_of(m, op.inputs[3], ident, g.r);
    for (uint32_t a = 0; a < g.r; ++a)
      if (g.mask.dims[a] == 1) g.mask.stride[a] = 0;  // broadcast
  }
  g.L = (size_t)g.q.dims[g.r - 2];
  g.D = (size_t)g.q.dims[g.r - 1];
  g.S = (size_t)g.k.dims[g.r - 2];
  g.Dv = (size_t)g.v.dims[g.r - 1];
  g.batch = 1;
  for (uint32_t a = 0; a + 2 < g.r; ++a) g.batch *= (size_t)g.q.dims[a];
  return g;
}

// The element offset of head h in a view (its batch axes walked from the last; the batch dims are q's).
size_t batch_offset(const Geometry& g, const View& v, size_t h) {
  size_t off = 0;
  for (uint32_t a = g.r - 2; a-- > 0;) {
    const size_t n = (size_t)g.q.dims[a];
    off += (h % n) * v.stride[a];
    h /= n;
  }
  return off;
}

size_t row_stride(const Geometry& g, const View& v) { return v.stride[g.r - 2]; }
size_t col_stride(const Geometry& g, const View& v) { return v.stride[g.r - 1]; }

eb_status check_perm(OpCheck& c, const char* role, const int32_t* perm, uint32_t r) {
  bool seen[EB_MAX_RANK] = {false, false, false, false, false, false};
  for (uint32_t a = 0; a < r; ++a) {
    const int32_t src = perm[a];
    if (src < 0 || (uint32_t)src >= r || seen[src])
      return c.fail("%s[%u] = %d: not a permutation of 0..%u", role, a, (int)src, r - 1);
    seen[src] = true;
  }
  return EB_OK;
}

eb_status validate(OpCheck& c) {
  const Op& op = c.op();
  const AttentionFloatParams& p = c.p().attention_float;
  const int32_t q = op.inputs[0], k = op.inputs[1], v = op.inputs[2], mask = op.inputs[3], y = op.outputs[0];
  eb_status s;
  if ((s = c.need_dtype("input q", q, EB_DTYPE_FLOAT32)) != EB_OK) return s;
  if ((s = c.need_dtype("input k", k, EB_DTYPE_FLOAT32)) != EB_OK) return s;
  if ((s = c.need_dtype("input v", v, EB_DTYPE_FLOAT32)) != EB_OK) return s;
  if ((s = c.need_dtype("output", y, EB_DTYPE_FLOAT32)) != EB_OK) return s;
  const uint32_t r = c.T(q).rank;
  if (r < 2) return c.fail("input q ('%.*s') has rank %u, expected >= 2", c.tlen(q), c.tname(q), r);
  if ((s = c.need_rank("input k", k, r)) != EB_OK) return s;
  if ((s = c.need_rank("input v", v, r)) != EB_OK) return s;
  if ((s = c.need_rank("output", y, r)) != EB_OK) return s;
  if ((s = check_perm(c, "q_perm", p.q_perm, r)) != EB_OK) return s;
  if ((s = check_perm(c, "k_perm", p.k_perm, r)) != EB_OK) return s;
  if ((s = check_perm(c, "v_perm", p.v_perm, r)) != EB_OK) return s;
  if ((s = check_perm(c, "y_perm", p.y_perm, r)) != EB_OK) return s;
  if (!isfinite(p.alpha)) return c.fail("alpha %g must be finite", (double)p.alpha);
  if (mask >= 0) {
    if ((s = c.need_dtype("mask", mask, EB_DTYPE_FLOAT32)) != EB_OK) return s;
    if ((s = c.need_rank("mask", mask, r)) != EB_OK) return s;
  }
  const Geometry g = geometry_of(c.model(), op);
  bool ok = g.k.dims[r - 1] == (int32_t)g.D && g.v.dims[r - 2] == (int32_t)g.S && g.y.dims[r - 2] == (int32_t)g.L &&
            g.y.dims[r - 1] == (int32_t)g.Dv;
  for (uint32_t a = 0; ok && a + 2 < r; ++a)
    ok = g.k.dims[a] == g.q.dims[a] && g.v.dims[a] == g.q.dims[a] && g.y.dims[a] == g.q.dims[a];
  if (!ok)
    return c.fail("q %s, k %s, v %s, output %s (after their perms) do not make attention", dims_text(c.T(q)).text,
                  dims_text(c.T(k)).text, dims_text(c.T(v)).text, dims_text(c.T(y)).text);
  if (g.L == 0 || g.S == 0 || g.D == 0 || g.Dv == 0 || g.S > (size_t)kMaxSeq || g.D > (size_t)kMaxSeq ||
      g.Dv > (size_t)kMaxSeq)
    return c.fail("L %zu, S %zu, D %zu, Dv %zu: each must be in 1..%d (L >= 1)", g.L, g.S, g.D, g.Dv, (int)kMaxSeq);
  for (uint32_t a = 0; mask >= 0 && a < r; ++a) {
    const int32_t want = a == r - 1 ? (int32_t)g.S : (a == r - 2 ? (int32_t)g.L : g.q.dims[a]);
    if (c.T(mask).dims[a] != want && (c.T(mask).dims[a] != 1 || a == r - 1))
      return c.fail("mask %s does not broadcast to the scores (axis %u: %d), its last axis is S",
                    dims_text(c.T(mask)).text, a, (int)want);
  }
  return EB_OK;
}

// ---- the scratch paths: one head per task, blocks of query rows ----

// dst [rows, cols] contiguous <- src with the given strides.
void gather(float* dst, const float* src, size_t rows, size_t cols, size_t rs, size_t cs) {
  if (cs == 1) {
    for (size_t i = 0; i < rows; ++i, dst += cols) memcpy(dst, src + i * rs, cols * sizeof(float));
    return;
  }
  for (size_t i = 0; i < rows; ++i, dst += cols)
    for (size_t j = 0; j < cols; ++j) dst[j] = src[i * rs + j * cs];
}

void scatter(float* dst, const float* src, size_t rows, size_t cols, size_t rs, size_t cs) {
  for (size_t i = 0; i < rows; ++i, src += cols)
    for (size_t j = 0; j < cols; ++j) dst[i * rs + j * cs] = src[j];
}

// s[j] = s[j] + m[j], j < n: the ADD float op with bounds ±inf (the plain IEEE sum). This file is built for size
// (-Os: no auto-vectorization), so 8 lanes at a time in GCC / Clang vector types where vector float arithmetic is
// IEEE (x86-64 SSE, AArch64 NEON; armv7 NEON flushes subnormals, so armv7 stays scalar): the same bits either way.
void add_row(float* s, const float* m, size_t n) {
  size_t j = 0;
#if defined(__x86_64__) || defined(__aarch64__)
  typedef float F4 __attribute__((vector_size(16)));
  for (; j + 8 <= n; j += 8) {
    F4 a0, a1, b0, b1;
    memcpy(&a0, s + j, sizeof a0);
    memcpy(&a1, s + j + 4, sizeof a1);
    memcpy(&b0, m + j, sizeof b0);
    memcpy(&b1, m + j + 4, sizeof b1);
    a0 += b0;
    a1 += b1;
    memcpy(s + j, &a0, sizeof a0);
    memcpy(s + j + 4, &a1, sizeof a1);
  }
#endif
  for (; j < n; ++j) s[j] = s[j] + m[j];
}

// scores [rows, S] += the mask's rows (ADD float with bounds ±inf is the plain sum); then P = softmax(scores).
void mask_softmax(const eb_model* m, const Geometry& g, size_t h, size_t row0, size_t rows, float* scores,
                  float* probs) {
  if (g.has_mask) {
    const float* mk = g.mask.data + batch_offset(g, g.mask, h) + row0 * row_stride(g, g.mask);
    for (size_t i = 0; i < rows; ++i, mk += row_stride(g, g.mask)) add_row(scores + i * g.S, mk, g.S);
  }
  f32_softmax_fn(m->isa)(rows, g.S, scores, probs);
}

// Scratch of the float path (f32_bmm_fn's scratch first: the kernel wants it at the front, 64-aligned).
struct FloatLayout {
  size_t kh, vh, qb, sc, pr, yb, total;
};

FloatLayout float_layout(const Geometry& g, size_t mm) {
  FloatLayout l;
  l.kh = round64(mm);
  l.vh = l.kh + round64(g.S * g.D * 4);
  l.qb = l.vh + round64(g.S * g.Dv * 4);
  l.sc = l.qb + round64(kFloatRows * g.D * 4);
  l.pr = l.sc + round64(kFloatRows * g.S * 4);
  l.yb = l.pr + round64(kFloatRows * g.S * 4);
  l.total = l.yb + round64(kFloatRows * g.Dv * 4);
  return l;
}

size_t float_mm_bytes(uint32_t isa, const Geometry& g) {
  const size_t k = g.D > g.S ? g.D : g.S;
  return f32_bmm_fn(isa) != nullptr ? EB_F32_MM_SCRATCH_BYTES(k) : 0;
}

struct Job {
  eb_model* m;
  const Geometry* g;
  const OpPlan* plan;
  float alpha;
};

// One matmul of the float form: fn (bit-identical to the reference, dispatch.h) or the reference.
void f32_mm(const Job& j, uint8_t* scratch, size_t rows, size_t n, size_t k, int transpose_b, float alpha,
            const float* a, const float* b, float* y) {
  const F32BmmFn fn = f32_bmm_fn(j.m->isa);
  if (fn != nullptr)
    fn(1, rows, n, k, transpose_b, alpha, a, b, y, scratch);
  else
    eb_f32_bmm_ref(1, rows, n, k, transpose_b, alpha, a, b, y);
}

// The head's K (as b of Q·Kᵀ) or V (b of P·V), logical [rows, cols], in a contiguous layout: the tensor itself when
// its rows or its columns are contiguous (*transposed says which: 0 [rows, cols], 1 [cols, rows]), else a copy in
// `copy`, [cols, rows] with `want_transposed` (the float path's K; the qd8 path reads K and V through their views).
const float* head_b(const Geometry& g, const View& v, size_t h, size_t rows, size_t cols, float* copy,
                    bool want_transposed, int32_t* transposed) {
  const float* base = v.data + batch_offset(g, v, h);
  const size_t rs = row_stride(g, v), cs = col_stride(g, v);
  if (rs == 1 && (cs == rows || cols == 1)) {
    *transposed = 1;
    return base;
  }
  if (!want_transposed && cs == 1 && (rs == cols || rows == 1)) {
    *transposed = 0;
    return base;
  }
  *transposed = want_transposed ? 1 : 0;
  if (want_transposed)
    gather(copy, base, cols, rows, cs, rs);
  else
    gather(copy, base, rows, cols, rs, cs);
  return copy;
}

void float_task(void* ctx, size_t h, size_t thread) {
  const Job& j = *static_cast<const Job*>(ctx);
  const Geometry& g = *j.g;
  uint8_t* scratch = j.m->scratch + thread * j.m->scratch_per_thread;
  const FloatLayout l = float_layout(g, float_mm_bytes(j.m->isa, g));
  int32_t kt, vt;
  // Q·Kᵀ wants b = Kᵀ [D, S] (transpose_b 0) or K [S, D] (transpose_b 1).
  const float* kh = head_b(g, g.k, h, g.S, g.D, reinterpret_cast<float*>(scratch + l.kh), true, &kt);
  const float* vh = head_b(g, g.v, h, g.S, g.Dv, reinterpret_cast<float*>(scratch + l.vh), false, &vt);
  float* qb = reinterpret_cast<float*>(scratch + l.qb);
  float* sc = reinterpret_cast<float*>(scratch + l.sc);
  float* pr = reinterpret_cast<float*>(scratch + l.pr);
  float* yb = reinterpret_cast<float*>(scratch + l.yb);
  const float* q = g.q.data + batch_offset(g, g.q, h);
  float* y = const_cast<float*>(g.y.data) + batch_offset(g, g.y, h);
  const size_t qrs = row_stride(g, g.q), qcs = col_stride(g, g.q), yrs = row_stride(g, g.y), ycs = col_stride(g, g.y);
  for (size_t row0 = 0; row0 < g.L; row0 += kFloatRows) {
    const size_t rows = g.L - row0 < kFloatRows ? g.L - row0 : kFloatRows;
    const float* qr = q + row0 * qrs;
    if (!(qcs == 1 && (qrs == g.D || rows == 1))) {
      gather(qb, qr, rows, g.D, qrs, qcs);
      qr = qb;
    }
    f32_mm(j, scratch, rows, g.S, g.D, kt ? 0 : 1, j.alpha, qr, kh, sc);
    mask_softmax(j.m, g, h, row0, rows, sc, pr);
    const bool direct = ycs == 1 && (yrs == g.Dv || rows == 1);
    float* yr = direct ? y + row0 * yrs : yb;
    f32_mm(j, scratch, rows, g.Dv, g.S, vt, 1.0f, pr, vh, yr);
    if (!direct) scatter(y + row0 * yrs, yb, rows, g.Dv, yrs, ycs);
  }
}

// Scratch of the qd8 path: the head's packed K and V, qd8_pack_b's work, one tile of quantized rows, a block's scores
// and probabilities.
struct Qd8Layout {
  size_t pk, pv, work, tile, sc, pr, total;
};

Qd8Layout qd8_layout(const Qd8Kernel& k, const Geometry& g) {
  const size_t wk = qd8_b_work_bytes(k, g.S, g.D), wv = qd8_b_work_bytes(k, g.Dv, g.S);
  const size_t tk = qd8_a_tile_bytes(k, g.D), tv = qd8_a_tile_bytes(k, g.S);
  Qd8Layout l;
  l.pk = 0;
  l.pv = l.pk + round64(qd8_b_packed_bytes(k, g.S, g.D));
  l.work = l.pv + round64(qd8_b_packed_bytes(k, g.Dv, g.S));
  l.tile = l.work + round64(wk > wv ? wk : wv);
  l.sc = l.tile + round64(tk > tv ? tk : tv);
  l.pr = l.sc + round64(kRows * g.S * 4);
  l.total = l.pr + round64(kRows * g.S * 4);
  return l;
}

void qd8_task(void* ctx, size_t h, size_t thread) {
  const Job& j = *static_cast<const Job*>(ctx);
  const Geometry& g = *j.g;
  const Qd8Kernel& k = *j.plan->qd8;
  uint8_t* scratch = j.m->scratch + thread * j.m->scratch_per_thread;
  const Qd8Layout l = qd8_layout(k, g);
  // DYNAMIC_BATCH_MATMUL's b, read in place through the views: Kᵀ [D, S] (column t is K's row t) with alpha; V [S, Dv]
  // (column c is V's column c) with alpha 1.
  qd8_pack_b(k, g.k.data + batch_offset(g, g.k, h), g.D, g.S, row_stride(g, g.k), col_stride(g, g.k), j.alpha,
             scratch + l.work, scratch + l.pk);
  qd8_pack_b(k, g.v.data + batch_offset(g, g.v, h), g.S, g.Dv, col_stride(g, g.v), row_stride(g, g.v), 1.0f,
             scratch + l.work, scratch + l.pv);
  float* sc = reinterpret_cast<float*>(scratch + l.sc);
  float* pr = reinterpret_cast<float*>(scratch + l.pr);
  const float* q = g.q.data + batch_offset(g, g.q, h);
  float* y = const_cast<float*>(g.y.data) + batch_offset(g, g.y, h);
  const size_t qrs = row_stride(g, g.q), yrs = row_stride(g, g.y);
  // With the ISA's qd8-softmax kernel, a block is one GEMM tile of rows: its scores (mr · S floats) stay in L1 from
  // the Q·Kᵀ product through the mask, the softmax and P's quantization to the P·V product.
  const eb_qd8_softmax_ukernel_fn fused = qd8_softmax_kernel(k);
  const size_t block = fused != NULL ? k.mr : kRows;
  const float* mk = g.has_mask ? g.mask.data + batch_offset(g, g.mask, h) : NULL;
  const size_t mrs = g.has_mask ? row_stride(g, g.mask) : 0;
  for (size_t row0 = 0; row0 < g.L; row0 += block) {
    const size_t rows = g.L - row0 < block ? g.L - row0 : block;
    qd8_rows(k, q + row0 * qrs, qrs, rows, g.D, scratch + l.tile, scratch + l.pk, sc, g.S, g.S);
    if (fused != NULL) {
      qd8_softmax_rows(k, fused, sc, g.S, mk != NULL ? mk + row0 * mrs : NULL, mrs, rows, g.S, scratch + l.tile,
                       scratch + l.pv, y + row0 * yrs, yrs, g.Dv);
      continue;
    }
    mask_softmax(j.m, g, h, row0, rows, sc, pr);
    qd8_rows(k, pr, g.S, rows, g.S, scratch + l.tile, scratch + l.pv, y + row0 * yrs, yrs, g.Dv);
  }
}

// The qd8 path reads Q's rows and writes Y's rows in place: both need contiguous columns (the lowering's layouts).
bool qd8_fits(const Geometry& g) { return col_stride(g, g.q) == 1 && col_stride(g, g.y) == 1; }

eb_status plan(eb_model* m, const Op& op, OpPlan& plan, PlanContext& ctx) {
  const Geometry g = geometry_of(m, op);
  size_t need;
  if (op.p.attention_float.quantized) {
    const Qd8Kernel* k = qd8_gemm_kernel(m->isa);
    if (k == NULL || !qd8_fits(g)) return EB_OK;  // the row path
    plan.kind = kPlanQd8;
    plan.qd8 = k;
    need = qd8_layout(*k, g).total;
  } else {
    need = float_layout(g, float_mm_bytes(m->isa, g)).total;
  }
  if (need > ctx.im2col_bytes) ctx.im2col_bytes = need;
  return EB_OK;
}

// ---- the row path: the reference kernels, one query row at a time, rows on the stack ----

void run_rows(eb_model* m, const Op& op, const Geometry& g) {
  const AttentionFloatParams& p = op.p.attention_float;
  float qrow[kMaxSeq], col[kMaxSeq], scores[kMaxSeq], probs[kMaxSeq];
  int8_t qa[kMaxSeq], qb[kMaxSeq];
  const size_t qrs = row_stride(g, g.q), qcs = col_stride(g, g.q), krs = row_stride(g, g.k), kcs = col_stride(g, g.k);
  const size_t vrs = row_stride(g, g.v), vcs = col_stride(g, g.v), yrs = row_stride(g, g.y), ycs = col_stride(g, g.y);
  for (size_t h = 0; h < g.batch; ++h) {
    const float* q = g.q.data + batch_offset(g, g.q, h);
    const float* kh = g.k.data + batch_offset(g, g.k, h);
    const float* vh = g.v.data + batch_offset(g, g.v, h);
    float* y = const_cast<float*>(g.y.data) + batch_offset(g, g.y, h);
    for (size_t i = 0; i < g.L; ++i) {
      gather(qrow, q + i * qrs, 1, g.D, 0, qcs);
      eb_qd8_row_params rp;
      if (p.quantized) eb_qd8_quantize_ref(1, g.D, qrow, g.D, qa, &rp);
      for (size_t t = 0; t < g.S; ++t) {  // scores[t]: (16) quantizes column t of Kᵀ, i.e. row t of K
        if (p.quantized) {
          float sb;
          eb_qd8_quantize_cols_ref(1, g.D, kh + t * krs, 0, kcs, qb, &sb);
          const float ws = sb * p.alpha;  // DYNAMIC_BATCH_MATMUL: w_scale = s_b · alpha
          eb_qd8_gemm_ref(1, 1, g.D, qa, &rp, qb, &ws, NULL, -INFINITY, INFINITY, scores + t, 1);
        } else {
          gather(col, kh + t * krs, 1, g.D, 0, kcs);
          eb_f32_bmm_ref(1, 1, 1, g.D, 1, p.alpha, qrow, col, scores + t);
        }
      }
      mask_softmax(m, g, h, i, 1, scores, probs);
      if (p.quantized) eb_qd8_quantize_ref(1, g.S, probs, g.S, qa, &rp);
      for (size_t c = 0; c < g.Dv; ++c) {
        float out;
        if (p.quantized) {
          float sb;
          eb_qd8_quantize_cols_ref(1, g.S, vh + c * vcs, 0, vrs, qb, &sb);
          eb_qd8_gemm_ref(1, 1, g.S, qa, &rp, qb, &sb, NULL, -INFINITY, INFINITY, &out, 1);
        } else {
          gather(col, vh + c * vcs, 1, g.S, 0, vrs);
          eb_f32_bmm_ref(1, 1, 1, g.S, 1, 1.0f, probs, col, &out);
        }
        y[i * yrs + c * ycs] = out;
      }
    }
  }
}

void run(eb_model* m, const Op& op) {
  const Geometry g = geometry_of(m, op);
  const OpPlan* plan = plan_of(m, op);
  Job j = {m, &g, plan, op.p.attention_float.alpha};
  if (op.p.attention_float.quantized) {
    if (plan == NULL || m->scratch == NULL) return run_rows(m, op, g);
    parallel_for(m, g.batch, qd8_task, &j);  // one head per task: disjoint outputs, any thread count
    return;
  }
  if (m->scratch == NULL || m->im2col_bytes < float_layout(g, float_mm_bytes(m->isa, g)).total)
    return run_rows(m, op, g);
  parallel_for(m, g.batch, float_task, &j);
}

}  // namespace

const OpImpl kOpImplAttention = {validate, plan, run, NULL, NULL};

}  // namespace eb
