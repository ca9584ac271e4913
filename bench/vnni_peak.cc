// vnni_peak.cc: the int8 peak of one core: a tight loop of independent vpdpbusd (zmm), no memory traffic.
// Built and called by bench/bench_latency.py --peak (g++ -O2 -mavx512f -mavx512vnni -shared). Inline assembly so
// the compiler adds no register copies: 16 independent accumulators hide the instruction's latency.
#include <immintrin.h>
#include <stdint.h>

extern "C" int32_t eb_bench_vnni_loop(int64_t iterations) {
  __asm__ volatile("vpbroadcastd %0, %%zmm0\n\tvpbroadcastd %0, %%zmm1" ::"r"(0x01020304) : "xmm0", "xmm1");
  for (int64_t i = 0; i < iterations; ++i) {
    __asm__ volatile("vpdpbusd %%zmm1, %%zmm0, %%zmm2\n\tvpdpbusd %%zmm1, %%zmm0, %%zmm3\n\tvpdpbusd %%zmm1, %%zmm0, %%zmm4\n\tvpdpbusd %%zmm1, %%zmm0, %%zmm5\n\tvpdpbusd %%zmm1, %%zmm0, %%zmm6\n\tvpdpbusd %%zmm1, %%zmm0, %%zmm7\n\tvpdpbusd %%zmm1, %%zmm0, %%zmm8\n\tvpdpbusd %%zmm1, %%zmm0, %%zmm9\n\tvpdpbusd %%zmm1, %%zmm0, %%zmm10\n\tvpdpbusd %%zmm1, %%zmm0, %%zmm11\n\tvpdpbusd %%zmm1, %%zmm0, %%zmm12\n\tvpdpbusd %%zmm1, %%zmm0, %%zmm13\n\tvpdpbusd %%zmm1, %%zmm0, %%zmm14\n\tvpdpbusd %%zmm1, %%zmm0, %%zmm15\n\tvpdpbusd %%zmm1, %%zmm0, %%zmm16\n\tvpdpbusd %%zmm1, %%zmm0, %%zmm17" :::
                     "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17");
  }
  return 0;
}
