// huffman.cc: canonical Huffman decoding (DEFLATE's code assignment, MSB-first bits) for CODED_CONSTANTS.
//
// The decoder walks the code one bit at a time, comparing against the first code of each length (as zlib's
// puff.c does): at most 15 steps per symbol, no lookup table to build, and every read is bounds-checked. Load time
// is not the hot path; the decoded constants are what the kernels read.
#include "huffman.h"

#include <string.h>

namespace eb {

const char* huffman_table_init(HuffmanTable* table, const uint8_t packed[kHuffmanTableBytes]) {
  uint8_t lengths[kHuffmanSymbols];
  for (uint32_t i = 0; i < kHuffmanTableBytes; ++i) {
    lengths[2 * i] = packed[i] & 15;
    lengths[2 * i + 1] = packed[i] >> 4;
  }
  for (uint32_t n = 0; n <= kHuffmanMaxBits; ++n) table->count[n] = 0;
  uint32_t used = 0;
  for (uint32_t s = 0; s < kHuffmanSymbols; ++s) {
    table->count[lengths[s]]++;
    used += lengths[s] != 0;
  }
  if (used == 0) return "the code table has no symbol";
  // Kraft: codes left at each length; negative = oversubscribed, positive at the end = incomplete.
  int32_t left = 1;
  for (uint32_t n = 1; n <= kHuffmanMaxBits; ++n) {
    left = 2 * left - table->count[n];
    if (left < 0) return "the code table is oversubscribed (not a prefix code)";
  }
  if (left != 0 && !(used == 1 && table->count[1] == 1))
    return "the code table is incomplete (only a single symbol may have an incomplete 1-bit code)";
  uint16_t offset[kHuffmanMaxBits + 2];
  offset[1] = 0;
  for (uint32_t n = 1; n <= kHuffmanMaxBits; ++n) offset[n + 1] = (uint16_t)(offset[n] + table->count[n]);
  for (uint32_t s = 0; s < kHuffmanSymbols; ++s)
    if (lengths[s] != 0) table->symbols[offset[lengths[s]]++] = (uint16_t)s;
  table->count[0] = 0;
  return NULL;
}

int32_t huffman_decode(BitReader* r, const HuffmanTable& t) {
  int32_t code = 0, first = 0, index = 0;  // code so far, first code of this length, its canonical index
  for (uint32_t n = 1; n <= kHuffmanMaxBits; ++n) {
    if (r->bit_pos >= r->size * 8) return -1;
    code |= (r->data[r->bit_pos >> 3] >> (7 - (r->bit_pos & 7))) & 1;
    r->bit_pos++;
    const int32_t count = t.count[n];
    if (code - first < count) return t.symbols[index + (code - first)];
    index += count;
    first = (first + count) << 1;
    code <<= 1;
  }
  return -2;
}

const char* bit_reader_finish(const BitReader& r) {
  if ((r.bit_pos + 7) / 8 != r.size) return "the bitstream has bytes after its last code";
  const uint32_t used = (uint32_t)(r.bit_pos & 7);
  if (used != 0 && (r.data[r.size - 1] & (0xFFu >> used)) != 0) return "the bitstream's padding bits are not zero";
  return NULL;
}

const char* huffman_decode_chunk(const uint8_t* src, uint64_t src_bytes, uint8_t* out, uint64_t n) {
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

const char* huffman_runs_decode_chunk(const uint8_t* src, uint64_t src_bytes, uint8_t* out, uint64_t n) {
  uint64_t pairs;
  memcpy(&pairs, src, sizeof pairs);  // little-endian (internal.h refuses big-endian hosts)
  BitReader bits = {src + kHuffmanRunsHeaderBytes, src_bytes - kHuffmanRunsHeaderBytes, 0};
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

}  // namespace eb
