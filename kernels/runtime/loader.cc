// loader.cc: reads and validates a .ebm artifact (docs/artifact.md) and builds the model the executor runs.
//
// The loader trusts nothing. Every (checked) rule of docs/artifact.md is verified, and so is every per-op rule
// (arity, dtypes, ranks, shapes, parameter ranges, requantization constants), so that after a successful load no
// kernel can index outside its tensors and no arithmetic is undefined. All size arithmetic is done in uint64 with
// explicit overflow checks, as if the CRC had passed: fuzzers (EDGEBUILD_FUZZING) skip the CRC to reach this code.
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "edgebuild/pool_window.h"
#include "edgebuild/ukernels.h"
#include "huffman.h"
#include "internal.h"

namespace eb {

namespace {

// Little-endian field readers; memcpy because header and record fields are not necessarily aligned.
uint16_t read_u16(const uint8_t* p) {
  uint16_t v;
  memcpy(&v, p, sizeof v);
  return v;
}
uint32_t read_u32(const uint8_t* p) {
  uint32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}
int32_t read_i32(const uint8_t* p) {
  int32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}
uint64_t read_u64(const uint8_t* p) {
  uint64_t v;
  memcpy(&v, p, sizeof v);
  return v;
}
float read_f32(const uint8_t* p) {
  float v;
  memcpy(&v, p, sizeof v);
  return v;
}

// offset + size <= limit, without overflow.
bool fits(uint64_t offset, uint64_t size, uint64_t limit) { return offset <= limit && size <= limit - offset; }

const char* section_name(uint32_t kind) {
  switch (kind) {
    case kSectionStrings: return "STRINGS";
    case kSectionTensors: return "TENSORS";
    case kSectionOps: return "OPS";
    case kSectionIntPool: return "INT_POOL";
    case kSectionGraph: return "GRAPH";
    case kSectionConstants: return "CONSTANTS";
    case kSectionMetadata: return "METADATA";
    case kSectionCodedConstants: return "CODED_CONSTANTS";
    default: return "unknown";
  }
}

struct Section {
  bool present;
  uint64_t offset, size;
};

// "[8,3,3,2]" (or "[]" for rank 0) into a buffer big enough for 6 dims.
struct DimsText {
  char text[96];
};
DimsText dims_text(const Tensor& t) {
  DimsText d;
  size_t n = 0;
  d.text[n++] = '[';
  for (uint32_t i = 0; i < t.rank; ++i)
    n += (size_t)snprintf(d.text + n, sizeof d.text - n, i ? ",%d" : "%d", (int)t.dims[i]);
  snprintf(d.text + n, sizeof d.text - n, "]");
  return d;
}

const char* dtype_text(uint8_t dtype) { return eb_dtype_name((eb_dtype)dtype); }

// Per-op arity from the op table (docs/artifact.md), for the int8 form and the float form (output float32) of an
// opcode. CONCAT takes n >= 1 inputs and 1 + 2n params (int8) or 1 param (float); TRANSPOSE takes rank(x) params;
// both are checked by their own rules. {0, 0, 0}: the opcode has no such form.
struct Arity {
  int32_t inputs, outputs, params;  // -1: variable
};
Arity arity_of(uint32_t opcode, bool is_float) {
  switch (opcode) {
    case kOpQuantize: return {1, 1, 2};
    case kOpDequantize: return {1, 1, 1};
    case kOpConv2d: return is_float ? Arity{3, 1, 11} : Arity{5, 1, 11};
    case kOpFullyConnected: return is_float ? Arity{3, 1, 2} : Arity{5, 1, 2};
    case kOpAdd: return is_float ? Arity{2, 1, 2} : Arity{2, 1, 9};
    case kOpMaxPool2d: return {1, 1, 10};
    case kOpAvgPool2d: return {1, 1, 9};
    case kOpConcat: return is_float ? Arity{-1, 1, 1} : Arity{-1, 1, -1};
    case kOpReshape: return {1, 1, 0};
    case kOpTranspose: return {1, 1, -1};
    case kOpClamp: return {1, 1, 2};
    case kOpBatchMatmul: return is_float ? Arity{2, 1, 2} : Arity{2, 1, 5};
    case kOpSoftmax: return is_float ? Arity{1, 1, 0} : Arity{0, 0, 0};
    case kOpLayerNorm: return is_float ? Arity{3, 1, 1} : Arity{0, 0, 0};
    case kOpEmbedding: return is_float ? Arity{2, 1, 0} : Arity{0, 0, 0};
    case kOpUnary: return {2, 1, 2};
    case kOpSub: return is_float ? Arity{2, 1, 2} : Arity{2, 1, 9};
    case kOpMul: return is_float ? Arity{2, 1, 2} : Arity{2, 1, 4};
    case kOpPad: return {1, 1, -1};
    case kOpSlice: return {1, 1, -1};
    case kOpResize: return {3, 1, 2};
    case kOpSparseConv2d: return is_float ? Arity{0, 0, 0} : Arity{7, 1, 15};
    case kOpSparseFullyConnected: return is_float ? Arity{0, 0, 0} : Arity{7, 1, 4};
    default: return {0, 0, 0};
  }
}

// An optional input may be -1: the bias of CONV2D / FULLY_CONNECTED, gamma and beta of LAYER_NORM, UNARY's table.
bool optional_input(uint32_t opcode, uint32_t k) {
  const bool weighted = opcode == kOpConv2d || opcode == kOpFullyConnected || opcode == kOpSparseConv2d ||
                        opcode == kOpSparseFullyConnected;
  return (weighted && k == 2) || (opcode == kOpLayerNorm && k >= 1) ||  // bias, LAYER_NORM's affine
         (opcode == kOpUnary && k == 1);                                // UNARY's table / slope (check_unary)
}

// Activation bounds of a float op: the IEEE bits of two float32 values, lo <= hi, neither NaN.
float param_f32(int32_t bits) {
  float v;
  memcpy(&v, &bits, sizeof v);
  return v;
}

class Loader {
 public:
  Loader(eb_model* model, const uint8_t* buffer, size_t size, char* err, size_t err_len)
      : m_(model), buf_(buffer), size_(size), err_(err), err_len_(err_len) {}

  eb_status load() {
    eb_status s;
    if ((s = read_header()) != EB_OK) return s;
    if ((s = read_section_table()) != EB_OK) return s;
    if ((s = read_tables()) != EB_OK) return s;
    if ((s = read_coded_constants()) != EB_OK) return s;
    if ((s = read_tensors()) != EB_OK) return s;
    if ((s = read_graph()) != EB_OK) return s;
    if ((s = read_ops()) != EB_OK) return s;
    for (uint32_t i = 0; i < m_->num_ops; ++i)
      if ((s = check_op(i)) != EB_OK) return s;
    return allocate();
  }

 private:
  eb_status fail(eb_status status, const char* fmt, ...)
#if defined(__GNUC__)
      __attribute__((format(printf, 3, 4)))
#endif
  {
    if (err_ != NULL && err_len_ > 0) {
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(err_, err_len_, fmt, ap);
      va_end(ap);
    }
    return status;
  }

  // "op 3 (CONV2D 'conv1'): " + message; every per-op check reports through this.
  eb_status op_fail(const char* fmt, ...)
#if defined(__GNUC__)
      __attribute__((format(printf, 2, 3)))
#endif
  {
    if (err_ != NULL && err_len_ > 0) {
      const char* type = opcode_name(op_->opcode);
      int n = snprintf(err_, err_len_, "op %u (%s '%.*s'): ", op_index_, type ? type : "?", (int)op_name_len_,
                       op_name_);
      if (n >= 0 && (size_t)n < err_len_) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err_ + n, err_len_ - (size_t)n, fmt, ap);
        va_end(ap);
      }
    }
    return EB_ERR_FORMAT;
  }

  // ---- header and section table ----

  eb_status read_header() {
    if (size_ < kHeaderBytes)
      return fail(EB_ERR_FORMAT, "file is %zu bytes, shorter than the %zu-byte header", size_, kHeaderBytes);
    if (memcmp(buf_, "EBMODEL\0", 8) != 0) return fail(EB_ERR_FORMAT, "bad magic: not an edgebuild model (.ebm)");
    const uint16_t major = read_u16(buf_ + 8), minor = read_u16(buf_ + 10);
    if (major != EB_FORMAT_VERSION_MAJOR)
      return fail(EB_ERR_VERSION, "format version %u.%u; this runtime reads %d.x", major, minor,
                  EB_FORMAT_VERSION_MAJOR);
    const uint64_t file_size = read_u64(buf_ + 24);
    if (file_size != (uint64_t)size_)
      return fail(EB_ERR_FORMAT, "header says file_size %llu but the file has %zu bytes (truncated or padded?)",
                  (unsigned long long)file_size, size_);
    section_count_ = read_u32(buf_ + 16);
    if (section_count_ < 1 || section_count_ > kMaxSections)
      return fail(EB_ERR_FORMAT, "section_count %u outside 1..%u", section_count_, kMaxSections);
    if (!fits(kHeaderBytes, (uint64_t)section_count_ * kSectionEntryBytes, size_))
      return fail(EB_ERR_FORMAT, "section table (%u entries) runs past the end of the file", section_count_);
#ifndef EDGEBUILD_FUZZING
    const uint32_t expected = read_u32(buf_ + 20), actual = crc32(buf_ + kHeaderBytes, size_ - kHeaderBytes);
    if (expected != actual)
      return fail(EB_ERR_CHECKSUM,
                  "checksum mismatch (CRC-32): header says 0x%08x, the data gives 0x%08x (file corrupted)", expected,
                  actual);
#endif
    return EB_OK;
  }

  eb_status read_section_table() {
    uint32_t kinds[kMaxSections];
    for (uint32_t i = 0; i < section_count_; ++i) {
      const uint8_t* e = buf_ + kHeaderBytes + (size_t)i * kSectionEntryBytes;
      const uint32_t kind = read_u32(e);
      const uint64_t offset = read_u64(e + 8), size = read_u64(e + 16);
      if (offset % kSectionAlignment != 0)
        return fail(EB_ERR_FORMAT, "section %u (%s, kind %u): offset %llu is not a multiple of 64", i,
                    section_name(kind), kind, (unsigned long long)offset);
      if (!fits(offset, size, size_))
        return fail(EB_ERR_FORMAT, "section %u (%s, kind %u): offset %llu + size %llu exceeds the file size %zu", i,
                    section_name(kind), kind, (unsigned long long)offset, (unsigned long long)size, size_);
      for (uint32_t j = 0; j < i; ++j)
        if (kinds[j] == kind)
          return fail(EB_ERR_FORMAT, "section kind %u (%s) appears twice (entries %u and %u)", kind,
                      section_name(kind), j, i);
      kinds[i] = kind;
      if (kind >= kSectionStrings && kind <= kSectionLastKnown) sections_[kind] = Section{true, offset, size};
      // Unknown kinds are skipped: newer minor versions may add sections.
    }
    const uint32_t required[] = {kSectionStrings, kSectionTensors, kSectionOps, kSectionIntPool, kSectionGraph};
    for (uint32_t kind : required)
      if (!sections_[kind].present) return fail(EB_ERR_FORMAT, "missing required section %s", section_name(kind));
    return EB_OK;
  }

  // Count fields of TENSORS, OPS, INT_POOL, and the GRAPH header: `8 + count × record_size <= size`.
  eb_status read_counted(uint32_t kind, size_t record_bytes, uint32_t* count) {
    const Section& s = sections_[kind];
    if (s.size < 8) return fail(EB_ERR_FORMAT, "section %s is %llu bytes, shorter than its 8-byte header",
                                section_name(kind), (unsigned long long)s.size);
    *count = read_u32(buf_ + s.offset);
    if ((uint64_t)*count * record_bytes > s.size - 8)
      return fail(EB_ERR_FORMAT, "section %s: count %u × %zu bytes does not fit in its %llu bytes",
                  section_name(kind), *count, record_bytes, (unsigned long long)s.size);
    return EB_OK;
  }

  eb_status read_tables() {
    eb_status s;
    if ((s = read_counted(kSectionTensors, kTensorRecordBytes, &m_->num_tensors)) != EB_OK) return s;
    if ((s = read_counted(kSectionOps, kOpRecordBytes, &m_->num_ops)) != EB_OK) return s;
    if ((s = read_counted(kSectionIntPool, 4, &pool_count_)) != EB_OK) return s;
    // INT_POOL values are read in place as int32: the buffer is 16-aligned and the section 64-aligned.
    pool_ = reinterpret_cast<const int32_t*>(buf_ + sections_[kSectionIntPool].offset + 8);
    strings_ = sections_[kSectionStrings];

    const Section& g = sections_[kSectionGraph];
    if (g.size < 16)
      return fail(EB_ERR_FORMAT, "section GRAPH is %llu bytes, shorter than its 16-byte header",
                  (unsigned long long)g.size);
    m_->arena_bytes = read_u64(buf_ + g.offset);
    m_->num_inputs = read_u32(buf_ + g.offset + 8);
    m_->num_outputs = read_u32(buf_ + g.offset + 12);
    const uint64_t ids = (uint64_t)m_->num_inputs + m_->num_outputs;
    if (ids * 4 > g.size - 16)
      return fail(EB_ERR_FORMAT, "section GRAPH: %u inputs + %u outputs do not fit in its %llu bytes",
                  m_->num_inputs, m_->num_outputs, (unsigned long long)g.size);
    m_->graph_ids = reinterpret_cast<const int32_t*>(buf_ + g.offset + 16);
    // The arena is allocated with 64 bytes of alignment slack; it must fit this machine's address space.
    if (m_->arena_bytes > (uint64_t)SIZE_MAX - 64)
      return fail(EB_ERR_NOMEM, "arena of %llu bytes exceeds this machine's address space",
                  (unsigned long long)m_->arena_bytes);
    return EB_OK;
  }

  // ---- constants: CONSTANTS in place, or CODED_CONSTANTS decoded (docs/artifact.md) ----

  eb_status read_coded_constants() {
    const Section& raw = sections_[kSectionConstants];
    const Section& coded = sections_[kSectionCodedConstants];
    if (raw.present && coded.present)
      return fail(EB_ERR_FORMAT, "the file has both CONSTANTS and CODED_CONSTANTS sections (at most one is allowed)");
    if (!coded.present) {
      consts_ = raw;
      consts_base_ = raw.present ? buf_ + raw.offset : NULL;
      return EB_OK;
    }
    m_->coded_constants_bytes = (size_t)coded.size;
    const uint8_t* sec = buf_ + coded.offset;
#define CFAIL(...) fail(EB_ERR_FORMAT, "section CODED_CONSTANTS: " __VA_ARGS__)
    if (coded.size < kCodedHeaderBytes)
      return CFAIL("%llu bytes, shorter than its %zu-byte header", (unsigned long long)coded.size, kCodedHeaderBytes);
    const uint64_t image_bytes = read_u64(sec);
    const uint32_t count = read_u32(sec + 8);
    if (count == 0) return CFAIL("no chunks");
    if ((uint64_t)count * kCodedChunkBytes > coded.size - kCodedHeaderBytes)
      return CFAIL("%u chunks × %zu bytes do not fit in its %llu bytes", count, kCodedChunkBytes,
                   (unsigned long long)coded.size);
    const uint64_t payload_start = kCodedHeaderBytes + (uint64_t)count * kCodedChunkBytes;
    // Pass 1: the chunks tile the image (each at the next multiple of 64 after the previous one's end, the last one
    // ending at image_bytes) and each one's decoded size is bounded by its payload, so a small file cannot ask for
    // a huge allocation (at most 1024 decoded bytes per coded byte; docs/artifact.md).
    uint64_t end = 0;
    for (uint32_t i = 0; i < count; ++i) {
      const uint8_t* rec = sec + kCodedHeaderBytes + (size_t)i * kCodedChunkBytes;
      const uint32_t method = read_u32(rec);
      const uint64_t dst = read_u64(rec + 8), dst_bytes = read_u64(rec + 16);
      const uint64_t src = read_u64(rec + 24), src_bytes = read_u64(rec + 32);
      const uint64_t expected = (end + kSectionAlignment - 1) / kSectionAlignment * kSectionAlignment;
      if (i > 0 && dst != expected)
        return CFAIL("chunk %u starts at %llu, expected %llu (the next multiple of 64 after chunk %u)", i,
                     (unsigned long long)dst, (unsigned long long)expected, i - 1);
      if (i == 0 && dst != 0) return CFAIL("chunk 0 starts at %llu, expected 0", (unsigned long long)dst);
      if (dst_bytes == 0) return CFAIL("chunk %u is empty", i);
      if (src < payload_start || !fits(src, src_bytes, coded.size))
        return CFAIL("chunk %u: payload (offset %llu, %llu bytes) lies outside the section's payload area", i,
                     (unsigned long long)src, (unsigned long long)src_bytes);
      uint64_t bound = 0;  // the most bytes this payload can decode to
      if (method == kCodedStored) {
        bound = src_bytes;
        if (src_bytes != dst_bytes)
          return CFAIL("chunk %u is stored but holds %llu bytes for %llu", i, (unsigned long long)src_bytes,
                       (unsigned long long)dst_bytes);
      } else if (method == kCodedHuffman) {
        if (src_bytes < kHuffmanTableBytes) return CFAIL("chunk %u: payload shorter than its code table", i);
        bound = (src_bytes - kHuffmanTableBytes) * 8;  // every code is at least one bit
      } else if (method == kCodedHuffmanRuns) {
        if (src_bytes < kRunsHeader) return CFAIL("chunk %u: payload shorter than its header", i);
        const uint64_t pairs = read_u64(sec + src);
        if (pairs > (src_bytes - kRunsHeader) * 4)  // a pair takes at least two bits
          return CFAIL("chunk %u: %llu pairs cannot fit in a %llu-byte payload", i, (unsigned long long)pairs,
                       (unsigned long long)src_bytes);
        bound = pairs * 256 + 255;  // each pair covers at most 256 bytes; at most 255 zeros follow the last one
      } else {
        return CFAIL("chunk %u: unknown method %u (0 stored, 1 huffman, 2 huffman_runs)", i, method);
      }
      if (dst_bytes > bound)
        return CFAIL("chunk %u: %llu decoded bytes cannot come from its %llu-byte payload", i,
                     (unsigned long long)dst_bytes, (unsigned long long)src_bytes);
      end = dst + dst_bytes;  // no overflow: dst <= previous end + 63 and dst_bytes <= 2^10 × file size
    }
    if (image_bytes != end)
      return CFAIL("image_bytes %llu differs from the end of the last chunk %llu", (unsigned long long)image_bytes,
                   (unsigned long long)end);
    if (image_bytes > (uint64_t)SIZE_MAX - 64)
      return fail(EB_ERR_NOMEM, "decoded constants of %llu bytes exceed this machine's address space",
                  (unsigned long long)image_bytes);
    uint8_t* image = static_cast<uint8_t*>(tracked_alloc_aligned(m_, (size_t)image_bytes, &m_->constants_raw));
    if (image == NULL)
      return fail(EB_ERR_NOMEM, "out of memory for %llu bytes of decoded constants", (unsigned long long)image_bytes);
    // Pass 2: decode (the image is zeroed: padding between chunks and the zeros of HUFFMAN_RUNS are implicit).
    for (uint32_t i = 0; i < count; ++i) {
      const uint8_t* rec = sec + kCodedHeaderBytes + (size_t)i * kCodedChunkBytes;
      const uint32_t method = read_u32(rec);
      const uint64_t dst = read_u64(rec + 8), dst_bytes = read_u64(rec + 16);
      const uint8_t* src = sec + read_u64(rec + 24);
      const uint64_t src_bytes = read_u64(rec + 32);
      uint8_t* out = image + dst;
      const char* why = NULL;
      if (method == kCodedStored) {
        memcpy(out, src, (size_t)dst_bytes);
      } else if (method == kCodedHuffman) {
        why = decode_huffman(src, src_bytes, out, dst_bytes);
      } else {
        why = decode_runs(src, src_bytes, out, dst_bytes);
      }
      if (why != NULL) return CFAIL("chunk %u: %s", i, why);
    }
#undef CFAIL
    consts_ = Section{true, 0, image_bytes};
    consts_base_ = image;
    return EB_OK;
  }

  static constexpr uint64_t kRunsHeader = 8 + 2 * kHuffmanTableBytes;  // pair count, gap and value tables

  static const char* decode_huffman(const uint8_t* src, uint64_t src_bytes, uint8_t* out, uint64_t n) {
    HuffmanTable table;
    const char* why = huffman_table_init(&table, src);
    if (why != NULL) return why;
    BitReader bits = {src + kHuffmanTableBytes, src_bytes - kHuffmanTableBytes, 0};
    for (uint64_t k = 0; k < n; ++k) {
      const int32_t sym = huffman_decode(&bits, table);
      if (sym < 0) return sym == -1 ? "the bitstream ends inside a code" : "invalid code in the bitstream";
      out[k] = (uint8_t)sym;
    }
    return bit_reader_finish(bits);
  }

  static const char* decode_runs(const uint8_t* src, uint64_t src_bytes, uint8_t* out, uint64_t n) {
    const uint64_t pairs = read_u64(src);
    BitReader bits = {src + kRunsHeader, src_bytes - kRunsHeader, 0};
    uint64_t pos = 0;
    if (pairs > 0) {
      HuffmanTable gaps, values;
      const char* why = huffman_table_init(&gaps, src + 8);
      if (why != NULL) return why;
      if ((why = huffman_table_init(&values, src + 8 + kHuffmanTableBytes)) != NULL) return why;
      for (uint64_t k = 0; k < pairs; ++k) {
        const int32_t gap = huffman_decode(&bits, gaps);
        if (gap < 0) return gap == -1 ? "the bitstream ends inside a code" : "invalid code in the bitstream";
        pos += (uint64_t)gap;
        if (pos >= n) return "a run goes past the end of the chunk";
        const int32_t value = huffman_decode(&bits, values);
        if (value < 0) return value == -1 ? "the bitstream ends inside a code" : "invalid code in the bitstream";
        out[pos++] = (uint8_t)value;
      }
    }
    if (n - pos > 255) return "more than 255 zero bytes follow the last pair";
    return bit_reader_finish(bits);
  }

  // ---- tensors ----

  eb_status read_name(const char* what, uint32_t index, const uint8_t* rec, const char** name, uint32_t* len) {
    const uint32_t offset = read_u32(rec), length = read_u32(rec + 4);
    if (!fits(offset, length, strings_.size))
      return fail(EB_ERR_FORMAT, "%s %u: name (offset %u, length %u) lies outside STRINGS (%llu bytes)", what,
                  index, offset, length, (unsigned long long)strings_.size);
    if (length > kMaxNameBytes)
      return fail(EB_ERR_FORMAT, "%s %u: name of %u bytes exceeds the %u-byte limit", what, index, length,
                  kMaxNameBytes);
    *name = reinterpret_cast<const char*>(buf_ + strings_.offset + offset);
    *len = length;
    names_bytes_ += (uint64_t)length + 1;  // uint64: on a 32-bit host a hostile file could overflow size_t
    return EB_OK;
  }

  eb_status read_tensors() {
    m_->tensors = static_cast<Tensor*>(tracked_calloc(m_, m_->num_tensors, sizeof(Tensor)));
    if (m_->tensors == NULL) return fail(EB_ERR_NOMEM, "out of memory for the tensor table");
    const Section& sec = sections_[kSectionTensors];
    const Section& consts = consts_;
    for (uint32_t i = 0; i < m_->num_tensors; ++i) {
      const uint8_t* rec = buf_ + sec.offset + 8 + (size_t)i * kTensorRecordBytes;
      Tensor& t = m_->tensors[i];
      const char* name = NULL;
      uint32_t name_len = 0;
      eb_status s = read_name("tensor", i, rec, &name, &name_len);
      if (s != EB_OK) return s;
      // The name pointer is replaced by its NUL-terminated copy at the end; messages use the raw bytes meanwhile.
      t.name = name;
      t.name_len = name_len;
      t.dtype = rec[8];
      t.rank = rec[9];
      t.storage = rec[10];
      t.layout = rec[11];
#define TFAIL(...) fail(EB_ERR_FORMAT, "tensor %u ('%.*s'): " __VA_ARGS__)
#define TARGS i, (int)name_len, name
      const size_t esize = dtype_size(t.dtype);
      if (esize == 0) return TFAIL("dtype %u is not 1 (int8), 2 (int32) or 3 (float32)", TARGS, t.dtype);
      if (t.rank > EB_MAX_RANK) return TFAIL("rank %u exceeds %d", TARGS, t.rank, EB_MAX_RANK);
      if (t.storage > kStorageConstant)
        return TFAIL("storage %u is not 0 (arena) or 1 (constant)", TARGS, t.storage);
      uint64_t numel = 1;
      for (uint32_t d = 0; d < EB_MAX_RANK; ++d) {
        t.dims[d] = read_i32(rec + 12 + 4 * d);
        if (d < t.rank) {
          if (t.dims[d] < 1) return TFAIL("dims[%u] = %d, must be >= 1", TARGS, d, (int)t.dims[d]);
          // numel <= 2^64 / dims: the product cannot overflow (and a real tensor is far smaller).
          if (numel > UINT64_MAX / (uint64_t)t.dims[d] / esize)
            return TFAIL("element count overflows", TARGS);
          numel *= (uint64_t)t.dims[d];
        } else if (t.dims[d] != 0) {
          return TFAIL("dims[%u] = %d beyond rank %u, must be 0", TARGS, d, (int)t.dims[d], t.rank);
        }
      }
      t.scale = read_f32(rec + 36);
      t.zero_point = read_i32(rec + 40);
      if (t.dtype == EB_DTYPE_INT8) {
        // int8 constants (weights) carry no per-tensor scale: theirs live in the op's multipliers.
        if (t.storage == kStorageArena && (!(t.scale > 0.0f) || !isfinite(t.scale)))
          return TFAIL("int8 scale %g must be positive and finite", TARGS, (double)t.scale);
        if (t.zero_point < -128 || t.zero_point > 127)
          return TFAIL("int8 zero_point %d outside -128..127", TARGS, (int)t.zero_point);
      }
      t.offset = read_u64(rec + 48);
      t.size = read_u64(rec + 56);
      if (t.size != numel * esize)
        return TFAIL("size %llu != %llu elements × %zu bytes", TARGS, (unsigned long long)t.size,
                     (unsigned long long)numel, esize);
      if (t.storage == kStorageArena) {
        if (!fits(t.offset, t.size, m_->arena_bytes))
          return TFAIL("arena offset %llu + size %llu exceeds arena_bytes %llu", TARGS,
                       (unsigned long long)t.offset, (unsigned long long)t.size,
                       (unsigned long long)m_->arena_bytes);
        // Kernels access elements through typed pointers; the arena itself is 64-aligned.
        if (t.offset % esize != 0)
          return TFAIL("arena offset %llu is not a multiple of the element size %zu", TARGS,
                       (unsigned long long)t.offset, esize);
      } else {
        if (!consts.present)
          return TFAIL("is constant but the file has no CONSTANTS or CODED_CONSTANTS section", TARGS);
        if (t.offset % kSectionAlignment != 0)
          return TFAIL("constant offset %llu is not a multiple of 64", TARGS, (unsigned long long)t.offset);
        if (!fits(t.offset, t.size, consts.size))
          return TFAIL("constant offset %llu + size %llu exceeds CONSTANTS (%llu bytes)", TARGS,
                       (unsigned long long)t.offset, (unsigned long long)t.size, (unsigned long long)consts.size);
        m_->weights_bytes += (size_t)t.size;
      }
#undef TFAIL
#undef TARGS
      // Both limits above are <= SIZE_MAX (arena checked in read_tables, CONSTANTS lies in the buffer).
      t.num_elements = (size_t)numel;
    }
    return EB_OK;
  }

  // ---- graph ----

  eb_status read_graph() {
    const uint32_t n = m_->num_inputs + m_->num_outputs;  // fits: checked against the section size
    for (uint32_t i = 0; i < n; ++i) {
      const bool is_input = i < m_->num_inputs;
      const uint32_t k = is_input ? i : i - m_->num_inputs;
      const int32_t id = m_->graph_ids[i];
      if (id < 0 || (uint32_t)id >= m_->num_tensors)
        return fail(EB_ERR_FORMAT, "graph %s %u: tensor id %d outside 0..%u", is_input ? "input" : "output", k,
                    (int)id, m_->num_tensors);
      const Tensor& t = m_->tensors[id];
      // Inputs are float32, or int32 (token ids); outputs are float32.
      const bool dtype_ok = t.dtype == EB_DTYPE_FLOAT32 || (is_input && t.dtype == EB_DTYPE_INT32);
      if (!dtype_ok || t.storage != kStorageArena)
        return fail(EB_ERR_FORMAT, "graph %s %u: tensor %d ('%.*s') must be a %s arena tensor (is %s, %s)",
                    is_input ? "input" : "output", k, (int)id, (int)t.name_len, t.name,
                    is_input ? "float32 or int32" : "float32", dtype_text(t.dtype),
                    t.storage == kStorageArena ? "arena" : "constant");
    }
    return EB_OK;
  }

  // ---- ops: records ----

  eb_status read_ops() {
    m_->ops = static_cast<Op*>(tracked_calloc(m_, m_->num_ops, sizeof(Op)));
    if (m_->ops == NULL) return fail(EB_ERR_NOMEM, "out of memory for the op table");
    const Section& sec = sections_[kSectionOps];
    for (uint32_t i = 0; i < m_->num_ops; ++i) {
      const uint8_t* rec = buf_ + sec.offset + 8 + (size_t)i * kOpRecordBytes;
      Op& op = m_->ops[i];
      op.opcode = read_u32(rec);
      const char* name = NULL;
      uint32_t name_len = 0;
      eb_status s = read_name("op", i, rec + 4, &name, &name_len);
      if (s != EB_OK) return s;
      op.name = name;
      op.name_len = name_len;
      const char* type = opcode_name(op.opcode);
      if (type == NULL)
        return fail(EB_ERR_UNSUPPORTED,
                    "op %u ('%.*s'): unknown opcode %u (this runtime knows 1..%u of format %d.%d; rebuild the runtime)",
                    i, (int)name_len, name, op.opcode, (unsigned)kOpLast, EB_FORMAT_VERSION_MAJOR,
                    EB_FORMAT_VERSION_MINOR);
      op.num_inputs = read_u16(rec + 12);
      op.num_outputs = read_u16(rec + 14);
      op.num_params = read_u32(rec + 16);
      const uint32_t start = read_u32(rec + 20);
      const uint64_t total = (uint64_t)op.num_inputs + op.num_outputs + op.num_params;
      if (!fits(start, total, pool_count_))
        return fail(EB_ERR_FORMAT, "op %u (%s '%.*s'): args_start %u + %llu args exceeds INT_POOL (%u values)", i,
                    type, (int)name_len, name, start, (unsigned long long)total, pool_count_);
      op.inputs = pool_ + start;
      op.outputs = op.inputs + op.num_inputs;
      op.params = op.outputs + op.num_outputs;
    }
    return EB_OK;
  }

  // ---- ops: per-op rules ----

  // Messages name tensors as "weight ('conv1.weight')".
  const char* tname(int32_t id) { return m_->tensors[id].name; }
  int tlen(int32_t id) { return (int)m_->tensors[id].name_len; }

  eb_status check_op(uint32_t index) {
    op_index_ = index;
    op_ = &m_->ops[index];
    op_name_ = op_->name;
    op_name_len_ = op_->name_len;
    const Op& op = *op_;
    if (op.num_outputs != 1) return op_fail("has %u outputs, expected 1", op.num_outputs);
    const int32_t out = op.outputs[0];
    if (out < 0 || (uint32_t)out >= m_->num_tensors)
      return op_fail("output 0: tensor id %d outside 0..%u", (int)out, m_->num_tensors);
    if (m_->tensors[out].storage != kStorageArena)
      return op_fail("output 0: tensor %d ('%.*s') is constant; outputs must be arena tensors", (int)out, tlen(out),
                     tname(out));
    // The float form of an op writes float32 (docs/artifact.md "Float fallback"); QUANTIZE, DEQUANTIZE, RESHAPE and
    // TRANSPOSE have one form each and check their dtypes themselves.
    const bool fixed = op.opcode == kOpQuantize || op.opcode == kOpDequantize || op.opcode == kOpReshape ||
                       op.opcode == kOpTranspose;
    is_float_ = !fixed && m_->tensors[out].dtype == EB_DTYPE_FLOAT32;
    const Arity a = arity_of(op.opcode, is_float_);
    if (a.outputs == 0)
      return op_fail("has no %s form (output ('%.*s') is %s)", is_float_ ? "float32" : "int8", tlen(out), tname(out),
                     dtype_text(m_->tensors[out].dtype));
    if (a.inputs >= 0 && op.num_inputs != (uint32_t)a.inputs)
      return op_fail("has %u inputs, expected %d", op.num_inputs, a.inputs);
    if (a.inputs < 0 && op.num_inputs < 1) return op_fail("has no inputs, expected at least 1");
    if (a.params >= 0 && op.num_params != (uint32_t)a.params)
      return op_fail("has %u params, expected %d", op.num_params, a.params);
    for (uint32_t k = 0; k < op.num_inputs; ++k) {
      const int32_t id = op.inputs[k];
      if (id == -1 && optional_input(op.opcode, k)) continue;
      if (id < 0 || (uint32_t)id >= m_->num_tensors)
        return op_fail("input %u: tensor id %d outside 0..%u", k, (int)id, m_->num_tensors);
    }
    if (is_float_) {
      switch (op.opcode) {
        case kOpConv2d: return check_conv2d();
        case kOpFullyConnected: return check_fully_connected_f32();
        case kOpAdd: return check_binary();
        case kOpSub: return check_binary();
        case kOpMul: return check_binary();
        case kOpUnary: return check_unary();
        case kOpPad: return check_pad();
        case kOpSlice: return check_slice();
        case kOpResize: return check_resize();
        case kOpMaxPool2d: return check_max_pool();
        case kOpAvgPool2d: return check_avg_pool();
        case kOpConcat: return check_concat();
        case kOpClamp: return check_clamp();
        case kOpBatchMatmul: return check_batch_matmul();
        case kOpSoftmax: return check_softmax();
        case kOpLayerNorm: return check_layer_norm();
        case kOpEmbedding: return check_embedding();
        default: return op_fail("has no float32 form");  // unreachable: arity_of said it has
      }
    }
    switch (op.opcode) {
      case kOpQuantize: return check_quantize();
      case kOpDequantize: return check_dequantize();
      case kOpConv2d: return check_conv2d();
      case kOpFullyConnected: return check_fully_connected();
      case kOpAdd: return check_binary();
      case kOpMaxPool2d: return check_max_pool();
      case kOpAvgPool2d: return check_avg_pool();
      case kOpConcat: return check_concat();
      case kOpReshape: return check_reshape();
      case kOpTranspose: return check_transpose();
      case kOpClamp: return check_clamp();
      case kOpUnary: return check_unary();
      case kOpSub: return check_binary();
      case kOpMul: return check_binary();
      case kOpPad: return check_pad();
      case kOpSlice: return check_slice();
      case kOpResize: return check_resize();
      case kOpBatchMatmul: return check_batch_matmul();
      case kOpSparseConv2d: return check_sparse_conv2d();
      case kOpSparseFullyConnected: return check_sparse_fully_connected();
      default: return op_fail("has no int8 form");  // unreachable: arity_of said it has
    }
  }

  const Tensor& T(int32_t id) { return m_->tensors[id]; }

  eb_status need_dtype(const char* role, int32_t id, uint8_t dtype) {
    if (T(id).dtype != dtype)
      return op_fail("%s ('%.*s') is %s, expected %s", role, tlen(id), tname(id), dtype_text(T(id).dtype),
                     dtype_text(dtype));
    return EB_OK;
  }
  eb_status need_rank(const char* role, int32_t id, uint32_t rank) {
    if (T(id).rank != rank)
      return op_fail("%s ('%.*s') has rank %u %s, expected rank %u", role, tlen(id), tname(id), T(id).rank,
                     dims_text(T(id)).text, rank);
    return EB_OK;
  }
  eb_status need_const(const char* role, int32_t id) {
    if (T(id).storage != kStorageConstant)
      return op_fail("%s ('%.*s') must be a constant tensor", role, tlen(id), tname(id));
    return EB_OK;
  }
  eb_status need_same_dims(const char* role_a, int32_t a, const char* role_b, int32_t b) {
    const Tensor &ta = T(a), &tb = T(b);
    bool same = ta.rank == tb.rank;
    for (uint32_t d = 0; same && d < ta.rank; ++d) same = ta.dims[d] == tb.dims[d];
    if (!same)
      return op_fail("%s ('%.*s') dims %s differ from %s ('%.*s') dims %s", role_a, tlen(a), tname(a),
                     dims_text(ta).text, role_b, tlen(b), tname(b), dims_text(tb).text);
    return EB_OK;
  }
  eb_status need_same_quant(const char* role_a, int32_t a, const char* role_b, int32_t b) {
    if (T(a).scale != T(b).scale || T(a).zero_point != T(b).zero_point)
      return op_fail("%s ('%.*s') scale %g zero_point %d differ from %s ('%.*s') scale %g zero_point %d", role_a,
                     tlen(a), tname(a), (double)T(a).scale, (int)T(a).zero_point, role_b, tlen(b), tname(b),
                     (double)T(b).scale, (int)T(b).zero_point);
    return EB_OK;
  }
  // −128 <= act_min <= act_max <= 127 (docs/artifact.md, eq. 8).
  eb_status need_act(int32_t lo, int32_t hi) {
    if (lo < -128 || hi > 127 || lo > hi)
      return op_fail("activation range [%d, %d] is not within -128 <= act_min <= act_max <= 127", (int)lo, (int)hi);
    return EB_OK;
  }
  // The activation dtype of the current op's form, and its bounds: int8 ints, or the bits of two floats.
  uint8_t act_dtype() const { return is_float_ ? EB_DTYPE_FLOAT32 : EB_DTYPE_INT8; }
  eb_status need_bounds(int32_t lo, int32_t hi) {
    if (!is_float_) return need_act(lo, hi);
    const float flo = param_f32(lo), fhi = param_f32(hi);
    if (!(flo <= fhi))  // also false for a NaN
      return op_fail("float bounds [%g, %g] must satisfy lo <= hi (no NaN)", (double)flo, (double)fhi);
    return EB_OK;
  }
  // A float32 constant vector of `count` entries (bias, gamma, beta); -1 (absent) is fine.
  eb_status need_f32_vector(const char* role, int32_t id, int32_t count) {
    if (id == -1) return EB_OK;
    eb_status s;
    if ((s = need_dtype(role, id, EB_DTYPE_FLOAT32)) != EB_OK) return s;
    if ((s = need_const(role, id)) != EB_OK) return s;
    if ((s = need_rank(role, id, 1)) != EB_OK) return s;
    if (T(id).dims[0] != count)
      return op_fail("%s ('%.*s') has %d entries, expected %d", role, tlen(id), tname(id), (int)T(id).dims[0],
                     (int)count);
    return EB_OK;
  }
  // A Q31 multiplier and exponent of docs/quantization.md (3): 2^30 <= m < 2^31, −31 <= e <= 30.
  eb_status need_multiplier(const char* what, uint32_t index, int32_t m, int32_t e) {
    if (m < (1 << 30))
      return op_fail("%s[%u] multiplier %d outside [2^30, 2^31) (docs/quantization.md (3))", what, index, (int)m);
    if (e < -31 || e > 30)
      return op_fail("%s[%u] shift %d outside [-31, 30] (docs/quantization.md (3))", what, index, (int)e);
    return EB_OK;
  }
  // Per-channel requantization of CONV2D / FULLY_CONNECTED: bias (optional), mult, shift, all constant [channels].
  eb_status check_channel_params(int32_t channels) {
    const Op& op = *op_;
    eb_status s;
    const char* roles[3] = {"bias", "mult", "shift"};
    for (uint32_t k = 2; k < 5; ++k) {
      const int32_t id = op.inputs[k];
      if (id == -1) continue;  // only the bias may be absent (checked in check_op)
      const char* role = roles[k - 2];
      if ((s = need_dtype(role, id, EB_DTYPE_INT32)) != EB_OK) return s;
      if ((s = need_const(role, id)) != EB_OK) return s;
      if ((s = need_rank(role, id, 1)) != EB_OK) return s;
      if (T(id).dims[0] != channels)
        return op_fail("%s ('%.*s') has %d entries, expected %d output channels", role, tlen(id), tname(id),
                       (int)T(id).dims[0], (int)channels);
    }
    const int32_t* mult = const_i32(op.inputs[3]);
    const int32_t* shift = const_i32(op.inputs[4]);
    for (int32_t c = 0; c < channels; ++c)
      if ((s = need_multiplier("channel", (uint32_t)c, mult[c], shift[c])) != EB_OK) return s;
    return EB_OK;
  }
  const float* const_f32(int32_t id) {
    return reinterpret_cast<const float*>(buf_ + sections_[kSectionConstants].offset + T(id).offset);
  }
  // Constant int32 data, read in place (CONSTANTS and every constant are 64-aligned in a 16-aligned buffer).
  const int32_t* const_i32(int32_t id) {
    return reinterpret_cast<const int32_t*>(consts_base_ + T(id).offset);
  }

  eb_status check_quantize() {
    const Op& op = *op_;
    const int32_t x = op.inputs[0], y = op.outputs[0];
    eb_status s;
    if ((s = need_dtype("input", x, EB_DTYPE_FLOAT32)) != EB_OK) return s;
    if ((s = need_dtype("output", y, EB_DTYPE_INT8)) != EB_OK) return s;
    const int32_t to_nhwc = op.params[0];
    float inv_scale;
    memcpy(&inv_scale, &op.params[1], sizeof inv_scale);
    if (!(inv_scale > 0.0f) || !isfinite(inv_scale))
      return op_fail("inv_scale %g (bits 0x%08x) must be positive and finite", (double)inv_scale,
                     (unsigned)op.params[1]);
    if (to_nhwc != 0 && to_nhwc != 1) return op_fail("to_nhwc = %d, must be 0 or 1", (int)to_nhwc);
    return check_layout_change(x, y, to_nhwc, /*nchw_to_nhwc=*/true);
  }

  eb_status check_dequantize() {
    const Op& op = *op_;
    const int32_t x = op.inputs[0], y = op.outputs[0];
    eb_status s;
    if ((s = need_dtype("input", x, EB_DTYPE_INT8)) != EB_OK) return s;
    if ((s = need_dtype("output", y, EB_DTYPE_FLOAT32)) != EB_OK) return s;
    const int32_t to_nchw = op.params[0];
    if (to_nchw != 0 && to_nchw != 1) return op_fail("to_nchw = %d, must be 0 or 1", (int)to_nchw);
    return check_layout_change(x, y, to_nchw, /*nchw_to_nhwc=*/false);
  }

  // QUANTIZE / DEQUANTIZE: same element count, or with the flag a 4-D NCHW <-> NHWC transpose.
  eb_status check_layout_change(int32_t x, int32_t y, int32_t transpose, bool nchw_to_nhwc) {
    if (!transpose) {
      if (T(x).num_elements != T(y).num_elements)
        return op_fail("input dims %s and output dims %s hold different element counts", dims_text(T(x)).text,
                       dims_text(T(y)).text);
      return EB_OK;
    }
    eb_status s;
    if ((s = need_rank("input", x, 4)) != EB_OK) return s;
    if ((s = need_rank("output", y, 4)) != EB_OK) return s;
    const int32_t* a = T(x).dims;
    const int32_t* b = T(y).dims;
    // NCHW [N,C,H,W] -> NHWC [N,H,W,C] is y = (a0, a2, a3, a1); the reverse is y = (a0, a3, a1, a2).
    const bool ok = nchw_to_nhwc ? (b[0] == a[0] && b[1] == a[2] && b[2] == a[3] && b[3] == a[1])
                                 : (b[0] == a[0] && b[1] == a[3] && b[2] == a[1] && b[3] == a[2]);
    if (!ok)
      return op_fail("output dims %s are not the %s transpose of input dims %s", dims_text(T(y)).text,
                     nchw_to_nhwc ? "NCHW->NHWC" : "NHWC->NCHW", dims_text(T(x)).text);
    return EB_OK;
  }

  eb_status check_conv2d() {
    const Op& op = *op_;
    const int32_t x = op.inputs[0], w = op.inputs[1], y = op.outputs[0];
    const int32_t* p = op.params;
    const int32_t sh = p[0], sw = p[1], pt = p[2], pl = p[3], pb = p[4], pr = p[5], dh = p[6], dw = p[7], g = p[8];
    eb_status s;
    if ((s = need_dtype("input", x, act_dtype())) != EB_OK) return s;
    if ((s = need_rank("input", x, 4)) != EB_OK) return s;
    if ((s = need_dtype("weight", w, act_dtype())) != EB_OK) return s;
    if ((s = need_const("weight", w)) != EB_OK) return s;
    if ((s = need_rank("weight", w, 4)) != EB_OK) return s;
    if ((s = need_dtype("output", y, act_dtype())) != EB_OK) return s;
    if ((s = need_rank("output", y, 4)) != EB_OK) return s;
    if (sh < 1 || sw < 1) return op_fail("strides (%d, %d) must be >= 1", (int)sh, (int)sw);
    if (dh < 1 || dw < 1) return op_fail("dilations (%d, %d) must be >= 1", (int)dh, (int)dw);
    if (pt < 0 || pl < 0 || pb < 0 || pr < 0)
      return op_fail("paddings (top %d, left %d, bottom %d, right %d) must be >= 0", (int)pt, (int)pl, (int)pb,
                     (int)pr);
    if ((s = need_bounds(p[9], p[10])) != EB_OK) return s;
    const int32_t* xd = T(x).dims;
    const int32_t* wd = T(w).dims;
    const int32_t* yd = T(y).dims;
    const int32_t C = xd[3], OC = wd[0];
    if (g < 1) return op_fail("groups %d must be >= 1", (int)g);
    if (C % g != 0 || OC % g != 0)
      return op_fail("input channels %d and output channels %d must both be multiples of groups %d", (int)C,
                     (int)OC, (int)g);
    if (wd[3] != C / g)
      return op_fail("weight dims %s do not match input channels %d / groups %d", dims_text(T(w)).text, (int)C,
                     (int)g);
    if (yd[0] != xd[0] || yd[3] != OC)
      return op_fail("output dims %s do not match batch %d and %d output channels", dims_text(T(y)).text,
                     (int)xd[0], (int)OC);
    // OH = (H + pt + pb − dh·(KH−1) − 1) / sh + 1, in int64 (every term is an int32).
    const int64_t num_h = (int64_t)xd[1] + pt + pb - (int64_t)dh * (wd[1] - 1) - 1;
    const int64_t num_w = (int64_t)xd[2] + pl + pr - (int64_t)dw * (wd[2] - 1) - 1;
    if (num_h < 0 || num_w < 0)
      return op_fail("dilated kernel %dx%d (dilation %d, %d) is larger than the padded input %s",
                     (int)wd[1], (int)wd[2], (int)dh, (int)dw, dims_text(T(x)).text);
    const int64_t oh = num_h / sh + 1, ow = num_w / sw + 1;
    if (yd[1] != oh || yd[2] != ow)
      return op_fail("output dims %s but input %s, kernel %dx%d, stride (%d,%d), padding (%d,%d,%d,%d), "
                     "dilation (%d,%d) give %lldx%lld",
                     dims_text(T(y)).text, dims_text(T(x)).text, (int)wd[1], (int)wd[2], (int)sh, (int)sw, (int)pt,
                     (int)pl, (int)pb, (int)pr, (int)dh, (int)dw, (long long)oh, (long long)ow);
    if (is_float_) return need_f32_vector("bias", op.inputs[2], OC);
    return check_channel_params(OC);
  }

  eb_status check_fully_connected() {
    const Op& op = *op_;
    const int32_t x = op.inputs[0], w = op.inputs[1], y = op.outputs[0];
    eb_status s;
    if ((s = need_dtype("input", x, EB_DTYPE_INT8)) != EB_OK) return s;
    if ((s = need_dtype("weight", w, EB_DTYPE_INT8)) != EB_OK) return s;
    if ((s = need_const("weight", w)) != EB_OK) return s;
    if ((s = need_rank("weight", w, 2)) != EB_OK) return s;
    if ((s = need_dtype("output", y, EB_DTYPE_INT8)) != EB_OK) return s;
    if ((s = need_act(op.params[0], op.params[1])) != EB_OK) return s;
    const Tensor &tx = T(x), &tw = T(w), &ty = T(y);
    if (tx.rank < 1) return op_fail("input ('%.*s') has rank 0, expected [..., K]", tlen(x), tname(x));
    const int32_t K = tx.dims[tx.rank - 1], N = tw.dims[0];
    if (tw.dims[1] != K)
      return op_fail("weight dims %s do not match input dims %s (K = %d)", dims_text(tw).text, dims_text(tx).text,
                     (int)K);
    bool ok = ty.rank == tx.rank && ty.dims[ty.rank - 1] == N;
    for (uint32_t d = 0; ok && d + 1 < tx.rank; ++d) ok = ty.dims[d] == tx.dims[d];
    if (!ok)
      return op_fail("output dims %s, expected input dims %s with the last replaced by N = %d", dims_text(ty).text,
                     dims_text(tx).text, (int)N);
    return check_channel_params(N);
  }

  eb_status check_fully_connected_f32() {
    const Op& op = *op_;
    const int32_t x = op.inputs[0], w = op.inputs[1], y = op.outputs[0];
    eb_status s;
    if ((s = need_dtype("input", x, EB_DTYPE_FLOAT32)) != EB_OK) return s;
    if ((s = need_dtype("weight", w, EB_DTYPE_FLOAT32)) != EB_OK) return s;
    if ((s = need_const("weight", w)) != EB_OK) return s;
    if ((s = need_rank("weight", w, 2)) != EB_OK) return s;
    if ((s = need_bounds(op.params[0], op.params[1])) != EB_OK) return s;
    const Tensor &tx = T(x), &tw = T(w), &ty = T(y);
    if (tx.rank < 1) return op_fail("input ('%.*s') has rank 0, expected [..., K]", tlen(x), tname(x));
    const int32_t K = tx.dims[tx.rank - 1], N = tw.dims[0];
    if (tw.dims[1] != K)
      return op_fail("weight dims %s do not match input dims %s (K = %d)", dims_text(tw).text, dims_text(tx).text,
                     (int)K);
    bool ok = ty.rank == tx.rank && ty.dims[ty.rank - 1] == N;
    for (uint32_t d = 0; ok && d + 1 < tx.rank; ++d) ok = ty.dims[d] == tx.dims[d];
    if (!ok)
      return op_fail("output dims %s, expected input dims %s with the last replaced by N = %d", dims_text(ty).text,
                     dims_text(tx).text, (int)N);
    return need_f32_vector("bias", op.inputs[2], N);
  }

  // BATCH_MATMUL: a [..., M, K], b [..., K, N] (or [..., N, K] with transpose_b), y [..., M, N]; the batch dims
  // (all but the last two) equal. Float params [transpose_b, alpha bits]; int8 params [transpose_b, mult, shift,
  // act_min, act_max] with K <= 33025 (|a − zp|·|b − zp| <= 255², so K products fit the int32 accumulator).
  eb_status check_batch_matmul() {
    const Op& op = *op_;
    const int32_t a = op.inputs[0], b = op.inputs[1], y = op.outputs[0];
    eb_status s;
    if ((s = need_dtype("input a", a, act_dtype())) != EB_OK) return s;
    if ((s = need_dtype("input b", b, act_dtype())) != EB_OK) return s;
    const Tensor &ta = T(a), &tb = T(b), &ty = T(y);
    if (ta.rank < 2) return op_fail("input a ('%.*s') has rank %u, expected >= 2", tlen(a), tname(a), ta.rank);
    if ((s = need_rank("input b", b, ta.rank)) != EB_OK) return s;
    if ((s = need_rank("output", y, ta.rank)) != EB_OK) return s;
    const int32_t tr = op.params[0];
    if (tr != 0 && tr != 1) return op_fail("transpose_b = %d, must be 0 or 1", (int)tr);
    if (is_float_) {
      const float alpha = param_f32(op.params[1]);
      if (!isfinite(alpha)) return op_fail("alpha %g must be finite", (double)alpha);
    } else {
      if ((s = need_multiplier("out", 0, op.params[1], op.params[2])) != EB_OK) return s;
      if ((s = need_act(op.params[3], op.params[4])) != EB_OK) return s;
      if (ta.dims[ta.rank - 1] > 33025)
        return op_fail("K = %d exceeds 33025, the int32 accumulator's safe range", (int)ta.dims[ta.rank - 1]);
    }
    const uint32_t r = ta.rank;
    const int32_t M = ta.dims[r - 2], K = ta.dims[r - 1];
    const int32_t KB = tr ? tb.dims[r - 1] : tb.dims[r - 2], N = tr ? tb.dims[r - 2] : tb.dims[r - 1];
    bool ok = KB == K && ty.dims[r - 2] == M && ty.dims[r - 1] == N;
    for (uint32_t d = 0; ok && d + 2 < r; ++d) ok = tb.dims[d] == ta.dims[d] && ty.dims[d] == ta.dims[d];
    if (!ok)
      return op_fail("dims a %s, b %s (transpose_b %d), output %s do not multiply", dims_text(ta).text,
                     dims_text(tb).text, (int)tr, dims_text(ty).text);
    return EB_OK;
  }

  // SOFTMAX (float): over the last axis; output dims = input dims.
  eb_status check_softmax() {
    const int32_t x = op_->inputs[0], y = op_->outputs[0];
    eb_status s;
    if ((s = need_dtype("input", x, EB_DTYPE_FLOAT32)) != EB_OK) return s;
    if (T(x).rank < 1) return op_fail("input ('%.*s') has rank 0", tlen(x), tname(x));
    return need_same_dims("output", y, "input", x);
  }

  // LAYER_NORM (float): over the last axis D; gamma, beta float32 constants [D] or absent; params [eps bits].
  eb_status check_layer_norm() {
    const Op& op = *op_;
    const int32_t x = op.inputs[0], y = op.outputs[0];
    eb_status s;
    if ((s = need_dtype("input", x, EB_DTYPE_FLOAT32)) != EB_OK) return s;
    if (T(x).rank < 1) return op_fail("input ('%.*s') has rank 0", tlen(x), tname(x));
    if ((s = need_same_dims("output", y, "input", x)) != EB_OK) return s;
    const int32_t D = T(x).dims[T(x).rank - 1];
    if ((s = need_f32_vector("gamma", op.inputs[1], D)) != EB_OK) return s;
    if ((s = need_f32_vector("beta", op.inputs[2], D)) != EB_OK) return s;
    const float eps = param_f32(op.params[0]);
    if (!(eps >= 0.0f) || !isfinite(eps)) return op_fail("eps %g must be finite and >= 0", (double)eps);
    return EB_OK;
  }

  // EMBEDDING (float): table float32 constant [V, D], ids int32 (any rank <= 5), output [ids dims..., D].
  eb_status check_embedding() {
    const Op& op = *op_;
    const int32_t table = op.inputs[0], ids = op.inputs[1], y = op.outputs[0];
    eb_status s;
    if ((s = need_dtype("table", table, EB_DTYPE_FLOAT32)) != EB_OK) return s;
    if ((s = need_const("table", table)) != EB_OK) return s;
    if ((s = need_rank("table", table, 2)) != EB_OK) return s;
    if ((s = need_dtype("ids", ids, EB_DTYPE_INT32)) != EB_OK) return s;
    const Tensor &ti = T(ids), &ty = T(y);
    bool ok = ty.rank == ti.rank + 1 && ty.dims[ti.rank] == T(table).dims[1];
    for (uint32_t d = 0; ok && d < ti.rank; ++d) ok = ty.dims[d] == ti.dims[d];
    if (!ok)
      return op_fail("output dims %s, expected ids dims %s followed by the table width %d", dims_text(ty).text,
                     dims_text(ti).text, (int)T(table).dims[1]);
    return EB_OK;
  }

  // Block-CSR weights of SPARSE_CONV2D / SPARSE_FULLY_CONNECTED (docs/artifact.md): values [S, BR, BC] int8,
  // row_ptr [OC/BR + 1] int32 from 0 to S and non-decreasing, col_idx [S] int32 in [0, K/BC) and strictly increasing
  // within a block row. Kernels index with these, so every rule is checked here.
  eb_status check_block_csr(int32_t OC, int64_t K, int32_t br, int32_t bc) {
    const Op& op = *op_;
    const int32_t v = op.inputs[1], rp = op.inputs[5], ci = op.inputs[6];
    eb_status s;
    if (br < 1 || bc < 1 || br > 64 || bc > 64)
      return op_fail("block %dx%d: block rows and columns must be in 1..64", (int)br, (int)bc);
    if (OC % br != 0 || K % bc != 0)
      return op_fail("block %dx%d does not tile the %d x %lld weight matrix", (int)br, (int)bc, (int)OC,
                     (long long)K);
    if ((s = need_dtype("values", v, EB_DTYPE_INT8)) != EB_OK) return s;
    if ((s = need_const("values", v)) != EB_OK) return s;
    if ((s = need_rank("values", v, 3)) != EB_OK) return s;
    if (T(v).dims[1] != br || T(v).dims[2] != bc)
      return op_fail("values ('%.*s') dims %s, expected [S, %d, %d]", tlen(v), tname(v), dims_text(T(v)).text,
                     (int)br, (int)bc);
    const char* roles[2] = {"row_ptr", "col_idx"};
    const int32_t ids[2] = {rp, ci};
    for (int r = 0; r < 2; ++r) {
      if ((s = need_dtype(roles[r], ids[r], EB_DTYPE_INT32)) != EB_OK) return s;
      if ((s = need_const(roles[r], ids[r])) != EB_OK) return s;
      if ((s = need_rank(roles[r], ids[r], 1)) != EB_OK) return s;
    }
    const int32_t rows = OC / br, stored = T(v).dims[0];
    if (T(rp).dims[0] != rows + 1)
      return op_fail("row_ptr ('%.*s') has %d entries, expected %d block rows + 1", tlen(rp), tname(rp),
                     (int)T(rp).dims[0], (int)rows);
    if (T(ci).dims[0] != stored)
      return op_fail("col_idx ('%.*s') has %d entries, expected %d (the blocks in values)", tlen(ci), tname(ci),
                     (int)T(ci).dims[0], (int)stored);
    const int32_t* row_ptr = const_i32(rp);
    const int32_t* col = const_i32(ci);
    if (row_ptr[0] != 0) return op_fail("row_ptr[0] = %d, must be 0", (int)row_ptr[0]);
    if (row_ptr[rows] != stored)
      return op_fail("row_ptr[%d] = %d, must equal the %d stored blocks", (int)rows, (int)row_ptr[rows],
                     (int)stored);
    const int64_t cols = K / bc;
    // Monotone first: with row_ptr[0] = 0 and row_ptr[rows] = S, every range below then lies inside col_idx.
    for (int32_t r = 0; r < rows; ++r)
      if (row_ptr[r + 1] < row_ptr[r])
        return op_fail("row_ptr decreases at block row %d (%d -> %d)", (int)r, (int)row_ptr[r], (int)row_ptr[r + 1]);
    for (int32_t r = 0; r < rows; ++r) {
      for (int32_t b = row_ptr[r]; b < row_ptr[r + 1]; ++b) {
        if (col[b] < 0 || col[b] >= cols)
          return op_fail("col_idx[%d] = %d outside 0..%lld (block row %d)", (int)b, (int)col[b],
                         (long long)cols - 1, (int)r);
        if (b > row_ptr[r] && col[b] <= col[b - 1])
          return op_fail("col_idx not strictly increasing in block row %d (%d after %d)", (int)r, (int)col[b],
                         (int)col[b - 1]);
      }
    }
    return EB_OK;
  }

  eb_status check_sparse_conv2d() {
    const Op& op = *op_;
    const int32_t x = op.inputs[0], y = op.outputs[0];
    const int32_t* p = op.params;
    const int32_t sh = p[0], sw = p[1], pt = p[2], pl = p[3], pb = p[4], pr = p[5], dh = p[6], dw = p[7];
    const int32_t kh = p[11], kw = p[12];
    eb_status s;
    if ((s = need_dtype("input", x, EB_DTYPE_INT8)) != EB_OK) return s;
    if ((s = need_rank("input", x, 4)) != EB_OK) return s;
    if ((s = need_dtype("output", y, EB_DTYPE_INT8)) != EB_OK) return s;
    if ((s = need_rank("output", y, 4)) != EB_OK) return s;
    if (sh < 1 || sw < 1) return op_fail("strides (%d, %d) must be >= 1", (int)sh, (int)sw);
    if (dh < 1 || dw < 1) return op_fail("dilations (%d, %d) must be >= 1", (int)dh, (int)dw);
    if (pt < 0 || pl < 0 || pb < 0 || pr < 0)
      return op_fail("paddings (top %d, left %d, bottom %d, right %d) must be >= 0", (int)pt, (int)pl, (int)pb,
                     (int)pr);
    if (p[8] != 1) return op_fail("groups %d: sparse convolutions have one group", (int)p[8]);
    if ((s = need_act(p[9], p[10])) != EB_OK) return s;
    if (kh < 1 || kw < 1) return op_fail("kernel %dx%d must be at least 1x1", (int)kh, (int)kw);
    const int32_t* xd = T(x).dims;
    const int32_t* yd = T(y).dims;
    const int32_t OC = yd[3];
    if (yd[0] != xd[0]) return op_fail("output dims %s do not keep batch %d", dims_text(T(y)).text, (int)xd[0]);
    const int64_t num_h = (int64_t)xd[1] + pt + pb - (int64_t)dh * (kh - 1) - 1;
    const int64_t num_w = (int64_t)xd[2] + pl + pr - (int64_t)dw * (kw - 1) - 1;
    if (num_h < 0 || num_w < 0)
      return op_fail("dilated kernel %dx%d (dilation %d, %d) is larger than the padded input %s", (int)kh, (int)kw,
                     (int)dh, (int)dw, dims_text(T(x)).text);
    if (yd[1] != num_h / sh + 1 || yd[2] != num_w / sw + 1)
      return op_fail("output dims %s do not match input %s, kernel %dx%d, strides, paddings and dilations",
                     dims_text(T(y)).text, dims_text(T(x)).text, (int)kh, (int)kw);
    const int64_t K = (int64_t)kh * kw * xd[3];
    if ((s = check_block_csr(OC, K, p[13], p[14])) != EB_OK) return s;
    return check_channel_params(OC);
  }

  eb_status check_sparse_fully_connected() {
    const Op& op = *op_;
    const int32_t x = op.inputs[0], y = op.outputs[0];
    eb_status s;
    if ((s = need_dtype("input", x, EB_DTYPE_INT8)) != EB_OK) return s;
    if ((s = need_dtype("output", y, EB_DTYPE_INT8)) != EB_OK) return s;
    if ((s = need_act(op.params[0], op.params[1])) != EB_OK) return s;
    const Tensor &tx = T(x), &ty = T(y);
    if (tx.rank < 1 || ty.rank != tx.rank)
      return op_fail("input dims %s and output dims %s must have the same rank >= 1", dims_text(tx).text,
                     dims_text(ty).text);
    for (uint32_t d = 0; d + 1 < tx.rank; ++d)
      if (ty.dims[d] != tx.dims[d])
        return op_fail("output dims %s do not keep the leading dims of input dims %s", dims_text(ty).text,
                       dims_text(tx).text);
    const int32_t K = tx.dims[tx.rank - 1], N = ty.dims[ty.rank - 1];
    if ((s = check_block_csr(N, K, op.params[2], op.params[3])) != EB_OK) return s;
    return check_channel_params(N);
  }

  // ADD, SUB, MUL: int8 or float32 (all three tensors alike); a and b broadcast to y (same rank, each dim equal to
  // y's or 1). int8 ADD / SUB: eq. (7) params; int8 MUL: eq. (12) params; float32: the bits of two float bounds.
  eb_status check_binary() {
    const Op& op = *op_;
    const int32_t a = op.inputs[0], b = op.inputs[1], y = op.outputs[0];
    const int32_t* p = op.params;
    eb_status s;
    const uint8_t dtype = T(a).dtype;
    if (dtype != EB_DTYPE_INT8 && dtype != EB_DTYPE_FLOAT32)
      return op_fail("input a ('%.*s') is %s, expected int8 or float32", tlen(a), tname(a), dtype_text(dtype));
    if ((s = need_dtype("input b", b, dtype)) != EB_OK) return s;
    if ((s = need_dtype("output", y, dtype)) != EB_OK) return s;
    const Tensor& ty = T(y);
    if ((s = need_rank("input a", a, ty.rank)) != EB_OK) return s;
    if ((s = need_rank("input b", b, ty.rank)) != EB_OK) return s;
    for (uint32_t d = 0; d < ty.rank; ++d)
      if ((T(a).dims[d] != ty.dims[d] && T(a).dims[d] != 1) || (T(b).dims[d] != ty.dims[d] && T(b).dims[d] != 1))
        return op_fail("input dims %s and %s do not broadcast to output dims %s", dims_text(T(a)).text,
                       dims_text(T(b)).text, dims_text(ty).text);
    if (dtype == EB_DTYPE_FLOAT32) return need_bounds(p[0], p[1]);
    if (op.opcode == kOpMul) {
      if ((s = need_multiplier("out", 0, p[0], p[1])) != EB_OK) return s;
      return need_act(p[2], p[3]);
    }
    if (p[0] < 0 || p[0] > 24) return op_fail("left_shift %d outside 0..24", (int)p[0]);
    if ((s = need_multiplier("a", 0, p[1], p[2])) != EB_OK) return s;
    if ((s = need_multiplier("b", 0, p[3], p[4])) != EB_OK) return s;
    if ((s = need_multiplier("out", 0, p[5], p[6])) != EB_OK) return s;
    return need_act(p[7], p[8]);
  }

  // UNARY: int8 x → y through a constant int8 table [T, 256] (T = 1 or the last dim of x); float32 x → y by the
  // formula, with a constant float32 slope [T] for PRELU and no table (−1) otherwise.
  eb_status check_unary() {
    const Op& op = *op_;
    const int32_t x = op.inputs[0], t = op.inputs[1], y = op.outputs[0];
    const int32_t func = op.params[0];
    eb_status s;
    if (func < 0 || func >= EB_UNARY_COUNT) return op_fail("function %d outside 0..%d", (int)func, EB_UNARY_COUNT - 1);
    const uint8_t dtype = T(x).dtype;
    if (dtype != EB_DTYPE_INT8 && dtype != EB_DTYPE_FLOAT32)
      return op_fail("input ('%.*s') is %s, expected int8 or float32", tlen(x), tname(x), dtype_text(dtype));
    if ((s = need_dtype("output", y, dtype)) != EB_OK) return s;
    if ((s = need_same_dims("output", y, "input", x)) != EB_OK) return s;
    const int32_t channels = T(x).rank == 0 ? 1 : T(x).dims[T(x).rank - 1];
    const bool needs_table = dtype == EB_DTYPE_INT8 || func == EB_UNARY_PRELU;
    if (!needs_table) {
      if (t != -1) return op_fail("a float32 %d function takes no table (input 1 must be -1)", (int)func);
      float alpha;
      memcpy(&alpha, &op.params[1], sizeof alpha);
      if (!isfinite(alpha)) return op_fail("alpha (bits 0x%08x) is not finite", (unsigned)op.params[1]);
      return EB_OK;
    }
    if (t == -1) return op_fail("input 1 (table or slope) is missing");
    const char* role = dtype == EB_DTYPE_INT8 ? "table" : "slope";
    if ((s = need_dtype(role, t, dtype)) != EB_OK) return s;
    if ((s = need_const(role, t)) != EB_OK) return s;
    if ((s = need_rank(role, t, dtype == EB_DTYPE_INT8 ? 2 : 1)) != EB_OK) return s;
    if (dtype == EB_DTYPE_INT8 && T(t).dims[1] != 256)
      return op_fail("table ('%.*s') dims %s, expected [T, 256]", tlen(t), tname(t), dims_text(T(t)).text);
    if (T(t).dims[0] != 1 && T(t).dims[0] != channels)
      return op_fail("%s ('%.*s') has %d rows, expected 1 or the %d channels of the input's last dim", role, tlen(t),
                     tname(t), (int)T(t).dims[0], (int)channels);
    return EB_OK;
  }

  // PAD, SLICE: same dtype; int8 keeps scale and zero point.
  eb_status check_mover(int32_t x, int32_t y) {
    eb_status s;
    if ((s = need_dtype("output", y, T(x).dtype)) != EB_OK) return s;
    if ((s = need_rank("output", y, T(x).rank)) != EB_OK) return s;
    if (T(x).rank < 1) return op_fail("input ('%.*s') has rank 0, expected rank >= 1", tlen(x), tname(x));
    if (T(x).dtype == EB_DTYPE_INT8) return need_same_quant("output", y, "input", x);
    return EB_OK;
  }

  // PAD: params before[0..r), after[0..r), value (an int8 code, or float32 bits).
  eb_status check_pad() {
    const Op& op = *op_;
    const int32_t x = op.inputs[0], y = op.outputs[0];
    eb_status s;
    if ((s = check_mover(x, y)) != EB_OK) return s;
    const uint32_t r = T(x).rank;
    if (op.num_params != 2 * r + 1) return op_fail("has %u params, expected 2 × rank %u + 1", op.num_params, r);
    for (uint32_t d = 0; d < r; ++d) {
      const int32_t before = op.params[d], after = op.params[r + d];
      if (before < 0 || after < 0 || (int64_t)T(x).dims[d] + before + after != T(y).dims[d])
        return op_fail("dim %u: input %d padded by (%d, %d) is not output %d (pads must be >= 0)", d,
                       (int)T(x).dims[d], (int)before, (int)after, (int)T(y).dims[d]);
    }
    const int32_t value = op.params[2 * r];
    if (T(x).dtype == EB_DTYPE_INT8 && (value < -128 || value > 127))
      return op_fail("pad value %d outside -128..127", (int)value);
    return EB_OK;
  }

  // SLICE: params start[0..r), step[0..r); every index read lies inside the input.
  eb_status check_slice() {
    const Op& op = *op_;
    const int32_t x = op.inputs[0], y = op.outputs[0];
    eb_status s;
    if ((s = check_mover(x, y)) != EB_OK) return s;
    const uint32_t r = T(x).rank;
    if (op.num_params != 2 * r) return op_fail("has %u params, expected 2 × rank %u", op.num_params, r);
    for (uint32_t d = 0; d < r; ++d) {
      const int64_t start = op.params[d], step = op.params[r + d];
      if (start < 0 || step < 1 || start + (int64_t)(T(y).dims[d] - 1) * step >= T(x).dims[d])
        return op_fail("dim %u: start %lld step %lld for %d outputs reads outside input size %d (start >= 0, "
                       "step >= 1)", d, (long long)start, (long long)step, (int)T(y).dims[d], (int)T(x).dims[d]);
    }
    return EB_OK;
  }

  // RESIZE: x, y NHWC of one dtype with the same N and C; tables [OH, 3] and [OW, 3] of (i0, i1, weight),
  // int32 with a Q16 weight in [0, 2^16] for int8, float32 with a weight in [0, 1] for float32.
  eb_status check_resize() {
    const Op& op = *op_;
    const int32_t x = op.inputs[0], y = op.outputs[0];
    eb_status s;
    const uint8_t dtype = T(x).dtype;
    if (dtype != EB_DTYPE_INT8 && dtype != EB_DTYPE_FLOAT32)
      return op_fail("input ('%.*s') is %s, expected int8 or float32", tlen(x), tname(x), dtype_text(dtype));
    if ((s = need_dtype("output", y, dtype)) != EB_OK) return s;
    if ((s = need_rank("input", x, 4)) != EB_OK) return s;
    if ((s = need_rank("output", y, 4)) != EB_OK) return s;
    if (T(y).dims[0] != T(x).dims[0] || T(y).dims[3] != T(x).dims[3])
      return op_fail("output dims %s do not keep the batch and channels of input dims %s", dims_text(T(y)).text,
                     dims_text(T(x)).text);
    if (dtype == EB_DTYPE_INT8 && (s = need_same_quant("output", y, "input", x)) != EB_OK) return s;
    if ((op.params[0] != 0 && op.params[0] != 1) || (op.params[1] != 0 && op.params[1] != 1))
      return op_fail("mode %d and align_corners %d must be 0 or 1", (int)op.params[0], (int)op.params[1]);
    const uint8_t tdtype = dtype == EB_DTYPE_INT8 ? EB_DTYPE_INT32 : EB_DTYPE_FLOAT32;
    for (int axis = 0; axis < 2; ++axis) {
      const char* role = axis == 0 ? "row table" : "column table";
      const int32_t t = op.inputs[1 + axis];
      const int32_t in = T(x).dims[1 + axis], out = T(y).dims[1 + axis];
      if ((s = need_dtype(role, t, tdtype)) != EB_OK) return s;
      if ((s = need_const(role, t)) != EB_OK) return s;
      if ((s = need_rank(role, t, 2)) != EB_OK) return s;
      if (T(t).dims[0] != out || T(t).dims[1] != 3)
        return op_fail("%s ('%.*s') dims %s, expected [%d, 3]", role, tlen(t), tname(t), dims_text(T(t)).text,
                       (int)out);
      for (int32_t o = 0; o < out; ++o) {
        bool ok;
        if (tdtype == EB_DTYPE_INT32) {
          const int32_t* e = const_i32(t) + 3 * o;
          ok = e[0] >= 0 && e[0] < in && e[1] >= 0 && e[1] < in && e[2] >= 0 && e[2] <= 65536;
        } else {
          const float* e = const_f32(t) + 3 * o;
          ok = e[0] >= 0.0f && e[0] < (float)in && e[0] == floorf(e[0]) && e[1] >= 0.0f && e[1] < (float)in &&
               e[1] == floorf(e[1]) && e[2] >= 0.0f && e[2] <= 1.0f;  // NaN fails every comparison
        }
        if (!ok)
          return op_fail("%s ('%.*s') entry %d reads outside input size %d or has a weight outside [0, 1]", role,
                         tlen(t), tname(t), (int)o, (int)in);
      }
    }
    return EB_OK;
  }

  // The taps k·dilation of a window starting at `start` that fall inside [0, size), as the pooling kernels compute
  // them: does one exist?
  static bool window_has_tap(int64_t start, int64_t kernel, int64_t dilation, int64_t size) {
    int64_t first, last;
    eb_pool_valid_taps(start, kernel, dilation, size, &first, &last);
    return first <= last;
  }

  // Shared by both pools: x and y int8 NHWC with the same batch, channels, scale and zero point.
  eb_status check_pool_tensors(int32_t x, int32_t y) {
    eb_status s;
    if ((s = need_dtype("input", x, act_dtype())) != EB_OK) return s;
    if ((s = need_rank("input", x, 4)) != EB_OK) return s;
    if ((s = need_dtype("output", y, act_dtype())) != EB_OK) return s;
    if ((s = need_rank("output", y, 4)) != EB_OK) return s;
    if (T(y).dims[0] != T(x).dims[0] || T(y).dims[3] != T(x).dims[3])
      return op_fail("output dims %s do not keep the batch and channels of input dims %s", dims_text(T(y)).text,
                     dims_text(T(x)).text);
    return need_same_quant("output", y, "input", x);
  }

  eb_status check_max_pool() {
    const Op& op = *op_;
    const int32_t x = op.inputs[0], y = op.outputs[0];
    const int32_t* p = op.params;
    const int32_t kh = p[0], kw = p[1], sh = p[2], sw = p[3], ph = p[4], pw = p[5], dh = p[6], dw = p[7];
    eb_status s;
    if ((s = check_pool_tensors(x, y)) != EB_OK) return s;
    if (kh < 1 || kw < 1 || sh < 1 || sw < 1 || dh < 1 || dw < 1 || ph < 0 || pw < 0)
      return op_fail("kernel (%d,%d), stride (%d,%d), dilation (%d,%d) must be >= 1 and padding (%d,%d) >= 0",
                     (int)kh, (int)kw, (int)sh, (int)sw, (int)dh, (int)dw, (int)ph, (int)pw);
    if ((s = need_bounds(p[8], p[9])) != EB_OK) return s;
    const int32_t H = T(x).dims[1], W = T(x).dims[2];
    // Every window needs a tap inside the input (the output shape, floor or ceil mode, comes from the tensor).
    // The loops are as long as the output's rows and columns, which the kernel visits anyway.
    for (int64_t o = 0; o < T(y).dims[1]; ++o)
      if (!window_has_tap(o * sh - ph, kh, dh, H))
        return op_fail("output row %lld: no tap of its window lies inside the input height %d", (long long)o,
                       (int)H);
    for (int64_t o = 0; o < T(y).dims[2]; ++o)
      if (!window_has_tap(o * sw - pw, kw, dw, W))
        return op_fail("output column %lld: no tap of its window lies inside the input width %d", (long long)o,
                       (int)W);
    return EB_OK;
  }

  eb_status check_avg_pool() {
    const Op& op = *op_;
    const int32_t x = op.inputs[0], y = op.outputs[0];
    const int32_t* p = op.params;
    const int32_t kh = p[0], kw = p[1], sh = p[2], sw = p[3], ph = p[4], pw = p[5];
    eb_status s;
    if ((s = check_pool_tensors(x, y)) != EB_OK) return s;
    if (kh < 1 || kw < 1 || sh < 1 || sw < 1 || ph < 0 || pw < 0)
      return op_fail("kernel (%d,%d), stride (%d,%d) must be >= 1 and padding (%d,%d) >= 0", (int)kh, (int)kw,
                     (int)sh, (int)sw, (int)ph, (int)pw);
    // Keeps the divisor and the accumulator of (9) far inside int64.
    if ((int64_t)kh * kw > INT32_MAX)
      return op_fail("kernel %dx%d has more than 2^31 - 1 taps", (int)kh, (int)kw);
    if (p[6] != 0 && p[6] != 1) return op_fail("count_include_pad = %d, must be 0 or 1", (int)p[6]);
    if ((s = need_bounds(p[7], p[8])) != EB_OK) return s;
    const int32_t H = T(x).dims[1], W = T(x).dims[2];
    for (int64_t o = 0; o < T(y).dims[1]; ++o)
      if (!window_has_tap(o * sh - ph, kh, 1, H))
        return op_fail("output row %lld: no tap of its window lies inside the input height %d", (long long)o,
                       (int)H);
    for (int64_t o = 0; o < T(y).dims[2]; ++o)
      if (!window_has_tap(o * sw - pw, kw, 1, W))
        return op_fail("output column %lld: no tap of its window lies inside the input width %d", (long long)o,
                       (int)W);
    return EB_OK;
  }

  eb_status check_concat() {
    const Op& op = *op_;
    const int32_t y = op.outputs[0];
    const uint32_t n = op.num_inputs;
    eb_status s;
    if (!is_float_ && op.num_params != 1 + 2 * n)
      return op_fail("has %u params, expected 1 + 2 × %u inputs = %u", op.num_params, n, 1 + 2 * n);
    const Tensor& ty = T(y);
    const int32_t axis = op.params[0];
    if (axis < 0 || (uint32_t)axis >= ty.rank)
      return op_fail("axis %d outside 0..%d (output rank %u)", (int)axis, (int)ty.rank - 1, ty.rank);
    int64_t along = 0;
    for (uint32_t k = 0; k < n; ++k) {
      const int32_t x = op.inputs[k];
      const Tensor& tx = T(x);
      char role[32];
      snprintf(role, sizeof role, "input %u", k);
      if ((s = need_dtype(role, x, act_dtype())) != EB_OK) return s;
      bool ok = tx.rank == ty.rank;
      for (uint32_t d = 0; ok && d < ty.rank; ++d) ok = (int32_t)d == axis || tx.dims[d] == ty.dims[d];
      if (!ok)
        return op_fail("%s ('%.*s') dims %s do not match output dims %s off axis %d", role, tlen(x), tname(x),
                       dims_text(tx).text, dims_text(ty).text, (int)axis);
      along += tx.dims[axis];
      if (is_float_) continue;  // float inputs are copied
      const int32_t mult = op.params[1 + 2 * k], shift = op.params[2 + 2 * k];
      if (mult == 0) {
        if ((s = need_same_quant(role, x, "output", y)) != EB_OK) return s;  // a copy needs identical quantization
      } else if ((s = need_multiplier(role, 0, mult, shift)) != EB_OK) {
        return s;
      }
    }
    if (along != ty.dims[axis])
      return op_fail("inputs sum to %lld along axis %d but the output has %d", (long long)along, (int)axis,
                     (int)ty.dims[axis]);
    return EB_OK;
  }

  eb_status check_reshape() {
    const int32_t x = op_->inputs[0], y = op_->outputs[0];
    eb_status s;
    if ((s = need_dtype("output", y, T(x).dtype)) != EB_OK) return s;
    if (T(x).size != T(y).size)
      return op_fail("input dims %s and output dims %s hold different byte sizes", dims_text(T(x)).text,
                     dims_text(T(y)).text);
    return EB_OK;
  }

  eb_status check_transpose() {
    const Op& op = *op_;
    const int32_t x = op.inputs[0], y = op.outputs[0];
    const Tensor &tx = T(x), &ty = T(y);
    eb_status s;
    if ((s = need_dtype("output", y, tx.dtype)) != EB_OK) return s;
    if ((s = need_rank("output", y, tx.rank)) != EB_OK) return s;
    if (op.num_params != tx.rank) return op_fail("has %u params, expected rank %u", op.num_params, tx.rank);
    bool seen[EB_MAX_RANK] = {false, false, false, false, false, false};
    for (uint32_t j = 0; j < tx.rank; ++j) {
      const int32_t src = op.params[j];
      if (src < 0 || (uint32_t)src >= tx.rank || seen[src])
        return op_fail("perm[%u] = %d: the params are not a permutation of 0..%u", j, (int)src, tx.rank - 1);
      seen[src] = true;
      if (ty.dims[j] != tx.dims[src])
        return op_fail("output dims %s are not input dims %s permuted (dims[%u] should be %d)", dims_text(ty).text,
                       dims_text(tx).text, j, (int)tx.dims[src]);
    }
    return EB_OK;
  }

  eb_status check_clamp() {
    const Op& op = *op_;
    const int32_t x = op.inputs[0], y = op.outputs[0];
    eb_status s;
    if ((s = need_dtype("input", x, act_dtype())) != EB_OK) return s;
    if ((s = need_same_dims("output", y, "input", x)) != EB_OK) return s;
    if ((s = need_same_quant("output", y, "input", x)) != EB_OK) return s;
    return need_bounds(op.params[0], op.params[1]);
  }

  // ---- allocation: names, profile slots, arena ----

  eb_status allocate() {
    if (names_bytes_ > SIZE_MAX) return fail(EB_ERR_NOMEM, "names exceed this machine's address space");
    m_->names = static_cast<char*>(tracked_calloc(m_, (size_t)names_bytes_, 1));
    if (m_->names == NULL)
      return fail(EB_ERR_NOMEM, "out of memory for %llu bytes of names", (unsigned long long)names_bytes_);
    char* out = m_->names;
    for (uint32_t i = 0; i < m_->num_tensors; ++i)
      out = copy_name(&m_->tensors[i].name, m_->tensors[i].name_len, out);
    for (uint32_t i = 0; i < m_->num_ops; ++i) out = copy_name(&m_->ops[i].name, m_->ops[i].name_len, out);
    m_->op_ns = static_cast<uint64_t*>(tracked_calloc(m_, m_->num_ops, sizeof(uint64_t)));
    if (m_->op_ns == NULL) return fail(EB_ERR_NOMEM, "out of memory for profile slots");
    m_->arena = static_cast<uint8_t*>(tracked_alloc_aligned(m_, (size_t)m_->arena_bytes, &m_->arena_raw));
    if (m_->arena == NULL)
      return fail(EB_ERR_NOMEM, "out of memory for the %llu-byte arena", (unsigned long long)m_->arena_bytes);
    const uint8_t* constants = consts_base_;  // NULL if absent: unused then
    for (uint32_t i = 0; i < m_->num_tensors; ++i) {
      Tensor& t = m_->tensors[i];
      // Constants are never written (outputs are arena tensors, checked), so dropping const here is safe.
      t.data = t.storage == kStorageArena ? m_->arena + t.offset : const_cast<uint8_t*>(constants + t.offset);
    }
    return EB_OK;
  }

  static char* copy_name(const char** name, uint32_t len, char* out) {
    memcpy(out, *name, len);
    out[len] = '\0';
    *name = out;
    return out + len + 1;
  }

  eb_model* m_;
  const uint8_t* buf_;
  size_t size_;
  char* err_;
  size_t err_len_;
  uint32_t section_count_ = 0;
  Section sections_[kSectionLastKnown + 1] = {};
  // The constant image: CONSTANTS in place, or CODED_CONSTANTS decoded into m_->constants_raw.
  Section consts_ = {};
  const uint8_t* consts_base_ = NULL;
  Section strings_ = {};
  const int32_t* pool_ = NULL;
  uint32_t pool_count_ = 0;
  uint64_t names_bytes_ = 0;
  // Current op of check_op, for op_fail.
  uint32_t op_index_ = 0;
  const Op* op_ = NULL;
  const char* op_name_ = NULL;
  uint32_t op_name_len_ = 0;
  bool is_float_ = false;  // the op's float32 form (its output is float32)
};

}  // namespace

eb_status load_model(eb_model* model, const uint8_t* buffer, size_t size, char* err, size_t err_len) {
  Loader loader(model, buffer, size, err, err_len);
  return loader.load();
}

}  // namespace eb
