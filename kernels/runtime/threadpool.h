// threadpool.h: a small pool of worker threads that split one op's output tiles; the caller works too.
//
// Each task writes its own output rows or columns with the same kernel it would use alone, so the result is
// bit-identical for any thread count. Threads are created by eb_model_set_threads (never during invoke).
#ifndef EDGEBUILD_RUNTIME_THREADPOOL_H_
#define EDGEBUILD_RUNTIME_THREADPOOL_H_

#include <stddef.h>

struct eb_model;

namespace eb {

// fn(ctx, task, thread): thread in [0, num_threads) picks that thread's scratch.
typedef void (*TaskFn)(void* ctx, size_t task, size_t thread);

// Runs tasks [0, count) on the model's threads (inline when it has one) and returns when all are done.
void parallel_for(eb_model* model, size_t count, TaskFn fn, void* ctx);
void destroy_pool(eb_model* model);

}  // namespace eb

#endif  // EDGEBUILD_RUNTIME_THREADPOOL_H_
