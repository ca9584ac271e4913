// add.cc: ADD (docs/artifact.md): int8 (docs/quantization.md (7)) or float32, with broadcasting. Same-shape int8 ADD
// runs the ISA's flat kernel split across threads; everything else runs the broadcasting reference kernels.
#include <string.h>

#include "../dispatch.h"
#include "../gemm_exec.h"
#include "../threadpool.h"
#include "binary.h"

namespace eb {

namespace {

eb_status validate(OpCheck& c) {
  eb_status s;
  if ((s = validate_binary_tensors(c)) != EB_OK) return s;
  if (c.is_float()) return c.need_bounds(c.p().add_float.lo, c.p().add_float.hi);
  return validate_add_sub_int8(c, c.p().add_int8);
}

struct AddJob {
  const eb_qs8_vadd_params* k;
  void (*fn)(const eb_qs8_vadd_params*, size_t, const int8_t*, const int8_t*, int8_t*);
  const int8_t *a, *b;
  int8_t* y;
  size_t count, chunk;
};

void add_task(void* ctx, size_t task, size_t) {
  const AddJob& j = *static_cast<const AddJob*>(ctx);
  const size_t i0 = task * j.chunk, n = j.count - i0 < j.chunk ? j.count - i0 : j.chunk;
  j.fn(j.k, n, j.a + i0, j.b + i0, j.y + i0);
}

// The flat kernel's parameters (table: NULL; run_flat sets the plan's).
eb_qs8_vadd_params flat_params(const eb_model* m, const Op& op) {
  const Tensor &a = m->tensors[op.inputs[0]], &b = m->tensors[op.inputs[1]], &y = m->tensors[op.outputs[0]];
  const AddInt8Params& p = op.p.add_int8;
  eb_qs8_vadd_params k;
  k.a_zero_point = a.zero_point;
  k.b_zero_point = b.zero_point;
  k.output_zero_point = y.zero_point;
  k.left_shift = p.left_shift;
  k.a_multiplier = p.a_mult;
  k.a_shift = p.a_shift;
  k.b_multiplier = p.b_mult;
  k.b_shift = p.b_shift;
  k.output_multiplier = p.out_mult;
  k.output_shift = p.out_shift;
  k.output_min = p.act_min;
  k.output_max = p.act_max;
  k.table = NULL;
  return k;
}

bool same_shape(const eb_model* m, const Op& op) {
  const Tensor &a = m->tensors[op.inputs[0]], &b = m->tensors[op.inputs[1]], &y = m->tensors[op.outputs[0]];
  return a.num_elements == y.num_elements && b.num_elements == y.num_elements;
}

// Load time, same-shape int8 ADD on an ARM ISA: the neon kernel's lookup table (eb_qs8_vadd_table_neon; none when
// the builder declines: the kernel then computes (7) in SIMD).
eb_status plan(eb_model* m, const Op& op, OpPlan& plan, PlanContext&) {
#ifdef EB_HAVE_ISA_NEON
  if (op.form == kFormFloat || !same_shape(m, op) || elem_kernels(m->isa).add != eb_qs8_vadd_minmax_ukernel__neon)
    return EB_OK;
  const eb_qs8_vadd_params k = flat_params(m, op);
  uint8_t built[EB_QS8_VADD_TABLE_BYTES];  // allocated (and counted) only when the builder accepts the parameters
  if (!eb_qs8_vadd_table_neon(&k, built)) return EB_OK;
  uint8_t* table = static_cast<uint8_t*>(tracked_alloc_aligned(m, sizeof built, &plan.packed_raw));
  if (table == NULL) return EB_ERR_NOMEM;
  memcpy(table, built, sizeof built);
  plan.kind = kPlanTable;
  plan.packed = table;
#else
  (void)m, (void)op, (void)plan;
#endif
  return EB_OK;
}

// Same-shape int8: the flat (SIMD, threaded) kernel.
void run_flat(eb_model* m, const Op& op) {
  const Tensor& y = m->tensors[op.outputs[0]];
  eb_qs8_vadd_params k = flat_params(m, op);
  const OpPlan* plan = plan_of(m, op);
  if (plan != NULL) k.table = plan->packed;
  AddJob j = {&k,
              elem_kernels(m->isa).add,
              reinterpret_cast<const int8_t*>(m->tensors[op.inputs[0]].data),
              reinterpret_cast<const int8_t*>(m->tensors[op.inputs[1]].data),
              reinterpret_cast<int8_t*>(y.data),
              y.num_elements,
              0};
  // Elementwise: any split gives the same bytes. Chunks of >= 16 KiB, a multiple of 64 elements.
  const size_t threads = (size_t)m->num_threads;
  j.chunk = threads <= 1 ? j.count : ((j.count + threads * 2 - 1) / (threads * 2) + 63) / 64 * 64;
  if (j.chunk < 16384) j.chunk = 16384;
  if (j.count <= j.chunk) return j.fn(&k, j.count, j.a, j.b, j.y);
  parallel_for(m, (j.count + j.chunk - 1) / j.chunk, add_task, &j);
}

void run(eb_model* m, const Op& op) {
  const Tensor &a = m->tensors[op.inputs[0]], &b = m->tensors[op.inputs[1]], &y = m->tensors[op.outputs[0]];
  const bool same = same_shape(m, op);
  if (op.form == kFormFloat) {
    const AddFloatParams& p = op.p.add_float;
    if (!same) return run_binary_f32(m, op, EB_BINARY_ADD, p.lo, p.hi);  // broadcasting
    eb_f32_add_ref(y.num_elements, reinterpret_cast<const float*>(a.data), reinterpret_cast<const float*>(b.data), p.lo,
                   p.hi, reinterpret_cast<float*>(y.data));
    return;
  }
  if (same) return run_flat(m, op);
  eb_qs8_binary_params k;
  memset(&k, 0, sizeof k);
  k.op = EB_BINARY_ADD;
  set_add_sub_int8(&k, op.p.add_int8);
  run_binary_qs8(m, op, &k);
}

}  // namespace

const OpImpl kOpImplAdd = {validate, plan, run, NULL, NULL};

}  // namespace eb
