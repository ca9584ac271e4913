// threadpool.cc: worker threads for eb_model_set_threads, and the ISA / thread queries of the C API.
//
// Workers sleep on a condition variable between ops; tasks are handed out through an atomic counter. Plain
// pthreads and GCC atomics: no STL, no exceptions (STYLE.md deployment limits). Which CPUs they run on is cpus.cc's
// answer: on a big.LITTLE CPU each worker pins itself to the fast cores (as a set: the scheduler still balances
// them there), because the scheduler may otherwise place a thread that sleeps between ops on a little core, and
// an op waits for its slowest task.
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cpus.h"
#include "dispatch.h"
#include "internal.h"
#include "threadpool.h"

namespace eb {

constexpr int kMaxThreads = 64;

struct ThreadPool {
  pthread_t threads[kMaxThreads];
  int workers;  // threads besides the caller
  pthread_mutex_t mu;
  pthread_cond_t wake, done;
  unsigned long generation;
  int busy;  // workers still in the current generation
  bool stop;
  TaskFn fn;
  void* ctx;
  size_t count;
  size_t next;  // atomic
  bool pin;     // workers restrict themselves to cpus
  CpuMask cpus;
};

namespace {

void run_tasks(ThreadPool* p, size_t thread) {
  for (;;) {
    const size_t t = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED);
    if (t >= p->count) return;
    p->fn(p->ctx, t, thread);
  }
}

void* worker_main(void* arg) {
  ThreadPool* p = static_cast<ThreadPool*>(arg);
  if (p->pin) pin_current_thread(p->cpus);  // best effort: a refusal leaves the thread where the caller's may run
  pthread_mutex_lock(&p->mu);
  const size_t index = (size_t)(++p->busy);  // 1..workers, in start order
  if (p->busy == p->workers) pthread_cond_signal(&p->done);
  unsigned long seen = p->generation;
  for (;;) {
    while (p->generation == seen && !p->stop) pthread_cond_wait(&p->wake, &p->mu);
    if (p->stop) break;
    seen = p->generation;
    pthread_mutex_unlock(&p->mu);
    run_tasks(p, index);
    pthread_mutex_lock(&p->mu);
    if (--p->busy == 0) pthread_cond_signal(&p->done);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

}  // namespace

void parallel_for(eb_model* m, size_t count, TaskFn fn, void* ctx) {
  ThreadPool* p = m->pool;
  if (p == NULL || m->num_threads <= 1 || count <= 1) {
    for (size_t t = 0; t < count; ++t) fn(ctx, t, 0);
    return;
  }
  pthread_mutex_lock(&p->mu);
  p->fn = fn;
  p->ctx = ctx;
  p->count = count;
  __atomic_store_n(&p->next, 0, __ATOMIC_RELAXED);
  p->busy = p->workers;
  ++p->generation;
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->mu);
  run_tasks(p, 0);
  pthread_mutex_lock(&p->mu);
  while (p->busy != 0) pthread_cond_wait(&p->done, &p->mu);
  pthread_mutex_unlock(&p->mu);
}

void destroy_pool(eb_model* m) {
  ThreadPool* p = m->pool;
  if (p == NULL) return;
  pthread_mutex_lock(&p->mu);
  p->stop = true;
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->mu);
  for (int i = 0; i < p->workers; ++i) pthread_join(p->threads[i], NULL);
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->wake);
  pthread_cond_destroy(&p->done);
  free(p);
  m->pool = NULL;
}

namespace {

// Starts `workers` threads, pinned to cpus when pin; on failure keeps the ones that started.
eb_status start_pool(eb_model* m, int workers, bool pin, const CpuMask& cpus) {
  ThreadPool* p = static_cast<ThreadPool*>(calloc(1, sizeof(ThreadPool)));
  if (p == NULL) return EB_ERR_NOMEM;
  p->pin = pin;
  p->cpus = cpus;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->wake, NULL);
  pthread_cond_init(&p->done, NULL);
  m->pool = p;
  int started = 0;
  pthread_mutex_lock(&p->mu);
  for (; started < workers; ++started)
    if (pthread_create(&p->threads[started], NULL, worker_main, p) != 0) break;
  p->workers = started;
  while (p->busy != started) pthread_cond_wait(&p->done, &p->mu);  // every worker registered its index
  p->busy = 0;
  pthread_mutex_unlock(&p->mu);
  return started == workers ? EB_OK : EB_ERR_NOMEM;
}

}  // namespace

}  // namespace eb

extern "C" {

const char* eb_model_isa(const eb_model* model) { return model == NULL ? "" : eb::isa_name(model->isa); }

int eb_default_threads(void) {
  eb::CpuPlan plan;
  eb::plan_cpus(&plan, eb::kMaxThreads);
  return plan.default_threads;
}

eb_status eb_model_set_threads(eb_model* model, int threads) {
  if (model == NULL) return EB_ERR_ARGUMENT;
  if (threads < 1 || threads > eb::kMaxThreads) {
    eb::format_message(model->last_error, sizeof model->last_error, "threads must be 1..%d, got %d", eb::kMaxThreads,
                       threads);
    return EB_ERR_ARGUMENT;
  }
  if (threads > model->max_threads && model->scratch_per_thread > 0) {
    void* raw = NULL;
    uint8_t* s = static_cast<uint8_t*>(eb::tracked_alloc_aligned(model, model->scratch_per_thread * threads, &raw));
    if (s == NULL) return EB_ERR_NOMEM;
    if (model->scratch_raw != NULL) {  // the old scratch leaves the tracked bytes with its allocation (model.cc)
      const size_t old_threads = model->max_threads > 0 ? (size_t)model->max_threads : 1;
      model->tracked_bytes -= model->scratch_per_thread * old_threads + 63;
    }
    free(model->scratch_raw);
    model->scratch_raw = raw;
    model->scratch = s;
  }
  if (threads > model->max_threads) model->max_threads = threads;
  // Pinned to the fast cores of a big.LITTLE CPU when they are enough for every thread; more threads than fast
  // cores were asked for on purpose, and float on every allowed CPU.
  eb::CpuPlan plan;
  eb::plan_cpus(&plan, eb::kMaxThreads);
  const bool pin = plan.fast_count < plan.allowed_count && threads <= plan.fast_count;
  const eb::CpuMask& cpus = pin ? plan.fast : plan.allowed;
  const int workers = threads - 1;
  if (model->pool != NULL &&
      (model->pool->workers != workers || model->pool->pin != pin || memcmp(&model->pool->cpus, &cpus, sizeof cpus)))
    eb::destroy_pool(model);
  model->pinned = pin;
  model->cpus = cpus;
  eb::format_cpu_list(cpus, model->cpu_list, sizeof model->cpu_list);
  if (workers > 0 && model->pool == NULL) {
    const eb_status s = eb::start_pool(model, workers, pin, cpus);
    if (s != EB_OK) {
      eb::destroy_pool(model);
      model->num_threads = 1;
      eb::format_message(model->last_error, sizeof model->last_error, "cannot start %d worker threads", workers);
      return s;
    }
  }
  model->num_threads = threads;
  return EB_OK;
}

int eb_model_num_threads(const eb_model* model) { return model == NULL ? 0 : model->num_threads; }

const char* eb_model_cpus(const eb_model* model) { return model == NULL ? "" : model->cpu_list; }

int eb_model_threads_pinned(const eb_model* model) { return model != NULL && model->pinned ? 1 : 0; }

eb_status eb_model_pin_caller(eb_model* model) {
  if (model == NULL) return EB_ERR_ARGUMENT;
  if (!model->pinned) return EB_OK;
  if (!eb::pin_current_thread(model->cpus)) {
    eb::format_message(model->last_error, sizeof model->last_error, "cannot pin the calling thread to CPUs %s",
                       model->cpu_list);
    return EB_ERR_UNSUPPORTED;
  }
  return EB_OK;
}

}  // extern "C"
