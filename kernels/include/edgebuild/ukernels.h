// ukernels.h: the micro-kernels the executor calls, one family per kernels/ukernels/<family>/ folder.
//
// Names follow docs/kernel-naming.md (eb_<dtype>_<op>[_<fusion>]_..._<isa>); the reference kernels end in _ref and
// are the executable form of the op table in docs/artifact.md. Kernels trust their arguments: the loader has checked
// every shape and parameter, so a kernel never reads or writes outside its tensors. Tensors are dense, C order, and
// 4-D activations are NHWC. Inputs and outputs may alias only where a kernel says so.
#ifndef EDGEBUILD_UKERNELS_H_
#define EDGEBUILD_UKERNELS_H_

#include <stddef.h>
#include <stdint.h>
#include "edgebuild/ops_enums.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---- qs8-quantize: float32 -> int8, docs/quantization.md (1) ----
void eb_qs8_quantize_ref(size_t count, const float* input, int8_t* output, float inv_scale, int32_t zero_point);
// Same, reading an NCHW tensor and writing its NHWC transpose.
void eb_qs8_quantize_to_nhwc_ref(size_t batch, size_t channels, size_t height, size_t width, const float* input,
                                 int8_t* output, float inv_scale, int32_t zero_point);

// ---- qs8-dequantize: int8 -> float32, docs/quantization.md (2) ----
void eb_qs8_dequantize_ref(size_t count, const int8_t* input, float* output, float scale, int32_t zero_point);
// Same, reading an NHWC tensor and writing its NCHW transpose.
void eb_qs8_dequantize_to_nchw_ref(size_t batch, size_t height, size_t width, size_t channels, const int8_t* input,
                                   float* output, float scale, int32_t zero_point);

// ---- qs8-conv: CONV2D (groups, depthwise, dilation), docs/quantization.md (6) ----
typedef struct eb_qs8_conv_params {
  int32_t batch, input_height, input_width, input_channels;
  int32_t output_height, output_width, output_channels;
  int32_t kernel_height, kernel_width, groups;
  int32_t stride_height, stride_width, pad_top, pad_left, dilation_height, dilation_width;
  int32_t input_zero_point, output_zero_point, output_min, output_max;
} eb_qs8_conv_params;
// weights [OC, KH, KW, C/G]; bias [OC] or NULL; multiplier, shift [OC] (eq. 3).
void eb_qs8_conv_ref(const eb_qs8_conv_params* params, const int8_t* input, const int8_t* weights, const int32_t* bias,
                     const int32_t* multiplier, const int32_t* shift, int8_t* output);

// ---- qs8-gemm: FULLY_CONNECTED, y[M, N] = x[M, K] · w[N, K]^T, docs/quantization.md (6) ----
typedef struct eb_qs8_gemm_params {
  size_t m, n, k;
  int32_t input_zero_point, output_zero_point, output_min, output_max;
} eb_qs8_gemm_params;
void eb_qs8_gemm_ref(const eb_qs8_gemm_params* params, const int8_t* input, const int8_t* weights, const int32_t* bias,
                     const int32_t* multiplier, const int32_t* shift, int8_t* output);

// ---- qs8-spmm: SPARSE_CONV2D / SPARSE_FULLY_CONNECTED (block-CSR weights, docs/artifact.md) ----
// The dense weight w[oc, k] (k over (kh, kw, c) as CONV2D's [OC, KH, KW, C]) is values[b, oc % BR, k − col[b]·BC]
// for the block b of block row oc / BR whose column col[b] covers k, and 0 where no block does. One group; a
// SPARSE_FULLY_CONNECTED is the 1×1 case with H = W = 1 and the batch = the rows of x.
typedef struct eb_qs8_spmm_params {
  eb_qs8_conv_params conv;  // groups = 1
  int32_t block_rows, block_cols;
} eb_qs8_spmm_params;
// values [S, BR, BC]; row_ptr [OC / BR + 1]; col_idx [S]; bias [OC] or NULL; multiplier, shift [OC] (eq. 3).
void eb_qs8_spmm_ref(const eb_qs8_spmm_params* params, const int8_t* input, const int8_t* values,
                     const int32_t* row_ptr, const int32_t* col_idx, const int32_t* bias, const int32_t* multiplier,
                     const int32_t* shift, int8_t* output);

// ---- qs8-vadd: elementwise ADD of two same-shape tensors, docs/quantization.md (7) ----
#define EB_QS8_VADD_TABLE_BYTES 1344  // eb_qs8_vadd_params.table (qs8-vadd/qs8_vadd_minmax__neon.cc lays it out)
typedef struct eb_qs8_vadd_params {
  int32_t a_zero_point, b_zero_point, output_zero_point;
  int32_t left_shift;
  int32_t a_multiplier, a_shift, b_multiplier, b_shift, output_multiplier, output_shift;
  int32_t output_min, output_max;
  // Optional, NULL when unset: EB_QS8_VADD_TABLE_BYTES from eb_qs8_vadd_table_neon (the arm64 NEON kernel's lookup
  // loop). Every other kernel, and the reference, ignores it.
  const uint8_t* table;
} eb_qs8_vadd_params;
// Output may alias an input exactly (elementwise).
void eb_qs8_vadd_ref(const eb_qs8_vadd_params* params, size_t count, const int8_t* a, const int8_t* b, int8_t* output);
// One element of (7): a' + b' (subtract = 0) or a' − b' (subtract = 1), requantized and clamped. The one int8 ADD / SUB
// requantization: eb_qs8_vadd_ref and eb_qs8_binary_ref both call it.
int8_t eb_qs8_vadd_requant_ref(const eb_qs8_vadd_params* params, int32_t a, int32_t b, int32_t subtract);

// ---- qs8-maxpool: MAX_POOL2D (PyTorch semantics, dilation, floor or ceil output size) ----
typedef struct eb_qs8_maxpool_params {
  int32_t batch, input_height, input_width, channels, output_height, output_width;
  int32_t kernel_height, kernel_width, stride_height, stride_width, pad_height, pad_width;
  int32_t dilation_height, dilation_width;
  int32_t output_min, output_max;
} eb_qs8_maxpool_params;
void eb_qs8_maxpool_ref(const eb_qs8_maxpool_params* params, const int8_t* input, int8_t* output);

// ---- qs8-avgpool: AVG_POOL2D (PyTorch semantics), docs/quantization.md (9) ----
typedef struct eb_qs8_avgpool_params {
  int32_t batch, input_height, input_width, channels, output_height, output_width;
  int32_t kernel_height, kernel_width, stride_height, stride_width, pad_height, pad_width;
  int32_t count_include_pad, zero_point;
  int32_t output_min, output_max;
} eb_qs8_avgpool_params;
void eb_qs8_avgpool_ref(const eb_qs8_avgpool_params* params, const int8_t* input, int8_t* output);

// ---- qs8-concat: one input of CONCAT, docs/quantization.md (10) ----
// Copies `outer` rows of `input_row` bytes into rows `output_stride` apart starting at output (already offset to
// this input's slot); multiplier 0 copies unchanged, otherwise requantizes with (10).
typedef struct eb_qs8_concat_params {
  size_t outer, input_row, output_stride;
  int32_t input_zero_point, output_zero_point, multiplier, shift;
} eb_qs8_concat_params;
void eb_qs8_concat_ref(const eb_qs8_concat_params* params, const int8_t* input, int8_t* output);

// ---- qs8-clamp: CLAMP ----
// Output may alias the input exactly.
void eb_qs8_clamp_ref(size_t count, const int8_t* input, int8_t* output, int32_t output_min, int32_t output_max);

// ---- xx-copy: RESHAPE (a byte copy; input and output may overlap) ----
void eb_xx_copy_ref(size_t num_bytes, const void* input, void* output);

// ---- xx-transpose: TRANSPOSE of any element size ----
// output.dims[j] = input_dims[perm[j]]; rank <= 6; element_size 1, 2, 4 or 8 (any other size works, bytewise).
void eb_xx_transpose_ref(size_t element_size, size_t rank, const int32_t* input_dims, const int32_t* perm,
                         const void* input, void* output);

// ---- qs8-bmm: BATCH_MATMUL of two int8 activations, docs/quantization.md (6), one multiplier ----
typedef struct eb_qs8_bmm_params {
  size_t batch, m, n, k;
  int transpose_b;  // b is [batch, N, K] instead of [batch, K, N]
  int32_t a_zero_point, b_zero_point, output_zero_point;
  int32_t multiplier, shift, output_min, output_max;
} eb_qs8_bmm_params;
void eb_qs8_bmm_ref(const eb_qs8_bmm_params* params, const int8_t* a, const int8_t* b, int8_t* output);

// ==== Float fallback (docs/artifact.md "Float fallback"): an op whose tensors are float32 runs these. ====
// Conventions of every f32 kernel: plain loops; sums of products accumulate in double and round once to float
// (closer to the exact result than any fp32 order, so the error against PyTorch is PyTorch's own summation error);
// activation bounds output_min/output_max are floats (−inf/+inf when there is none); transcendental functions come
// from edgebuild/f32math.h (plain IEEE arithmetic, so every target gives the same bits: no libm, no FMA).

// ---- f32-conv: CONV2D in float (NHWC, groups, dilation); weights [OC, KH, KW, C/G], bias [OC] or NULL ----
typedef struct eb_f32_conv_params {
  int32_t batch, input_height, input_width, input_channels;
  int32_t output_height, output_width, output_channels;
  int32_t kernel_height, kernel_width, groups;
  int32_t stride_height, stride_width, pad_top, pad_left, dilation_height, dilation_width;
  float output_min, output_max;
} eb_f32_conv_params;
void eb_f32_conv_ref(const eb_f32_conv_params* params, const float* input, const float* weights, const float* bias,
                     float* output);

// ---- f32-gemm: FULLY_CONNECTED in float, y[M, N] = x[M, K] · w[N, K]^T + bias[N] ----
void eb_f32_gemm_ref(size_t m, size_t n, size_t k, const float* input, const float* weights, const float* bias,
                     float output_min, float output_max, float* output);

// ---- qd8-quantize, qd8-gemm: DYNAMIC_FULLY_CONNECTED (issue 19), docs/quantization.md (14) and (15) ----
// The longest row (K) the dynamic ops accept: (15)'s int32 bound needs K · 255 · 127 < 2^31, and the reference path
// quantizes a row on the stack.
#define EB_QD8_MAX_K 16384
// One row's dynamic quantization: its scale s and zero point zp (14).
typedef struct eb_qd8_row_params {
  float scale;
  int32_t zero_point;
} eb_qd8_row_params;
// x [m, k] (row stride x_stride floats) -> q [m, k] (row stride k) and params[m], eq. (14).
void eb_qd8_quantize_ref(size_t m, size_t k, const float* x, size_t x_stride, int8_t* q, eb_qd8_row_params* params);
// DYNAMIC_BATCH_MATMUL's b: n vectors of k floats, element t of vector j at b[j · stride_j + t · stride_t],
// quantized symmetrically per vector into q [n, k] and scale[n] (docs/quantization.md (16)).
void eb_qd8_quantize_cols_ref(size_t n, size_t k, const float* b, size_t stride_j, size_t stride_t, int8_t* q,
                              float* scale);
// The same n vectors quantized by (16) and packed in one step as the qd8 GEMM's blocks of nr columns (ukernels_isa.h
// "qd8": k padded to a multiple of kr, w_elem-byte codes, wsum = Σ codes, w_scale = s_b · alpha, bias −0), into
// ceil(n / nr) · eb_qd8_block_bytes(nr, kc, w_elem) bytes at packed (qd8-packb/ref.cc).
void eb_qd8_packb_ref(size_t nr, size_t kr, size_t w_elem, size_t n, size_t k, const float* b, size_t stride_j,
                      size_t stride_t, float alpha, void* packed);
// y [m, n] (row stride y_stride) = clamp(float(q · w^T − zp · Σ_k w) · (s · w_scale) + bias), eq. (15).
// q [m, k] from eb_qd8_quantize_*; w [n, k] int8 (per-channel symmetric); w_scale [n]; bias [n] or NULL.
void eb_qd8_gemm_ref(size_t m, size_t n, size_t k, const int8_t* q, const eb_qd8_row_params* params, const int8_t* w,
                     const float* w_scale, const float* bias, float output_min, float output_max, float* y,
                     size_t y_stride);

// ---- qd8-softmax: ATTENTION's scores to quantized probabilities (issue 19), the unfused ops' steps ----
// For each of m rows of k scores (x, rows x_stride floats apart): v = x + mask (ADD float, bounds ±inf; mask NULL:
// none; its rows mask_stride floats apart, 0 = one row for every row), P = SOFTMAX float (v) (eb_f32_softmax_ref),
// then P quantized per row by (14) (eb_qd8_quantize_ref) into q (rows q_stride bytes apart) and params[m]. x is the
// kernel's scratch: overwritten.
void eb_qd8_softmax_ref(size_t m, size_t k, float* x, size_t x_stride, const float* mask, size_t mask_stride, int8_t* q,
                        size_t q_stride, eb_qd8_row_params* params);

// ---- f32-add: ADD of two same-shape float tensors (output may alias an input exactly) ----
void eb_f32_add_ref(size_t count, const float* a, const float* b, float output_min, float output_max, float* output);

// ---- f32-maxpool, f32-avgpool: MAX_POOL2D / AVG_POOL2D in float (NHWC, PyTorch semantics like the int8 ones) ----
typedef struct eb_f32_pool_params {
  int32_t batch, input_height, input_width, channels, output_height, output_width;
  int32_t kernel_height, kernel_width, stride_height, stride_width, pad_height, pad_width;
  int32_t dilation_height, dilation_width;  // max pool only
  int32_t count_include_pad;                // avg pool only
  float output_min, output_max;
} eb_f32_pool_params;
void eb_f32_maxpool_ref(const eb_f32_pool_params* params, const float* input, float* output);
void eb_f32_avgpool_ref(const eb_f32_pool_params* params, const float* input, float* output);

// ---- f32-clamp: CLAMP in float (output may alias the input exactly) ----
void eb_f32_clamp_ref(size_t count, const float* input, float* output, float output_min, float output_max);

// ---- f32-bmm: BATCH_MATMUL in float, y[b] = alpha · a[b] · (b[b] or b[b]^T) ----
// a [B, M, K]; b [B, K, N], or [B, N, K] when transpose_b.
void eb_f32_bmm_ref(size_t batch, size_t m, size_t n, size_t k, int transpose_b, float alpha, const float* a,
                    const float* b, float* output);

// ---- f32-softmax: SOFTMAX over the last axis, rows × cols ----
void eb_f32_softmax_ref(size_t rows, size_t cols, const float* input, float* output);

// ---- qs8-softmax: SOFTMAX over the last axis in int8, TFLite's reference kernel (docs/quantization.md (17)-(21)) ----
// y has scale 1/256 and zero point -128; input_mult, input_shift (0..31) and diff_min from (17). cols in
// [1, EB_QS8_SOFTMAX_MAX_COLS] (the row's sum of exponentials stays below 2^31).
#define EB_QS8_SOFTMAX_MAX_COLS 4095
void eb_qs8_softmax_ref(size_t rows, size_t cols, const int8_t* input, int8_t* output, int32_t input_mult,
                        int32_t input_shift, int32_t diff_min);

// ---- f32-layernorm: LAYER_NORM over the last axis; gamma, beta [cols] or NULL ----
void eb_f32_layernorm_ref(size_t rows, size_t cols, const float* input, const float* gamma, const float* beta,
                          float eps, float* output);

// ---- f32-embedding: EMBEDDING, y[i, :] = table[ids[i], :]; an id outside [0, rows) gives a zero row ----
void eb_f32_embedding_ref(size_t count, size_t rows, size_t dim, const float* table, const int32_t* ids, float* output);

// ---- issue 8 (CNN ops): UNARY, ADD/SUB/MUL with broadcasting, PAD, SLICE, RESIZE; int8 and float32 ----

// UNARY functions (docs/artifact.md, op 12). int8 runs a 256-entry table per channel built at build time; float32
// runs the formula.
// (EB_UNARY_* come from the op table: edgebuild/ops_enums.h.)
// qs8-lut: y[i] = table[c·256 + x[i] + 128], c = 0 when tables == 1, else i % channels (channels = last dim).
// Output may alias the input exactly.
void eb_qs8_lut_ref(size_t count, size_t channels, size_t tables, const int8_t* table, const int8_t* input,
                    int8_t* output);
// f32-unary: y = f(x); alpha is leaky_relu's slope; PRELU reads slope[c] (slopes == 1 or == channels).
void eb_f32_unary_ref(int32_t func, size_t count, size_t channels, size_t slopes, const float* slope, float alpha,
                      const float* input, float* output);

// qs8-binary / f32-binary: ADD, SUB, MUL of a and b broadcast to the output (same rank <= 6, each dim of a and b
// equal to the output's or 1).
enum { EB_BINARY_ADD = 0, EB_BINARY_SUB = 1, EB_BINARY_MUL = 2 };
typedef struct eb_qs8_binary_params {
  int32_t op;
  int32_t a_zero_point, b_zero_point, output_zero_point;
  int32_t left_shift;  // ADD, SUB: docs/quantization.md (7)
  int32_t a_multiplier, a_shift, b_multiplier, b_shift;
  int32_t output_multiplier, output_shift;  // all ops; MUL: eq. (12)
  int32_t output_min, output_max;
} eb_qs8_binary_params;
void eb_qs8_binary_ref(const eb_qs8_binary_params* params, size_t rank, const int32_t* a_dims, const int32_t* b_dims,
                       const int32_t* output_dims, const int8_t* a, const int8_t* b, int8_t* output);
void eb_f32_binary_ref(int32_t op, size_t rank, const int32_t* a_dims, const int32_t* b_dims,
                       const int32_t* output_dims, const float* a, const float* b, float output_min, float output_max,
                       float* output);

// xx-pad: constant PAD (rank 1..6); output_dims[k] = input_dims[k] + pad_before[k] + pad_after[k]; value is one
// element. Input and output must not overlap.
void eb_xx_pad_ref(size_t element_size, size_t rank, const int32_t* input_dims, const int32_t* pad_before,
                   const int32_t* output_dims, const void* value, const void* input, void* output);
// xx-slice: y[i] = x[start + i·step] per dim (step >= 1).
void eb_xx_slice_ref(size_t element_size, size_t rank, const int32_t* input_dims, const int32_t* start,
                     const int32_t* step, const int32_t* output_dims, const void* input, void* output);

// qs8-resize / f32-resize: RESIZE of NHWC [N, IH, IW, C] to [N, OH, OW, C] from per-row and per-column tables
// (i0, i1, weight of i1): int32 with the weight in Q16 for int8, float32 for float32 (docs/artifact.md, op 17).
void eb_qs8_resize_ref(size_t batch, size_t input_height, size_t input_width, size_t channels, size_t output_height,
                       size_t output_width, const int32_t* htab, const int32_t* wtab, const int8_t* input,
                       int8_t* output);
void eb_f32_resize_ref(size_t batch, size_t input_height, size_t input_width, size_t channels, size_t output_height,
                       size_t output_width, const float* htab, const float* wtab, const float* input, float* output);

// ---- issue 16, conv (h-conv): TRANSPOSE_CONV2D, GRID_SAMPLE ----
// qs8-deconv / f32-deconv: TRANSPOSE_CONV2D gathered per output (NHWC, groups, dilation): input row ih feeds output
// row oh = ih·stride − pad_top + kh·dilation (PyTorch's conv_transpose2d); weights [OC, KH, KW, C/G], bias [OC] or
// NULL, per-channel multiplier and shift (int8). The geometry structs are CONV2D's (pad_top/pad_left = padding).
// The input index a transposed conv's output index o gathers from for tap k (one axis): i with i·stride = o + pad −
// k·dilation, or −1 when no input row (or column) lands there. Shared by both deconv references.
static inline int64_t eb_deconv_source(int64_t o, int64_t pad, int64_t k, int64_t dilation, int64_t stride,
                                       int64_t size) {
  const int64_t t = o + pad - k * dilation;
  if (t < 0 || t % stride != 0) return -1;
  const int64_t i = t / stride;
  return i < size ? i : -1;
}
void eb_qs8_deconv_ref(const eb_qs8_conv_params* params, const int8_t* input, const int8_t* weights,
                       const int32_t* bias, const int32_t* multiplier, const int32_t* shift, int8_t* output);
void eb_f32_deconv_ref(const eb_f32_conv_params* params, const float* input, const float* weights, const float* bias,
                       float* output);
// f32-gridsample: GRID_SAMPLE of NHWC [N, H, W, C] at grid [N, OH, OW, 2] (x, y in [-1, 1]) into [N, OH, OW, C];
// mode 0 bilinear / 1 nearest, padding 0 zeros / 1 border / 2 reflection (EB_GRID_SAMPLE_*).
void eb_f32_gridsample_ref(size_t batch, int32_t input_height, int32_t input_width, size_t channels,
                           size_t output_height, size_t output_width, int32_t mode, int32_t padding,
                           int32_t align_corners, const float* input, const float* grid, float* output);
// ---- end issue 16, conv ----
// ---- issue 16, elementwise ----
// xx-elementwise: ELEMENTWISE's function (EB_BINARY_FUNC_*, ops_enums.h) of a and b broadcast to the output (same
// rank <= 6, each dim of a and b equal to the output's or 1); a and b both float32 (is_int 0) or both int32; the
// output is int32 0/1 for EQ..LOGICAL_XOR, else the inputs' dtype (xx-elementwise/ref.cc: torch's semantics).
void eb_xx_elementwise_ref(int32_t func, int is_int, size_t rank, const int32_t* a_dims, const int32_t* b_dims,
                           const int32_t* out_dims, const void* a, const void* b, void* output);
// xx-where: y = cond != 0 ? a : b, each broadcast to the output (same rank <= 6); a, b, y of one element size.
void eb_xx_where_ref(size_t element_size, size_t rank, const int32_t* cond_dims, const int32_t* a_dims,
                     const int32_t* b_dims, const int32_t* out_dims, const int32_t* cond, const void* a, const void* b,
                     void* output);
// xx-cast: float32 <-> int32 (float -> int truncates, saturates, NaN -> 0), or to_bool: y = x != 0 (0/1).
void eb_xx_cast_ref(size_t count, int from_int, int to_int, int to_bool, const void* input, void* output);
// ---- end elementwise ----
// --- issue 16, indexing (GATHER, GATHER_ELEMENTS, SCATTER_ELEMENTS, BROADCAST_TO, TOPK) ---
// Run-time indices i of an axis of n: [0, n) as is, [-n, 0) from the end; any other index reads zeros (gathers)
// or is skipped (scatter): never an access outside a tensor.
// xx-gather: x as [outer, axis_size, inner] -> y [outer, count, inner], y[o, j, :] = x[o, indices[j], :].
void eb_xx_gather_ref(size_t element_size, size_t outer, size_t axis_size, size_t inner, size_t count,
                      const int32_t* indices, const void* input, void* output);
// xx-gather: torch.gather over rank <= 6 (y and indices have index_dims).
void eb_xx_gather_elements_ref(size_t element_size, size_t rank, const int32_t* input_dims, const int32_t* index_dims,
                               size_t axis, const int32_t* indices, const void* input, void* output);
// xx-gather: y = x broadcast to output_dims (same rank <= 6; each input dim 1 or the output's).
void eb_xx_gather_broadcast_ref(size_t element_size, size_t rank, const int32_t* input_dims, const int32_t* output_dims,
                                const void* input, void* output);
// xx-scatter: y = x with src combined in at indices along axis (dtype EB_DTYPE_*, reduce EB_SCATTER_REDUCE_*).
void eb_xx_scatter_ref(int dtype, size_t rank, const int32_t* input_dims, const int32_t* index_dims,
                       const int32_t* src_dims, size_t axis, int reduce, int include_self, const int32_t* indices,
                       const void* src, const void* input, void* output);
// xx-topk: x as [outer, n, inner] -> the k first along n ([outer, k, inner]) by value, ties by lower index; writes
// values (x's dtype) when values != NULL, int32 indices when indices != NULL.
void eb_xx_topk_ref(int dtype, size_t outer, size_t n, size_t inner, size_t k, int largest, const void* input,
                    void* values, int32_t* indices);
// --- end indexing ---
// ---- issue 16, reductions: REDUCE and CUMSUM (xx-reduce) ----
// REDUCE of x [dims] over the axes whose bit is set in `axes` (bit k: axis k; rank <= 6); y holds the kept dims in
// order (row-major), whether or not the reduced dims are kept as 1. Reduced elements are visited in row-major
// order of the reduced axes; ARGMAX/ARGMIN give the position in that order (first index on ties). func is
// EB_REDUCE_FUNC_* (edgebuild/ops_enums.h).
// f32: sums, means, products, variances accumulate in double and round once; MAX/MIN/ARGMAX/ARGMIN treat NaN as
// the extreme (torch); ANY/ALL test x != 0. ARGMAX/ARGMIN/ANY/ALL write int32, the others float.
void eb_xx_reduce_ref(int32_t func, size_t rank, const int32_t* dims, uint32_t axes, float correction,
                      const float* input, void* output);
// s32: SUM and PROD wrap modulo 2^32; MAX, MIN, PROD, ANY, ALL, ARGMAX, ARGMIN; output int32.
void eb_xx_reduce_s32_ref(int32_t func, size_t rank, const int32_t* dims, uint32_t axes, const int32_t* input,
                          int32_t* output);
// s8 codes (one scale and zero point): MAX and MIN write int8 codes, ARGMAX and ARGMIN int32 positions.
void eb_xx_reduce_s8_ref(int32_t func, size_t rank, const int32_t* dims, uint32_t axes, const int8_t* input,
                         void* output);
// CUMSUM over the middle axis of [outer, n, inner]: f32 keeps the running sum in double and rounds each output
// once; s32 wraps modulo 2^32. Input and output must not overlap.
void eb_xx_reduce_cumsum_ref(size_t outer, size_t n, size_t inner, const float* input, float* output);
void eb_xx_reduce_cumsum_s32_ref(size_t outer, size_t n, size_t inner, const int32_t* input, int32_t* output);
// ---- end reductions ----

#ifdef __cplusplus
}  // extern "C"
#endif

#endif  // EDGEBUILD_UKERNELS_H_
