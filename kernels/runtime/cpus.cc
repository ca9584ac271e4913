// cpus.cc: the CPUs the runtime's threads may use: the affinity mask, capped by the cgroup CPU quota, and on a
// big.LITTLE CPU its fast cores only (eb_default_threads, and the worker pinning of eb_model_set_threads).
//
// Everything comes from the kernel's files with bounded reads; a file that is missing or does not parse leaves the
// answer at what the affinity mask says. EDGEBUILD_SYSFS_ROOT and EDGEBUILD_PROC_ROOT (test hooks, edgebuild.h)
// replace /sys and /proc, so that a test can describe a phone or a CPU-limited container with a fake tree; with
// EDGEBUILD_PROC_ROOT set, its self/status's Cpus_allowed_list (when there is one) stands for the affinity mask.
#include "cpus.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__linux__)
#include <sched.h>
#endif

namespace eb {

namespace {

constexpr size_t kPathMax = 1024;

void cpu_add(CpuMask* m, int cpu) { m->bits[cpu / 64] |= uint64_t{1} << (cpu % 64); }

int cpu_count(const CpuMask& m) {
  int n = 0;
  for (int i = 0; i < kMaxCpus; ++i) n += cpu_in(m, i) ? 1 : 0;
  return n;
}

const char* root(const char* env, const char* fallback) {
  const char* r = getenv(env);
  return r != NULL && r[0] != '\0' ? r : fallback;
}

// Reads at most len - 1 bytes of path into buf, NUL-terminated; false when the file cannot be read or is empty.
bool read_text(const char* path, char* buf, size_t len) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  size_t n = 0;
  while (n + 1 < len) {
    const ssize_t r = read(fd, buf + n, len - 1 - n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    n += (size_t)r;
  }
  close(fd);
  buf[n] = '\0';
  return n > 0;
}

// A decimal at *p after blanks; advances *p past it. Values near 2^62 and above are refused (no file here holds one).
bool parse_number(const char** p, long long* out) {
  const char* s = *p;
  while (*s == ' ' || *s == '\t') ++s;
  const bool negative = *s == '-';
  if (negative) ++s;
  if (*s < '0' || *s > '9') return false;
  long long v = 0;
  for (; *s >= '0' && *s <= '9'; ++s) {
    if (v > ((1ll << 62) - 9) / 10) return false;
    v = v * 10 + (*s - '0');
  }
  *out = negative ? -v : v;
  *p = s;
  return true;
}

bool read_number(const char* path, long long* out) {
  char buf[64];
  const char* p = buf;
  return read_text(path, buf, sizeof buf) && parse_number(&p, out);
}

// CPUs allowed by quota per period (rounded up, at least 1); 0 for no limit.
int quota_to_cpus(long long quota, long long period) {
  if (quota <= 0 || period <= 0) return 0;
  const long long cpus = (quota + period - 1) / period;
  return cpus > kMaxCpus ? kMaxCpus : (int)cpus;
}

// The limit set in the cgroup folder `dir` (its length is len; the buffer has room after it): cgroup v2 cpu.max
// ("max 100000" or "50000 100000"), cgroup v1 cpu.cfs_quota_us (-1: none) over cpu.cfs_period_us.
int quota_at(char* dir, size_t len, bool v2) {
  int cpus = 0;
  if (v2) {
    char buf[64];
    const char* p = buf;
    long long quota, period;
    if (snprintf(dir + len, kPathMax - len, "/cpu.max") < (int)(kPathMax - len) && read_text(dir, buf, sizeof buf) &&
        parse_number(&p, &quota) && parse_number(&p, &period))
      cpus = quota_to_cpus(quota, period);  // "max ..." does not parse: no limit
  } else {
    long long quota, period;
    if (snprintf(dir + len, kPathMax - len, "/cpu.cfs_quota_us") < (int)(kPathMax - len) && read_number(dir, &quota) &&
        snprintf(dir + len, kPathMax - len, "/cpu.cfs_period_us") < (int)(kPathMax - len) && read_number(dir, &period))
      cpus = quota_to_cpus(quota, period);
  }
  dir[len] = '\0';
  return cpus;
}

// The strictest limit of the cgroup `path` under the hierarchy mounted at `base` and of its ancestors: a parent's
// quota binds its children, and without a cgroup namespace the process sees its full path but only its own folder.
int quota_chain(const char* base, const char* path, bool v2) {
  char dir[kPathMax];
  const int w = snprintf(dir, sizeof dir, "%s%s", base, path);
  if (w < 0 || (size_t)w >= sizeof dir - 32) return 0;  // room for the file names
  const size_t base_len = strlen(base);
  size_t len = (size_t)w;
  while (len > base_len && dir[len - 1] == '/') dir[--len] = '\0';
  int best = 0;
  for (;;) {
    const int cpus = quota_at(dir, len, v2);
    if (cpus > 0 && (best == 0 || cpus < best)) best = cpus;
    if (len <= base_len) return best;
    while (len > base_len && dir[len - 1] != '/') --len;  // drop the last folder
    while (len > base_len && dir[len - 1] == '/') --len;
    dir[len] = '\0';
  }
}

bool has_controller(const char* list, const char* name) {
  const size_t n = strlen(name);
  for (const char* p = list; *p;) {
    const char* end = strchr(p, ',');
    const size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len == n && strncmp(p, name, n) == 0) return true;
    if (!end) break;
    p = end + 1;
  }
  return false;
}

// ceil(quota / period) of the process's cgroup (v2 "0::/path", v1 "N:cpu,cpuacct:/path" in /proc/self/cgroup),
// hierarchies at their usual mount points under the sysfs root; 0 when no limit is found.
int cgroup_quota_cpus(const char* sys, const char* proc) {
  char path[kPathMax], text[4096];
  if (snprintf(path, sizeof path, "%s/self/cgroup", proc) >= (int)sizeof path || !read_text(path, text, sizeof text))
    return 0;
  int best = 0;
  char* line = text;
  while (line != NULL && *line != '\0') {
    char* next = strchr(line, '\n');
    if (next != NULL) *next++ = '\0';
    char* c1 = strchr(line, ':');
    char* c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
    if (c2 != NULL && c2[1] == '/') {
      *c2 = '\0';
      const char* controllers = c1 + 1;
      const char* cgroup = c2 + 1;
      char base[kPathMax];
      int cpus = 0;
      if (controllers[0] == '\0' && c1 == line + 1 && line[0] == '0') {
        if (snprintf(base, sizeof base, "%s/fs/cgroup", sys) < (int)sizeof base) cpus = quota_chain(base, cgroup, true);
      } else if (has_controller(controllers, "cpu")) {
        // v1 mounts the cpu controller at cpu,cpuacct (named by its controller list) with a "cpu" link beside it.
        if (snprintf(base, sizeof base, "%s/fs/cgroup/%s", sys, controllers) < (int)sizeof base)
          cpus = quota_chain(base, cgroup, false);
        if (cpus == 0 && snprintf(base, sizeof base, "%s/fs/cgroup/cpu", sys) < (int)sizeof base)
          cpus = quota_chain(base, cgroup, false);
      }
      if (cpus > 0 && (best == 0 || cpus < best)) best = cpus;
    }
    line = next;
  }
  return best;
}

// A per-CPU figure of merit for every allowed CPU: cpu_capacity (the scheduler's relative performance, 1024 for the
// fastest), else cpufreq's cpuinfo_max_freq. False when some allowed CPU has neither (then all count as equal).
bool cpu_speeds(const char* sys, const CpuMask& allowed, const char* file, uint32_t* speed) {
  for (int cpu = 0; cpu < kMaxCpus; ++cpu) {
    if (!cpu_in(allowed, cpu)) continue;
    char path[kPathMax];
    long long v;
    if (snprintf(path, sizeof path, "%s/devices/system/cpu/cpu%d/%s", sys, cpu, file) >= (int)sizeof path ||
        !read_number(path, &v) || v <= 0 || v > 0xffffffffll)
      return false;
    speed[cpu] = (uint32_t)v;
  }
  return true;
}

// allowed minus its slowest cluster, when that cluster runs at most 3/4 as fast as the fastest CPU. Only the
// slowest cluster goes: a phone's middle cores (1 prime + 3 big + 4 little) are worth using, while a figure a few
// percent apart (binned or boosted frequencies of one core type) is not a cluster of little cores.
void drop_slow_cluster(const char* sys, CpuPlan* plan) {
  plan->fast = plan->allowed;
  if (plan->allowed_count < 2) return;
  static_assert(kMaxCpus * sizeof(uint32_t) <= 4096, "speed table lives on the stack");
  uint32_t speed[kMaxCpus];
  if (!cpu_speeds(sys, plan->allowed, "cpu_capacity", speed) &&
      !cpu_speeds(sys, plan->allowed, "cpufreq/cpuinfo_max_freq", speed))
    return;
  uint32_t lo = 0xffffffffu, hi = 0;
  for (int cpu = 0; cpu < kMaxCpus; ++cpu) {
    if (!cpu_in(plan->allowed, cpu)) continue;
    if (speed[cpu] < lo) lo = speed[cpu];
    if (speed[cpu] > hi) hi = speed[cpu];
  }
  if ((uint64_t)lo * 4 > (uint64_t)hi * 3) return;
  memset(&plan->fast, 0, sizeof plan->fast);
  for (int cpu = 0; cpu < kMaxCpus; ++cpu)
    if (cpu_in(plan->allowed, cpu) && speed[cpu] != lo) cpu_add(&plan->fast, cpu);
}

// A Linux CPU list ("0-3,6") into mask; false on anything else.
bool parse_cpu_list(const char* p, CpuMask* mask) {
  memset(mask, 0, sizeof *mask);
  for (;;) {
    long long lo, hi;
    if (!parse_number(&p, &lo)) return false;
    hi = lo;
    if (*p == '-') {
      ++p;
      if (!parse_number(&p, &hi)) return false;
    }
    if (lo < 0 || hi < lo || hi >= kMaxCpus) return false;
    for (long long cpu = lo; cpu <= hi; ++cpu) cpu_add(mask, (int)cpu);
    if (*p != ',') break;
    ++p;
  }
  return *p == '\0' || *p == '\n' || *p == ' ';
}

// The test hook's affinity: Cpus_allowed_list of <proc>/self/status, so that a fake tree can describe more CPUs
// than the machine running the test has.
bool read_fake_affinity(const char* proc, CpuMask* mask) {
  char path[kPathMax], text[4096];
  if (snprintf(path, sizeof path, "%s/self/status", proc) >= (int)sizeof path || !read_text(path, text, sizeof text))
    return false;
  const char* key = strstr(text, "Cpus_allowed_list:");
  if (key == NULL) return false;
  key += strlen("Cpus_allowed_list:");
  while (*key == ' ' || *key == '\t') ++key;
  return parse_cpu_list(key, mask) && cpu_count(*mask) > 0;
}

void read_affinity(CpuPlan* plan) {
  memset(&plan->allowed, 0, sizeof plan->allowed);
  const char* fake_proc = getenv("EDGEBUILD_PROC_ROOT");
  if (fake_proc != NULL && fake_proc[0] != '\0' && read_fake_affinity(fake_proc, &plan->allowed)) return;
#if defined(__linux__)
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    for (int cpu = 0; cpu < kMaxCpus && cpu < CPU_SETSIZE; ++cpu)
      if (CPU_ISSET(cpu, &set)) cpu_add(&plan->allowed, cpu);
  }
#endif
  if (cpu_count(plan->allowed) == 0) {  // no affinity call: every online CPU
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    for (long cpu = 0; cpu < (n < 1 ? 1 : n) && cpu < kMaxCpus; ++cpu) cpu_add(&plan->allowed, (int)cpu);
  }
}

// A hexadecimal ("0x41", "0x00000000410fd0b0") at *p after blanks; advances *p past it.
bool parse_hex(const char** p, uint64_t* out) {
  const char* s = *p;
  while (*s == ' ' || *s == '\t') ++s;
  if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) return false;
  s += 2;
  uint64_t v = 0;
  int digits = 0;
  for (;; ++s, ++digits) {
    const char c = *s;
    const int d = c >= '0' && c <= '9'   ? c - '0'
                  : c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                         : -1;
    if (d < 0) break;
    if (digits == 16) return false;
    v = v << 4 | (uint64_t)d;
  }
  if (digits == 0) return false;
  *out = v;
  *p = s;
  return true;
}

// implementer << 16 | part, as detect_midr compares cores (0: unknown).
uint32_t core_code(uint64_t implementer, uint64_t part) {
  return implementer > 0 && implementer <= 0xff && part <= 0xfff ? (uint32_t)(implementer << 16 | part) : 0;
}

// The value after "key<blanks>:" at the start of line, or NULL.
const char* field(const char* line, const char* key) {
  const size_t n = strlen(key);
  if (strncmp(line, key, n) != 0) return NULL;
  line += n;
  while (*line == ' ' || *line == '\t') ++line;
  return *line == ':' ? line + 1 : NULL;
}

// Per CPU of `cpus`, code[cpu] from /proc/cpuinfo: its "processor : N" blocks' CPU implementer and CPU part. Read a
// line at a time through a fixed buffer (a 128-core server's file is ~100 KiB); lines longer than it are skipped.
// Kernels that print one block for all CPUs (old armv7 ones) give every CPU its values.
void read_cpuinfo(const char* proc, const CpuMask& cpus, uint32_t* code) {
  char path[kPathMax];
  if (snprintf(path, sizeof path, "%s/cpuinfo", proc) >= (int)sizeof path) return;
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  char buf[4096];
  size_t have = 0;
  bool eof = false, skipping = false;
  long long cpu = -1;
  uint64_t implementer = 0;
  while (!eof || have > 0) {
    if (!eof && have + 1 < sizeof buf) {
      const ssize_t r = read(fd, buf + have, sizeof buf - 1 - have);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0)
        eof = true;
      else
        have += (size_t)r;
    }
    char* nl = static_cast<char*>(memchr(buf, '\n', have));
    if (nl == NULL && !eof && have + 1 < sizeof buf) continue;  // read more
    const size_t len = nl != NULL ? (size_t)(nl - buf) : have;
    buf[len] = '\0';
    if (!skipping) {
      const char* v;
      long long n;
      uint64_t x;
      if ((v = field(buf, "processor")) != NULL && parse_number(&v, &n)) {
        cpu = n;
        implementer = 0;
      } else if ((v = field(buf, "CPU implementer")) != NULL && parse_hex(&v, &x)) {
        implementer = x;
      } else if ((v = field(buf, "CPU part")) != NULL && parse_hex(&v, &x)) {
        const uint32_t c = core_code(implementer, x);
        for (int i = 0; i < kMaxCpus; ++i)
          if (cpu_in(cpus, i) && (cpu < 0 || cpu == i) && code[i] == 0) code[i] = c;
      }
    }
    skipping = nl == NULL && !eof;  // a line longer than the buffer: drop it up to its end
    const size_t used = nl != NULL ? len + 1 : have;
    memmove(buf, buf + used, have - used);
    have -= used;
  }
  close(fd);
}

}  // namespace

bool detect_midr(const CpuMask& cpus, uint32_t* implementer, uint32_t* part, const char** from) {
  const char* sys = root("EDGEBUILD_SYSFS_ROOT", "/sys");
  const char* proc = root("EDGEBUILD_PROC_ROOT", "/proc");
  static_assert(kMaxCpus * sizeof(uint32_t) <= 4096, "code table lives on the stack");
  uint32_t code[kMaxCpus];
  memset(code, 0, sizeof code);
  bool any = false;
  for (int cpu = 0; cpu < kMaxCpus; ++cpu) {
    if (!cpu_in(cpus, cpu)) continue;
    char path[kPathMax], text[64];
    const char* p = text;
    uint64_t midr;
    if (snprintf(path, sizeof path, "%s/devices/system/cpu/cpu%d/regs/identification/midr_el1", sys, cpu) <
            (int)sizeof path &&
        read_text(path, text, sizeof text) && parse_hex(&p, &midr)) {
      code[cpu] = core_code(midr >> 24 & 0xff, midr >> 4 & 0xfff);
      any |= code[cpu] != 0;
    }
  }
  *from = "sysfs";
  if (!any) {
    read_cpuinfo(proc, cpus, code);
    *from = "cpuinfo";
  }
  // The most common core among the CPUs (a phone's prime + big cluster: the big cores), the first on a tie.
  uint32_t best = 0;
  int best_count = 0;
  for (int cpu = 0; cpu < kMaxCpus; ++cpu) {
    if (!cpu_in(cpus, cpu) || code[cpu] == 0 || code[cpu] == best) continue;
    int count = 0;
    for (int other = cpu; other < kMaxCpus; ++other) count += cpu_in(cpus, other) && code[other] == code[cpu];
    if (count > best_count) best = code[cpu], best_count = count;
  }
  if (best == 0) return false;
  *implementer = best >> 16;
  *part = best & 0xffff;
  return true;
}

void plan_cpus(CpuPlan* plan, int max_threads) {
  const char* sys = root("EDGEBUILD_SYSFS_ROOT", "/sys");
  const char* proc = root("EDGEBUILD_PROC_ROOT", "/proc");
  read_affinity(plan);
  plan->allowed_count = cpu_count(plan->allowed);
  drop_slow_cluster(sys, plan);
  plan->fast_count = cpu_count(plan->fast);
  plan->quota_cpus = cgroup_quota_cpus(sys, proc);
  int n = plan->fast_count;
  if (plan->quota_cpus > 0 && plan->quota_cpus < n) n = plan->quota_cpus;
  plan->default_threads = n < 1 ? 1 : (n > max_threads ? max_threads : n);
}

void format_cpu_list(const CpuMask& mask, char* buf, size_t len) {
  size_t n = 0;
  buf[0] = '\0';
  for (int cpu = 0; cpu < kMaxCpus; ++cpu) {
    if (!cpu_in(mask, cpu)) continue;
    int last = cpu;
    while (last + 1 < kMaxCpus && cpu_in(mask, last + 1)) ++last;
    char part[32];
    const int w = last == cpu ? snprintf(part, sizeof part, "%s%d", n ? "," : "", cpu)
                              : snprintf(part, sizeof part, "%s%d-%d", n ? "," : "", cpu, last);
    if (w < 0 || n + (size_t)w + 4 > len) {  // keep room for "..."
      if (n + 4 <= len) memcpy(buf + n, "...", 4);
      return;
    }
    memcpy(buf + n, part, (size_t)w + 1);
    n += (size_t)w;
    cpu = last;
  }
}

bool pin_current_thread(const CpuMask& mask) {
#if defined(__linux__)
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int cpu = 0; cpu < kMaxCpus && cpu < CPU_SETSIZE; ++cpu)
    if (cpu_in(mask, cpu)) CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof set, &set) == 0;  // 0: the calling thread (Linux affinity is per thread)
#else
  (void)mask;
  return false;
#endif
}

}  // namespace eb
