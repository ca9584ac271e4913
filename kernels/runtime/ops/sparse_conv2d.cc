// sparse_conv2d.cc: SPARSE_CONV2D: an int8 CONV2D (one group) whose weights are block-CSR (docs/artifact.md). Runs
// the ISA's sparse GEMM over tap pointers (gemm_exec.h) where there is one, else eb_qs8_spmm_ref.
#include <string.h>

#include "../gemm_exec.h"
#include "../op.h"
#include "../packing.h"
#include "edgebuild/ukernels.h"

namespace eb {

namespace {

eb_status validate(OpCheck& c) {
  const Op& op = c.op();
  const SparseConv2dInt8Params& p = c.p().sparse_conv2d_int8;
  const int32_t x = op.inputs[0], y = op.outputs[0];
  const int32_t sh = p.stride_h, sw = p.stride_w, pt = p.pad_top, pl = p.pad_left, pb = p.pad_bottom, pr = p.pad_right,
                dh = p.dilation_h, dw = p.dilation_w;
  const int32_t kh = p.kernel_h, kw = p.kernel_w;
  eb_status s;
  if ((s = c.need_dtype("input", x, EB_DTYPE_INT8)) != EB_OK) return s;
  if ((s = c.need_rank("input", x, 4)) != EB_OK) return s;
  if ((s = c.need_dtype("output", y, EB_DTYPE_INT8)) != EB_OK) return s;
  if ((s = c.need_rank("output", y, 4)) != EB_OK) return s;
  if (sh < 1 || sw < 1) return c.fail("strides (%d, %d) must be >= 1", (int)sh, (int)sw);
  if (dh < 1 || dw < 1) return c.fail("dilations (%d, %d) must be >= 1", (int)dh, (int)dw);
  if (pt < 0 || pl < 0 || pb < 0 || pr < 0)
    return c.fail("paddings (top %d, left %d, bottom %d, right %d) must be >= 0", (int)pt, (int)pl, (int)pb, (int)pr);
  if (p.groups != 1) return c.fail("groups %d: sparse convolutions have one group", (int)p.groups);
  if ((s = c.need_act(p.act_min, p.act_max)) != EB_OK) return s;
  if (kh < 1 || kw < 1) return c.fail("kernel %dx%d must be at least 1x1", (int)kh, (int)kw);
  const int32_t* xd = c.T(x).dims;
  const int32_t* yd = c.T(y).dims;
  const int32_t OC = yd[3];
  if (yd[0] != xd[0]) return c.fail("output dims %s do not keep batch %d", dims_text(c.T(y)).text, (int)xd[0]);
  const int64_t num_h = (int64_t)xd[1] + pt + pb - (int64_t)dh * (kh - 1) - 1;
  const int64_t num_w = (int64_t)xd[2] + pl + pr - (int64_t)dw * (kw - 1) - 1;
  if (num_h < 0 || num_w < 0)
    return c.fail("dilated kernel %dx%d (dilation %d, %d) is larger than the padded input %s", (int)kh, (int)kw,
                  (int)dh, (int)dw, dims_text(c.T(x)).text);
  if (yd[1] != num_h / sh + 1 || yd[2] != num_w / sw + 1)
    return c.fail("output dims %s do not match input %s, kernel %dx%d, strides, paddings and dilations",
                  dims_text(c.T(y)).text, dims_text(c.T(x)).text, (int)kh, (int)kw);
  const int64_t K = (int64_t)kh * kw * xd[3];
  if ((s = c.check_block_csr(OC, K, p.block_rows, p.block_cols)) != EB_OK) return s;
  return c.check_channel_params(OC);
}

eb_status plan(eb_model* m, const Op& op, OpPlan& plan, PlanContext& ctx) {
  if (!ctx.have_spmm) return EB_OK;
  const SparseConv2dInt8Params& q = op.p.sparse_conv2d_int8;
  const ConvGeometry g = conv_geometry_of(q);
  return plan_spmm(m, op, plan, ctx, (size_t)q.kernel_h * (size_t)q.kernel_w, q.block_rows, q.block_cols, &g,
                   q.kernel_w);
}

void run_fast(eb_model* m, const Op& op, const OpPlan& plan) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  const SparseConv2dInt8Params& q = op.p.sparse_conv2d_int8;
  const ConvWindow win = conv_window(q);
  SpmmJob j;
  j.m = m;
  j.plan = &plan;
  j.x = &x;
  j.y = reinterpret_cast<int8_t*>(y.data);
  j.conv = &win;
  j.kh = q.kernel_h;
  j.kw = q.kernel_w;
  j.ow = y.dims[2];
  j.taps = (size_t)j.kh * (size_t)j.kw;
  j.C = (size_t)x.dims[x.rank - 1];
  j.N = (size_t)y.dims[y.rank - 1];
  j.M = y.num_elements / j.N;
  j.rq = requant_of(y, q.act_min, q.act_max);
  run_spmm(j);
}

void run_ref(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  const SparseConv2dInt8Params& q = op.p.sparse_conv2d_int8;
  eb_qs8_spmm_params k;
  memset(&k, 0, sizeof k);
  eb_qs8_conv_params& c = k.conv;
  c.groups = 1;
  c.input_zero_point = x.zero_point;
  c.output_zero_point = y.zero_point;
  c.batch = x.dims[0];
  c.input_height = x.dims[1];
  c.input_width = x.dims[2];
  c.input_channels = x.dims[3];
  c.output_height = y.dims[1];
  c.output_width = y.dims[2];
  c.output_channels = y.dims[3];
  c.kernel_height = q.kernel_h;
  c.kernel_width = q.kernel_w;
  c.stride_height = q.stride_h;
  c.stride_width = q.stride_w;
  c.pad_top = q.pad_top;
  c.pad_left = q.pad_left;
  c.dilation_height = q.dilation_h;
  c.dilation_width = q.dilation_w;
  c.output_min = q.act_min;
  c.output_max = q.act_max;
  k.block_rows = q.block_rows;
  k.block_cols = q.block_cols;
  eb_qs8_spmm_ref(&k, reinterpret_cast<const int8_t*>(x.data), data_of<const int8_t>(m, op.inputs[1]),
                  data_of<const int32_t>(m, op.inputs[5]), data_of<const int32_t>(m, op.inputs[6]),
                  data_or_null<int32_t>(m, op.inputs[2]), data_of<const int32_t>(m, op.inputs[3]),
                  data_of<const int32_t>(m, op.inputs[4]), reinterpret_cast<int8_t*>(y.data));
}

void run(eb_model* m, const Op& op) {
  const OpPlan* plan = plan_of(m, op);
  if (plan != NULL) return run_fast(m, op, *plan);
  run_ref(m, op);
}

}  // namespace

const OpImpl kOpImplSparseConv2d = {validate, plan, run, NULL, NULL};

}  // namespace eb
