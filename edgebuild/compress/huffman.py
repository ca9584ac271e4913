"""Canonical, length-limited Huffman coding of constant bytes: the CODED_CONSTANTS section (docs/artifact.md).

Two methods, chosen per constant by size (Deep Compression's stage 3, Han et al. 2015):

- HUFFMAN: every byte of the constant is one symbol of a 256-symbol alphabet.
- HUFFMAN_RUNS: the constant as (gap, value) pairs, the sparse form of a pruned tensor: `gap` zero bytes (0…255)
  then one `value` byte. A gap longer than 255 is split by a filler pair whose value is 0 (the paper's padding
  zero). The at most 255 bytes after the last pair are zero (fillers cover longer zero tails). Gaps and values have their own code tables.

Codes are canonical (DEFLATE's assignment: shorter codes first, then by symbol) and at most MAX_CODE_BITS long, so a
table is 256 code lengths of 4 bits, two per byte (symbol 2i in the low nibble of byte i): TABLE_BYTES. A code is complete (Kraft sum 1) unless exactly one symbol is used, which
then has the 1-bit code `0`. Bits are packed most-significant first; the last byte is padded with zero bits.

No standard Python package writes this format (length-limited canonical codes, two alphabets, our bit order): the
C++ decoder in kernels/runtime/huffman.cc is the other half and tests hold the two to each other.
"""

from __future__ import annotations

import heapq
import struct

import numpy as np

MAX_CODE_BITS = 15
STORED, HUFFMAN, HUFFMAN_RUNS = 0, 1, 2
METHOD_NAMES = {STORED: "stored", HUFFMAN: "huffman", HUFFMAN_RUNS: "huffman_runs"}
MAX_GAP = 255
TABLE_BYTES = 128
RUNS_HEADER = 8 + 2 * TABLE_BYTES


def pack_lengths(lengths: np.ndarray) -> bytes:
    v = np.asarray(lengths, dtype=np.uint8)
    return (v[0::2] | (v[1::2] << 4)).astype(np.uint8).tobytes()


def unpack_lengths(table: bytes) -> bytes:
    b = np.frombuffer(table, dtype=np.uint8)
    out = np.empty(2 * len(b), dtype=np.uint8)
    out[0::2], out[1::2] = b & 15, b >> 4
    return out.tobytes()


class HuffmanError(ValueError):
    pass


def code_lengths(counts: np.ndarray, max_bits: int = MAX_CODE_BITS) -> np.ndarray:
    """Huffman code lengths (uint8[256]) for symbol counts, limited to max_bits, complete unless one symbol."""
    counts = np.asarray(counts, dtype=np.int64)
    lengths = np.zeros(len(counts), dtype=np.int64)
    used = [int(s) for s in np.flatnonzero(counts)]
    if not used:
        return lengths.astype(np.uint8)
    if len(used) == 1:
        lengths[used[0]] = 1
        return lengths.astype(np.uint8)
    # Plain Huffman: merge the two lightest trees; ties broken by a sequence number (deterministic).
    heap: list[tuple[int, int, list[int]]] = [(int(counts[s]), s, [s]) for s in used]
    heapq.heapify(heap)
    seq = len(counts)
    while len(heap) > 1:
        c1, _, s1 = heapq.heappop(heap)
        c2, _, s2 = heapq.heappop(heap)
        for s in s1 + s2:
            lengths[s] += 1
        heapq.heappush(heap, (c1 + c2, seq, s1 + s2))
        seq += 1
    if lengths.max() > max_bits:
        lengths = _limit(lengths, counts, max_bits)
    return lengths.astype(np.uint8)


def _limit(lengths: np.ndarray, counts: np.ndarray, max_bits: int) -> np.ndarray:
    """Clamp lengths to max_bits, then restore Kraft's equality: lengthen the longest codes shorter than the limit
    while oversubscribed, shorten the most frequent eligible codes while incomplete."""
    lengths = np.minimum(lengths, max_bits)
    used = np.flatnonzero(lengths)
    full = 1 << max_bits
    kraft = int(sum(1 << (max_bits - int(lengths[s])) for s in used))
    while kraft > full:
        cand = [s for s in used if lengths[s] < max_bits]
        s = max(cand, key=lambda s: (int(lengths[s]), -int(counts[s])))
        kraft -= 1 << (max_bits - int(lengths[s]) - 1)
        lengths[s] += 1
    while kraft < full:
        deficit = full - kraft
        cand = [s for s in used if lengths[s] > 1 and (1 << (max_bits - int(lengths[s]))) <= deficit]
        s = max(cand, key=lambda s: (int(counts[s]), int(lengths[s])))
        kraft += 1 << (max_bits - int(lengths[s]))
        lengths[s] -= 1
    return lengths


def canonical_codes(lengths: np.ndarray) -> np.ndarray:
    """Code of each symbol (uint32[256]) for canonical lengths: DEFLATE's assignment."""
    lengths = np.asarray(lengths, dtype=np.int64)
    bl_count = np.bincount(lengths, minlength=MAX_CODE_BITS + 1)
    bl_count[0] = 0
    next_code = np.zeros(MAX_CODE_BITS + 2, dtype=np.int64)
    code = 0
    for bits in range(1, MAX_CODE_BITS + 1):
        code = (code + int(bl_count[bits - 1])) << 1
        next_code[bits] = code
    codes = np.zeros(len(lengths), dtype=np.uint32)
    for s in range(len(lengths)):
        n = int(lengths[s])
        if n:
            codes[s] = next_code[n]
            next_code[n] += 1
    return codes


def _pack(symbols: np.ndarray, lengths: np.ndarray, codes: np.ndarray) -> bytes:
    """Concatenate the codes of symbols (each a row index into lengths/codes), MSB first, zero padded."""
    lens = lengths[symbols].astype(np.int64)
    if np.any(lens == 0):
        raise HuffmanError("symbol without a code")
    total = int(lens.sum())
    if total == 0:
        return b""
    starts = np.cumsum(lens) - lens
    owner = np.repeat(np.arange(len(symbols)), lens)
    j = np.arange(total, dtype=np.int64) - starts[owner]
    bits = (codes[symbols][owner].astype(np.int64) >> (lens[owner] - 1 - j)) & 1
    return np.packbits(bits.astype(np.uint8)).tobytes()


def encode(data: bytes | np.ndarray) -> bytes:
    """HUFFMAN payload: the code table (TABLE_BYTES), then the bitstream of every byte."""
    sym = np.frombuffer(bytes(data), dtype=np.uint8)
    lengths = code_lengths(np.bincount(sym, minlength=256))
    return pack_lengths(lengths) + _pack(sym, lengths, canonical_codes(lengths))


def runs(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(gaps, values) of the HUFFMAN_RUNS form: value i follows gaps[i] zero bytes; fillers split long gaps."""
    b = np.frombuffer(bytes(data), dtype=np.uint8)
    nz = np.flatnonzero(b)
    prev = np.concatenate([[-1], nz[:-1]]) if len(nz) else np.zeros(0, dtype=np.int64)
    gaps_raw = nz - prev - 1
    gaps: list[int] = []
    values: list[int] = []
    for g, pos in zip(gaps_raw.tolist(), nz.tolist()):
        while g > MAX_GAP:  # filler: 255 zeros, then a zero value (Han et al.'s padding zero)
            gaps.append(MAX_GAP)
            values.append(0)
            g -= MAX_GAP + 1
        gaps.append(g)
        values.append(int(b[pos]))
    tail = len(b) - (int(nz[-1]) + 1 if len(nz) else 0)
    while (
        tail > MAX_GAP
    ):  # at most 255 zero bytes may follow the last pair (bounds what a payload decodes to)
        gaps.append(MAX_GAP)
        values.append(0)
        tail -= MAX_GAP + 1
    return np.asarray(gaps, dtype=np.int64), np.asarray(values, dtype=np.int64)


def encode_runs(data: bytes | np.ndarray) -> bytes:
    """HUFFMAN_RUNS payload: u64 pair count, gap code table, value code table, interleaved bitstream."""
    gaps, values = runs(bytes(data))
    glen = code_lengths(np.bincount(gaps, minlength=256))
    vlen = code_lengths(np.bincount(values, minlength=256))
    head = struct.pack("<Q", len(gaps)) + pack_lengths(glen) + pack_lengths(vlen)
    if len(gaps) == 0:
        return head
    # Interleave: rows 0..255 of the combined table are gap symbols, 256..511 value symbols.
    lengths = np.concatenate([glen, vlen])
    codes = np.concatenate([canonical_codes(glen), canonical_codes(vlen)])
    seq = np.empty(2 * len(gaps), dtype=np.int64)
    seq[0::2] = gaps
    seq[1::2] = values + 256
    return head + _pack(seq, lengths, codes)


def best_encoding(data: bytes) -> tuple[int, bytes]:
    """(method, payload) of the smallest of STORED, HUFFMAN and HUFFMAN_RUNS for these bytes."""
    options = [(STORED, bytes(data)), (HUFFMAN, encode(data)), (HUFFMAN_RUNS, encode_runs(data))]
    return min(options, key=lambda o: (len(o[1]), o[0]))


# ---- decoding (the Python twin of kernels/runtime/huffman.cc; read_artifact and the tests use it) ----


class _Decoder:
    def __init__(self, lengths: bytes) -> None:
        lens = np.frombuffer(unpack_lengths(lengths), dtype=np.uint8).astype(np.int64)
        if len(lens) != 256:
            raise HuffmanError(
                "code table is not 256 lengths"
            )  # pragma: no cover - callers slice TABLE_BYTES
        if lens.max(initial=0) > MAX_CODE_BITS:
            raise HuffmanError(f"code length {int(lens.max())} exceeds {MAX_CODE_BITS}")
        used = np.flatnonzero(lens)
        if len(used) == 0:
            raise HuffmanError("code table has no symbols")
        kraft = sum(1 << (MAX_CODE_BITS - int(lens[s])) for s in used)
        single = len(used) == 1 and lens[used[0]] == 1
        if kraft != 1 << MAX_CODE_BITS and not single:
            raise HuffmanError("code table is not a complete prefix code")
        codes = canonical_codes(lens)
        self.table = {(int(lens[s]), int(codes[s])): int(s) for s in used}


class _Bits:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def symbol(self, dec: _Decoder) -> int:
        code = 0
        for n in range(1, MAX_CODE_BITS + 1):
            byte = self.pos >> 3
            if byte >= len(self.data):
                raise HuffmanError("bitstream ends inside a code")
            code = (code << 1) | ((self.data[byte] >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
            sym = dec.table.get((n, code))
            if sym is not None:
                return sym
        raise HuffmanError("invalid code in the bitstream")

    def finish(self) -> None:
        if (self.pos + 7) >> 3 != len(self.data):
            raise HuffmanError("bitstream has trailing bytes")
        if self.pos & 7 and self.data[-1] & ((1 << (8 - (self.pos & 7))) - 1):
            raise HuffmanError("bitstream padding bits are not zero")


def decode(payload: bytes, size: int) -> bytes:
    if len(payload) < TABLE_BYTES:
        raise HuffmanError("HUFFMAN payload shorter than its code table")
    bits = _Bits(payload[TABLE_BYTES:])
    out = b""
    if size:  # an empty constant has an empty table (never written: constants have >= 1 element)
        dec = _Decoder(payload[:TABLE_BYTES])
        out = bytes(bits.symbol(dec) for _ in range(size))
    bits.finish()
    return out


def decode_runs(payload: bytes, size: int) -> bytes:
    if len(payload) < RUNS_HEADER:
        raise HuffmanError("HUFFMAN_RUNS payload shorter than its header")
    (pairs,) = struct.unpack_from("<Q", payload)
    out = bytearray(size)
    bits = _Bits(payload[RUNS_HEADER:])
    if pairs:
        gdec = _Decoder(payload[8 : 8 + TABLE_BYTES])
        vdec = _Decoder(payload[8 + TABLE_BYTES : RUNS_HEADER])
        pos = 0
        for _ in range(pairs):
            pos += bits.symbol(gdec)
            if pos >= size:
                raise HuffmanError("a run goes past the end of the constant")
            out[pos] = bits.symbol(vdec)
            pos += 1
        if size - pos > MAX_GAP:
            raise HuffmanError("more than 255 zero bytes follow the last pair")
    elif size > MAX_GAP:
        raise HuffmanError("more than 255 zero bytes follow the last pair")
    bits.finish()
    return bytes(out)


def decode_payload(method: int, payload: bytes, size: int) -> bytes:
    if method == STORED:
        if len(payload) != size:
            raise HuffmanError("stored chunk size differs from its decoded size")
        return bytes(payload)
    if method == HUFFMAN:
        return decode(payload, size)
    if method == HUFFMAN_RUNS:
        return decode_runs(payload, size)
    raise HuffmanError(f"unknown method {method}")
