// cpus.h: which CPUs the runtime's threads may use (affinity, cgroup quota, big.LITTLE) and thread pinning.
#ifndef EDGEBUILD_RUNTIME_CPUS_H_
#define EDGEBUILD_RUNTIME_CPUS_H_

#include <stddef.h>
#include <stdint.h>

namespace eb {

constexpr int kMaxCpus = 1024;  // = glibc's CPU_SETSIZE: CPUs above it are not considered

struct CpuMask {
  uint64_t bits[kMaxCpus / 64];
};

inline bool cpu_in(const CpuMask& m, int cpu) { return (m.bits[cpu / 64] >> (cpu % 64)) & 1u; }

struct CpuPlan {
  CpuMask allowed;      // the process's affinity mask (every online CPU where there is none)
  CpuMask fast;         // allowed minus the slow cluster of a big.LITTLE CPU; = allowed on a uniform CPU
  int allowed_count;    // >= 1
  int fast_count;       // >= 1, <= allowed_count
  int quota_cpus;       // ceil(quota / period) of the strictest cgroup CPU limit; 0 when there is none
  int default_threads;  // min(fast_count, quota_cpus), clamped to 1..max_threads
};

// Reads the affinity mask, /proc/self/cgroup with the cgroup's cpu.max (v2) or cpu.cfs_quota_us (v1), and
// cpu_capacity (or cpufreq/cpuinfo_max_freq) of every allowed CPU; missing or unreadable files are skipped.
void plan_cpus(CpuPlan* plan, int max_threads);

// Writes mask as a Linux CPU list ("0-3,6"); a list longer than len ends in "...".
void format_cpu_list(const CpuMask& mask, char* buf, size_t len);

// The core of the CPUs in `cpus` (implementer and part of their MIDR): the one most of them share, the lowest-numbered
// CPU's on a tie. Per CPU, sysfs devices/system/cpu/cpuN/regs/identification/midr_el1 (arm64 Linux), else the
// "CPU implementer" / "CPU part" lines of /proc/cpuinfo (armv7, kernels without that file), under the test hooks'
// roots. False when neither names any of these CPUs (x86, or qemu-user, which shows the host's files); *from says
// which source answered ("sysfs" or "cpuinfo").
bool detect_midr(const CpuMask& cpus, uint32_t* implementer, uint32_t* part, const char** from);

// What distinguishes cores for kernel scheduling: an in-order core (Cortex-A53/A55/A510) stalls on every load-use
// and dependency the instruction order leaves; an out-of-order one (A72, A76, X1, Neoverse) hides them.
enum CoreClass : uint32_t { kCoreUnknown = 0, kCoreInOrder = 1, kCoreOutOfOrder = 2 };
constexpr uint32_t core_bit(uint32_t cls) { return 1u << cls; }
constexpr uint32_t kCoresInOrder = core_bit(kCoreInOrder);
constexpr uint32_t kCoresOutOfOrder = core_bit(kCoreOutOfOrder);

// One row of the core table (cpu.cc kCores): the name EDGEBUILD_CPU, --cpu and targets/*.toml use, its MIDR
// implementer and part, its class, and the ISA paths it has (which cap the automatic choice when it is forced).
struct Core {
  const char* name;
  uint32_t implementer, part;
  uint32_t cls;
  uint32_t isas;  // bit i: has ISA i
};

// The core kernels are chosen for: the table row (NULL when unknown), its class, and how it was found.
struct CoreChoice {
  const Core* core;
  uint32_t cls;
  bool forced;    // named by EDGEBUILD_CPU
  char note[64];  // "EDGEBUILD_CPU", "MIDR 0x41:0xd0b (sysfs)", "MIDR 0x41:0xd99 (not in the table)", "not found"
};

// Restricts the calling thread to mask; false when the OS refuses (or has no affinity call).
bool pin_current_thread(const CpuMask& mask);

}  // namespace eb

#endif  // EDGEBUILD_RUNTIME_CPUS_H_
