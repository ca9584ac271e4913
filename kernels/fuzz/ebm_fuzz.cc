// ebm_fuzz.cc: fuzz target for the .ebm loader and executor, plus a deterministic corruption sweep.
//
// Build with -DEDGEBUILD_FUZZING=ON (skips only the CRC check, so mutations reach the structural checks) and
// sanitizers, e.g. CMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all":
//   libFuzzer:  clang++ -fsanitize=fuzzer ... (LLVMFuzzerTestOneInput below)
//   sweep:      edgebuild-fuzz-sweep model.ebm [random_mutations]
// The sweep loads every truncation, every single-bit flip and (optionally) N random multi-byte mutations of a valid
// artifact; every load that succeeds is also invoked and every tensor read. A crash or sanitizer report is a bug.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgebuild/edgebuild.h"
#include "edgebuild/ops_enums.h"

namespace {

// Models whose arena is larger than this are loaded but not run (a mutated shape can ask for hours of compute).
const size_t kMaxRunArena = 64u << 20;
// Nor are models whose multiply-accumulates (estimated from the validated shapes) exceed this: a mutated kernel or
// channel count inside a small arena can still ask for seconds per input, which buys no coverage (the same loops)
// and starves the fuzzer. The random-CNN seeds run (each op family, every kernel path); the digits CNN (~0.4 M)
// is only loaded: at ~0.5 ms per run under ASan it alone would hold the fuzzer near 2 k executions/s.
const uint64_t kMaxRunWork = 1u << 18;

// Output elements × taps per element, summed over ops, saturating; shapes are the loader's validated ones.
uint64_t work_estimate(const eb_model* m) {
  uint64_t total = 0;
  for (size_t i = 0; i < eb_model_num_ops(m); ++i) {
    eb_op_info op;
    eb_tensor_info out, w;
    if (eb_model_op_info(m, i, &op) != EB_OK || op.num_outputs == 0) continue;
    if (eb_model_tensor_info(m, (size_t)op.outputs[0], &out) != EB_OK) continue;
    uint64_t taps = 1;
    // CONV2D / DEPTHWISE_CONV2D / FULLY_CONNECTED weights are input 1; a pool's first two params are its window
    // (docs/artifact.md).
    if ((op.opcode == EB_OP_CONV2D || op.opcode == EB_OP_DEPTHWISE_CONV2D || op.opcode == EB_OP_FULLY_CONNECTED) &&
        op.num_inputs > 1 && eb_model_tensor_info(m, (size_t)op.inputs[1], &w) == EB_OK) {
      taps = (uint64_t)w.num_elements / (uint64_t)(w.dims[0] > 0 ? w.dims[0] : 1);  // KH·KW·C/G, KH·KW or K
    } else if ((op.opcode == EB_OP_MAX_POOL2D || op.opcode == EB_OP_AVG_POOL2D) && op.num_params >= 2) {
      taps = (uint64_t)op.params[0] * (uint64_t)op.params[1];  // pooling window
    }
    const uint64_t work = (uint64_t)out.num_elements * taps;
    if (taps != 0 && work / taps != (uint64_t)out.num_elements) return UINT64_MAX;
    total = (total + work < total) ? UINT64_MAX : total + work;
  }
  return total;
}

struct Counts {
  unsigned long loaded, rejected, by_status[16];
};

void exercise(const uint8_t* data, size_t size, Counts* counts) {
  // The runtime reads in place and needs an aligned buffer; copy like a caller would.
  void* raw = malloc(size + 64);
  if (raw == NULL) return;
  uint8_t* buf = reinterpret_cast<uint8_t*>(((uintptr_t)raw + 63) & ~(uintptr_t)63);
  if (size) memcpy(buf, data, size);
  char err[EB_ERROR_MAX];
  eb_model* m = NULL;
  const eb_status s = eb_model_open_memory(buf, size, &m, err, sizeof err);
  if (counts) counts->by_status[(unsigned)s & 15]++;
  if (s != EB_OK) {
    if (strlen(err) == 0) abort();  // every failure must say why
    if (counts) counts->rejected++;
    free(raw);
    return;
  }
  if (counts) counts->loaded++;
  if (eb_model_arena_bytes(m) <= kMaxRunArena && work_estimate(m) <= kMaxRunWork) {
    for (size_t i = 0; i < eb_model_num_inputs(m); ++i) {
      eb_tensor_info info;
      eb_model_input_info(m, i, &info);
      float* x = static_cast<float*>(malloc(info.num_elements * sizeof(float)));
      // Extreme values included: quantization must clamp them without UB.
      const float pattern[] = {0.0f, 1.0f, -1.5f, 1e30f, -1e30f, 0.5f, 3.4e38f, -2.5f};
      for (size_t k = 0; k < info.num_elements; ++k) x[k] = pattern[k % 8] * (float)(k % 5);
      eb_model_set_input(m, i, x, info.num_elements);
      free(x);
    }
    eb_model_set_profiling(m, 1);
    eb_model_invoke(m);
    volatile uint8_t sink = 0;
    for (size_t id = 0; id < eb_model_num_tensors(m); ++id) {
      const void* p;
      size_t n;
      if (eb_model_tensor_data(m, id, &p, &n) == EB_OK)
        for (size_t k = 0; k < n; k += 61) sink = sink ^ static_cast<const uint8_t*>(p)[k];
    }
    for (size_t i = 0; i < eb_model_num_ops(m); ++i) {
      eb_op_info info;
      eb_model_op_info(m, i, &info);
    }
  }
  eb_model_close(m);
  free(raw);
}

}  // namespace

#ifdef EDGEBUILD_LIBFUZZER
// A mutated header can ask for a multi-gigabyte arena. The runtime's answer is EB_ERR_NOMEM when calloc fails, so
// let ASan's calloc fail (return NULL) as libc's does instead of aborting; run with -malloc_limit_mb large enough
// that libFuzzer's own per-allocation limit does not fire first (docs/fuzzing.md).
extern "C" const char* __asan_default_options() { return "allocator_may_return_null=1"; }
#endif

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  exercise(data, size, NULL);
  return 0;
}

#ifndef EDGEBUILD_LIBFUZZER
int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: edgebuild-fuzz-sweep model.ebm [random_mutations]\n");
    return 2;
  }
  FILE* f = fopen(argv[1], "rb");
  if (f == NULL) return 2;
  fseek(f, 0, SEEK_END);
  const long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t* orig = static_cast<uint8_t*>(malloc((size_t)len + 1));
  if (fread(orig, 1, (size_t)len, f) != (size_t)len) return 2;
  fclose(f);
  const size_t size = (size_t)len;
  const long randoms = argc > 2 ? atol(argv[2]) : 0;
  Counts c;
  memset(&c, 0, sizeof c);
  for (size_t n = 0; n <= size; ++n) exercise(orig, n, &c);  // every truncation (and the file itself)
  uint8_t* work = static_cast<uint8_t*>(malloc(size + 1));
  for (size_t bit = 0; bit < size * 8; ++bit) {  // every single-bit flip
    memcpy(work, orig, size);
    work[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    exercise(work, size, &c);
  }
  uint64_t state = 0x9E3779B97F4A7C15ull;  // xorshift: deterministic random mutations
  for (long r = 0; r < randoms; ++r) {
    memcpy(work, orig, size);
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    const int edits = 1 + (int)(state % 8);
    for (int e = 0; e < edits; ++e) {
      state ^= state << 13, state ^= state >> 7, state ^= state << 17;
      const size_t at = (size_t)(state >> 8) % size;
      const uint8_t values[] = {0x00, 0xFF, 0x7F, 0x80, 0x01, 0x40};
      work[at] = (state & 1) ? values[(state >> 1) % 6] : (uint8_t)(state >> 40);
    }
    exercise(work, size, &c);
  }
  printf("loaded %lu, rejected %lu;", c.loaded, c.rejected);
  for (int s = 0; s < 9; ++s) printf(" %s=%lu", eb_status_name((eb_status)s), c.by_status[s]);
  printf("\n");
  free(work);
  free(orig);
  return 0;
}
#endif
