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

// Restricts the calling thread to mask; false when the OS refuses (or has no affinity call).
bool pin_current_thread(const CpuMask& mask);

}  // namespace eb

#endif  // EDGEBUILD_RUNTIME_CPUS_H_
