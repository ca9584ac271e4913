// ukernels_isa.h: the optimized micro-kernels (one ISA per file, docs/kernel-naming.md) and their packed layouts.
//
// Every kernel here computes exactly what its reference twin computes (eb_qs8_gemm_ref, eb_qs8_conv_ref): int32
// accumulation wraps modulo 2^32 exactly as eb_add_wrap_s32 does, so any reordering of the sum and any constant
// folded into the bias gives the same bits, and requantization is docs/quantization.md (5) done lane by lane.
//
// Packed GEMM block (nr output columns, built at load by kernels/runtime/packing.cc):
//   int32 bias'[nr]   bias[n] - (zp_x + a_offset) * sum_k w[n, k]   (wrapping; 0 for padded columns)
//   int32 mult[nr]    Q31 multiplier of eq. (3)                      (2^30 for padded columns)
//   int32 left[nr]    max(e, 0)     the shifts of docs/quantization.md (5)
//   int32 right[nr]   max(-e, 0)
//   int32 rq_u[nr]    only for kernels with GemmKernel::header_arrays = 5 (the avx512vnni one): 1 when the
//                     column's bound |bias| + 255·Σ|w| on |acc| makes its unsigned-offset requantization exact
//                     (requant__avx512vnni.h eb_requantu_*; e <= 0), else 0
//   Kernels with GemmKernel::flags = 1 (the neondot 4x16c4 and i8mm ones, header_arrays = 5) get instead the
//   right shift negated in the fourth array (−right, the count of a rounding shift left) and int32 flags[nr]:
//   flags[0] holds the block's EB_GEMM_BLOCK_* bits, the rest 0.
//   weights [kc / kr][nr][kr], each w_elem bytes (int8, or int16 for kernels that multiply in 16 bits),
//   zero for k >= K and for padded columns.
// Rows of A are kc bytes long (K padded with anything: the padded weights are 0) and a_stride bytes apart.
//
// Packed depthwise block (cr channels): the same four int32 arrays of cr entries, then weights [taps][cr] of
// w_elem bytes (w_elem 4 = the int16 weight in the low half of an int32 lane, high half 0). Kernels that requantize
// with one 64-bit rounding shift (DwKernel::rq64, the avx512vnni one) get instead: bias'[cr], mult[cr], then
// int64 arrays of cr / 2 (even channels 2i, odd channels 2i + 1): mult_odd (mult[2i + 1]), K_even, K_odd, D_even,
// D_odd, s_even, s_odd (packing.cc pack_rq64 defines them; the kernel says why they are exact), int32 u_right[cr]
// (the right shift where the unsigned-offset requantization is exact for the channel, else −1), then the weights.
// Kernels with DwKernel::flags = 1 (the NEON one) get the four arrays with the right shift negated (−right, the
// count of a rounding shift left), then int32 flags[cr]: flags[0] holds the block's EB_DW_BLOCK_* bits, the rest 0.
//
// Packed sparse strip (nr output columns of a SPARSE_CONV2D / SPARSE_FULLY_CONNECTED, packing.cc): the four int32
// arrays of the GEMM block (bias' with the same −(zp_x + a_offset)·Σw), then int32 count and 15 int32 of padding,
// then count int32 pairs (tap, offset) padded to 64 bytes, then weights [count][nr × kr] of w_elem bytes in the
// kernel's own order. Entry b covers k = tap·C + offset + [0, kr) for every column of the strip: only the kr-wide
// column slices of the strip holding a non-zero weight are stored, so the work is proportional to them.
// The ARM kernels (SpmmKernel::grouped) read a grouped index instead: after the four arrays, int32 count, int32
// groups, int32 flags (bit 0: a weight of the strip is −128; bit 1: a column has a left shift, e > 0), 13 int32 of
// padding; then `groups` int32 pairs (tap, n): the next n >= 1 entries all read tap `tap`; then count int32 channel
// offsets, the whole index padded to 64 bytes; then the weights as above. A kernel loads a row's tap pointer once
// per group, not once per entry. A SPARSE_CONV2D of several taps is packed flat for them (OpPlan::flat_wp): one
// group (tap 0) whose offsets are byte offsets from a row's first tap in the padded input, called with taps = 1;
// the kernels do not tell the two apart.
// A pixel's taps are pointers: a[i·taps + t] = channel 0 of row i's tap t (or a row of zp_x in the padding).
#ifndef EDGEBUILD_UKERNELS_ISA_H_
#define EDGEBUILD_UKERNELS_ISA_H_

#include <stddef.h>
#include <stdint.h>

#include "edgebuild/ukernels.h"

#ifdef __cplusplus
extern "C" {
#endif

// Output requantization constants shared by a whole op: y = clamp(q, lo, hi) + zp, i.e. docs/quantization.md (6)
// with lo = act_min - zp_y, hi = act_max - zp_y (clamping before adding zp is the same and cannot overflow).
typedef struct eb_qs8_requant_params {
  int32_t output_zero_point;
  int32_t lo, hi;
} eb_qs8_requant_params;

// c[i, j] for i < mr <= MR, j < nc <= NR; reads rows a + i * a_stride for kc bytes. A kernel registered with
// GemmKernel::nc_any (the neondot one) also takes nc > NR: columns [NR·b, NR·b + NR) from the b-th of the packed
// blocks that follow w one after another (block_bytes apart: the header and kc·NR weights, a multiple of 64 bytes).
typedef void (*eb_qs8_gemm_ukernel_fn)(size_t mr, size_t nc, size_t kc, const int8_t* a, size_t a_stride, const void* w,
                                       int8_t* c, size_t c_stride, const eb_qs8_requant_params* rq);
// One output row of a depthwise conv (OC = C): for window row i, rows[i] points at pixel 0, channel 0 of the input
// row under it, or is NULL when that row lies in the padding; taps in the padding (NULL rows, and columns outside
// [0, in_width)) read `zero`, channels bytes (plus 64 of slack) of zp_x. Output pixel ow reads input columns
// ow·stride − pad_left + kw·dilation. Writes out_width × channels bytes; w: ceil(channels / CR) packed blocks.
typedef struct eb_qs8_dwconv_params {
  size_t channels, in_width, out_width;
  size_t kh, kw, stride, dilation, pad_left;
  const int8_t* zero;
  eb_qs8_requant_params rq;
} eb_qs8_dwconv_params;
typedef void (*eb_qs8_dwconv_ukernel_fn)(const eb_qs8_dwconv_params* p, const int8_t* const* rows, const void* w,
                                         int8_t* output);
// The reference twin (kernels/ukernels/qs8-dwconv/ref.cc): the same row, with the weights unpacked: weights [C, KH·KW]
// (CONV2D's [OC, KH, KW, 1]), bias [C] or NULL, multiplier and shift [C] (eq. 3), and zp_x, which the packed kernels
// fold into their bias'. Taps in the padding read p->zero (zp_x), i.e. add nothing.
void eb_qs8_dwconv_ref(const eb_qs8_dwconv_params* p, const int8_t* const* rows, const int8_t* weights,
                       const int32_t* bias, const int32_t* multiplier, const int32_t* shift, int32_t input_zero_point,
                       int8_t* output);

// Depthwise block flags (DwKernel::flags): no weight of the block is −128, so two int8 products sum exactly in int16;
// every valid channel of the block has e < 0 (left shift 0, right shift >= 1).
#define EB_DW_BLOCK_PAIRS 1
#define EB_DW_BLOCK_RSHIFT 2
// GEMM block flags (GemmKernel::flags), over the block's valid columns (the executor's nc always ends at N):
// RSHIFT: every one has e < 0 (left shift 0, right shift >= 1); LSHIFT: some one has e > 0.
#define EB_GEMM_BLOCK_RSHIFT 1
#define EB_GEMM_BLOCK_LSHIFT 2

// Output columns [*lo, *hi) of a depthwise row whose taps all lie in [0, in_width) (no padding check needed there);
// the columns before lo and from hi on have a tap in the left or right padding.
static inline void eb_dwconv_interior(const eb_qs8_dwconv_params* p, size_t* lo, size_t* hi) {
  const size_t span = (p->kw - 1) * p->dilation;
  size_t a = (p->pad_left + p->stride - 1) / p->stride, b = 0;
  if (p->in_width + p->pad_left >= span + 1) b = (p->in_width + p->pad_left - span - 1) / p->stride + 1;
  if (a > p->out_width) a = p->out_width;
  if (b > p->out_width) b = p->out_width;
  *lo = a;
  *hi = b < a ? a : b;
}

// c[i, j] for i < mr <= MR, j < nc <= NR of one sparse strip w.
typedef void (*eb_qs8_spmm_ukernel_fn)(size_t mr, size_t nc, const int8_t* const* a, size_t taps, const void* w,
                                       int8_t* c, size_t c_stride, const eb_qs8_requant_params* rq);

#define EB_DECLARE_SPMM(name)                                                                                     \
  void name(size_t mr, size_t nc, const int8_t* const* a, size_t taps, const void* w, int8_t* c, size_t c_stride, \
            const eb_qs8_requant_params* rq)
#define EB_DECLARE_GEMM(name)                                                                            \
  void name(size_t mr, size_t nc, size_t kc, const int8_t* a, size_t a_stride, const void* w, int8_t* c, \
            size_t c_stride, const eb_qs8_requant_params* rq)
#define EB_DECLARE_DWCONV(name) \
  void name(const eb_qs8_dwconv_params* p, const int8_t* const* rows, const void* w, int8_t* output)

// Elementwise and pooling kernels take a whole op, with the reference kernel's signature (no tile: the channel or
// element loop is inside); each equals its eb_qs8_<op>_ref twin bit for bit.
#define EB_DECLARE_VADD(name) \
  void name(const eb_qs8_vadd_params* params, size_t count, const int8_t* a, const int8_t* b, int8_t* output)
#define EB_DECLARE_MAXPOOL(name) void name(const eb_qs8_maxpool_params* params, const int8_t* input, int8_t* output)
#define EB_DECLARE_AVGPOOL(name) void name(const eb_qs8_avgpool_params* params, const int8_t* input, int8_t* output)
#define EB_DECLARE_QUANTIZE(name)                                                                                     \
  void name(size_t count, const float* input, int8_t* output, float inv_scale, int32_t zero_point);                   \
  void name##_to_nhwc(size_t batch, size_t channels, size_t height, size_t width, const float* input, int8_t* output, \
                      float inv_scale, int32_t zero_point)

// Float kernels (issue 19): the whole op with the eb_f32_<op>_ref signature, equal to it bit for bit
// (edgebuild/f32lanes.h); the __neon ones on aarch64 only (armv7 keeps the references).
#define EB_DECLARE_F32_SOFTMAX(name) void name(size_t rows, size_t cols, const float* input, float* output)
#define EB_DECLARE_F32_LAYERNORM(name)                                                                      \
  void name(size_t rows, size_t cols, const float* input, const float* gamma, const float* beta, float eps, \
            float* output)
#define EB_DECLARE_F32_UNARY(name)                                                                       \
  void name(int32_t func, size_t count, size_t channels, size_t slopes, const float* slope, float alpha, \
            const float* input, float* output)
EB_DECLARE_F32_SOFTMAX(eb_f32_softmax_ukernel__avx512vnni);
EB_DECLARE_F32_SOFTMAX(eb_f32_softmax_ukernel__avx2);
EB_DECLARE_F32_SOFTMAX(eb_f32_softmax_ukernel__neon);
EB_DECLARE_F32_LAYERNORM(eb_f32_layernorm_ukernel__avx512vnni);
EB_DECLARE_F32_LAYERNORM(eb_f32_layernorm_ukernel__avx2);
EB_DECLARE_F32_LAYERNORM(eb_f32_layernorm_ukernel__neon);
EB_DECLARE_F32_UNARY(eb_f32_unary_ukernel__avx512vnni);
EB_DECLARE_F32_UNARY(eb_f32_unary_ukernel__avx2);
EB_DECLARE_F32_UNARY(eb_f32_unary_ukernel__neon);
// Float matmuls (issue 19), bit-identical to eb_f32_bmm_ref / eb_f32_gemm_ref: the reference signature plus
// `scratch`, EB_F32_MM_SCRATCH_BYTES(k) bytes, 64-aligned (the runtime's per-thread scratch, sized by the op's plan):
// up to EB_F32_MM_SCRATCH_NC columns of B and EB_F32_MM_SCRATCH_MR rows of a, converted to double.
#define EB_F32_MM_SCRATCH_NC 64
#define EB_F32_MM_SCRATCH_MR 8
#define EB_F32_MM_SCRATCH_BYTES(k) ((size_t)(k) * (EB_F32_MM_SCRATCH_NC + EB_F32_MM_SCRATCH_MR) * sizeof(double))
#define EB_DECLARE_F32_BMM(name)                                                                                      \
  void name(size_t batch, size_t m, size_t n, size_t k, int transpose_b, float alpha, const float* a, const float* b, \
            float* output, void* scratch)
#define EB_DECLARE_F32_GEMM(name)                                                                      \
  void name(size_t m, size_t n, size_t k, const float* input, const float* weights, const float* bias, \
            float output_min, float output_max, float* output, void* scratch)
// The matrix core both call, one per ISA (f32-bmm/f32_bmm__<isa>.cc): y[i, j] = clamp(float((init_j + Σ_t a[i, t] ·
// B[t, j]) · alpha), lo, hi), the sum in double over t in order, init_j = bias[j] (0 when bias is NULL); B[t, j] =
// b[t·n + j], or b[j·k + t] with transpose_b; a [m, k], y [m, n] dense.
#define EB_DECLARE_F32_MATRIX(name)                                                                           \
  void name(size_t m, size_t n, size_t k, int transpose_b, const float* a, const float* b, const float* bias, \
            float alpha, float lo, float hi, float* y, void* scratch)

// int8 BATCH_MATMUL (eb_qs8_bmm_ref's twin variants): the reference signature plus `scratch`,
// EB_QS8_BMM_SCRATCH_BYTES(m, k) bytes, 64-aligned (a panel of b and a's rows, repacked per batch).
#define EB_QS8_BMM_KC(k) (((size_t)(k) + 15) & ~(size_t)15)  // k rounded up to 16 (the kernels pad it to 4 or 16)
#define EB_QS8_BMM_SCRATCH_BYTES(m, k) \
  (EB_QS8_BMM_KC(k) * 32 + (((size_t)(m)*EB_QS8_BMM_KC(k) + 63) & ~(size_t)63) + (size_t)(m)*4 + 64)
#define EB_DECLARE_QS8_BMM(name) \
  void name(const eb_qs8_bmm_params* params, const int8_t* a, const int8_t* b, int8_t* output, void* scratch)

// x86-64
EB_DECLARE_VADD(eb_qs8_vadd_minmax_ukernel__avx512vnni);
EB_DECLARE_MAXPOOL(eb_qs8_maxpool_minmax_ukernel__avx512vnni);
EB_DECLARE_AVGPOOL(eb_qs8_avgpool_minmax_ukernel__avx512vnni);
EB_DECLARE_QUANTIZE(eb_qs8_quantize_ukernel__avx512vnni);
EB_DECLARE_VADD(eb_qs8_vadd_minmax_ukernel__avx2);
EB_DECLARE_MAXPOOL(eb_qs8_maxpool_minmax_ukernel__avx2);
EB_DECLARE_AVGPOOL(eb_qs8_avgpool_minmax_ukernel__avx2);
EB_DECLARE_QUANTIZE(eb_qs8_quantize_ukernel__avx2);
EB_DECLARE_GEMM(eb_qs8_gemm_minmax_ukernel_8x32c4__avx512vnni);
EB_DECLARE_DWCONV(eb_qs8_dwconv_minmax_ukernel_4x16__avx512vnni);
EB_DECLARE_GEMM(eb_qs8_gemm_minmax_ukernel_4x4c8__avx2);
EB_DECLARE_SPMM(eb_qs8_spmm_minmax_ukernel_8x16c4__avx512vnni);
EB_DECLARE_SPMM(eb_qs8_spmm_minmax_ukernel_4x8c4__avx2);
EB_DECLARE_DWCONV(eb_qs8_dwconv_minmax_ukernel_4x8__avx2);
EB_DECLARE_F32_MATRIX(eb_f32_bmm_matrix__avx512vnni);
EB_DECLARE_F32_BMM(eb_f32_bmm_ukernel__avx512vnni);
EB_DECLARE_F32_GEMM(eb_f32_gemm_ukernel__avx512vnni);
EB_DECLARE_QS8_BMM(eb_qs8_bmm_ukernel__avx512vnni);
EB_DECLARE_F32_MATRIX(eb_f32_bmm_matrix__avx2);
EB_DECLARE_F32_BMM(eb_f32_bmm_ukernel__avx2);
EB_DECLARE_F32_GEMM(eb_f32_gemm_ukernel__avx2);
// ARM (armv7 and armv8)
EB_DECLARE_VADD(eb_qs8_vadd_minmax_ukernel__neon);
// The neon ADD's lookup table (eb_qs8_vadd_params.table, EB_QS8_VADD_TABLE_BYTES) for params: 1 when built (arm64 only)
// and equal to eb_qs8_vadd_requant_ref on all 256 × 256 input pairs, else 0 (the kernel then computes (7) in SIMD).
int eb_qs8_vadd_table_neon(const eb_qs8_vadd_params* params, uint8_t* table);
EB_DECLARE_MAXPOOL(eb_qs8_maxpool_minmax_ukernel__neon);
EB_DECLARE_AVGPOOL(eb_qs8_avgpool_minmax_ukernel__neon);
EB_DECLARE_QUANTIZE(eb_qs8_quantize_ukernel__neon);  // aarch64 only
EB_DECLARE_GEMM(eb_qs8_gemm_minmax_ukernel_2x8c8__neon);
EB_DECLARE_GEMM(eb_qs8_gemm_minmax_ukernel_2x8c16__neon);  // weights in [−127, 127] only
EB_DECLARE_GEMM(eb_qs8_gemm_minmax_ukernel_4x16__neon);
EB_DECLARE_GEMM(eb_qs8_gemm_minmax_rshift_ukernel_4x16__neon);  // exponents <= 0 only
EB_DECLARE_DWCONV(eb_qs8_dwconv_minmax_ukernel_2x16__neon);
EB_DECLARE_SPMM(eb_qs8_spmm_minmax_ukernel_4x16c4__neon);
// aarch64 only (armv7 NEON has no double lanes: the float matmuls keep the reference there)
EB_DECLARE_F32_MATRIX(eb_f32_bmm_matrix__neon);
EB_DECLARE_F32_BMM(eb_f32_bmm_ukernel__neon);
EB_DECLARE_F32_GEMM(eb_f32_gemm_ukernel__neon);
// armv8.2+
EB_DECLARE_QS8_BMM(eb_qs8_bmm_ukernel__neondot);  // aarch64 only
EB_DECLARE_GEMM(eb_qs8_gemm_minmax_ukernel_4x16c4__neondot);
EB_DECLARE_GEMM(eb_qs8_gemm_minmax_ukernel_4x8c4__neondot_a55);  // in-order cores (cpu.cc tuned_gemm_kernels)
EB_DECLARE_SPMM(eb_qs8_spmm_minmax_ukernel_6x16c4__neondot);
// armv8.6 I8MM (aarch64)
EB_DECLARE_GEMM(eb_qs8_gemm_minmax_ukernel_4x16c8__i8mm);

// ---- qd8: DYNAMIC_FULLY_CONNECTED (issue 19), docs/quantization.md (14) and (15); kernels/runtime/qd8_gemm.h ----
// A quantize variant computes (14) for m rows of x exactly as eb_qd8_quantize_ref and stores each row's k codes as
// q + a_offset in elements of a_elem bytes (the table entry's Qd8Kernel fields; the variant's file says which),
// rows q_stride bytes apart; it writes no byte past the row's k elements.
typedef void (*eb_qd8_quantize_ukernel_fn)(size_t m, size_t k, const float* x, size_t x_stride, void* q,
                                           size_t q_stride, eb_qd8_row_params* params);
// A GEMM variant computes (15) for mr <= MR rows of quantized A (a_stride bytes apart, kc elements each: K padded to
// the kernel's kr with anything, the padded weights are 0) and nc >= 1 columns, walking ceil(nc / NR) consecutive
// packed blocks (each eb_qd8_block_bytes(NR, kc, w_elem) long). Packed qd8 block (NR columns, qd8_gemm.cc):
//   int32 wsum[NR]     Σ_k w[n, k]                      (0 for padded columns)
//   float w_scale[NR]  s_w[n]                           (0 for padded columns)
//   float bias[NR]     b[n], or −0.0f without a bias    (x + (−0) == x for every float x, NaN and −0 included)
//   weights [kc / kr][NR][kr], w_elem bytes each, zero for k >= K and for padded columns.
typedef void (*eb_qd8_gemm_ukernel_fn)(size_t mr, size_t nc, size_t kc, const void* a, size_t a_stride,
                                       const eb_qd8_row_params* params, const void* w, float* c, size_t c_stride,
                                       float output_min, float output_max);
static inline size_t eb_qd8_block_bytes(size_t nr, size_t kc, size_t w_elem) {
  return (12 * nr + kc * nr * w_elem + 63) / 64 * 64;
}
#define EB_DECLARE_QD8_QUANTIZE(name) \
  void name(size_t m, size_t k, const float* x, size_t x_stride, void* q, size_t q_stride, eb_qd8_row_params* params)
#define EB_DECLARE_QD8_GEMM(name)                                                                             \
  void name(size_t mr, size_t nc, size_t kc, const void* a, size_t a_stride, const eb_qd8_row_params* params, \
            const void* w, float* c, size_t c_stride, float output_min, float output_max)
// ATTENTION's scores -> quantized probabilities (eb_qd8_softmax_ref: mask add, SOFTMAX, (14)), stored as the quantize
// variant of the same ISA stores them (q + a_offset, a_elem bytes; nothing past a row's k elements); x is scratch.
typedef void (*eb_qd8_softmax_ukernel_fn)(size_t m, size_t k, float* x, size_t x_stride, const float* mask,
                                          size_t mask_stride, void* q, size_t q_stride, eb_qd8_row_params* params);
#define EB_DECLARE_QD8_SOFTMAX(name)                                                                       \
  void name(size_t m, size_t k, float* x, size_t x_stride, const float* mask, size_t mask_stride, void* q, \
            size_t q_stride, eb_qd8_row_params* params)
EB_DECLARE_QD8_SOFTMAX(eb_qd8_softmax_ukernel__avx512vnni);  // uint8 q + 128
EB_DECLARE_QD8_SOFTMAX(eb_qd8_softmax_ukernel__neon);        // int8 q; aarch64 only
// f32math.h eb_f32_softmax_exps on NEON lanes, out of line in f32_softmax__neon.cc (aarch64): the qd8 kernel calls it.
float eb_f32_softmax_exps__neon(size_t cols, const float* x, const float* mask, float* y, uint8_t* zero);
// A packb variant is eb_qd8_packb_ref for its GEMM's nr, kr and w_elem (the <NR>c<KR> of its name, int8 codes): b's n
// vectors (element t of vector j at b[j · stride_j + t · stride_t]) quantized by (16) into packed qd8 blocks.
typedef void (*eb_qd8_packb_ukernel_fn)(size_t n, size_t k, const float* b, size_t stride_j, size_t stride_t,
                                        float alpha, void* packed);
#define EB_DECLARE_QD8_PACKB(name) \
  void name(size_t n, size_t k, const float* b, size_t stride_j, size_t stride_t, float alpha, void* packed)
EB_DECLARE_QD8_PACKB(eb_qd8_packb_ukernel_x32c4__avx512vnni);
EB_DECLARE_QD8_PACKB(eb_qd8_packb_ukernel_x16c4__neondot);
// x86-64
EB_DECLARE_QD8_QUANTIZE(eb_qd8_quantize_ukernel__avx512vnni);  // uint8 q + 128
EB_DECLARE_QD8_QUANTIZE(eb_qd8_quantize_ukernel__avx2);        // int16 q
EB_DECLARE_QD8_GEMM(eb_qd8_gemm_minmax_ukernel_8x32c4__avx512vnni);
EB_DECLARE_QD8_GEMM(eb_qd8_gemm_minmax_ukernel_4x16c2__avx2);
// ARM: int8 q (a_offset 0)
EB_DECLARE_QD8_QUANTIZE(eb_qd8_quantize_ukernel__neon);  // armv7: the reference, row by row
EB_DECLARE_QD8_GEMM(eb_qd8_gemm_minmax_ukernel_2x8c8__neon);
EB_DECLARE_QD8_GEMM(eb_qd8_gemm_minmax_ukernel_4x16c4__neondot);

#ifdef __cplusplus
}  // extern "C"
#endif

#endif  // EDGEBUILD_UKERNELS_ISA_H_
