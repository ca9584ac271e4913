// qd8_gemm.cc: DYNAMIC_FULLY_CONNECTED's optimized path (qd8_gemm.h): the per-ISA table, packing at load, and the
// row-tile execution. Each task quantizes its rows into its thread's scratch (docs/quantization.md (14), once per row
// per op) and runs the GEMM (15): one tile over every column while its rows are hot in L1, or (Qd8Kernel nc_blocks,
// AVX-512) a group of tiles per run of columns, so that a layer's weights, which the rest of the model has pushed out
// of L2, come from memory once and while other tiles compute. Tasks write disjoint rows of y, and each output is the
// same kernel steps in either order, so any thread count and either order give the same bytes.
#include "qd8_gemm.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "packing.h"
#include "threadpool.h"

namespace eb {

namespace {

size_t round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }

// Bytes of a group of quantized rows in the scratch: params first (64-aligned), then the rows, a_stride bytes each.
size_t params_bytes(const Qd8Kernel& k, size_t rows = 0) {
  return round_up((rows != 0 ? rows : k.mr) * sizeof(eb_qd8_row_params), 64);
}

// Quantized A bytes per group with nc_blocks (Qd8Kernel): MiniLM's 128 rows of K = 1536 fit, and stay in L2.
constexpr size_t kQd8GroupBytes = 256 * 1024;
// Only the AVX-512 entry has nc_blocks: builds without it (arm64's footprint budget) leave the grouped loop out.
#ifdef EB_HAVE_ISA_AVX512VNNI
constexpr bool kGroups = true;
#else
constexpr bool kGroups = false;
#endif
size_t a_stride_of(const Qd8Kernel& k, size_t kc) { return round_up(kc * k.a_elem, 64); }

void store_elem(uint8_t* dst, uint32_t elem, int32_t v) {
  if (elem == 1) {
    *reinterpret_cast<int8_t*>(dst) = (int8_t)v;
  } else {
    const int16_t s = (int16_t)v;
    memcpy(dst, &s, 2);
  }
}

// Packs w [N, K], w_scale [N], bias [N] (or NULL) into ceil(N / nr) blocks of block_bytes (ukernels_isa.h "qd8").
// One copy for plan_qd8 and qd8_pack_b, not one inlined (or const-propagated) into each: -1.6 KiB arm64.
#if defined(__GNUC__) && !defined(__clang__)
#define EB_ONE_COPY __attribute__((noinline, noclone))
#else
#define EB_ONE_COPY __attribute__((noinline))
#endif
EB_ONE_COPY void pack_blocks(const Qd8Kernel& k, const int8_t* w, const float* w_scale, const float* bias, size_t N,
                             size_t K, size_t kc, size_t block_bytes, uint8_t* packed) {
  const size_t nr = k.nr, kr = k.kr;
  memset(packed, 0, round_up(N, nr) / nr * block_bytes);
  for (size_t n0 = 0; n0 < N; n0 += nr) {
    const size_t valid = N - n0 < nr ? N - n0 : nr;
    uint8_t* block = packed + (n0 / nr) * block_bytes;
    int32_t* wsum = reinterpret_cast<int32_t*>(block);
    float* scale = reinterpret_cast<float*>(block + 4 * nr);
    float* b = reinterpret_cast<float*>(block + 8 * nr);
    for (size_t j = 0; j < nr; ++j) {
      int32_t s = 0;  // |Σ| <= 127·K < 2^31 (K <= 16384, validate)
      for (size_t kk = 0; j < valid && kk < K; ++kk) s += w[(n0 + j) * K + kk];
      wsum[j] = s;
      scale[j] = j < valid ? w_scale[n0 + j] : 0.0f;
      b[j] = j < valid && bias != NULL ? bias[n0 + j] : -0.0f;  // x + (−0) == x: "no bias" without a branch
    }
    uint8_t* dst = block + 12 * nr;
    if (k.w_elem == 1) {  // int8: kr consecutive k of one column are consecutive in w (the block was zeroed)
      for (size_t kb = 0; kb < kc; kb += kr, dst += nr * kr)
        for (size_t j = 0; j < valid && kb < K; ++j)
          memcpy(dst + j * kr, w + (n0 + j) * K + kb, K - kb < kr ? K - kb : kr);
      continue;
    }
    for (size_t kb = 0; kb < kc; kb += kr)
      for (size_t j = 0; j < nr; ++j)
        for (size_t r = 0; r < kr; ++r, dst += k.w_elem) {
          const size_t kk = kb + r;
          store_elem(dst, k.w_elem, j < valid && kk < K ? (int32_t)w[(n0 + j) * K + kk] : 0);
        }
  }
}

// Quantizes `rows` rows of x (row stride x_stride) into the tile a (padding K to kc) and multiplies them by packed
// into y (row stride y_stride).
void tile_strided(const Qd8Kernel& k, size_t kc, const float* x, size_t x_stride, size_t K, size_t rows, uint8_t* a,
                  size_t a_stride, eb_qd8_row_params* params, const uint8_t* packed, float* y, size_t y_stride,
                  size_t N, float lo, float hi) {
  const size_t pad = (kc - K) * k.a_elem;
  k.quantize(rows, K, x, x_stride, a, a_stride, params);
  for (size_t r = 0; pad != 0 && r < rows; ++r) memset(a + r * a_stride + K * k.a_elem, 0, pad);
  k.gemm(rows, N, kc, a, a_stride, params, packed, y, y_stride, lo, hi);
}

// Quantizes rows [row0, row0 + rows) of x [M, K] into the tile a (padding K to kc) and multiplies them by packed.
void tile(const Qd8Kernel& k, size_t kc, const float* x, size_t K, size_t rows, uint8_t* a, size_t a_stride,
          eb_qd8_row_params* params, const uint8_t* packed, float* y, size_t N, float lo, float hi) {
  tile_strided(k, kc, x, K, K, rows, a, a_stride, params, packed, y, N, N, lo, hi);
}

struct Qd8Job {
  eb_model* m;
  const OpPlan* plan;
  const float* x;
  float* y;
  size_t M, N, K;
  float lo, hi;
  size_t tiles_per_task;
};

void qd8_task(void* ctx, size_t task, size_t thread) {
  const Qd8Job& j = *static_cast<const Qd8Job*>(ctx);
  const OpPlan& p = *j.plan;
  const Qd8Kernel& k = *p.qd8;
  const size_t mr = k.mr, m_tiles = (j.M + mr - 1) / mr;
  const size_t t0 = task * j.tiles_per_task, t1 = t0 + j.tiles_per_task < m_tiles ? t0 + j.tiles_per_task : m_tiles;
  uint8_t* scratch = j.m->scratch + thread * j.m->scratch_per_thread;
  const size_t group_tiles = p.chunk_rows / mr;
  eb_qd8_row_params* params = reinterpret_cast<eb_qd8_row_params*>(scratch);
  uint8_t* a = scratch + params_bytes(k, p.chunk_rows);
  const size_t a_stride = a_stride_of(k, p.kc);
  if (!kGroups || k.nc_blocks == 0) {  // each tile over every column
    for (size_t t = t0; t < t1; ++t) {
      const size_t row0 = t * mr, rows = j.M - row0 < mr ? j.M - row0 : mr;
      tile(k, p.kc, j.x + row0 * j.K, j.K, rows, a, a_stride, params, p.packed, j.y + row0 * j.N, j.N, j.lo, j.hi);
    }
    return;
  }
  // Groups of up to group_tiles tiles: quantize the group's rows (14), then per run of nc_blocks column blocks every
  // tile of the group (15); each (row, column) is computed by the same kernel steps as above, so the bytes are too.
  const size_t pad = (p.kc - j.K) * k.a_elem, nc_run = (size_t)k.nc_blocks * k.nr;
  for (size_t g0 = t0; g0 < t1; g0 += group_tiles) {
    const size_t g1 = g0 + group_tiles < t1 ? g0 + group_tiles : t1;
    const size_t row0 = g0 * mr, rows = (g1 * mr < j.M ? g1 * mr : j.M) - row0;
    k.quantize(rows, j.K, j.x + row0 * j.K, j.K, a, a_stride, params);
    for (size_t r = 0; pad != 0 && r < rows; ++r) memset(a + r * a_stride + j.K * k.a_elem, 0, pad);
    for (size_t n0 = 0; n0 < j.N; n0 += nc_run) {
      const size_t nc = j.N - n0 < nc_run ? j.N - n0 : nc_run;
      const uint8_t* w = p.packed + n0 / k.nr * p.block_bytes;
      for (size_t r0 = 0; r0 < rows; r0 += mr) {
        const size_t tr = rows - r0 < mr ? rows - r0 : mr;
        k.gemm(tr, nc, p.kc, a + r0 * a_stride, a_stride, params + r0, w, j.y + (row0 + r0) * j.N + n0, j.N, j.lo,
               j.hi);
      }
    }
  }
}

}  // namespace

const Qd8Kernel* qd8_gemm_kernel(uint32_t isa) {
  switch (isa) {
    // x86-64: vpdpbusd on q + 128 (8 rows × 32 columns), vpmaddwd on int16 (4 × 16).
#ifdef EB_HAVE_ISA_AVX512VNNI
    case kIsaAvx512Vnni: {
      static const Qd8Kernel k = {
          eb_qd8_quantize_ukernel__avx512vnni,  eb_qd8_gemm_minmax_ukernel_8x32c4__avx512vnni, 8, 32, 4, 1, 128, 1, 1,
          "qd8_gemm_minmax_8x32c4__avx512vnni", eb_qd8_packb_ukernel_x32c4__avx512vnni};
      return &k;
    }
#endif
#ifdef EB_HAVE_ISA_AVX2
    case kIsaAvx2: {
      static const Qd8Kernel k = {
          eb_qd8_quantize_ukernel__avx2, eb_qd8_gemm_minmax_ukernel_4x16c2__avx2, 4, 16, 2, 2, 0, 2, 0,
          "qd8_gemm_minmax_4x16c2__avx2"};
      return &k;
    }
#endif
    // ARM entries: #ifdef EB_HAVE_ISA_NEON / EB_HAVE_ISA_NEONDOT / EB_HAVE_ISA_I8MM cases go here (qd8arm).
#ifdef EB_HAVE_ISA_NEON
    // armv8.0 cores (Cortex-A53/A72) and armv7: VMULL + VPADAL (armv7 quantizes with the reference, row by row).
    case kIsaNeon: {
      static const Qd8Kernel k = {
          eb_qd8_quantize_ukernel__neon, eb_qd8_gemm_minmax_ukernel_2x8c8__neon, 2, 8, 8, 1, 0, 1, 0,
          "qd8_gemm_minmax_2x8c8__neon"};
      return &k;
    }
#endif
#if defined(EB_HAVE_ISA_NEONDOT) && defined(__aarch64__)
    // SDOT by element (Cortex-A76/A55 class); I8MM cores have the dot product too and run it as well.
    case kIsaNeonDot:
    case kIsaI8mm: {
      // mr 4, nr 16, kr 4; int8 q (a_elem 1, a_offset 0); int8 weights.
      static const Qd8Kernel k = {
          eb_qd8_quantize_ukernel__neon,     eb_qd8_gemm_minmax_ukernel_4x16c4__neondot, 4, 16, 4, 1, 0, 1, 0,
          "qd8_gemm_minmax_4x16c4__neondot", eb_qd8_packb_ukernel_x16c4__neondot};
      return &k;
    }
#endif
    default: (void)isa; return NULL;
  }
}

eb_status plan_qd8(eb_model* m, OpPlan& p, PlanContext& ctx, const Qd8Kernel& k, const int8_t* w, const float* w_scale,
                   const float* bias, size_t M, size_t N, size_t K) {
  const size_t nr = k.nr, kr = k.kr;
  p.kind = kPlanQd8;
  p.qd8 = &k;
  p.kc = round_up(K, kr);
  p.block_bytes = eb_qd8_block_bytes(nr, p.kc, k.w_elem);
  p.group_bytes = round_up(N, nr) / nr * p.block_bytes;
  p.packed = static_cast<uint8_t*>(tracked_alloc_aligned(m, p.group_bytes, &p.packed_raw));
  if (p.packed == NULL) return EB_ERR_NOMEM;
  pack_blocks(k, w, w_scale, bias, N, K, p.kc, p.block_bytes, p.packed);
  // One group of quantized rows per thread, in the first scratch region (im2col's; ops never run at once): a tile,
  // or with nc_blocks as many tiles of M as kQd8GroupBytes holds (at least one).
  const size_t a_stride = a_stride_of(k, p.kc), m_rows = round_up(M != 0 ? M : 1, k.mr);
  size_t rows = k.nc_blocks == 0 ? k.mr : kQd8GroupBytes / a_stride / k.mr * k.mr;
  rows = rows < k.mr ? k.mr : (rows > m_rows ? m_rows : rows);
  p.chunk_rows = rows;
  const size_t need = params_bytes(k, rows) + rows * a_stride;
  if (need > ctx.im2col_bytes) ctx.im2col_bytes = need;
  return EB_OK;
}

void run_qd8(eb_model* m, const OpPlan& plan, const float* x, float* y, size_t M, size_t N, size_t K, float lo,
             float hi) {
  if (M == 0 || N == 0) return;
  Qd8Job j = {m, &plan, x, y, M, N, K, lo, hi, 0};
  const size_t m_tiles = (M + plan.qd8->mr - 1) / plan.qd8->mr, threads = (size_t)m->num_threads;
  const size_t tasks = threads <= 1 ? 1 : (m_tiles < threads * 4 ? m_tiles : threads * 4);
  j.tiles_per_task = (m_tiles + tasks - 1) / tasks;
  parallel_for(m, (m_tiles + j.tiles_per_task - 1) / j.tiles_per_task, qd8_task, &j);
}

// ---- DYNAMIC_BATCH_MATMUL: B quantized per column (16) and packed per batch, at run time, in the scratch ----

namespace {

// (16) for every column of B [K, N] row-major, the same bits as eb_qd8_quantize_cols_ref but in passes over B's rows:
// the columns' |max| and finiteness (v − v is NaN for a NaN or an infinity, and NaN sticks in the sum), then the
// codes, rounded half to even by the 1.5·2^23 add-subtract (exact for |v · inv| <= 2^22; here <= 127 (1 + 2^-22)).
// qb [N, K]; w_scale[N] = s_b · alpha. The entries without a packb variant run it (qd8_pack_b).
void quantize_b(const float* b, size_t K, size_t N, float alpha, float* cmax, float* bad, float* inv, int8_t* qb,
                float* w_scale) {
  const float kRound = 12582912.0f;  // 1.5 · 2^23
  for (size_t c = 0; c < N; ++c) cmax[c] = bad[c] = 0.0f;
  for (size_t t = 0; t < K; ++t) {
    const float* row = b + t * N;
    for (size_t c = 0; c < N; ++c) {
      const float v = row[c], a = v < 0.0f ? -v : v;
      bad[c] = bad[c] + (v - v);
      cmax[c] = a > cmax[c] ? a : cmax[c];
    }
  }
  for (size_t c = 0; c < N; ++c) {
    const float s = cmax[c] / 127.0f;
    const bool ok = bad[c] == 0.0f;
    if (!ok || !(s >= FLT_MIN)) {  // (16): NaN outputs for a non-finite column; 0 for an all-zero / subnormal one
      w_scale[c] = (ok ? 1.0f : NAN) * alpha;
      inv[c] = 0.0f;  // codes 0 (a non-finite column's codes are forced to 0 below)
      continue;
    }
    inv[c] = 1.0f / s;
    w_scale[c] = s * alpha;
  }
  for (size_t t = 0; t < K; ++t) {
    const float* row = b + t * N;
    for (size_t c = 0; c < N; ++c) {  // select after the rounding and the clamps: the loop vectorizes
      float r = row[c] * inv[c];
      r = (r + kRound) - kRound;
      r = r < -127.0f ? -127.0f : r;
      r = r > 127.0f ? 127.0f : r;
      qb[c * K + t] = (int8_t)(bad[c] == 0.0f ? (int32_t)r : 0);  // a finite column's r is an integer in ±127
    }
  }
}

// Per-thread scratch of one batch, 64-aligned parts: A tile params | A tile rows | packed B | qd8_pack_b's work.
struct BmmLayout {
  size_t a_params, a_rows, packed, work, total;
};

BmmLayout bmm_layout(const Qd8Kernel& k, size_t kc, size_t block_bytes, size_t N, size_t K) {
  BmmLayout l;
  l.a_params = 0;
  l.a_rows = params_bytes(k);
  l.packed = l.a_rows + k.mr * a_stride_of(k, kc);
  l.work = l.packed + round_up(N, k.nr) / k.nr * block_bytes;
  l.total = l.work + qd8_b_work_bytes(k, N, K);
  return l;
}

struct BmmJob {
  eb_model* m;
  const OpPlan* plan;
  const float *a, *b;
  float* y;
  size_t M, N, K;
  int32_t transpose_b;
  float alpha;
};

void bmm_task(void* ctx, size_t batch, size_t thread) {
  const BmmJob& j = *static_cast<const BmmJob*>(ctx);
  const OpPlan& p = *j.plan;
  const Qd8Kernel& k = *p.qd8;
  const BmmLayout l = bmm_layout(k, p.kc, p.block_bytes, j.N, j.K);
  uint8_t* scratch = j.m->scratch + thread * j.m->scratch_per_thread;
  // B's column c: b [K, N] column c, or row c of b [N, K] with transpose_b.
  qd8_pack_b(k, j.b + batch * j.K * j.N, j.K, j.N, j.transpose_b ? j.K : 1, j.transpose_b ? 1 : j.N, j.alpha,
             scratch + l.work, scratch + l.packed);
  const float* a = j.a + batch * j.M * j.K;
  float* y = j.y + batch * j.M * j.N;
  const size_t a_stride = a_stride_of(k, p.kc);
  for (size_t row0 = 0; row0 < j.M; row0 += k.mr) {
    const size_t rows = j.M - row0 < k.mr ? j.M - row0 : k.mr;
    tile(k, p.kc, a + row0 * j.K, j.K, rows, scratch + l.a_rows, a_stride,
         reinterpret_cast<eb_qd8_row_params*>(scratch + l.a_params), scratch + l.packed, y + row0 * j.N, j.N, -INFINITY,
         INFINITY);
  }
}

}  // namespace

eb_status plan_qd8_bmm(OpPlan& p, PlanContext& ctx, const Qd8Kernel& k, size_t N, size_t K) {
  p.kind = kPlanQd8;
  p.qd8 = &k;
  p.kc = round_up(K, k.kr);
  p.block_bytes = eb_qd8_block_bytes(k.nr, p.kc, k.w_elem);
  p.packed = NULL;  // packed per batch at run time, in the scratch
  const size_t need = bmm_layout(k, p.kc, p.block_bytes, N, K).total;
  if (need > ctx.im2col_bytes) ctx.im2col_bytes = need;
  return EB_OK;
}

void run_qd8_bmm(eb_model* m, const OpPlan& plan, const float* a, const float* b, float* y, size_t batch, size_t M,
                 size_t N, size_t K, int32_t transpose_b, float alpha) {
  if (batch == 0 || M == 0 || N == 0) return;
  BmmJob j = {m, &plan, a, b, y, M, N, K, transpose_b, alpha};
  parallel_for(m, batch, bmm_task, &j);  // one batch (attention head) per task: disjoint outputs, any thread count
}

// ---- ATTENTION (ops/attention.cc): one head's two products, each B quantized (16) and packed once per head ----

size_t qd8_b_packed_bytes(const Qd8Kernel& k, size_t N, size_t K) {
  return round_up(N, k.nr) / k.nr * eb_qd8_block_bytes(k.nr, round_up(K, k.kr), k.w_elem);
}

size_t qd8_a_tile_bytes(const Qd8Kernel& k, size_t K) {
  return params_bytes(k) + k.mr * a_stride_of(k, round_up(K, k.kr));
}

size_t qd8_b_work_bytes(const Qd8Kernel& k, size_t N, size_t K) {
  // B [K, N] row-major | q_b [N, K] | w_scale | the column maxima, finiteness sums and reciprocals of quantize_b [N]
  return k.packb != NULL ? 0 : round_up(N * K * sizeof(float), 64) + round_up(N * K, 64) + 4 * round_up(N * 4, 64);
}

void qd8_pack_b(const Qd8Kernel& k, const float* b, size_t K, size_t N, size_t stride_j, size_t stride_t, float alpha,
                uint8_t* work, uint8_t* packed) {
  if (k.packb != NULL) {
    k.packb(N, K, b, stride_j, stride_t, alpha, packed);
    return;
  }
  // No variant (AVX2, armv8.0 / armv7 NEON): B as a row-major [K, N] (a copy read along the view's smaller stride
  // unless it is one already), quantize_b's passes over its rows, then the packer.
  uint8_t* p = work;
  if (stride_j != 1 || stride_t != N) {
    float* c = reinterpret_cast<float*>(p);
    if (stride_j < stride_t) {
      for (size_t t = 0; t < K; ++t)
        for (size_t j = 0; j < N; ++j) c[t * N + j] = b[j * stride_j + t * stride_t];
    } else {
      for (size_t j = 0; j < N; ++j)
        for (size_t t = 0; t < K; ++t) c[t * N + j] = b[j * stride_j + t * stride_t];
    }
    b = c;
  }
  p += round_up(N * K * sizeof(float), 64);
  const size_t f = round_up(N * sizeof(float), 64), kc = round_up(K, k.kr);
  int8_t* qb = reinterpret_cast<int8_t*>(p);
  float* sb = reinterpret_cast<float*>(p + round_up(N * K, 64));
  float* cmax = reinterpret_cast<float*>(reinterpret_cast<uint8_t*>(sb) + f);
  float* bad = reinterpret_cast<float*>(reinterpret_cast<uint8_t*>(cmax) + f);
  float* inv = reinterpret_cast<float*>(reinterpret_cast<uint8_t*>(bad) + f);
  quantize_b(b, K, N, alpha, cmax, bad, inv, qb, sb);
  pack_blocks(k, qb, sb, NULL, N, K, kc, eb_qd8_block_bytes(k.nr, kc, k.w_elem), packed);
}

void qd8_rows(const Qd8Kernel& k, const float* x, size_t x_stride, size_t rows, size_t K, uint8_t* a_tile,
              const uint8_t* packed, float* y, size_t y_stride, size_t N) {
  const size_t kc = round_up(K, k.kr);
  for (size_t row0 = 0; row0 < rows; row0 += k.mr) {
    const size_t n = rows - row0 < k.mr ? rows - row0 : k.mr;
    tile_strided(k, kc, x + row0 * x_stride, x_stride, K, n, a_tile + params_bytes(k), a_stride_of(k, kc),
                 reinterpret_cast<eb_qd8_row_params*>(a_tile), packed, y + row0 * y_stride, y_stride, N, -INFINITY,
                 INFINITY);
  }
}

eb_qd8_softmax_ukernel_fn qd8_softmax_kernel(const Qd8Kernel& k) {
#ifdef EB_HAVE_ISA_AVX512VNNI
  if (k.quantize == eb_qd8_quantize_ukernel__avx512vnni) return eb_qd8_softmax_ukernel__avx512vnni;
#endif
#if defined(EB_HAVE_ISA_NEON) && defined(__aarch64__)  // armv7 NEON flushes subnormals: no variant there
  if (k.quantize == eb_qd8_quantize_ukernel__neon) return eb_qd8_softmax_ukernel__neon;
#endif
  (void)k;
  return NULL;
}

void qd8_softmax_rows(const Qd8Kernel& k, eb_qd8_softmax_ukernel_fn fn, float* x, size_t x_stride, const float* mask,
                      size_t mask_stride, size_t rows, size_t K, uint8_t* a_tile, const uint8_t* packed, float* y,
                      size_t y_stride, size_t N) {
  const size_t kc = round_up(K, k.kr), a_stride = a_stride_of(k, kc), pad = (kc - K) * k.a_elem;
  eb_qd8_row_params* params = reinterpret_cast<eb_qd8_row_params*>(a_tile);
  uint8_t* a = a_tile + params_bytes(k);
  for (size_t row0 = 0; row0 < rows; row0 += k.mr) {
    const size_t n = rows - row0 < k.mr ? rows - row0 : k.mr;
    fn(n, K, x + row0 * x_stride, x_stride, mask != NULL ? mask + row0 * mask_stride : NULL, mask_stride, a, a_stride,
       params);
    for (size_t r = 0; pad != 0 && r < n; ++r) memset(a + r * a_stride + K * k.a_elem, 0, pad);
    k.gemm(n, N, kc, a, a_stride, params, packed, y + row0 * y_stride, y_stride, -INFINITY, INFINITY);
  }
}

}  // namespace eb
