// huffman.h: canonical Huffman decoding for the CODED_CONSTANTS section (docs/artifact.md, "CODED_CONSTANTS").
#ifndef EDGEBUILD_RUNTIME_HUFFMAN_H_
#define EDGEBUILD_RUNTIME_HUFFMAN_H_

#include <stddef.h>
#include <stdint.h>

namespace eb {

constexpr uint32_t kHuffmanMaxBits = 15;
constexpr uint32_t kHuffmanSymbols = 256;
constexpr uint32_t kHuffmanTableBytes = 128;  // 256 code lengths of 4 bits, symbol 2i in the low nibble of byte i

// A canonical code: how many codes of each length, and the symbols in canonical order (length, then symbol).
struct HuffmanTable {
  uint16_t count[kHuffmanMaxBits + 1];
  uint16_t symbols[kHuffmanSymbols];
};

// Builds the table from the packed code lengths (kHuffmanTableBytes; length 0 = unused). Returns NULL, or a message: a
// length above 15, no symbol, an oversubscribed code, or an incomplete one (allowed only for a single symbol of length
// 1).
const char* huffman_table_init(HuffmanTable* table, const uint8_t packed[kHuffmanTableBytes]);

// Reads bits most-significant first from data[0, size).
struct BitReader {
  const uint8_t* data;
  uint64_t size;     // bytes
  uint64_t bit_pos;  // next bit
};

// The next symbol (0..255), or -1 when the stream ends inside a code, or -2 for a bit pattern that is no code.
int32_t huffman_decode(BitReader* reader, const HuffmanTable& table);

// NULL when the reader stopped in the last byte and the rest of that byte is zero padding, else a message.
const char* bit_reader_finish(const BitReader& reader);

// The header of a HUFFMAN_RUNS payload: pair count (uint64), then the gap and value code tables.
constexpr uint64_t kHuffmanRunsHeaderBytes = 8 + 2 * kHuffmanTableBytes;

// Decode one CODED_CONSTANTS chunk of n bytes from its payload src[0, src_bytes) into out (zeroed): HUFFMAN
// (code table, bitstream; src_bytes >= kHuffmanTableBytes) or HUFFMAN_RUNS (kHuffmanRunsHeaderBytes, then
// (gap, value) pairs). NULL, or why the payload is invalid.
const char* huffman_decode_chunk(const uint8_t* src, uint64_t src_bytes, uint8_t* out, uint64_t n);
const char* huffman_runs_decode_chunk(const uint8_t* src, uint64_t src_bytes, uint8_t* out, uint64_t n);

}  // namespace eb

#endif  // EDGEBUILD_RUNTIME_HUFFMAN_H_
