// executor.cc: runs a loaded model's ops in order on its arena, calling the reference micro-kernels.
//
// Everything here was validated by the loader (shapes, parameters, requantization constants), so the executor only
// translates an op record into a kernel call; it never allocates and never fails.
#include <string.h>
#include <time.h>

#include "edgebuild/ukernels.h"
#include "internal.h"

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
  if (op.params[0]) {
    eb_qs8_quantize_to_nhwc_ref((size_t)x.dims[0], (size_t)x.dims[1], (size_t)x.dims[2], (size_t)x.dims[3],
                                reinterpret_cast<const float*>(x.data), reinterpret_cast<int8_t*>(y.data),
                                inv_scale, y.zero_point);
  } else {
    eb_qs8_quantize_ref(x.num_elements, reinterpret_cast<const float*>(x.data), reinterpret_cast<int8_t*>(y.data),
                        inv_scale, y.zero_point);
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

void run_conv2d(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &w = m->tensors[op.inputs[1]], &y = m->tensors[op.outputs[0]];
  const int32_t* p = op.params;
  eb_qs8_conv_params k;
  k.batch = x.dims[0];
  k.input_height = x.dims[1];
  k.input_width = x.dims[2];
  k.input_channels = x.dims[3];
  k.output_height = y.dims[1];
  k.output_width = y.dims[2];
  k.output_channels = y.dims[3];
  k.kernel_height = w.dims[1];
  k.kernel_width = w.dims[2];
  k.groups = p[8];
  k.stride_height = p[0];
  k.stride_width = p[1];
  k.pad_top = p[2];
  k.pad_left = p[3];
  k.dilation_height = p[6];
  k.dilation_width = p[7];
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
  eb_qs8_add_ref(&k, y.num_elements, reinterpret_cast<const int8_t*>(a.data), reinterpret_cast<const int8_t*>(b.data),
                 reinterpret_cast<int8_t*>(y.data));
}

void run_max_pool(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  const int32_t* p = op.params;
  eb_qs8_maxpool_params k;
  k.batch = x.dims[0];
  k.input_height = x.dims[1];
  k.input_width = x.dims[2];
  k.channels = x.dims[3];
  k.output_height = y.dims[1];
  k.output_width = y.dims[2];
  k.kernel_height = p[0];
  k.kernel_width = p[1];
  k.stride_height = p[2];
  k.stride_width = p[3];
  k.pad_height = p[4];
  k.pad_width = p[5];
  k.dilation_height = p[6];
  k.dilation_width = p[7];
  k.output_min = p[8];
  k.output_max = p[9];
  eb_qs8_maxpool_ref(&k, reinterpret_cast<const int8_t*>(x.data), reinterpret_cast<int8_t*>(y.data));
}

void run_avg_pool(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  const int32_t* p = op.params;
  eb_qs8_avgpool_params k;
  k.batch = x.dims[0];
  k.input_height = x.dims[1];
  k.input_width = x.dims[2];
  k.channels = x.dims[3];
  k.output_height = y.dims[1];
  k.output_width = y.dims[2];
  k.kernel_height = p[0];
  k.kernel_width = p[1];
  k.stride_height = p[2];
  k.stride_width = p[3];
  k.pad_height = p[4];
  k.pad_width = p[5];
  k.count_include_pad = p[6];
  k.zero_point = x.zero_point;
  k.output_min = p[7];
  k.output_max = p[8];
  eb_qs8_avgpool_ref(&k, reinterpret_cast<const int8_t*>(x.data), reinterpret_cast<int8_t*>(y.data));
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

void run_op(eb_model* m, const Op& op) {
  switch (op.opcode) {
    case kOpQuantize: run_quantize(m, op); break;
    case kOpDequantize: run_dequantize(m, op); break;
    case kOpConv2d: run_conv2d(m, op); break;
    case kOpFullyConnected: run_fully_connected(m, op); break;
    case kOpAdd: run_add(m, op); break;
    case kOpMaxPool2d: run_max_pool(m, op); break;
    case kOpAvgPool2d: run_avg_pool(m, op); break;
    case kOpConcat: run_concat(m, op); break;
    case kOpReshape: {
      const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
      eb_xx_copy_ref((size_t)x.size, x.data, y.data);
      break;
    }
    case kOpTranspose: run_transpose(m, op); break;
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
