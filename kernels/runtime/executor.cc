// executor.cc: runs a loaded model's ops in order on its arena, each through its OpImpl (kernels/runtime/ops/).
//
// Everything was validated by the loader (shapes, parameters, requantization constants) and planned at load
// (packing.cc), so the executor only sequences: each op's run picks its kernel; nothing allocates, nothing fails.
// With profiling on, each op is timed and bracketed by the markers of the qemu instruction-count plugin.
#include <time.h>

#include "internal.h"
#include "op.h"

namespace eb {

namespace {

uint64_t now_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

inline void run_op(eb_model* m, const Op& op) { impl_of(op).run(m, op); }

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
