// op_check.cc: the generic rules every op record obeys (docs/artifact.md "Ops") and the helpers of the per-op rules.
//
// check_op frames an op from the op table alone: one arena output, the form its output dtype selects, arity,
// optional inputs, tensor ids, then the generated decoder fills the typed parameters (Op::p) and range-checks bool
// and enum parameters. The op's own validate (kernels/runtime/ops/<op>.cc) follows, through OpCheck's helpers.
// Every size arithmetic is done in int64 or uint64, as if the CRC had passed (fuzzers skip it).
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "op.h"

namespace eb {

DimsText dims_text(const Tensor& t) {
  DimsText d;
  size_t n = 0;
  d.text[n++] = '[';
  for (uint32_t i = 0; i < t.rank; ++i)
    n += (size_t)snprintf(d.text + n, sizeof d.text - n, i ? ",%d" : "%d", (int)t.dims[i]);
  snprintf(d.text + n, sizeof d.text - n, "]");
  return d;
}

const char* dtype_text(uint8_t dtype) { return eb_dtype_name((eb_dtype)dtype); }

OpCheck::OpCheck(eb_model* model, uint32_t index, char* err, size_t err_len)
    : m_(model), op_(model->ops[index]), index_(index), err_(err), err_len_(err_len) {}

eb_status OpCheck::fail(const char* fmt, ...) {
  if (err_ != NULL && err_len_ > 0) {
    const char* type = opcode_name(op_.opcode);
    int n = snprintf(err_, err_len_, "op %u (%s '%.*s'): ", index_, type ? type : "?", (int)op_.name_len, op_.name);
    if (n >= 0 && (size_t)n < err_len_) {
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(err_ + n, err_len_ - (size_t)n, fmt, ap);
      va_end(ap);
    }
  }
  return EB_ERR_FORMAT;
}

eb_status OpCheck::need_dtype(const char* role, int32_t id, uint8_t dtype) {
  if (T(id).dtype != dtype)
    return fail("%s ('%.*s') is %s, expected %s", role, tlen(id), tname(id), dtype_text(T(id).dtype),
                dtype_text(dtype));
  return EB_OK;
}

eb_status OpCheck::need_rank(const char* role, int32_t id, uint32_t rank) {
  if (T(id).rank != rank)
    return fail("%s ('%.*s') has rank %u %s, expected rank %u", role, tlen(id), tname(id), T(id).rank,
                dims_text(T(id)).text, rank);
  return EB_OK;
}

eb_status OpCheck::need_const(const char* role, int32_t id) {
  if (T(id).storage != kStorageConstant)
    return fail("%s ('%.*s') must be a constant tensor", role, tlen(id), tname(id));
  return EB_OK;
}

eb_status OpCheck::need_same_dims(const char* role_a, int32_t a, const char* role_b, int32_t b) {
  const Tensor &ta = T(a), &tb = T(b);
  bool same = ta.rank == tb.rank;
  for (uint32_t d = 0; same && d < ta.rank; ++d) same = ta.dims[d] == tb.dims[d];
  if (!same)
    return fail("%s ('%.*s') dims %s differ from %s ('%.*s') dims %s", role_a, tlen(a), tname(a), dims_text(ta).text,
                role_b, tlen(b), tname(b), dims_text(tb).text);
  return EB_OK;
}

eb_status OpCheck::need_same_quant(const char* role_a, int32_t a, const char* role_b, int32_t b) {
  if (T(a).scale != T(b).scale || T(a).zero_point != T(b).zero_point)
    return fail("%s ('%.*s') scale %g zero_point %d differ from %s ('%.*s') scale %g zero_point %d", role_a, tlen(a),
                tname(a), (double)T(a).scale, (int)T(a).zero_point, role_b, tlen(b), tname(b), (double)T(b).scale,
                (int)T(b).zero_point);
  return EB_OK;
}

eb_status OpCheck::need_act(int32_t lo, int32_t hi) {
  if (lo < -128 || hi > 127 || lo > hi)
    return fail("activation range [%d, %d] is not within -128 <= act_min <= act_max <= 127", (int)lo, (int)hi);
  return EB_OK;
}

eb_status OpCheck::need_bounds(float lo, float hi) {
  if (!(lo <= hi))  // also false for a NaN
    return fail("float bounds [%g, %g] must satisfy lo <= hi (no NaN)", (double)lo, (double)hi);
  return EB_OK;
}

eb_status OpCheck::need_f32_vector(const char* role, int32_t id, int32_t count) {
  if (id == -1) return EB_OK;
  eb_status s;
  if ((s = need_dtype(role, id, EB_DTYPE_FLOAT32)) != EB_OK) return s;
  if ((s = need_const(role, id)) != EB_OK) return s;
  if ((s = need_rank(role, id, 1)) != EB_OK) return s;
  if (T(id).dims[0] != count)
    return fail("%s ('%.*s') has %d entries, expected %d", role, tlen(id), tname(id), (int)T(id).dims[0], (int)count);
  return EB_OK;
}

eb_status OpCheck::need_multiplier(const char* what, uint32_t index, int32_t m, int32_t e) {
  if (m < (1 << 30))
    return fail("%s[%u] multiplier %d outside [2^30, 2^31) (docs/quantization.md (3))", what, index, (int)m);
  if (e < -31 || e > 30)
    return fail("%s[%u] shift %d outside [-31, 30] (docs/quantization.md (3))", what, index, (int)e);
  return EB_OK;
}

eb_status OpCheck::check_channel_params(int32_t channels) {
  eb_status s;
  const char* roles[3] = {"bias", "mult", "shift"};
  for (uint32_t k = 2; k < 5; ++k) {
    const int32_t id = op_.inputs[k];
    if (id == -1) continue;  // only the bias may be absent (the op table's optional inputs, checked in check_op)
    const char* role = roles[k - 2];
    if ((s = need_dtype(role, id, EB_DTYPE_INT32)) != EB_OK) return s;
    if ((s = need_const(role, id)) != EB_OK) return s;
    if ((s = need_rank(role, id, 1)) != EB_OK) return s;
    if (T(id).dims[0] != channels)
      return fail("%s ('%.*s') has %d entries, expected %d output channels", role, tlen(id), tname(id),
                  (int)T(id).dims[0], (int)channels);
  }
  const int32_t* mult = const_i32(op_.inputs[3]);
  const int32_t* shift = const_i32(op_.inputs[4]);
  for (int32_t c = 0; c < channels; ++c)
    if ((s = need_multiplier("channel", (uint32_t)c, mult[c], shift[c])) != EB_OK) return s;
  return EB_OK;
}

// values [S, BR, BC] int8, row_ptr [OC/BR + 1] int32 from 0 to S and non-decreasing, col_idx [S] int32 in
// [0, K/BC) and strictly increasing within a block row. Kernels index with these, so every rule is checked here.
eb_status OpCheck::need_conv_window(int32_t x, int32_t w, int32_t y, const ConvGeometry& g) {
  eb_status s;
  if ((s = need_dtype("input", x, act_dtype())) != EB_OK) return s;
  if ((s = need_rank("input", x, 4)) != EB_OK) return s;
  if ((s = need_dtype("weight", w, act_dtype())) != EB_OK) return s;
  if ((s = need_const("weight", w)) != EB_OK) return s;
  if ((s = need_rank("weight", w, 4)) != EB_OK) return s;
  if ((s = need_dtype("output", y, act_dtype())) != EB_OK) return s;
  if ((s = need_rank("output", y, 4)) != EB_OK) return s;
  if (g.stride_h < 1 || g.stride_w < 1) return fail("strides (%d, %d) must be >= 1", (int)g.stride_h, (int)g.stride_w);
  if (g.dilation_h < 1 || g.dilation_w < 1)
    return fail("dilations (%d, %d) must be >= 1", (int)g.dilation_h, (int)g.dilation_w);
  if (g.pad_top < 0 || g.pad_left < 0 || g.pad_bottom < 0 || g.pad_right < 0)
    return fail("paddings (top %d, left %d, bottom %d, right %d) must be >= 0", (int)g.pad_top, (int)g.pad_left,
                (int)g.pad_bottom, (int)g.pad_right);
  return EB_OK;
}

eb_status OpCheck::need_conv_output(int32_t x, int32_t w, int32_t y, const ConvGeometry& g) {
  const int32_t* xd = T(x).dims;
  const int32_t* wd = T(w).dims;
  const int32_t* yd = T(y).dims;
  const int32_t OC = wd[0];
  if (yd[0] != xd[0] || yd[3] != OC)
    return fail("output dims %s do not match batch %d and %d output channels", dims_text(T(y)).text, (int)xd[0],
                (int)OC);
  // OH = (H + pt + pb − dh·(KH−1) − 1) / sh + 1, in int64 (every term is an int32).
  const int64_t num_h = (int64_t)xd[1] + g.pad_top + g.pad_bottom - (int64_t)g.dilation_h * (wd[1] - 1) - 1;
  const int64_t num_w = (int64_t)xd[2] + g.pad_left + g.pad_right - (int64_t)g.dilation_w * (wd[2] - 1) - 1;
  if (num_h < 0 || num_w < 0)
    return fail("dilated kernel %dx%d (dilation %d, %d) is larger than the padded input %s", (int)wd[1], (int)wd[2],
                (int)g.dilation_h, (int)g.dilation_w, dims_text(T(x)).text);
  const int64_t oh = num_h / g.stride_h + 1, ow = num_w / g.stride_w + 1;
  if (yd[1] != oh || yd[2] != ow)
    return fail(
        "output dims %s but input %s, kernel %dx%d, stride (%d,%d), padding (%d,%d,%d,%d), "
        "dilation (%d,%d) give %lldx%lld",
        dims_text(T(y)).text, dims_text(T(x)).text, (int)wd[1], (int)wd[2], (int)g.stride_h, (int)g.stride_w,
        (int)g.pad_top, (int)g.pad_left, (int)g.pad_bottom, (int)g.pad_right, (int)g.dilation_h, (int)g.dilation_w,
        (long long)oh, (long long)ow);
  return EB_OK;
}

eb_status OpCheck::check_block_csr(int32_t OC, int64_t K, int32_t br, int32_t bc) {
  const int32_t v = op_.inputs[1], rp = op_.inputs[5], ci = op_.inputs[6];
  eb_status s;
  if (br < 1 || bc < 1 || br > 64 || bc > 64)
    return fail("block %dx%d: block rows and columns must be in 1..64", (int)br, (int)bc);
  if (OC % br != 0 || K % bc != 0)
    return fail("block %dx%d does not tile the %d x %lld weight matrix", (int)br, (int)bc, (int)OC, (long long)K);
  if ((s = need_dtype("values", v, EB_DTYPE_INT8)) != EB_OK) return s;
  if ((s = need_const("values", v)) != EB_OK) return s;
  if ((s = need_rank("values", v, 3)) != EB_OK) return s;
  if (T(v).dims[1] != br || T(v).dims[2] != bc)
    return fail("values ('%.*s') dims %s, expected [S, %d, %d]", tlen(v), tname(v), dims_text(T(v)).text, (int)br,
                (int)bc);
  const char* roles[2] = {"row_ptr", "col_idx"};
  const int32_t ids[2] = {rp, ci};
  for (int r = 0; r < 2; ++r) {
    if ((s = need_dtype(roles[r], ids[r], EB_DTYPE_INT32)) != EB_OK) return s;
    if ((s = need_const(roles[r], ids[r])) != EB_OK) return s;
    if ((s = need_rank(roles[r], ids[r], 1)) != EB_OK) return s;
  }
  const int32_t rows = OC / br, stored = T(v).dims[0];
  if (T(rp).dims[0] != rows + 1)
    return fail("row_ptr ('%.*s') has %d entries, expected %d block rows + 1", tlen(rp), tname(rp), (int)T(rp).dims[0],
                (int)rows);
  if (T(ci).dims[0] != stored)
    return fail("col_idx ('%.*s') has %d entries, expected %d (the blocks in values)", tlen(ci), tname(ci),
                (int)T(ci).dims[0], (int)stored);
  const int32_t* row_ptr = const_i32(rp);
  const int32_t* col = const_i32(ci);
  if (row_ptr[0] != 0) return fail("row_ptr[0] = %d, must be 0", (int)row_ptr[0]);
  if (row_ptr[rows] != stored)
    return fail("row_ptr[%d] = %d, must equal the %d stored blocks", (int)rows, (int)row_ptr[rows], (int)stored);
  const int64_t cols = K / bc;
  // Monotone first: with row_ptr[0] = 0 and row_ptr[rows] = S, every range below then lies inside col_idx.
  for (int32_t r = 0; r < rows; ++r)
    if (row_ptr[r + 1] < row_ptr[r])
      return fail("row_ptr decreases at block row %d (%d -> %d)", (int)r, (int)row_ptr[r], (int)row_ptr[r + 1]);
  for (int32_t r = 0; r < rows; ++r) {
    for (int32_t b = row_ptr[r]; b < row_ptr[r + 1]; ++b) {
      if (col[b] < 0 || col[b] >= cols)
        return fail("col_idx[%d] = %d outside 0..%lld (block row %d)", (int)b, (int)col[b], (long long)cols - 1,
                    (int)r);
      if (b > row_ptr[r] && col[b] <= col[b - 1])
        return fail("col_idx not strictly increasing in block row %d (%d after %d)", (int)r, (int)col[b],
                    (int)col[b - 1]);
    }
  }
  return EB_OK;
}

eb_status OpCheck::need_layout_change(int32_t x, int32_t y, int32_t transpose, bool nchw_to_nhwc) {
  if (!transpose) {
    if (T(x).num_elements != T(y).num_elements)
      return fail("input dims %s and output dims %s hold different element counts", dims_text(T(x)).text,
                  dims_text(T(y)).text);
    return EB_OK;
  }
  eb_status s;
  if ((s = need_rank("input", x, 4)) != EB_OK) return s;
  if ((s = need_rank("output", y, 4)) != EB_OK) return s;
  const int32_t* a = T(x).dims;
  const int32_t* b = T(y).dims;
  // NCHW [N,C,H,W] -> NHWC [N,H,W,C] is y = (a0, a2, a3, a1); the reverse is y = (a0, a3, a1, a2).
  const bool ok = nchw_to_nhwc ? (b[0] == a[0] && b[1] == a[2] && b[2] == a[3] && b[3] == a[1])
                               : (b[0] == a[0] && b[1] == a[3] && b[2] == a[1] && b[3] == a[2]);
  if (!ok)
    return fail("output dims %s are not the %s transpose of input dims %s", dims_text(T(y)).text,
                nchw_to_nhwc ? "NCHW->NHWC" : "NHWC->NCHW", dims_text(T(x)).text);
  return EB_OK;
}

eb_status OpCheck::need_mover(int32_t x, int32_t y) {
  eb_status s;
  if ((s = need_dtype("output", y, T(x).dtype)) != EB_OK) return s;
  if ((s = need_rank("output", y, T(x).rank)) != EB_OK) return s;
  if (T(x).rank < 1) return fail("input ('%.*s') has rank 0, expected rank >= 1", tlen(x), tname(x));
  if (T(x).dtype == EB_DTYPE_INT8) return need_same_quant("output", y, "input", x);
  return EB_OK;
}

eb_status param_error_text(OpCheck& c, const ParamError& e) {
  if (e.field == NULL) return c.fail("has %u params, expected %u", e.got, e.expected);
  if (e.lo == 0 && e.hi == 1) return c.fail("%s = %lld, must be 0 or 1", e.field, (long long)e.value);
  return c.fail("%s = %lld outside %lld..%lld", e.field, (long long)e.value, (long long)e.lo, (long long)e.hi);
}

eb_status check_op(eb_model* m, uint32_t index, char* err, size_t err_len) {
  Op& op = m->ops[index];
  OpCheck c(m, index, err, err_len);
  if (op.num_outputs != 1) return c.fail("has %u outputs, expected 1", op.num_outputs);
  const int32_t out = op.outputs[0];
  if (out < 0 || (uint32_t)out >= m->num_tensors)
    return c.fail("output 0: tensor id %d outside 0..%u", (int)out, m->num_tensors);
  if (m->tensors[out].storage != kStorageArena)
    return c.fail("output 0: tensor %d ('%.*s') is constant; outputs must be arena tensors", (int)out, c.tlen(out),
                  c.tname(out));
  // The float form of an op writes float32 (docs/artifact.md "Float fallback"); a single-form op (QUANTIZE,
  // DEQUANTIZE, RESHAPE, TRANSPOSE) checks its dtypes itself.
  const OpInfo& info = kOpInfo[op.index];
  const bool is_float = !info.single && m->tensors[out].dtype == EB_DTYPE_FLOAT32;
  op.form = is_float ? kFormFloat : kFormInt8;
  const FormInfo& f = info.forms[op.form];
  if (!f.present)
    return c.fail("has no %s form (output ('%.*s') is %s)", is_float ? "float32" : "int8", c.tlen(out), c.tname(out),
                  dtype_text(m->tensors[out].dtype));
  if (f.inputs >= 0 && op.num_inputs != (uint32_t)f.inputs)
    return c.fail("has %u inputs, expected %d", op.num_inputs, f.inputs);
  if (f.inputs < 0 && op.num_inputs < 1) return c.fail("has no inputs, expected at least 1");
  if (f.params >= 0 && op.num_params != (uint32_t)f.params)
    return c.fail("has %u params, expected %d", op.num_params, f.params);
  for (uint32_t k = 0; k < op.num_inputs; ++k) {
    const int32_t id = op.inputs[k];
    if (id == -1 && k < 32 && (f.optional_inputs >> k & 1u)) continue;
    if (id < 0 || (uint32_t)id >= m->num_tensors)
      return c.fail("input %u: tensor id %d outside 0..%u", k, (int)id, m->num_tensors);
  }
  const uint32_t rank0 = op.inputs[0] < 0 ? 0 : m->tensors[op.inputs[0]].rank;
  ParamError e = {};
  if (!f.decode(op.params, op.num_params, rank0, op.num_inputs, &op.p, &e)) {
    const OpImpl& impl = impl_of(op);
    return impl.param_error != NULL ? impl.param_error(c, e) : param_error_text(c, e);
  }
  return impl_of(op).validate(c);
}

void known_opcodes_text(char* buf, size_t len) {
  if (buf == NULL || len == 0) return;
  buf[0] = '\0';
  size_t n = 0;
  for (uint32_t i = 0; i < kOpCount && n < len; ++i) {
    const uint32_t first = kOpInfo[i].opcode;
    while (i + 1 < kOpCount && kOpInfo[i + 1].opcode == kOpInfo[i].opcode + 1) ++i;  // a run of opcodes
    const uint32_t last = kOpInfo[i].opcode;
    const int w = last == first ? snprintf(buf + n, len - n, "%s%u", n ? ", " : "", first)
                                : snprintf(buf + n, len - n, "%s%u..%u", n ? ", " : "", first, last);
    if (w < 0) return;
    n += (size_t)w;
  }
}

void built_ops_text(char* buf, size_t len) {
  if (buf == NULL || len == 0) return;
  buf[0] = '\0';
  size_t n = 0;
  for (uint32_t i = 0; i < kOpCount && n < len; ++i) {
    if (kOpImpls[i] == NULL) continue;
    const int w = snprintf(buf + n, len - n, "%s%s", n ? ", " : "", kOpInfo[i].name);
    if (w < 0) return;
    n += (size_t)w;
  }
}

}  // namespace eb
