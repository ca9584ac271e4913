// main.cc: edgebuild-run, the standalone runner: load a .ebm, feed .npy inputs, time invokes, print one JSON line.
//
//   edgebuild-run MODEL.ebm [--input x.npy]... [--output y.npy]... [--warmup N] [--iterations N] [--profile]
//                 [--threads N] [--cpu CORE]
//                 (EDGEBUILD_ISA=ref|avx2|avx512vnni|neon|neondot|i8mm forces a kernel path)
//
// --cpu names the core the kernel variants are chosen for (cortex-a55, cortex-a76, ...: the runtime's core table,
// edgebuild.h eb_model_cpu); it sets EDGEBUILD_CPU for the runtime, which otherwise reads the core from the CPU.
//
// --threads defaults to eb_default_threads(): the CPUs this process may use (affinity, cgroup quota), the fast
// cores of a big.LITTLE CPU. When the runtime pins its workers to those cores, the runner pins its own thread (the
// caller, which runs tasks too) there as well.
//
// stdout carries exactly one JSON line (the machine contract read by edgebuild's run/profile stages); errors also
// go to stderr. Exit codes: 0 ok, 1 runtime or data error (JSON with "status":"error"), 2 bad command line.
// Plain C library only, so that a static build runs unchanged on Linux boards and on Android through adb.
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "edgebuild/edgebuild.h"

namespace {

const int kMaxFiles = 64;

struct Options {
  const char* model;
  const char* inputs[kMaxFiles];
  int num_inputs;
  const char* outputs[kMaxFiles];
  int num_outputs;
  long warmup;
  long iterations;
  bool profile;
  long threads;     // 0: eb_default_threads()
  const char* cpu;  // --cpu: EDGEBUILD_CPU for the runtime, or NULL
};

void usage(const char* why) {
  fprintf(stderr,
          "edgebuild-run: %s\n"
          "usage: edgebuild-run MODEL.ebm [--input x.npy]... [--output y.npy]... [--warmup N (default 1)]\n"
          "                     [--iterations N (default 1)] [--profile] [--threads N (default: the usable CPUs)]\n"
          "                     [--cpu CORE (default: the CPU's own, e.g. cortex-a76)]\n",
          why);
  exit(2);
}

bool parse_count(const char* text, long min, long* out) {
  char* end;
  errno = 0;
  const long v = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < min || v > 100000000L) return false;
  *out = v;
  return true;
}

Options parse_args(int argc, char** argv) {
  Options o;
  memset(&o, 0, sizeof o);
  o.warmup = 1;
  o.iterations = 1;
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    const bool has_value = i + 1 < argc;
    if (strcmp(a, "--input") == 0 || strcmp(a, "--output") == 0) {
      if (!has_value) usage("missing file after --input/--output");
      const bool in = a[2] == 'i';
      int& n = in ? o.num_inputs : o.num_outputs;
      if (n == kMaxFiles) usage("too many --input/--output files");
      (in ? o.inputs : o.outputs)[n++] = argv[++i];
    } else if (strcmp(a, "--warmup") == 0) {
      if (!has_value || !parse_count(argv[++i], 0, &o.warmup)) usage("--warmup needs an integer >= 0");
    } else if (strcmp(a, "--iterations") == 0) {
      if (!has_value || !parse_count(argv[++i], 1, &o.iterations)) usage("--iterations needs an integer >= 1");
    } else if (strcmp(a, "--threads") == 0) {
      if (!has_value || !parse_count(argv[++i], 1, &o.threads) || o.threads > 64) usage("--threads needs 1..64");
    } else if (strcmp(a, "--cpu") == 0) {
      if (!has_value || argv[i + 1][0] == '\0') usage("--cpu needs a core name such as cortex-a55");
      o.cpu = argv[++i];
    } else if (strcmp(a, "--profile") == 0) {
      o.profile = true;
    } else if (a[0] == '-' && a[1] != '\0') {
      fprintf(stderr, "edgebuild-run: unknown option %s\n", a);
      usage("bad command line");
    } else if (o.model == NULL) {
      o.model = a;
    } else {
      usage("more than one MODEL given");
    }
  }
  if (o.model == NULL) usage("missing MODEL.ebm");
  return o;
}

// ---- JSON output ----

// Appends s as a JSON string: escapes quotes, backslashes and control characters; bytes that are not valid UTF-8
// become U+FFFD so the line always parses.
void json_string(FILE* f, const char* s) {
  fputc('"', f);
  const unsigned char* p = reinterpret_cast<const unsigned char*>(s);
  while (*p) {
    const unsigned char c = *p;
    if (c == '"' || c == '\\') {
      fputc('\\', f);
      fputc(c, f);
      ++p;
    } else if (c < 0x20) {
      fprintf(f, "\\u%04x", c);
      ++p;
    } else if (c < 0x80) {
      fputc(c, f);
      ++p;
    } else {
      // Length of a well-formed UTF-8 sequence starting at p, or 0.
      int len = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
      for (int k = 1; k < len; ++k)
        if ((p[k] & 0xC0) != 0x80) len = 0;
      if (len == 3 && ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] > 0x9F))) len = 0;
      if (len == 4 && ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] > 0x8F))) len = 0;
      if (len == 0) {
        fputs("\\ufffd", f);
        ++p;
      } else {
        fwrite(p, 1, (size_t)len, f);
        p += len;
      }
    }
  }
  fputc('"', f);
}

[[noreturn]] void fail(eb_status status, const char* fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void fail(eb_status status, const char* fmt, ...) {
  char message[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  printf("{\"status\":\"error\",\"code\":");
  json_string(stdout, eb_status_name(status));
  printf(",\"message\":");
  json_string(stdout, message);
  printf("}\n");
  fflush(stdout);
  fprintf(stderr, "edgebuild-run: %s: %s\n", eb_status_name(status), message);
  exit(1);
}

// ---- clocks and memory ----

double now_ms() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

// Peak resident set size in kB: VmHWM from /proc/self/status, else getrusage (kB on Linux). Under qemu-user this
// includes qemu itself, hence the runner reports the peak minus the value at start as well.
long peak_rss_kb() {
  FILE* f = fopen("/proc/self/status", "r");
  if (f != NULL) {
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f) != NULL)
      if (strncmp(line, "VmHWM:", 6) == 0) kb = strtol(line + 6, NULL, 10);
    fclose(f);
    if (kb >= 0) return kb;
  }
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) == 0) return ru.ru_maxrss;
  return 0;
}

// Current resident set in kB: total (VmRSS), anonymous (heap, arena, file buffer) and file-backed (code pages of
// the runner and its libraries, faulted in as they first run). -1 where /proc is missing.
struct Rss {
  long total, anon, file;
};

Rss current_rss() {
  Rss r = {-1, -1, -1};
  FILE* f = fopen("/proc/self/status", "r");
  if (f == NULL) return r;
  char line[256];
  while (fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, "VmRSS:", 6) == 0) r.total = strtol(line + 6, NULL, 10);
    if (strncmp(line, "RssAnon:", 8) == 0) r.anon = strtol(line + 8, NULL, 10);
    if (strncmp(line, "RssFile:", 8) == 0) r.file = strtol(line + 8, NULL, 10);
  }
  fclose(f);
  return r;
}

// Size of a file in bytes, or -1.
long long file_bytes(const char* path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

// Multiply-accumulates of one op (CONV2D, DEPTHWISE_CONV2D, FULLY_CONNECTED; 0 for the others), from its tensors'
// shapes. By type name, as the runtime reports it (the op table), not by opcode numbers copied here.
unsigned long long op_macs(const eb_model* model, const eb_op_info& op) {
  if (strcmp(op.type, "CONV2D") != 0 && strcmp(op.type, "DEPTHWISE_CONV2D") != 0 &&
      strcmp(op.type, "FULLY_CONNECTED") != 0)
    return 0;
  eb_tensor_info w, y;
  if (eb_model_tensor_info(model, (size_t)op.inputs[1], &w) != EB_OK ||
      eb_model_tensor_info(model, (size_t)op.outputs[0], &y) != EB_OK)
    return 0;
  // CONV2D: each output element sums KH*KW*(C/G) products (w is [OC,KH,KW,C/G]; DEPTHWISE_CONV2D's [OC,KH,KW,1]);
  // FULLY_CONNECTED: K (w is [N,K]).
  unsigned long long per_output = 1;
  for (uint32_t d = 1; d < w.rank; ++d) per_output *= (unsigned long long)w.dims[d];
  return (unsigned long long)y.num_elements * per_output;
}

void print_tensor_shapes(const eb_model* model, const int32_t* ids, uint32_t n) {
  printf("[");
  for (uint32_t i = 0; i < n; ++i) {
    eb_tensor_info t;
    if (ids[i] < 0 || eb_model_tensor_info(model, (size_t)ids[i], &t) != EB_OK) {
      printf("%snull", i ? "," : "");
      continue;
    }
    printf("%s[", i ? "," : "");
    for (uint32_t d = 0; d < t.rank; ++d) printf("%s%d", d ? "," : "", (int)t.dims[d]);
    printf("]");
  }
  printf("]");
}

// ---- .npy files (float32 in and out; int32 or int64 token ids in; little-endian, C order) ----

struct Array {
  float* data;  // 4-byte elements: float32, or int32 (an int64 file is narrowed on reading, range-checked)
  int elem;     // 'f' float32, 'i' int32, 'l' int64 in the file
  size_t count;
  int rank;
  long long dims[EB_MAX_RANK + 1];
};

void shape_text(char* buf, size_t len, int rank, const long long* dims) {
  size_t n = (size_t)snprintf(buf, len, "(");
  for (int i = 0; i < rank && n < len; ++i) n += (size_t)snprintf(buf + n, len - n, i ? ",%lld" : "%lld", dims[i]);
  if (n < len) snprintf(buf + n, len - n, rank == 1 ? ",)" : ")");
}

void skip_spaces(const char** p, const char* end) {
  while (*p < end && (**p == ' ')) ++*p;
}

bool eat(const char** p, const char* end, const char* token) {
  const size_t n = strlen(token);
  if ((size_t)(end - *p) < n || memcmp(*p, token, n) != 0) return false;
  *p += n;
  return true;
}

// Parses the header dict NumPy writes: {'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 8, 8), }
// Keys may come in any order; anything else (other dtypes, Fortran order, extra keys) is an error.
bool parse_npy_header(const char* p, const char* end, Array* a, char* why, size_t why_len) {
  bool seen_descr = false, seen_order = false, seen_shape = false;
  skip_spaces(&p, end);
  if (!eat(&p, end, "{")) return snprintf(why, why_len, "header is not a dict"), false;
  for (;;) {
    skip_spaces(&p, end);
    if (eat(&p, end, "}")) break;
    if (eat(&p, end, "'descr':")) {
      skip_spaces(&p, end);
      if (eat(&p, end, "'<f4'")) {
        a->elem = 'f';
      } else if (eat(&p, end, "'<i4'")) {
        a->elem = 'i';
      } else if (eat(&p, end, "'<i8'")) {
        a->elem = 'l';
      } else {
        return snprintf(why, why_len,
                        "dtype is not little-endian float32 ('<f4') or int32/int64 ids ('<i4', '<i8'); "
                        "save with x.astype(np.float32)"),
               false;
      }
      seen_descr = true;
    } else if (eat(&p, end, "'fortran_order':")) {
      skip_spaces(&p, end);
      if (!eat(&p, end, "False")) return snprintf(why, why_len, "array is in Fortran order, not C order"), false;
      seen_order = true;
    } else if (eat(&p, end, "'shape':")) {
      skip_spaces(&p, end);
      if (!eat(&p, end, "(")) return snprintf(why, why_len, "shape is not a tuple"), false;
      a->rank = 0;
      for (;;) {
        skip_spaces(&p, end);
        if (eat(&p, end, ")")) break;
        if (a->rank == EB_MAX_RANK + 1)
          return snprintf(why, why_len, "shape has more than %d dims", EB_MAX_RANK), false;
        if (p == end || *p < '0' || *p > '9') return snprintf(why, why_len, "malformed shape"), false;
        long long v = 0;
        while (p < end && *p >= '0' && *p <= '9') {
          v = v * 10 + (*p++ - '0');
          if (v > (1LL << 40)) return snprintf(why, why_len, "shape dim too large"), false;
        }
        a->dims[a->rank++] = v;
        skip_spaces(&p, end);
        if (eat(&p, end, ",")) continue;
        if (eat(&p, end, ")")) break;
        return snprintf(why, why_len, "malformed shape"), false;
      }
      seen_shape = true;
    } else {
      return snprintf(why, why_len, "unexpected header content"), false;
    }
    skip_spaces(&p, end);
    if (eat(&p, end, ",")) continue;
    skip_spaces(&p, end);
    if (eat(&p, end, "}")) break;
    return snprintf(why, why_len, "malformed header dict"), false;
  }
  while (p < end && (*p == ' ' || *p == '\n')) ++p;
  if (p != end) return snprintf(why, why_len, "trailing bytes after the header dict"), false;
  if (!seen_descr || !seen_order || !seen_shape)
    return snprintf(why, why_len, "header lacks descr, fortran_order or shape"), false;
  return true;
}

Array read_npy(const char* path) {
  FILE* f = fopen(path, "rb");
  if (f == NULL) fail(EB_ERR_IO, "cannot open %s: %s", path, strerror(errno));
  unsigned char pre[12];
  if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0)
    fclose(f), fail(EB_ERR_ARGUMENT, "%s is not a .npy file (bad magic)", path);
  size_t header_len;
  if (pre[6] == 1 && pre[7] == 0) {
    header_len = (size_t)pre[8] | (size_t)pre[9] << 8;
  } else if ((pre[6] == 2 || pre[6] == 3) && pre[7] == 0) {
    if (fread(pre + 10, 1, 2, f) != 2) fclose(f), fail(EB_ERR_ARGUMENT, "%s: truncated .npy header", path);
    header_len = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
  } else {
    fclose(f);
    fail(EB_ERR_ARGUMENT, "%s: unsupported .npy version %u.%u", path, pre[6], pre[7]);
  }
  if (header_len > 1 << 20) fclose(f), fail(EB_ERR_ARGUMENT, "%s: .npy header too long", path);
  char* header = static_cast<char*>(malloc(header_len + 1));
  if (header == NULL) fclose(f), fail(EB_ERR_NOMEM, "out of memory reading %s", path);
  if (fread(header, 1, header_len, f) != header_len)
    fclose(f), fail(EB_ERR_ARGUMENT, "%s: truncated .npy header", path);
  Array a;
  memset(&a, 0, sizeof a);
  char why[160];
  if (header_len == 0 || header[header_len - 1] != '\n' ||
      !parse_npy_header(header, header + header_len - 1, &a, why, sizeof why)) {
    if (header_len == 0 || header[header_len - 1] != '\n') snprintf(why, sizeof why, "header does not end in \\n");
    fclose(f);
    fail(EB_ERR_ARGUMENT, "%s: bad .npy header: %s", path, why);
  }
  free(header);
  unsigned long long count = 1;
  for (int i = 0; i < a.rank; ++i) {
    count *= (unsigned long long)a.dims[i];
    if (count > (1ULL << 40)) fclose(f), fail(EB_ERR_ARGUMENT, "%s: array too large", path);
  }
  if (count * sizeof(float) > (unsigned long long)SIZE_MAX) fclose(f), fail(EB_ERR_NOMEM, "%s: array too large", path);
  a.count = (size_t)count;
  a.data = static_cast<float*>(malloc(a.count == 0 ? 1 : a.count * sizeof(float)));
  if (a.data == NULL) fclose(f), fail(EB_ERR_NOMEM, "out of memory reading %s", path);
  if (a.elem == 'l') {  // int64 ids: read each, keep it as int32 when it fits
    int32_t* ids = reinterpret_cast<int32_t*>(a.data);
    for (size_t i = 0; i < a.count; ++i) {
      int64_t v;
      if (fread(&v, sizeof v, 1, f) != 1)
        fclose(f), fail(EB_ERR_ARGUMENT, "%s: data is shorter than its shape says", path);
      if (v < INT32_MIN || v > INT32_MAX)
        fclose(f), fail(EB_ERR_ARGUMENT, "%s: element %zu = %lld does not fit int32", path, i, (long long)v);
      ids[i] = (int32_t)v;
    }
  } else if (fread(a.data, sizeof(float), a.count, f) != a.count) {
    fclose(f), fail(EB_ERR_ARGUMENT, "%s: data is shorter than its shape says", path);
  }
  if (fgetc(f) != EOF) fclose(f), fail(EB_ERR_ARGUMENT, "%s: trailing bytes after the array data", path);
  fclose(f);
  return a;
}

void write_npy(const char* path, const eb_tensor_info& info, const float* data) {
  char dict[256];
  char shape[160];
  long long dims[EB_MAX_RANK];
  for (uint32_t i = 0; i < info.rank; ++i) dims[i] = info.dims[i];
  shape_text(shape, sizeof shape, (int)info.rank, dims);
  int n = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }", shape);
  // NumPy pads the preamble + header with spaces to a multiple of 64 and ends it with a newline.
  const size_t total = ((10 + (size_t)n + 1) + 63) / 64 * 64;
  const size_t header_len = total - 10;
  unsigned char pre[10] = {
      0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(header_len & 0xFF), (unsigned char)(header_len >> 8)};
  FILE* f = fopen(path, "wb");
  if (f == NULL) fail(EB_ERR_IO, "cannot write %s: %s", path, strerror(errno));
  bool ok = fwrite(pre, 1, 10, f) == 10 && fwrite(dict, 1, (size_t)n, f) == (size_t)n;
  for (size_t i = (size_t)n; ok && i + 1 < header_len; ++i) ok = fputc(' ', f) != EOF;
  ok = ok && fputc('\n', f) != EOF;
  ok = ok && fwrite(data, sizeof(float), info.num_elements, f) == info.num_elements;
  if (fclose(f) != 0 || !ok) fail(EB_ERR_IO, "cannot write %s: %s", path, strerror(errno));
}

// ---- statistics ----

int compare_double(const void* a, const void* b) {
  const double x = *static_cast<const double*>(a), y = *static_cast<const double*>(b);
  return x < y ? -1 : (x > y ? 1 : 0);
}

// Percentile q in [0, 100] of sorted values, interpolating linearly between ranks (NumPy's default).
double percentile(const double* sorted, size_t n, double q) {
  const double rank = q / 100.0 * (double)(n - 1);
  const size_t lo = (size_t)rank;
  const size_t hi = lo + 1 < n ? lo + 1 : lo;
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - (double)lo);
}

uint64_t fnv1a64(const void* data, size_t n) {
  const unsigned char* p = static_cast<const unsigned char*>(data);
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace

int main(int argc, char** argv) {
  const long rss_start_kb = peak_rss_kb();
  const Options opt = parse_args(argc, argv);
  if (opt.cpu != NULL) setenv("EDGEBUILD_CPU", opt.cpu, 1);  // read by the runtime at open (an unknown name fails it)

  char err[EB_ERROR_MAX];
  eb_model* model = NULL;
  // The RSS before the runtime allocates anything: peak RSS minus this is the load + run footprint.
  const Rss rss_before_load = current_rss();
  const double load_start = now_ms();
  const eb_status status = eb_model_open_file(opt.model, &model, err, sizeof err);
  const double load_ms = now_ms() - load_start;
  if (status == EB_ERR_IO) fail(status, "%s", err);  // the message names the file already
  if (status != EB_OK) fail(status, "%s: %s", opt.model, err);
  const int default_threads = eb_default_threads();
  const int threads = opt.threads > 0 ? (int)opt.threads : default_threads;
  if (eb_model_set_threads(model, threads) != EB_OK) fail(EB_ERR_NOMEM, "%s", eb_model_last_error(model));
  eb_model_pin_caller(model);  // best effort: a thread the OS will not move still computes the same bytes

  const size_t num_inputs = eb_model_num_inputs(model), num_outputs = eb_model_num_outputs(model);
  if ((size_t)opt.num_inputs != num_inputs)
    fail(EB_ERR_ARGUMENT, "the model has %zu input(s) but %d --input file(s) were given", num_inputs, opt.num_inputs);
  if (opt.num_outputs != 0 && (size_t)opt.num_outputs != num_outputs)
    fail(EB_ERR_ARGUMENT, "the model has %zu output(s) but %d --output file(s) were given", num_outputs,
         opt.num_outputs);

  Array inputs[kMaxFiles];
  for (size_t i = 0; i < num_inputs; ++i) {
    inputs[i] = read_npy(opt.inputs[i]);
    eb_tensor_info info;
    eb_model_input_info(model, i, &info);
    const bool want_ids = info.dtype == EB_DTYPE_INT32, got_ids = inputs[i].elem != 'f';
    if (want_ids != got_ids)
      fail(EB_ERR_ARGUMENT, "input %zu ('%s') is %s but %s holds %s", i, info.name, eb_dtype_name(info.dtype),
           opt.inputs[i], got_ids ? "integers" : "float32");
    bool same = (uint32_t)inputs[i].rank == info.rank;
    for (uint32_t d = 0; same && d < info.rank; ++d) same = inputs[i].dims[d] == info.dims[d];
    if (!same) {
      char got[160], want[160];
      long long dims[EB_MAX_RANK];
      for (uint32_t d = 0; d < info.rank; ++d) dims[d] = info.dims[d];
      shape_text(got, sizeof got, inputs[i].rank, inputs[i].dims);
      shape_text(want, sizeof want, (int)info.rank, dims);
      fail(EB_ERR_SHAPE, "input %zu ('%s') has shape %s but the model expects %s", i, info.name, got, want);
    }
  }

  const size_t num_ops = eb_model_num_ops(model);
  const long iterations = opt.iterations;
  double* latency = static_cast<double*>(malloc((size_t)iterations * sizeof(double)));
  // Per-op times of every timed iteration, op-major: op_ms[op * iterations + it].
  double* op_ms =
      opt.profile ? static_cast<double*>(malloc((num_ops ? num_ops : 1) * (size_t)iterations * sizeof(double))) : NULL;
  if (latency == NULL || (opt.profile && op_ms == NULL)) fail(EB_ERR_NOMEM, "out of memory for timings");
  // What the runner itself holds besides the runtime's tracked bytes (input arrays, timing arrays).
  size_t runner_buffers_bytes = (size_t)iterations * sizeof(double) * (opt.profile ? 1 + (num_ops ? num_ops : 1) : 1);
  for (size_t i = 0; i < num_inputs; ++i) runner_buffers_bytes += inputs[i].count * sizeof(float);
  eb_model_set_profiling(model, opt.profile ? 1 : 0);

  for (long it = -opt.warmup; it < iterations; ++it) {
    // Inputs are set before every invoke: the memory plan may reuse an input's bytes once it is consumed.
    for (size_t i = 0; i < num_inputs; ++i) {
      const eb_status s =
          inputs[i].elem == 'f'
              ? eb_model_set_input(model, i, inputs[i].data, inputs[i].count)
              : eb_model_set_input_int32(model, i, reinterpret_cast<const int32_t*>(inputs[i].data), inputs[i].count);
      if (s != EB_OK) fail(s, "%s", eb_model_last_error(model));
    }
    const double start = now_ms();
    const eb_status s = eb_model_invoke(model);
    const double elapsed = now_ms() - start;
    if (s != EB_OK) fail(s, "invoke: %s", eb_model_last_error(model));
    if (it < 0) continue;
    latency[it] = elapsed;
    for (size_t op = 0; opt.profile && op < num_ops; ++op) {
      uint64_t ns = 0;
      eb_model_op_time_ns(model, op, &ns);
      op_ms[op * (size_t)iterations + (size_t)it] = (double)ns * 1e-6;
    }
  }

  printf("{\"status\":\"ok\",\"runner\":\"edgebuild-run\",\"version\":1,\"load_ms\":%.6f", load_ms);
  printf(",\"isa\":\"%s\",\"compiled_isas\":\"%s\",\"threads\":%d", eb_model_isa(model), eb_compiled_isas(),
         eb_model_num_threads(model));
  printf(",\"default_threads\":%d,\"cpus\":\"%s\",\"pinned\":%s", default_threads, eb_model_cpus(model),
         eb_model_threads_pinned(model) ? "true" : "false");
  printf(",\"cpu\":\"%s\",\"core_class\":\"%s\",\"cpu_source\":", eb_model_cpu(model), eb_model_core_class(model));
  json_string(stdout, eb_model_cpu_source(model));
  printf(",\"kernels\":{\"qs8-gemm\":\"%s\",\"qd8-gemm\":\"%s\"}", eb_model_kernel(model, "qs8-gemm"),
         eb_model_kernel(model, "qd8-gemm"));
  qsort(latency, (size_t)iterations, sizeof(double), compare_double);
  printf(",\"latency_ms\":{\"warmup\":%ld,\"iterations\":%ld,\"min\":%.6f,\"median\":%.6f,\"p90\":%.6f,\"max\":%.6f}",
         opt.warmup, iterations, latency[0], percentile(latency, (size_t)iterations, 50),
         percentile(latency, (size_t)iterations, 90), latency[iterations - 1]);

  printf(",\"outputs\":[");
  for (size_t i = 0; i < num_outputs; ++i) {
    eb_tensor_info info;
    eb_model_output_info(model, i, &info);
    float* data = static_cast<float*>(malloc(info.num_elements * sizeof(float)));
    if (data == NULL) fail(EB_ERR_NOMEM, "out of memory for output %zu", i);
    const eb_status s = eb_model_get_output(model, i, data, info.num_elements);
    if (s != EB_OK) fail(s, "%s", eb_model_last_error(model));
    if (opt.num_outputs != 0) write_npy(opt.outputs[i], info, data);
    printf("%s{\"name\":", i ? "," : "");
    json_string(stdout, info.name);
    printf(",\"shape\":[");
    for (uint32_t d = 0; d < info.rank; ++d) printf("%s%d", d ? "," : "", (int)info.dims[d]);
    printf("],\"fnv1a64\":\"%016llx\"}", (unsigned long long)fnv1a64(data, info.num_elements * sizeof(float)));
    free(data);
  }
  printf("]");

  const long rss_peak_kb = peak_rss_kb();
  const Rss rss_end = current_rss();
  printf(
      ",\"memory\":{\"arena_bytes\":%zu,\"tracked_bytes\":%zu,\"weights_bytes\":%zu,\"rss_start_kb\":%ld,"
      "\"rss_peak_kb\":%ld,\"peak_rss_delta_kb\":%ld,\"runner_buffers_bytes\":%zu,\"rss_before_load_kb\":%ld,"
      "\"rss_anon_before_load_kb\":%ld,\"rss_file_before_load_kb\":%ld,\"rss_end_kb\":%ld,\"rss_anon_end_kb\":%ld,"
      "\"rss_file_end_kb\":%ld}",
      eb_model_arena_bytes(model), eb_model_tracked_bytes(model), eb_model_weights_bytes(model), rss_start_kb,
      rss_peak_kb, rss_peak_kb - rss_start_kb, runner_buffers_bytes, rss_before_load.total, rss_before_load.anon,
      rss_before_load.file, rss_end.total, rss_end.anon, rss_end.file);
  printf(",\"files\":{\"artifact_bytes\":%lld,\"runner_bytes\":%lld}", file_bytes(opt.model), file_bytes(argv[0]));

  if (opt.profile) {
    printf(",\"ops\":[");
    for (size_t op = 0; op < num_ops; ++op) {
      eb_op_info info;
      eb_model_op_info(model, op, &info);
      double* t = op_ms + op * (size_t)iterations;
      qsort(t, (size_t)iterations, sizeof(double), compare_double);
      printf("%s{\"name\":", op ? "," : "");
      json_string(stdout, info.name);
      printf(",\"type\":");
      json_string(stdout, info.type);
      const double median = percentile(t, (size_t)iterations, 50);
      const unsigned long long macs = op_macs(model, info);
      printf(",\"inputs\":");
      print_tensor_shapes(model, info.inputs, info.num_inputs);
      printf(",\"outputs\":");
      print_tensor_shapes(model, info.outputs, info.num_outputs);
      printf(",\"macs\":%llu,\"ms\":%.6f,\"ms_min\":%.6f,\"ms_max\":%.6f,\"gmacs_per_s\":%.4f}", macs, median, t[0],
             t[iterations - 1], median > 0 ? (double)macs / (median * 1e6) : 0.0);
    }
    printf("]");
  }
  printf("}\n");
  fflush(stdout);

  for (size_t i = 0; i < num_inputs; ++i) free(inputs[i].data);
  free(latency);
  free(op_ms);
  eb_model_close(model);
  return 0;
}
