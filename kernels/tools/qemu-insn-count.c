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

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t* info, int argc, char** argv) {
  (void)info;
  const char* path = NULL;
  for (int i = 0; i < argc; ++i) {
    if (strncmp(argv[i], "out=", 4) == 0) {
      path = argv[i] + 4;
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
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
  qemu_plugin_register_atexit_cb(id, on_process_exit, NULL);
  return 0;
}
