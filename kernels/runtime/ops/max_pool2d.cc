// max_pool2d.cc: MAX_POOL2D (docs/artifact.md): int8 or float32 NHWC max pooling with dilation. The int8 form runs
// the ISA's kernel, split by output rows across threads.
#include "../dispatch.h"
#include "../threadpool.h"
#include "edgebuild/ukernels.h"
#include "pool.h"

namespace eb {

namespace {

eb_status need_act_of(OpCheck& c, const MaxPool2dInt8Params& p) { return c.need_act(p.act_min, p.act_max); }
eb_status need_act_of(OpCheck& c, const MaxPool2dFloatParams& p) { return c.need_bounds(p.lo, p.hi); }

template <typename Params>
eb_status validate_form(OpCheck& c, const Params& p) {
  const int32_t x = c.op().inputs[0], y = c.op().outputs[0];
  const int32_t kh = p.kernel_h, kw = p.kernel_w, sh = p.stride_h, sw = p.stride_w, ph = p.pad_h, pw = p.pad_w,
                dh = p.dilation_h, dw = p.dilation_w;
  eb_status s;
  if ((s = validate_pool_tensors(c, x, y)) != EB_OK) return s;
  if (kh < 1 || kw < 1 || sh < 1 || sw < 1 || dh < 1 || dw < 1 || ph < 0 || pw < 0)
    return c.fail("kernel (%d,%d), stride (%d,%d), dilation (%d,%d) must be >= 1 and padding (%d,%d) >= 0", (int)kh,
                  (int)kw, (int)sh, (int)sw, (int)dh, (int)dw, (int)ph, (int)pw);
  if ((s = need_act_of(c, p)) != EB_OK) return s;
  return validate_pool_windows(c, x, y, kh, kw, sh, sw, ph, pw, dh, dw);
}

eb_status validate(OpCheck& c) {
  return c.is_float() ? validate_form(c, c.p().max_pool2d_float) : validate_form(c, c.p().max_pool2d_int8);
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

void run_int8(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  const MaxPool2dInt8Params& p = op.p.max_pool2d_int8;
  eb_qs8_maxpool_params k;
  set_pool_geometry(&k, x, y, p);
  k.dilation_height = p.dilation_h;
  k.dilation_width = p.dilation_w;
  k.output_min = p.act_min;
  k.output_max = p.act_max;
  PoolJob j = {&k, elem_kernels(m->isa).maxpool, reinterpret_cast<const int8_t*>(x.data),
               reinterpret_cast<int8_t*>(y.data), 0};
  const size_t threads = (size_t)m->num_threads, rows = (size_t)k.batch * (size_t)k.output_height;
  if (threads <= 1 || rows < 2) return j.fn(&k, j.x, j.y);
  j.rows_per_task = (rows + threads * 2 - 1) / (threads * 2);
  parallel_for(m, (rows + j.rows_per_task - 1) / j.rows_per_task, maxpool_task, &j);
}

void run_f32(eb_model* m, const Op& op) {
  const Tensor &x = m->tensors[op.inputs[0]], &y = m->tensors[op.outputs[0]];
  const MaxPool2dFloatParams& p = op.p.max_pool2d_float;
  eb_f32_pool_params k;
  set_pool_geometry(&k, x, y, p);
  k.dilation_height = p.dilation_h;
  k.dilation_width = p.dilation_w;
  k.count_include_pad = 0;
  k.output_min = p.lo;
  k.output_max = p.hi;
  eb_f32_maxpool_ref(&k, reinterpret_cast<const float*>(x.data), reinterpret_cast<float*>(y.data));
}

void run(eb_model* m, const Op& op) { op.form == kFormFloat ? run_f32(m, op) : run_int8(m, op); }

}  // namespace

const OpImpl kOpImplMaxPool2d = {validate, NULL, run, NULL, NULL};

}  // namespace eb
