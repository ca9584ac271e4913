// cpu.cc: run-time ISA selection: CPU features (cpuid through the compiler's builtins on x86, getauxval HWCAP on
// ARM Linux), the EDGEBUILD_ISA override, and the table of micro-kernels per ISA.
//
// An ISA is available when its kernels were compiled into this build (EB_HAVE_ISA_* from kernels/ukernels/isa.cmake)
// and the CPU and OS support it.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "internal.h"

#if (defined(__aarch64__) || defined(__arm__)) && defined(__linux__)
#include <sys/auxv.h>
#endif

namespace eb {

namespace {

const char* const kIsaNames[kIsaCount] = {"ref", "avx2", "avx512vnni", "neon", "neondot", "i8mm"};

uint32_t cpu_mask() {
  uint32_t mask = 1u << kIsaRef;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  // libgcc / compiler-rt also check XCR0, i.e. that the OS saves the YMM / ZMM state.
  if (__builtin_cpu_supports("avx2")) mask |= 1u << kIsaAvx2;
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512vnni"))
    mask |= 1u << kIsaAvx512Vnni;
#elif defined(__aarch64__)
  mask |= 1u << kIsaNeon;  // Advanced SIMD is mandatory in armv8-a
#if defined(__linux__)
  const unsigned long hwcap = getauxval(AT_HWCAP), hwcap2 = getauxval(AT_HWCAP2);
  if (hwcap & (1ul << 20)) mask |= 1u << kIsaNeonDot;                           // HWCAP_ASIMDDP
  if ((hwcap & (1ul << 20)) && (hwcap2 & (1ul << 13))) mask |= 1u << kIsaI8mm;  // HWCAP2_I8MM
#endif
#elif defined(__arm__)
#if defined(__linux__)
  if (getauxval(AT_HWCAP) & (1ul << 12)) mask |= 1u << kIsaNeon;  // HWCAP_NEON
#endif
#endif
  return mask;
}

}  // namespace

uint32_t compiled_mask() {
  uint32_t mask = 1u << kIsaRef;
#ifdef EB_HAVE_ISA_AVX2
  mask |= 1u << kIsaAvx2;
#endif
#ifdef EB_HAVE_ISA_AVX512VNNI
  mask |= 1u << kIsaAvx512Vnni;
#endif
#ifdef EB_HAVE_ISA_NEON
  mask |= 1u << kIsaNeon;
#endif
#ifdef EB_HAVE_ISA_NEONDOT
  mask |= 1u << kIsaNeonDot;
#endif
#ifdef EB_HAVE_ISA_I8MM
  mask |= 1u << kIsaI8mm;
#endif
  return mask;
}

namespace {

void list_available(char* buf, size_t len) {
  const uint32_t mask = isa_available_mask();
  size_t n = 0;
  buf[0] = '\0';
  for (uint32_t i = 0; i < kIsaCount; ++i) {
    if (!(mask & (1u << i)) || n >= len) continue;
    const int w = snprintf(buf + n, len - n, "%s%s", n ? ", " : "", kIsaNames[i]);
    if (w > 0) n += (size_t)w;
  }
}

}  // namespace

const char* isa_name(uint32_t isa) { return isa < kIsaCount ? kIsaNames[isa] : "unknown"; }

// Recomputed per call (a few instructions, at load): a function-local static with a dynamic initializer would pull
// the C++ runtime's init guard, and with it the exception machinery and demangler (~80 KiB), into a static binary.
uint32_t isa_available_mask() { return cpu_mask() & compiled_mask(); }

eb_status select_isa(uint32_t* isa, char* err, size_t err_len) {
  const uint32_t mask = isa_available_mask();
  const char* forced = getenv("EDGEBUILD_ISA");
  if (forced == NULL || forced[0] == '\0') {
    // Best first. i8mm before neondot: under qemu its SMMLA GEMM takes 2.0-3.2x fewer instructions than SDOT's on
    // every GEMM layer of ResNet-18 and MobileNetV2 (docs/kernel-naming.md, bench/README.md).
    static const uint32_t order[] = {kIsaAvx512Vnni, kIsaAvx2, kIsaI8mm, kIsaNeonDot, kIsaNeon};
    *isa = kIsaRef;
    for (uint32_t candidate : order) {
      if (mask & (1u << candidate)) {
        *isa = candidate;
        break;
      }
    }
    return EB_OK;
  }
  char available[128];
  list_available(available, sizeof available);
  for (uint32_t i = 0; i < kIsaCount; ++i) {
    if (strcmp(forced, kIsaNames[i]) != 0) continue;
    if (!(mask & (1u << i))) {
      format_message(err, err_len, "EDGEBUILD_ISA=%s: %s on this CPU (available: %s)", forced,
                     (compiled_mask() & (1u << i)) ? "not supported" : "not compiled into this build", available);
      return EB_ERR_UNSUPPORTED;
    }
    *isa = i;
    return EB_OK;
  }
  format_message(err, err_len,
                 "EDGEBUILD_ISA=%.40s: unknown ISA (known: ref, avx2, avx512vnni, neon, neondot, i8mm; "
                 "available here: %s)",
                 forced, available);
  return EB_ERR_UNSUPPORTED;
}

bool gemm_kernel(uint32_t isa, GemmKernel* k) {
  switch (isa) {
#ifdef EB_HAVE_ISA_AVX512VNNI
    case kIsaAvx512Vnni: *k = {eb_qs8_gemm_minmax_ukernel_8x32c4__avx512vnni, 8, 32, 4, 1, 128, 5}; return true;
#endif
#ifdef EB_HAVE_ISA_AVX2
    case kIsaAvx2: *k = {eb_qs8_gemm_minmax_ukernel_4x4c8__avx2, 4, 4, 8, 2, 0, 4}; return true;
#endif
#ifdef EB_HAVE_ISA_NEON
#if defined(__aarch64__)
    // Two int8 products per int16 lane: exact for weights in [−127, 127]; gemm_kernel_for_layer swaps in 4x16 for
    // small K and 2x8c8 for a layer holding a −128. armv7 keeps 2x8c8 (16 q registers: the accumulators would spill).
    case kIsaNeon: *k = {eb_qs8_gemm_minmax_ukernel_2x8c16__neon, 2, 8, 16, 1, 0, 4}; return true;
#else
    case kIsaNeon: *k = {eb_qs8_gemm_minmax_ukernel_2x8c8__neon, 2, 8, 8, 1, 0, 4}; return true;
#endif
#endif
#ifdef EB_HAVE_ISA_NEONDOT
    // Lane-indexed SDOT, one 16-byte load per row and 16 k; one call per tile of rows (docs/kernel-naming.md).
    case kIsaNeonDot: *k = {eb_qs8_gemm_minmax_ukernel_4x16c4__neondot, 4, 16, 4, 1, 0, 4, 1}; return true;
#endif
#ifdef EB_HAVE_ISA_I8MM
    // SMMLA: 32 MACs per instruction; same c8 packing as the NEON kernel; one call per tile of rows
    // (docs/kernel-naming.md).
    case kIsaI8mm: *k = {eb_qs8_gemm_minmax_ukernel_4x16c8__i8mm, 4, 16, 8, 1, 0, 4, 1}; return true;
#endif
    default: return false;
  }
}

void gemm_kernel_for_layer(size_t K, const int8_t* w, size_t n, const int32_t* shift, size_t channels, GemmKernel* k) {
#if defined(EB_HAVE_ISA_NEON) && defined(__aarch64__)
  constexpr size_t kSmallK = 48;  // K below it: 4x16, else 2x8c16
  if (k->fn != eb_qs8_gemm_minmax_ukernel_2x8c16__neon) return;
  // With every exponent <= 0 (the usual case: s_x·s_w < s_y), the rshift twins leave out the left shift.
  bool right_only = true;
  for (size_t i = 0; i < channels; ++i) right_only = right_only && shift[i] <= 0;
  // Small K: 4x16 (SMLAL by lane on int16 weights) yields 64 outputs a call against 2x8c16's 16, so the per-call
  // work and 2x8c16's reduction weigh less, and K needs no padding to 16; from K = 48 on, 2x8c16's cheaper MACs win
  // (MobileNetV2 on cortex-a53: docs/kernel-naming.md). It is exact for any int8 weight.
  if (K < kSmallK) {
    *k = {right_only ? eb_qs8_gemm_minmax_rshift_ukernel_4x16__neon : eb_qs8_gemm_minmax_ukernel_4x16__neon,
          4,
          16,
          1,
          2,
          0,
          4};
    return;
  }
  // 2x8c16 sums two products in an int16 lane: (−128)·(−128) twice would wrap. docs/quantization.md keeps weights in
  // [−127, 127], so only a hand-made or hostile file gets here; 2x8c8 (one product per lane) is exact for any int8.
  for (size_t i = 0; i < n; ++i) {
    if (w[i] == -128) {
      *k = {eb_qs8_gemm_minmax_ukernel_2x8c8__neon, 2, 8, 8, 1, 0, 4};
      return;
    }
  }
  if (right_only) k->fn = eb_qs8_gemm_minmax_rshift_ukernel_2x8c16__neon;
#else
  (void)K, (void)w, (void)n, (void)shift, (void)channels, (void)k;
#endif
}

bool dw_kernel(uint32_t isa, DwKernel* k) {
  switch (isa) {
#ifdef EB_HAVE_ISA_AVX512VNNI
    case kIsaAvx512Vnni: *k = {eb_qs8_dwconv_minmax_ukernel_4x16__avx512vnni, 16, 4, 1}; return true;
#endif
#ifdef EB_HAVE_ISA_AVX2
    case kIsaAvx2: *k = {eb_qs8_dwconv_minmax_ukernel_4x8__avx2, 8, 4, 0}; return true;
#endif
#ifdef EB_HAVE_ISA_NEON
    // dotprod and i8mm cores run the NEON depthwise kernel (a depthwise tap is one MAC per channel: no dot product).
    case kIsaNeon:
    case kIsaNeonDot:
    case kIsaI8mm: *k = {eb_qs8_dwconv_minmax_ukernel_4x8__neon, 8, 1, 0}; return true;
#endif
    default: return false;
  }
}

bool spmm_kernel(uint32_t isa, SpmmKernel* k) {
  switch (isa) {
#ifdef EB_HAVE_ISA_AVX512VNNI
    case kIsaAvx512Vnni: *k = {eb_qs8_spmm_minmax_ukernel_8x16c4__avx512vnni, 8, 16, 4, 1, 4, 128}; return true;
#endif
#ifdef EB_HAVE_ISA_AVX2
    case kIsaAvx2: *k = {eb_qs8_spmm_minmax_ukernel_4x8c4__avx2, 4, 8, 4, 2, 2, 0}; return true;
#endif
#ifdef EB_HAVE_ISA_NEON
    case kIsaNeon: *k = {eb_qs8_spmm_minmax_ukernel_4x16c4__neon, 4, 16, 4, 1, 2, 0, 1}; return true;
#endif
#ifdef EB_HAVE_ISA_NEONDOT
    case kIsaNeonDot:
    case kIsaI8mm: *k = {eb_qs8_spmm_minmax_ukernel_4x16c4__neondot, 4, 16, 4, 1, 4, 0, 1}; return true;
#endif
    default: return false;
  }
}

const ElemKernels& elem_kernels(uint32_t isa) {
  static const ElemKernels ref = {eb_qs8_vadd_ref, eb_qs8_maxpool_ref, eb_qs8_avgpool_ref, eb_qs8_quantize_ref,
                                  eb_qs8_quantize_to_nhwc_ref};
  switch (isa) {
#ifdef EB_HAVE_ISA_AVX512VNNI
    case kIsaAvx512Vnni: {
      static const ElemKernels k = {eb_qs8_vadd_minmax_ukernel__avx512vnni, eb_qs8_maxpool_minmax_ukernel__avx512vnni,
                                    eb_qs8_avgpool_minmax_ukernel__avx512vnni, eb_qs8_quantize_ukernel__avx512vnni,
                                    eb_qs8_quantize_ukernel__avx512vnni_to_nhwc};
      return k;
    }
#endif
#ifdef EB_HAVE_ISA_AVX2
    case kIsaAvx2: {
      static const ElemKernels k = {eb_qs8_vadd_minmax_ukernel__avx2, eb_qs8_maxpool_minmax_ukernel__avx2,
                                    eb_qs8_avgpool_minmax_ukernel__avx2, eb_qs8_quantize_ukernel__avx2,
                                    eb_qs8_quantize_ukernel__avx2_to_nhwc};
      return k;
    }
#endif
#ifdef EB_HAVE_ISA_NEON
    case kIsaNeon:
    case kIsaNeonDot:
    case kIsaI8mm: {  // elementwise work has no dot products: every ARM path runs the NEON kernels
#if defined(__aarch64__)
      static const ElemKernels k = {eb_qs8_vadd_minmax_ukernel__neon, eb_qs8_maxpool_minmax_ukernel__neon,
                                    eb_qs8_avgpool_minmax_ukernel__neon, eb_qs8_quantize_ukernel__neon,
                                    eb_qs8_quantize_ukernel__neon_to_nhwc};
#else  // armv7: QUANTIZE stays the reference (qs8_quantize__neon.cc says why)
      static const ElemKernels k = {eb_qs8_vadd_minmax_ukernel__neon, eb_qs8_maxpool_minmax_ukernel__neon,
                                    eb_qs8_avgpool_minmax_ukernel__neon, eb_qs8_quantize_ref,
                                    eb_qs8_quantize_to_nhwc_ref};
#endif
      return k;
    }
#endif
    default: return ref;
  }
}

}  // namespace eb

namespace {
void list_mask(uint32_t mask, char* buf, size_t len) {
  size_t n = 0;
  buf[0] = '\0';
  for (uint32_t i = 0; i < eb::kIsaCount; ++i) {
    if (!(mask & (1u << i)) || n >= len) continue;
    const int w = snprintf(buf + n, len - n, "%s%s", n ? "," : "", eb::isa_name(i));
    if (w > 0) n += (size_t)w;
  }
}
}  // namespace

extern "C" {

const char* eb_available_isas(void) {
  static char buf[96];
  list_mask(eb::isa_available_mask(), buf, sizeof buf);
  return buf;
}

const char* eb_compiled_isas(void) {
  static char buf[96];
  list_mask(eb::compiled_mask(), buf, sizeof buf);
  return buf;
}

}  // extern "C"
