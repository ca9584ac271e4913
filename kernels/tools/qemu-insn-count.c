// qemu-insn-count.c: a qemu-user TCG plugin that counts guest instructions per edgebuild op, deterministically.
//
//   qemu-aarch64 -plugin libebinsn.so,out=FILE,invoke_begin=ADDR,invoke_end=ADDR,op_begin=ADDR,op_end=ADDR ./runner
//
// ADDRs are the entry points of the runtime's profiling markers (kernels/runtime/model.cc), read from the runner's
// symbol table by edgebuild/profile.py. Every translated block adds its instruction count to one counter when it
// executes (an inline add: no call per block); a block that starts at a marker also calls back, and the callback
// reads the counter. Between op_begin and op_end lies one op; between invoke_begin and invoke_end one invoke. The
// counts depend only on the guest's instructions, so two runs of the same binary and input give the same numbers.
//
// FILE gets plain text, one record a line:
//   total N                 guest instructions of the whole process (loader, runner, runtime, libc)
//   invoke T n c_1 ... c_n  one profiled invoke: its instructions T, then each of its n ops' instructions
// Single-threaded runners only: the counter is not atomic (run the runner with one thread when counting).
//
// Syscall-marker mode, for programs without symbols we can name (another engine under Python, bench/arm_peers):
//
//   qemu-aarch64 -plugin libebinsn.so,out=FILE,syscall=NR,magic=M[,ranges=RFILE] python3 script.py
//
// The guest marks a region with syscall NR (a harmless one, e.g. getpid) whose first argument is M (begin), M+1
// (end) or M+2 (second argument: the load address that RFILE's offsets are relative to). Each executed block
// calls back and adds to its thread's (vCPU's) counter, so helper threads are counted too, without races; a
// region's count is the sum over all threads. RFILE buckets code by address, one range a line: "START END B",
// hex offsets from the announced base, bucket B in 1..15 (bucket 0: code outside every range). A region prints
//   invoke T n c_0 ... c_{n-1}   its instructions T (all threads), then per bucket (n = 16)
//   threads K                    how many threads executed instructions in the region
// and the process ends with "total N" (all threads).
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu-plugin-v1.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

enum Marker { kInvokeBegin, kInvokeEnd, kOpBegin, kOpEnd, kMarkers };
static const char* const kMarkerArg[kMarkers] = {"invoke_begin=", "invoke_end=", "op_begin=", "op_end="};

static uint64_t marker_addr[kMarkers];
static uint64_t insns;  // guest instructions executed so far
static uint64_t invoke_start, op_start;
static uint64_t* ops;  // op counts of the current invoke
static size_t num_ops, cap_ops;
static FILE* out;

static void on_marker(unsigned int vcpu, void* userdata) {
  (void)vcpu;
  switch ((enum Marker)(uintptr_t)userdata) {
    case kInvokeBegin:
      invoke_start = insns;
      num_ops = 0;
      break;
    case kOpBegin: op_start = insns; break;
    case kOpEnd:
      if (num_ops == cap_ops) {
        cap_ops = cap_ops ? 2 * cap_ops : 256;
        ops = (uint64_t*)realloc(ops, cap_ops * sizeof *ops);
        if (ops == NULL) abort();
      }
      ops[num_ops++] = insns - op_start;
      break;
    case kInvokeEnd:
      fprintf(out, "invoke %" PRIu64 " %zu", insns - invoke_start, num_ops);
      for (size_t i = 0; i < num_ops; ++i) fprintf(out, " %" PRIu64, ops[i]);
      fputc('\n', out);
      break;
    default: break;
  }
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb* tb) {
  (void)id;
  qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &insns, qemu_plugin_tb_n_insns(tb));
  const uint64_t pc = qemu_plugin_tb_vaddr(tb);
  for (int m = 0; m < kMarkers; ++m)
    if (pc == marker_addr[m])
      qemu_plugin_register_vcpu_tb_exec_cb(tb, on_marker, QEMU_PLUGIN_CB_NO_REGS, (void*)(uintptr_t)m);
}

static void on_process_exit(qemu_plugin_id_t id, void* userdata) {
  (void)id;
  (void)userdata;
  fprintf(out, "total %" PRIu64 "\n", insns);
  fclose(out);
  free(ops);
}

// ---- syscall-marker mode ----
enum { kBuckets = 16, kMaxVcpus = 256 };
struct Block {
  uint64_t pc;
  uint32_t n;
  int32_t bucket;  // -1: not resolved yet (the base was not announced when the block was translated)
};
struct Range {
  uint64_t start, end;
  int bucket;
};
static int64_t marker_syscall = -1;
static uint64_t magic;
static uint64_t vcpu_insns[kMaxVcpus][kBuckets];  // each row written by its own thread only
static uint64_t region_start[kMaxVcpus][kBuckets];
static struct Range* ranges;
static size_t num_ranges;
static uint64_t base;
static int base_known;

static int bucket_of(uint64_t pc) {
  if (!base_known || pc < base) return 0;
  const uint64_t off = pc - base;
  size_t lo = 0, hi = num_ranges;  // ranges sorted by start, disjoint
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    if (ranges[mid].end <= off)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < num_ranges && ranges[lo].start <= off ? ranges[lo].bucket : 0;
}

static void on_block(unsigned int vcpu, void* userdata) {
  struct Block* b = (struct Block*)userdata;
  if (b->bucket < 0 && base_known) b->bucket = bucket_of(b->pc);
  if (vcpu >= kMaxVcpus) abort();
  vcpu_insns[vcpu][b->bucket < 0 ? 0 : b->bucket] += b->n;
}

static void on_translate_syscall_mode(qemu_plugin_id_t id, struct qemu_plugin_tb* tb) {
  (void)id;
  struct Block* b = (struct Block*)malloc(sizeof *b);  // lives as long as the translation may run
  if (b == NULL) abort();
  b->pc = qemu_plugin_tb_vaddr(tb);
  b->n = (uint32_t)qemu_plugin_tb_n_insns(tb);
  b->bucket = base_known ? bucket_of(b->pc) : -1;
  qemu_plugin_register_vcpu_tb_exec_cb(tb, on_block, QEMU_PLUGIN_CB_NO_REGS, b);
}

static void on_syscall(qemu_plugin_id_t id, unsigned int vcpu, int64_t num, uint64_t a1, uint64_t a2, uint64_t a3,
                       uint64_t a4, uint64_t a5, uint64_t a6, uint64_t a7, uint64_t a8) {
  (void)id, (void)vcpu, (void)a3, (void)a4, (void)a5, (void)a6, (void)a7, (void)a8;
  if (num != marker_syscall || a1 - magic > 2) return;
  if (a1 == magic) {
    memcpy(region_start, vcpu_insns, sizeof region_start);
  } else if (a1 == magic + 1) {
    uint64_t per_bucket[kBuckets] = {0}, total = 0;
    int threads = 0;
    for (int v = 0; v < kMaxVcpus; ++v) {
      uint64_t t = 0;
      for (int k = 0; k < kBuckets; ++k) {
        const uint64_t d = vcpu_insns[v][k] - region_start[v][k];
        per_bucket[k] += d;
        t += d;
      }
      total += t;
      threads += t != 0;
    }
    fprintf(out, "invoke %" PRIu64 " %d", total, kBuckets);
    for (int k = 0; k < kBuckets; ++k) fprintf(out, " %" PRIu64, per_bucket[k]);
    fprintf(out, "\nthreads %d\n", threads);
  } else {
    base = a2;
    base_known = 1;
  }
}

static void on_exit_syscall_mode(qemu_plugin_id_t id, void* userdata) {
  (void)id;
  (void)userdata;
  uint64_t total = 0;
  for (int v = 0; v < kMaxVcpus; ++v)
    for (int k = 0; k < kBuckets; ++k) total += vcpu_insns[v][k];
  fprintf(out, "total %" PRIu64 "\n", total);
  fclose(out);
}

static int read_ranges(const char* path) {
  FILE* f = fopen(path, "r");
  if (f == NULL) return -1;
  size_t cap = 0;
  unsigned long long start, end;
  int bucket;
  while (fscanf(f, "%llx %llx %d", &start, &end, &bucket) == 3) {
    if (bucket < 1 || bucket >= kBuckets || end < start) {
      fclose(f);
      return -1;
    }
    if (num_ranges == cap) {
      cap = cap ? 2 * cap : 1024;
      ranges = (struct Range*)realloc(ranges, cap * sizeof *ranges);
      if (ranges == NULL) abort();
    }
    ranges[num_ranges++] = (struct Range){start, end, bucket};
  }
  fclose(f);
  for (size_t i = 1; i < num_ranges; ++i)  // the binary search needs sorted, disjoint ranges
    if (ranges[i].start < ranges[i - 1].end) return -1;
  return 0;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t* info, int argc, char** argv) {
  (void)info;
  const char* path = NULL;
  const char* ranges_path = NULL;
  for (int i = 0; i < argc; ++i) {
    if (strncmp(argv[i], "out=", 4) == 0) {
      path = argv[i] + 4;
      continue;
    }
    if (strncmp(argv[i], "syscall=", 8) == 0) {
      marker_syscall = strtoll(argv[i] + 8, NULL, 0);
      continue;
    }
    if (strncmp(argv[i], "magic=", 6) == 0) {
      magic = strtoull(argv[i] + 6, NULL, 0);
      continue;
    }
    if (strncmp(argv[i], "ranges=", 7) == 0) {
      ranges_path = argv[i] + 7;
      continue;
    }
    int known = 0;
    for (int m = 0; m < kMarkers; ++m) {
      const size_t n = strlen(kMarkerArg[m]);
      if (strncmp(argv[i], kMarkerArg[m], n) == 0) {
        marker_addr[m] = strtoull(argv[i] + n, NULL, 0);
        known = 1;
      }
    }
    if (!known) {
      fprintf(stderr, "qemu-insn-count: unknown argument %s\n", argv[i]);
      return -1;
    }
  }
  if (path == NULL) {
    fprintf(stderr, "qemu-insn-count: missing out=FILE\n");
    return -1;
  }
  out = fopen(path, "w");
  if (out == NULL) {
    fprintf(stderr, "qemu-insn-count: cannot write %s\n", path);
    return -1;
  }
  if (ranges_path != NULL && read_ranges(ranges_path) != 0) {
    fprintf(stderr, "qemu-insn-count: cannot read sorted \"START END BUCKET\" lines from %s\n", ranges_path);
    return -1;
  }
  if (marker_syscall >= 0) {
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate_syscall_mode);
    qemu_plugin_register_vcpu_syscall_cb(id, on_syscall);
    qemu_plugin_register_atexit_cb(id, on_exit_syscall_mode, NULL);
    return 0;
  }
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
  qemu_plugin_register_atexit_cb(id, on_process_exit, NULL);
  return 0;
}
