// loader.cc: reads and validates a .ebm artifact (docs/artifact.md) and builds the model the executor runs.
//
// The loader trusts nothing. Every (checked) rule of docs/artifact.md is verified: the container here (header,
// sections, constants, tensors, graph, op records), each op's rules by check_op (op_check.cc: arity, tensor ids,
// parameter decoding) and the op's own validate (kernels/runtime/ops/<op>.cc: dtypes, ranks, shapes, parameter
// ranges, requantization constants), so that after a successful load no kernel can index outside its tensors and no
// arithmetic is undefined. All size arithmetic is done in uint64 with explicit overflow checks, as if the CRC had
// passed: fuzzers (EDGEBUILD_FUZZING) skip the CRC to reach this code.
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "huffman.h"
#include "internal.h"
#include "op.h"

namespace eb {

namespace {

// A little-endian field; memcpy because header and record fields are not necessarily aligned.
template <typename T>
T read_le(const uint8_t* p) {
  T v;
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
      if ((s = check_op(m_, i, err_, err_len_)) != EB_OK) return s;  // op_check.cc, then the op's own rules
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

  // ---- header and section table ----

  eb_status read_header() {
    if (size_ < kHeaderBytes)
      return fail(EB_ERR_FORMAT, "file is %zu bytes, shorter than the %zu-byte header", size_, kHeaderBytes);
    if (memcmp(buf_, "EBMODEL\0", 8) != 0) return fail(EB_ERR_FORMAT, "bad magic: not an edgebuild model (.ebm)");
    const uint16_t major = read_le<uint16_t>(buf_ + 8), minor = read_le<uint16_t>(buf_ + 10);
    if (major != EB_FORMAT_VERSION_MAJOR)
      return fail(EB_ERR_VERSION, "format version %u.%u; this runtime reads %d.x", major, minor,
                  EB_FORMAT_VERSION_MAJOR);
    const uint64_t file_size = read_le<uint64_t>(buf_ + 24);
    if (file_size != (uint64_t)size_)
      return fail(EB_ERR_FORMAT, "header says file_size %llu but the file has %zu bytes (truncated or padded?)",
                  (unsigned long long)file_size, size_);
    section_count_ = read_le<uint32_t>(buf_ + 16);
    if (section_count_ < 1 || section_count_ > kMaxSections)
      return fail(EB_ERR_FORMAT, "section_count %u outside 1..%u", section_count_, kMaxSections);
    if (!fits(kHeaderBytes, (uint64_t)section_count_ * kSectionEntryBytes, size_))
      return fail(EB_ERR_FORMAT, "section table (%u entries) runs past the end of the file", section_count_);
#ifndef EDGEBUILD_FUZZING
    const uint32_t expected = read_le<uint32_t>(buf_ + 20), actual = crc32(buf_ + kHeaderBytes, size_ - kHeaderBytes);
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
      const uint32_t kind = read_le<uint32_t>(e);
      const uint64_t offset = read_le<uint64_t>(e + 8), size = read_le<uint64_t>(e + 16);
      if (offset % kSectionAlignment != 0)
        return fail(EB_ERR_FORMAT, "section %u (%s, kind %u): offset %llu is not a multiple of 64", i,
                    section_name(kind), kind, (unsigned long long)offset);
      if (!fits(offset, size, size_))
        return fail(EB_ERR_FORMAT, "section %u (%s, kind %u): offset %llu + size %llu exceeds the file size %zu", i,
                    section_name(kind), kind, (unsigned long long)offset, (unsigned long long)size, size_);
      for (uint32_t j = 0; j < i; ++j)
        if (kinds[j] == kind)
          return fail(EB_ERR_FORMAT, "section kind %u (%s) appears twice (entries %u and %u)", kind, section_name(kind),
                      j, i);
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
    if (s.size < 8)
      return fail(EB_ERR_FORMAT, "section %s is %llu bytes, shorter than its 8-byte header", section_name(kind),
                  (unsigned long long)s.size);
    *count = read_le<uint32_t>(buf_ + s.offset);
    if ((uint64_t)*count * record_bytes > s.size - 8)
      return fail(EB_ERR_FORMAT, "section %s: count %u × %zu bytes does not fit in its %llu bytes", section_name(kind),
                  *count, record_bytes, (unsigned long long)s.size);
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
    m_->arena_bytes = read_le<uint64_t>(buf_ + g.offset);
    m_->num_inputs = read_le<uint32_t>(buf_ + g.offset + 8);
    m_->num_outputs = read_le<uint32_t>(buf_ + g.offset + 12);
    const uint64_t ids = (uint64_t)m_->num_inputs + m_->num_outputs;
    if (ids * 4 > g.size - 16)
      return fail(EB_ERR_FORMAT, "section GRAPH: %u inputs + %u outputs do not fit in its %llu bytes", m_->num_inputs,
                  m_->num_outputs, (unsigned long long)g.size);
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
    const uint64_t image_bytes = read_le<uint64_t>(sec);
    const uint32_t count = read_le<uint32_t>(sec + 8);
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
      const uint32_t method = read_le<uint32_t>(rec);
      const uint64_t dst = read_le<uint64_t>(rec + 8), dst_bytes = read_le<uint64_t>(rec + 16);
      const uint64_t src = read_le<uint64_t>(rec + 24), src_bytes = read_le<uint64_t>(rec + 32);
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
        if (src_bytes < kHuffmanRunsHeaderBytes) return CFAIL("chunk %u: payload shorter than its header", i);
        const uint64_t pairs = read_le<uint64_t>(sec + src);
        if (pairs > (src_bytes - kHuffmanRunsHeaderBytes) * 4)  // a pair takes at least two bits
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
      const uint32_t method = read_le<uint32_t>(rec);
      const uint64_t dst = read_le<uint64_t>(rec + 8), dst_bytes = read_le<uint64_t>(rec + 16);
      const uint8_t* src = sec + read_le<uint64_t>(rec + 24);
      const uint64_t src_bytes = read_le<uint64_t>(rec + 32);
      uint8_t* out = image + dst;
      const char* why = NULL;
      if (method == kCodedStored) {
        memcpy(out, src, (size_t)dst_bytes);
      } else if (method == kCodedHuffman) {
        why = huffman_decode_chunk(src, src_bytes, out, dst_bytes);
      } else {
        why = huffman_runs_decode_chunk(src, src_bytes, out, dst_bytes);
      }
      if (why != NULL) return CFAIL("chunk %u: %s", i, why);
    }
#undef CFAIL
    consts_ = Section{true, 0, image_bytes};
    consts_base_ = image;
    return EB_OK;
  }

  // ---- tensors ----

  eb_status read_name(const char* what, uint32_t index, const uint8_t* rec, const char** name, uint32_t* len) {
    const uint32_t offset = read_le<uint32_t>(rec), length = read_le<uint32_t>(rec + 4);
    if (!fits(offset, length, strings_.size))
      return fail(EB_ERR_FORMAT, "%s %u: name (offset %u, length %u) lies outside STRINGS (%llu bytes)", what, index,
                  offset, length, (unsigned long long)strings_.size);
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
      if (t.storage > kStorageConstant) return TFAIL("storage %u is not 0 (arena) or 1 (constant)", TARGS, t.storage);
      uint64_t numel = 1;
      for (uint32_t d = 0; d < EB_MAX_RANK; ++d) {
        t.dims[d] = read_le<int32_t>(rec + 12 + 4 * d);
        if (d < t.rank) {
          if (t.dims[d] < 1) return TFAIL("dims[%u] = %d, must be >= 1", TARGS, d, (int)t.dims[d]);
          // numel <= 2^64 / dims: the product cannot overflow (and a real tensor is far smaller).
          if (numel > UINT64_MAX / (uint64_t)t.dims[d] / esize) return TFAIL("element count overflows", TARGS);
          numel *= (uint64_t)t.dims[d];
        } else if (t.dims[d] != 0) {
          return TFAIL("dims[%u] = %d beyond rank %u, must be 0", TARGS, d, (int)t.dims[d], t.rank);
        }
      }
      t.scale = read_le<float>(rec + 36);
      t.zero_point = read_le<int32_t>(rec + 40);
      if (t.dtype == EB_DTYPE_INT8) {
        // int8 constants (weights) carry no per-tensor scale: theirs live in the op's multipliers.
        if (t.storage == kStorageArena && (!(t.scale > 0.0f) || !isfinite(t.scale)))
          return TFAIL("int8 scale %g must be positive and finite", TARGS, (double)t.scale);
        if (t.zero_point < -128 || t.zero_point > 127)
          return TFAIL("int8 zero_point %d outside -128..127", TARGS, (int)t.zero_point);
      }
      t.offset = read_le<uint64_t>(rec + 48);
      t.size = read_le<uint64_t>(rec + 56);
      if (t.size != numel * esize)
        return TFAIL("size %llu != %llu elements × %zu bytes", TARGS, (unsigned long long)t.size,
                     (unsigned long long)numel, esize);
      if (t.storage == kStorageArena) {
        if (!fits(t.offset, t.size, m_->arena_bytes))
          return TFAIL("arena offset %llu + size %llu exceeds arena_bytes %llu", TARGS, (unsigned long long)t.offset,
                       (unsigned long long)t.size, (unsigned long long)m_->arena_bytes);
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
        // In place, or in the decoded image; never written (outputs are arena tensors, checked), so dropping const
        // is safe. Set here, not in allocate: the per-op rules read constants.
        t.data = const_cast<uint8_t*>(consts_base_ + t.offset);
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
        return fail(EB_ERR_FORMAT, "graph %s %u: tensor id %d outside 0..%u", is_input ? "input" : "output", k, (int)id,
                    m_->num_tensors);
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
      op.opcode = read_le<uint32_t>(rec);
      const char* name = NULL;
      uint32_t name_len = 0;
      eb_status s = read_name("op", i, rec + 4, &name, &name_len);
      if (s != EB_OK) return s;
      op.name = name;
      op.name_len = name_len;
      const int32_t index = op_index(op.opcode);
      if (index < 0) {
        char known[128];
        known_opcodes_text(known, sizeof known);
        return fail(EB_ERR_UNSUPPORTED,
                    "op %u ('%.*s'): unknown opcode %u (this runtime knows %s of format %d.%d; rebuild the runtime)", i,
                    (int)name_len, name, op.opcode, known, EB_FORMAT_VERSION_MAJOR, EB_FORMAT_VERSION_MINOR);
      }
      op.index = (uint32_t)index;
      const char* type = kOpInfo[index].name;
      if (kOpImpls[index] == NULL) {  // a lean runtime built for another model (ops_generated.h)
        char built[256];
        built_ops_text(built, sizeof built);
        return fail(EB_ERR_UNSUPPORTED,
                    "op %u (%s '%.*s'): %s is not in this lean runtime (built with %s); rebuild with "
                    "`edgebuild build --lean` for this model, or without --lean",
                    i, type, (int)name_len, name, type, built);
      }
      op.num_inputs = read_le<uint16_t>(rec + 12);
      op.num_outputs = read_le<uint16_t>(rec + 14);
      op.num_params = read_le<uint32_t>(rec + 16);
      const uint32_t start = read_le<uint32_t>(rec + 20);
      const uint64_t total = (uint64_t)op.num_inputs + op.num_outputs + op.num_params;
      if (!fits(start, total, pool_count_))
        return fail(EB_ERR_FORMAT, "op %u (%s '%.*s'): args_start %u + %llu args exceeds INT_POOL (%u values)", i, type,
                    (int)name_len, name, start, (unsigned long long)total, pool_count_);
      op.inputs = pool_ + start;
      op.outputs = op.inputs + op.num_inputs;
      op.params = op.outputs + op.num_outputs;
    }
    return EB_OK;
  }

  // ---- allocation: names, profile slots, arena ----

  eb_status allocate() {
    if (names_bytes_ > SIZE_MAX) return fail(EB_ERR_NOMEM, "names exceed this machine's address space");
    m_->names = static_cast<char*>(tracked_calloc(m_, (size_t)names_bytes_, 1));
    if (m_->names == NULL)
      return fail(EB_ERR_NOMEM, "out of memory for %llu bytes of names", (unsigned long long)names_bytes_);
    char* out = m_->names;
    for (uint32_t i = 0; i < m_->num_tensors; ++i) out = copy_name(&m_->tensors[i].name, m_->tensors[i].name_len, out);
    for (uint32_t i = 0; i < m_->num_ops; ++i) out = copy_name(&m_->ops[i].name, m_->ops[i].name_len, out);
    m_->op_ns = static_cast<uint64_t*>(tracked_calloc(m_, m_->num_ops, sizeof(uint64_t)));
    if (m_->op_ns == NULL) return fail(EB_ERR_NOMEM, "out of memory for profile slots");
    m_->arena = static_cast<uint8_t*>(tracked_alloc_aligned(m_, (size_t)m_->arena_bytes, &m_->arena_raw));
    if (m_->arena == NULL)
      return fail(EB_ERR_NOMEM, "out of memory for the %llu-byte arena", (unsigned long long)m_->arena_bytes);
    for (uint32_t i = 0; i < m_->num_tensors; ++i)
      if (m_->tensors[i].storage == kStorageArena) m_->tensors[i].data = m_->arena + m_->tensors[i].offset;
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
};

}  // namespace

eb_status load_model(eb_model* model, const uint8_t* buffer, size_t size, char* err, size_t err_len) {
  Loader loader(model, buffer, size, err, err_len);
  return loader.load();
}

}  // namespace eb
