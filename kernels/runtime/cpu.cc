// cpu.cc: run-time ISA selection: CPU features (cpuid through the compiler's builtins on x86, getauxval HWCAP on
// ARM Linux), the EDGEBUILD_ISA override, the core table (EDGEBUILD_CPU, MIDR) and the micro-kernels per ISA and
// core class.
//
// An ISA is available when its kernels were compiled into this build (EB_HAVE_ISA_* from kernels/ukernels/isa.cmake)
// and the CPU and OS support it.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpus.h"
#include "dispatch.h"
#include "internal.h"
#include "qd8_gemm.h"

#if (defined(__aarch64__) || defined(__arm__)) && defined(__linux__)
#include <sys/auxv.h>
#endif

namespace eb {

namespace {

const char* const kIsaNames[kIsaCount] = {"ref", "avx2", "avx512vnni", "neon", "neondot", "i8mm"};

constexpr uint32_t kArmV8 = 1u << kIsaRef | 1u << kIsaNeon;  // armv7 cores: the same (their NEON is the armv7 one)
constexpr uint32_t kDot = kArmV8 | 1u << kIsaNeonDot;
constexpr uint32_t kMM = kDot | 1u << kIsaI8mm;

// The cores edgebuild knows by name: MIDR implementer 0x41 = Arm, 0x51 = Qualcomm (Kryo cores built on Arm's, under
// the Arm name they are derived from: a name stands for a microarchitecture, not a brand), the class that decides
// kernel scheduling, and the ISA paths of each (dotprod from armv8.2's A55/A75, I8MM from armv9's A510/A710 and
// Neoverse V1). The first row of a name is what EDGEBUILD_CPU=<name> stands for.
const Core kCores[] = {
    {"cortex-a7", 0x41, 0xc07, kCoreInOrder, kArmV8},     {"cortex-a9", 0x41, 0xc09, kCoreOutOfOrder, kArmV8},
    {"cortex-a15", 0x41, 0xc0f, kCoreOutOfOrder, kArmV8}, {"cortex-a17", 0x41, 0xc0e, kCoreOutOfOrder, kArmV8},
    {"cortex-a35", 0x41, 0xd04, kCoreInOrder, kArmV8},    {"cortex-a53", 0x41, 0xd03, kCoreInOrder, kArmV8},
    {"cortex-a55", 0x41, 0xd05, kCoreInOrder, kDot},      {"cortex-a57", 0x41, 0xd07, kCoreOutOfOrder, kArmV8},
    {"cortex-a72", 0x41, 0xd08, kCoreOutOfOrder, kArmV8}, {"cortex-a73", 0x41, 0xd09, kCoreOutOfOrder, kArmV8},
    {"cortex-a75", 0x41, 0xd0a, kCoreOutOfOrder, kDot},   {"cortex-a76", 0x41, 0xd0b, kCoreOutOfOrder, kDot},
    {"neoverse-n1", 0x41, 0xd0c, kCoreOutOfOrder, kDot},  {"cortex-a77", 0x41, 0xd0d, kCoreOutOfOrder, kDot},
    {"cortex-a78", 0x41, 0xd41, kCoreOutOfOrder, kDot},   {"cortex-a78c", 0x41, 0xd4b, kCoreOutOfOrder, kDot},
    {"cortex-x1", 0x41, 0xd44, kCoreOutOfOrder, kDot},    {"neoverse-v1", 0x41, 0xd40, kCoreOutOfOrder, kMM},
    {"cortex-a510", 0x41, 0xd46, kCoreInOrder, kMM},      {"cortex-a710", 0x41, 0xd47, kCoreOutOfOrder, kMM},
    {"cortex-x2", 0x41, 0xd48, kCoreOutOfOrder, kMM},     {"neoverse-n2", 0x41, 0xd49, kCoreOutOfOrder, kMM},
    {"cortex-a715", 0x41, 0xd4d, kCoreOutOfOrder, kMM},   {"cortex-x3", 0x41, 0xd4e, kCoreOutOfOrder, kMM},
    {"neoverse-v2", 0x41, 0xd4f, kCoreOutOfOrder, kMM},   {"cortex-a520", 0x41, 0xd80, kCoreInOrder, kMM},
    {"cortex-a720", 0x41, 0xd81, kCoreOutOfOrder, kMM},   {"cortex-x4", 0x41, 0xd82, kCoreOutOfOrder, kMM},
    {"cortex-a73", 0x51, 0x800, kCoreOutOfOrder, kArmV8},  // Kryo 2xx Gold
    {"cortex-a53", 0x51, 0x801, kCoreInOrder, kArmV8},     // Kryo 2xx Silver
    {"cortex-a75", 0x51, 0x802, kCoreOutOfOrder, kDot},    // Kryo 3xx Gold
    {"cortex-a55", 0x51, 0x803, kCoreInOrder, kDot},       // Kryo 3xx Silver
    {"cortex-a76", 0x51, 0x804, kCoreOutOfOrder, kDot},    // Kryo 4xx/5xx Gold
    {"cortex-a55", 0x51, 0x805, kCoreInOrder, kDot},       // Kryo 4xx/5xx Silver
};
constexpr size_t kNumCores = sizeof kCores / sizeof kCores[0];

}  // namespace

// "cortex-a53, cortex-a55, ..." (each name once, `sep` between) into buf.
void list_cores(char* buf, size_t len, const char* sep) {
  size_t n = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < kNumCores && n < len; ++i) {
    bool seen = false;
    for (size_t j = 0; j < i; ++j) seen |= strcmp(kCores[j].name, kCores[i].name) == 0;
    if (seen) continue;
    const int w = snprintf(buf + n, len - n, "%s%s", n ? sep : "", kCores[i].name);
    if (w > 0) n += (size_t)w;
  }
}

namespace {

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

const char* core_class_name(uint32_t cls) {
  return cls == kCoreInOrder ? "in-order" : cls == kCoreOutOfOrder ? "out-of-order" : "unknown";
}

eb_status select_core(CoreChoice* choice, char* err, size_t err_len) {
  memset(choice, 0, sizeof *choice);
  const char* forced = getenv("EDGEBUILD_CPU");
  if (forced != NULL && forced[0] != '\0') {
    for (const Core& c : kCores) {
      if (strcmp(forced, c.name) != 0) continue;
      choice->core = &c;
      choice->cls = c.cls;
      choice->forced = true;
      snprintf(choice->note, sizeof choice->note, "EDGEBUILD_CPU");
      return EB_OK;
    }
    char known[1024];
    list_cores(known, sizeof known, ", ");
    format_message(err, err_len, "EDGEBUILD_CPU=%.40s: unknown core (known: %s)", forced, known);
    return EB_ERR_UNSUPPORTED;
  }
  // The cores the threads run on: the fast cluster of a big.LITTLE CPU, where eb_model_set_threads pins them.
  CpuPlan plan;
  plan_cpus(&plan, 1);
  uint32_t implementer, part;
  const char* from;
  if (!detect_midr(plan.fast, &implementer, &part, &from)) {
    snprintf(choice->note, sizeof choice->note, "no MIDR found");
    return EB_OK;
  }
  for (const Core& c : kCores) {
    if (c.implementer != implementer || c.part != part) continue;
    choice->core = &c;
    choice->cls = c.cls;
    snprintf(choice->note, sizeof choice->note, "MIDR 0x%02x:0x%03x (%s)", implementer, part, from);
    return EB_OK;
  }
  snprintf(choice->note, sizeof choice->note, "MIDR 0x%02x:0x%03x (%s; not in the core table)", implementer, part,
           from);
  return EB_OK;
}

eb_status select_isa(uint32_t* isa, char* err, size_t err_len, const CoreChoice* core) {
  const uint32_t mask = isa_available_mask();
  const char* forced = getenv("EDGEBUILD_ISA");
  if (forced == NULL || forced[0] == '\0') {
#if defined(__aarch64__) || defined(__arm__)
    // A core named by EDGEBUILD_CPU has at most its own features (an x86 build has none of an ARM core's to cap).
    const uint32_t usable = core != NULL && core->forced ? mask & core->core->isas : mask;
#else
    (void)core;
    const uint32_t usable = mask;
#endif
    // Best first. i8mm before neondot: under qemu its SMMLA GEMM takes 2.0-3.2x fewer instructions than SDOT's on
    // every GEMM layer of ResNet-18 and MobileNetV2 (docs/kernel-naming.md, bench/README.md).
    static const uint32_t order[] = {kIsaAvx512Vnni, kIsaAvx2, kIsaI8mm, kIsaNeonDot, kIsaNeon};
    *isa = kIsaRef;
    for (uint32_t candidate : order) {
      if (usable & (1u << candidate)) {
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

namespace {

// The ISA's default GEMM (the variant for any core).
bool default_gemm_kernel(uint32_t isa, GemmKernel* k) {
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
    // The flags header (GemmKernel::flags): −right and per-block EB_GEMM_BLOCK_* bits.
    case kIsaNeonDot:
      *k = {eb_qs8_gemm_minmax_ukernel_4x16c4__neondot, 4, 16, 4, 1, 0, 5, 2, nullptr, 0, 1};
      return true;
#endif
#ifdef EB_HAVE_ISA_I8MM
    // SMMLA: 32 MACs per instruction; same c8 packing as the NEON kernel; one call per tile of rows
    // (docs/kernel-naming.md).
    case kIsaI8mm: *k = {eb_qs8_gemm_minmax_ukernel_4x16c8__i8mm, 4, 16, 8, 1, 0, 5, 1, nullptr, 0, 1}; return true;
#endif
    default: return false;
  }
}

// A tuned entry: the positional fields of a table entry, then its name and the core classes it is for, set by name so
// that a field added to GemmKernel later does not shift them.
constexpr GemmKernel tuned_for(GemmKernel k, const char* name, uint32_t cores) {
  k.name = name;
  k.cores = cores;
  return k;
}

// Variants tuned for a class of cores (their `cores` is not 0): when one matches the core, it replaces the ISA's
// default. An ISA's entries go in its case, most specific first; the packing follows the entry's mr / nr / kr, so a
// variant may tile differently from the default.
size_t tuned_gemm_kernels(uint32_t isa, const GemmKernel** list) {
  switch (isa) {
#ifdef EB_HAVE_ISA_NEONDOT
    case kIsaNeonDot: {
      // In-order cores (A55, A510): 64-bit row loads feeding lane-indexed SDOTs, the next step's loads between this
      // step's SDOTs (the file says why; bench/arm_mca.py gives its cycles on A55 and A76 against the default).
      static constexpr GemmKernel k[] = {
          tuned_for({eb_qs8_gemm_minmax_ukernel_4x8c4__neondot_a55, 4, 8, 4, 1, 0, 4},
                    "qs8_gemm_minmax_4x8c4__neondot_a55", kCoresInOrder),
      };
      *list = k;
      return sizeof k / sizeof k[0];
    }
#endif
    default: (void)list; return 0;
  }
}

}  // namespace

void gemm_kernel_for_layer(size_t K, const int8_t* w, size_t n, const int32_t* shift, size_t channels, GemmKernel* k) {
#if defined(EB_HAVE_ISA_NEON) && defined(__aarch64__)
  constexpr size_t kSmallK = 48;  // K below it: 4x16, else 2x8c16
  if (k->fn != eb_qs8_gemm_minmax_ukernel_2x8c16__neon) return;
  // With every exponent <= 0 (the usual case: s_x·s_w < s_y), 4x16's rshift twin leaves out the left shift (2x8c16
  // has none: it would save 4 instructions per 16 outputs for 1.3 KiB of the library's 200 KiB budget).
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
#else
  (void)K, (void)w, (void)n, (void)shift, (void)channels, (void)k;
#endif
}

bool gemm_kernel(uint32_t isa, GemmKernel* k, uint32_t cls) {
  const GemmKernel* tuned = NULL;
  const size_t n = tuned_gemm_kernels(isa, &tuned);
  for (size_t i = 0; i < n; ++i) {
    if (tuned[i].cores & core_bit(cls)) {
      *k = tuned[i];
      return true;
    }
  }
  return default_gemm_kernel(isa, k);
}

// The ISA's depthwise kernel.
bool dw_kernel(uint32_t isa, DwKernel* k) {
  switch (isa) {
#ifdef EB_HAVE_ISA_AVX512VNNI
    case kIsaAvx512Vnni: *k = {eb_qs8_dwconv_minmax_ukernel_4x16__avx512vnni, 16, 4, 1, 0}; return true;
#endif
#ifdef EB_HAVE_ISA_AVX2
    case kIsaAvx2: *k = {eb_qs8_dwconv_minmax_ukernel_4x8__avx2, 8, 4, 0, 0}; return true;
#endif
#ifdef EB_HAVE_ISA_NEON
    // dotprod and i8mm cores run the NEON depthwise kernel too: an SDOT one ran fewer instructions but more llvm-mca
    // cycles on the A55 and A76 models (bench/README.md, issue 17).
    case kIsaNeon:
    case kIsaNeonDot:
    case kIsaI8mm: *k = {eb_qs8_dwconv_minmax_ukernel_2x16__neon, 16, 1, 0, 1}; return true;
#endif
    default: return false;
  }
}

void gemm_kernel_name(const GemmKernel& k, uint32_t isa, char* buf, size_t len) {
  if (k.name != NULL)
    snprintf(buf, len, "%s", k.name);
  else if (k.kr > 1)
    snprintf(buf, len, "qs8_gemm_minmax_%ux%uc%u__%s", k.mr, k.nr, k.kr, isa_name(isa));
  else
    snprintf(buf, len, "qs8_gemm_minmax_%ux%u__%s", k.mr, k.nr, isa_name(isa));
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
    case kIsaI8mm: *k = {eb_qs8_spmm_minmax_ukernel_6x16c4__neondot, 6, 16, 4, 1, 4, 0, 1}; return true;
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

// The float kernels (dispatch.h). ARM: every arm64 path runs the __neon ones (no dot products here); armv7 keeps
// the references (its NEON flushes subnormals and has no double lanes).
#if defined(EB_HAVE_ISA_NEON) && defined(__aarch64__)
#define EB_F32_NEON_CASES \
  case kIsaNeon:          \
  case kIsaNeonDot:       \
  case kIsaI8mm:
#endif

F32SoftmaxFn f32_softmax_fn(uint32_t isa) {
  switch (isa) {
#ifdef EB_HAVE_ISA_AVX512VNNI
    case kIsaAvx512Vnni: return eb_f32_softmax_ukernel__avx512vnni;
#endif
#ifdef EB_HAVE_ISA_AVX2
    case kIsaAvx2: return eb_f32_softmax_ukernel__avx2;
#endif
#ifdef EB_F32_NEON_CASES
      EB_F32_NEON_CASES return eb_f32_softmax_ukernel__neon;
#endif
    default: return eb_f32_softmax_ref;
  }
}

F32LayernormFn f32_layernorm_fn(uint32_t isa) {
  switch (isa) {
#ifdef EB_HAVE_ISA_AVX512VNNI
    case kIsaAvx512Vnni: return eb_f32_layernorm_ukernel__avx512vnni;
#endif
#ifdef EB_HAVE_ISA_AVX2
    case kIsaAvx2: return eb_f32_layernorm_ukernel__avx2;
#endif
#ifdef EB_F32_NEON_CASES
      EB_F32_NEON_CASES return eb_f32_layernorm_ukernel__neon;
#endif
    default: return eb_f32_layernorm_ref;
  }
}

F32UnaryFn f32_unary_fn(uint32_t isa) {
  switch (isa) {
#ifdef EB_HAVE_ISA_AVX512VNNI
    case kIsaAvx512Vnni: return eb_f32_unary_ukernel__avx512vnni;
#endif
#ifdef EB_HAVE_ISA_AVX2
    case kIsaAvx2: return eb_f32_unary_ukernel__avx2;
#endif
#ifdef EB_F32_NEON_CASES
      EB_F32_NEON_CASES return eb_f32_unary_ukernel__neon;
#endif
    default: return eb_f32_unary_ref;
  }
}

// Float matmuls: double lanes, one per output column (f32-bmm/f32_bmm__avx512vnni.cc says why that is the reference's
// bits). The avx2 file uses FMA3, which AVX2 does not imply. armv7 keeps the reference (its NEON has no double lanes).
#if defined(EB_HAVE_ISA_AVX2) && (defined(__x86_64__) || defined(__i386__))
namespace {
bool have_fma() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("fma");
}
}  // namespace
#endif

F32BmmFn f32_bmm_fn(uint32_t isa) {
  switch (isa) {
#ifdef EB_HAVE_ISA_AVX512VNNI
    case kIsaAvx512Vnni: return eb_f32_bmm_ukernel__avx512vnni;
#endif
#ifdef EB_HAVE_ISA_AVX2
    case kIsaAvx2: return have_fma() ? eb_f32_bmm_ukernel__avx2 : nullptr;
#endif
#if defined(EB_HAVE_ISA_NEON) && defined(__aarch64__)
    case kIsaNeon:
    case kIsaNeonDot:
    case kIsaI8mm: return eb_f32_bmm_ukernel__neon;
#endif
    default: return nullptr;
  }
}

F32GemmFn f32_gemm_fn(uint32_t isa) {
  switch (isa) {
#ifdef EB_HAVE_ISA_AVX512VNNI
    case kIsaAvx512Vnni: return eb_f32_gemm_ukernel__avx512vnni;
#endif
#ifdef EB_HAVE_ISA_AVX2
    case kIsaAvx2: return have_fma() ? eb_f32_gemm_ukernel__avx2 : nullptr;
#endif
#if defined(EB_HAVE_ISA_NEON) && defined(__aarch64__)
    case kIsaNeon:
    case kIsaNeonDot:
    case kIsaI8mm: return eb_f32_gemm_ukernel__neon;
#endif
    default: return nullptr;
  }
}

Qs8BmmFn qs8_bmm_fn(uint32_t isa) {
  switch (isa) {
#ifdef EB_HAVE_ISA_AVX512VNNI
    case kIsaAvx512Vnni: return eb_qs8_bmm_ukernel__avx512vnni;
#endif
#if defined(EB_HAVE_ISA_NEONDOT) && defined(__aarch64__)
    case kIsaNeonDot:
    case kIsaI8mm: return eb_qs8_bmm_ukernel__neondot;  // every I8MM core has dotprod
#endif
    default: (void)isa; return nullptr;
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

const char* eb_model_cpu(const eb_model* model) {
  return model == NULL || model->core.core == NULL ? "unknown" : model->core.core->name;
}

const char* eb_model_core_class(const eb_model* model) {
  return model == NULL ? "unknown" : eb::core_class_name(model->core.cls);
}

const char* eb_model_cpu_source(const eb_model* model) { return model == NULL ? "" : model->core.note; }

const char* eb_known_cpus(void) {
  static char buf[1024];
  eb::list_cores(buf, sizeof buf, ",");
  return buf;
}

eb_status eb_detect_cpu(const char** name, const char** core_class, char* source, size_t source_len, char* err,
                        size_t err_len) {
  eb::CoreChoice choice;
  const eb_status status = eb::select_core(&choice, err, err_len);
  if (status != EB_OK) return status;
  *name = choice.core == NULL ? "unknown" : choice.core->name;
  *core_class = eb::core_class_name(choice.cls);
  if (source_len > 0) snprintf(source, source_len, "%s", choice.note);
  return EB_OK;
}

const char* eb_model_kernel(const eb_model* model, const char* family) {
  if (model == NULL || family == NULL) return "";
  if (strcmp(family, "qs8-gemm") == 0) return model->gemm_kernel;
  if (strcmp(family, "qd8-gemm") == 0 && model->plans != NULL) {  // DYNAMIC_FULLY_CONNECTED (qd8_gemm.h)
    for (uint32_t i = 0; i < model->num_ops; ++i)
      if (model->plans[i].kind == eb::kPlanQd8) return model->plans[i].qd8->name;
  }
  return "";
}

}  // extern "C"
