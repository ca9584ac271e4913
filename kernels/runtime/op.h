// op.h: the runtime side of one op: validate at load into its typed parameters, plan for the chosen ISA, run.
//
// Each op of the op table (edgebuild/optable.py) defines its OpImpl in kernels/runtime/ops/<op>.cc; the generated
// registration array kOpImpls (ops_generated.h) lists them by dense index (Op::index). The loader frames every op
// generically (check_op below: outputs, form, arity, tensor ids, the generated parameter decoder) and then calls the
// op's validate with an OpCheck, whose helpers word every per-op error the same way.
#ifndef EDGEBUILD_RUNTIME_OP_H_
#define EDGEBUILD_RUNTIME_OP_H_

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

namespace eb {

struct OpPlan;       // dispatch.h
struct PlanContext;  // packing.h

// "[8,3,3,2]" (or "[]" for rank 0), for messages.
struct DimsText {
  char text[96];
};
DimsText dims_text(const Tensor& t);
const char* dtype_text(uint8_t dtype);

// The window of CONV2D and DEPTHWISE_CONV2D (the first eight params of both, docs/artifact.md).
struct ConvGeometry {
  int32_t stride_h, stride_w, pad_top, pad_left, pad_bottom, pad_right, dilation_h, dilation_w;
};
template <typename Params>
ConvGeometry conv_geometry_of(const Params& p) {
  return ConvGeometry{p.stride_h,   p.stride_w,  p.pad_top,    p.pad_left,
                      p.pad_bottom, p.pad_right, p.dilation_h, p.dilation_w};
}

// The reference kernels' geometry (eb_qs8_conv_params, eb_f32_conv_params): NHWC shapes of x, w, y and the window.
template <typename Kernel>
void set_conv_geometry(Kernel* k, const Tensor& x, const Tensor& w, const Tensor& y, const ConvGeometry& g,
                       int32_t groups) {
  k->batch = x.dims[0];
  k->input_height = x.dims[1];
  k->input_width = x.dims[2];
  k->input_channels = x.dims[3];
  k->output_height = y.dims[1];
  k->output_width = y.dims[2];
  k->output_channels = y.dims[3];
  k->kernel_height = w.dims[1];
  k->kernel_width = w.dims[2];
  k->groups = groups;
  k->stride_height = g.stride_h;
  k->stride_width = g.stride_w;
  k->pad_top = g.pad_top;
  k->pad_left = g.pad_left;
  k->dilation_height = g.dilation_h;
  k->dilation_width = g.dilation_w;
}

// The op being validated and the helpers of its rules. Every failure is EB_ERR_FORMAT with the message
// "op 3 (CONV2D 'conv1'): ..." in the loader's error buffer. Tensors are named as "weight ('conv1.weight')".
class OpCheck {
 public:
  OpCheck(eb_model* model, uint32_t index, char* err, size_t err_len);

  eb_model* model() const { return m_; }
  const Op& op() const { return op_; }
  const OpParams& p() const { return op_.p; }
  uint32_t index() const { return index_; }
  // The op's float32 form (docs/artifact.md "Float fallback"; its output is float32).
  bool is_float() const { return op_.form == kFormFloat; }
  // The activation dtype of the op's form.
  uint8_t act_dtype() const { return is_float() ? EB_DTYPE_FLOAT32 : EB_DTYPE_INT8; }

  const Tensor& T(int32_t id) const { return m_->tensors[id]; }
  const char* tname(int32_t id) const { return m_->tensors[id].name; }
  int tlen(int32_t id) const { return (int)m_->tensors[id].name_len; }

  // "op <index> (<TYPE> '<name>'): " + message; returns EB_ERR_FORMAT.
  eb_status fail(const char* fmt, ...)
#if defined(__GNUC__)
      __attribute__((format(printf, 2, 3)))
#endif
      ;

  eb_status need_dtype(const char* role, int32_t id, uint8_t dtype);
  eb_status need_rank(const char* role, int32_t id, uint32_t rank);
  eb_status need_const(const char* role, int32_t id);
  eb_status need_same_dims(const char* role_a, int32_t a, const char* role_b, int32_t b);
  eb_status need_same_quant(const char* role_a, int32_t a, const char* role_b, int32_t b);
  // −128 <= act_min <= act_max <= 127 (docs/artifact.md, eq. 8).
  eb_status need_act(int32_t lo, int32_t hi);
  // Float activation bounds: lo <= hi, neither NaN.
  eb_status need_bounds(float lo, float hi);
  // A float32 constant vector of `count` entries (bias, gamma, beta); -1 (absent) is fine.
  eb_status need_f32_vector(const char* role, int32_t id, int32_t count);
  // A Q31 multiplier and exponent of docs/quantization.md (3): 2^30 <= m < 2^31, −31 <= e <= 30.
  eb_status need_multiplier(const char* what, uint32_t index, int32_t m, int32_t e);
  // Per-channel requantization (inputs 2, 3, 4 of CONV2D / FULLY_CONNECTED / SPARSE_*): bias (optional), mult,
  // shift, all int32 constants [channels], every multiplier valid.
  eb_status check_channel_params(int32_t channels);
  // A convolution's tensors and window (CONV2D, DEPTHWISE_CONV2D): x, w (constant), y of the form's dtype and
  // rank 4; strides and dilations >= 1, paddings >= 0.
  eb_status need_conv_window(int32_t x, int32_t w, int32_t y, const ConvGeometry& g);
  // y = [N, OH, OW, OC] from x = [N, H, W, C], w = [OC, KH, KW, *] and the window (docs/artifact.md CONV2D).
  eb_status need_conv_output(int32_t x, int32_t w, int32_t y, const ConvGeometry& g);
  // Block-CSR weights of SPARSE_CONV2D / SPARSE_FULLY_CONNECTED (inputs 1, 5, 6; docs/artifact.md) for an OC × K
  // matrix of br × bc blocks.
  eb_status check_block_csr(int32_t OC, int64_t K, int32_t br, int32_t bc);
  // QUANTIZE / DEQUANTIZE: same element count, or with `transpose` a 4-D NCHW <-> NHWC transpose.
  eb_status need_layout_change(int32_t x, int32_t y, int32_t transpose, bool nchw_to_nhwc);
  // PAD, SLICE: x and y of one dtype and rank >= 1; int8 keeps scale and zero point.
  eb_status need_mover(int32_t x, int32_t y);

  // Constant data, read in place (every constant is 64-aligned in a 16-aligned buffer, or in the decoded image).
  const int32_t* const_i32(int32_t id) const { return reinterpret_cast<const int32_t*>(m_->tensors[id].data); }
  const float* const_f32(int32_t id) const { return reinterpret_cast<const float*>(m_->tensors[id].data); }

 private:
  eb_model* m_;
  const Op& op_;
  uint32_t index_;
  char* err_;
  size_t err_len_;
};

// The runtime side of an op; one per op, defined in kernels/runtime/ops/<op>.cc and listed in kOpImpls.
struct OpImpl {
  // The op's own rules, after the generic ones (check_op) and the parameter decoding: dtypes, ranks, shapes,
  // parameter ranges, constants. After it passes, run cannot index outside a tensor or hit undefined arithmetic.
  eb_status (*validate)(OpCheck& check);
  // The optimized path on the selected ISA (never called on the reference ISA): packs weights into `plan` and
  // grows the scratch in ctx (packing.h). EB_ERR_NOMEM on allocation failure. NULL: the op runs as on the
  // reference ISA (its run may still pick per-ISA whole-op kernels through elem_kernels).
  eb_status (*plan)(eb_model* model, const Op& op, OpPlan& plan, PlanContext& ctx);
  // Runs the op on the arena; never fails (everything was validated at load).
  void (*run)(eb_model* model, const Op& op);
  // Optional: words a parameter error of the generated decoder the op's own way (NULL: check_op's generic words).
  eb_status (*param_error)(OpCheck& check, const ParamError& e);
  // Optional: when the op indexes a table with the int32 tensor `id` (EMBEDDING's ids), the table's tensor id
  // (valid ids are [0, dims[0]) of that table); else -1. eb_model_set_input_int32 checks the ids a caller sets.
  int32_t (*indexed_table)(const eb_model* model, const Op& op, int32_t id);
};

inline const OpImpl& impl_of(const Op& op) { return *kOpImpls[op.index]; }

// The generic rules of op `index` (one arena output, form, arity, optional inputs, tensor ids, parameter decoding
// into op.p), then the op's validate. On failure writes the message into err.
eb_status check_op(eb_model* model, uint32_t index, char* err, size_t err_len);

// The generic words of a decoder's refusal: "has 3 params, expected 2", "to_nhwc = 2, must be 0 or 1",
// "mode = 5 outside 0..1".
eb_status param_error_text(OpCheck& check, const ParamError& e);

// The opcodes this runtime knows, as "1..17, 40..43, 70..71" (from kOpInfo), for the unknown-opcode message.
void known_opcodes_text(char* buf, size_t len);

// The ops this runtime was built with, as "QUANTIZE, CONV2D, ..." (a lean runtime lacks some; ops_generated.h).
void built_ops_text(char* buf, size_t len);

// Typed access to a tensor's data.
template <typename T>
inline T* data_of(const eb_model* m, int32_t id) {
  return reinterpret_cast<T*>(m->tensors[id].data);
}
// An optional constant input (-1: absent).
template <typename T>
inline const T* data_or_null(const eb_model* m, int32_t id) {
  return id < 0 ? NULL : reinterpret_cast<const T*>(m->tensors[id].data);
}

}  // namespace eb

#endif  // EDGEBUILD_RUNTIME_OP_H_
