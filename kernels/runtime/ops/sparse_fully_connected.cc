// sparse_fully_connected.cc: SPARSE_FULLY_CONNECTED: an int8 FULLY_CONNECTED whose weights are block-CSR
// (docs/artifact.md). Runs the ISA's sparse GEMM (gemm_exec.h) where there is one, else eb_qs8_spmm_ref as a 1×1
// convolution over the rows of x.
#include <string.h>

#include "../gemm_exec.h"
#include "../op.h"
#include "../packing.h"
#include "edgebuild/ukernels.h"

namespace eb {

namespace {

eb_status validate(OpCheck& c) {
  const Op& op = c.op();
  const SparseFullyConnectedInt8Params& p = c.p().sparse_fully_connected_int8;
  const int32_t x = op.inputs[0], y = op.outputs[0];
  eb_status s;
  if ((s = c.need_dtype("input", x, EB_DTYPE_INT8)) != EB_OK) return s;
  if ((s = c.need_dtype("output", y, EB_DTYPE_INT8)) != EB_OK) return s;
  if ((s = c.need_act(p.act_min, p.act_max)) != EB_OK) return s;
  const Tensor &tx = c.T(x), &ty = c.T(y);
  if (tx.rank < 1 || ty.rank != tx.rank)
    return c.fail("input dims %s and output dims %s must have the same rank >= 1", dims_text(tx).text,
                  dims_text(ty).text);
  for (uint32_t d = 0; d + 1 < tx.rank; ++d)
    if (ty.dims[d] != tx.dims[d])
      return c.fail("output dims %s do not keep the leading dims of input dims %s", dims_text(ty).text,
                    dims_text(tx).text);
  const int32_t K = tx.dims[tx.rank - 1], N = ty.dims[ty.rank - 1];
  if ((s = c.check_block_csr(N, K, p.block_rows, p.block_cols)) != EB_OK) return s;
  return c.check_channel_params(N);
}

eb_status plan(eb_model* m, const Op& op, OpPlan& plan, PlanContext& ctx) {
  if (!ctx.have_spmm) return EB_OK;
  const SparseFullyConnectedInt8Params& q = op.p.sparse_fully_connected_int8;
  return plan_spmm(m, op, plan, ctx, 1, q.block_rows, q.block_cols);
}

void run_fast(eb_model* m, const Op& op, const OpPlan& plan) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  const SparseFullyConnectedInt8Params& q = op.p.sparse_fully_connected_int8;
  SpmmJob j;
  j.m = m;
  j.plan = &plan;
  j.x = &x;
  j.y = reinterpret_cast<int8_t*>(y.data);
  j.conv = NULL;
  j.kh = 1;
  j.kw = 1;
  j.ow = 1;
  j.taps = 1;
  j.C = (size_t)x.dims[x.rank - 1];
  j.N = (size_t)y.dims[y.rank - 1];
  j.M = y.num_elements / j.N;
  j.rq = requant_of(y, q.act_min, q.act_max);
  run_spmm(j);
}

void run_ref(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  const SparseFullyConnectedInt8Params& q = op.p.sparse_fully_connected_int8;
  eb_qs8_spmm_params k;
  memset(&k, 0, sizeof k);
  eb_qs8_conv_params& c = k.conv;
  c.groups = 1;
  c.stride_height = c.stride_width = c.dilation_height = c.dilation_width = 1;
  c.input_zero_point = x.zero_point;
  c.output_zero_point = y.zero_point;
  c.input_channels = x.dims[x.rank - 1];
  c.output_channels = y.dims[y.rank - 1];
  c.batch = (int32_t)(x.num_elements / (size_t)c.input_channels);
  c.input_height = c.input_width = c.output_height = c.output_width = 1;
  c.kernel_height = c.kernel_width = 1;
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

const OpImpl kOpImplSparseFullyConnected = {validate, plan, run, NULL, NULL};

}  // namespace eb
