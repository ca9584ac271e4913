"""serialize: Program -> .ebm bytes (docs/artifact.md), and the Python reader the tests hold the C++ reader to."""

from __future__ import annotations

import json
import os
import struct
import tempfile
import zlib
from pathlib import Path

import numpy as np

from .ir import DType, Layout, Op, OpCode, Program, Tensor
from .optable import BY_OPCODE

MAGIC = b"EBMODEL\0"
VERSION_MAJOR = 1
# 1.1: CODED_CONSTANTS; 1.2: DEPTHWISE_CONV2D; 1.3: issue 16 ops; 1.4: DYNAMIC_FULLY_CONNECTED, DYNAMIC_BATCH_MATMUL (issue 19); 1.5: ATTENTION (issue 19). A file is written as the oldest minor that reads it (version_minor).
VERSION_MINOR = 5
ALIGN = 64

HEADER = struct.Struct("<8sHHIIIQ")  # magic, major, minor, flags, section_count, crc32, file_size
SECTION = struct.Struct("<IIQQ")  # kind, reserved, offset, size
TENSOR = struct.Struct("<IIBBBB6ifiIQQ")  # 64 bytes
OP = struct.Struct("<IIIHHIIII")  # 32 bytes
assert HEADER.size == 32 and SECTION.size == 24 and TENSOR.size == 64 and OP.size == 32


class Section:
    STRINGS = 1
    TENSORS = 2
    OPS = 3
    INT_POOL = 4
    GRAPH = 5
    CONSTANTS = 6
    METADATA = 7
    CODED_CONSTANTS = 8  # CONSTANTS, entropy-coded (edgebuild/compress/huffman.py), decoded at load


CODED_HEADER = struct.Struct("<QII")  # image_bytes, chunk_count, reserved
CODED_CHUNK = struct.Struct("<IIQQQQ")  # method, reserved, dst_offset, dst_bytes, src_offset, src_bytes
assert CODED_HEADER.size == 16 and CODED_CHUNK.size == 40


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


class _Strings:
    def __init__(self) -> None:
        self.buf = bytearray()
        self.index: dict[str, tuple[int, int]] = {}

    def add(self, s: str) -> tuple[int, int]:
        if s not in self.index:
            raw = s.encode("utf-8")
            self.index[s] = (len(self.buf), len(raw))
            self.buf += raw
        return self.index[s]


def coded_constants(image: bytes, chunks: list[tuple[int, int]]) -> bytes:
    """The CODED_CONSTANTS section of a constant image whose constants are chunks (offset, size), in order: each
    chunk stored or Huffman-coded, whichever is smallest (docs/artifact.md)."""
    from .compress.huffman import best_encoding

    records = bytearray()
    payloads = bytearray()
    start = CODED_HEADER.size + CODED_CHUNK.size * len(chunks)
    for off, size in chunks:
        method, payload = best_encoding(image[off : off + size])
        records += CODED_CHUNK.pack(method, 0, off, size, start + len(payloads), len(payload))
        payloads += payload
    return CODED_HEADER.pack(len(image), len(chunks), 0) + bytes(records) + bytes(payloads)


def decode_coded_constants(section: bytes) -> bytes:
    """The constant image of a CODED_CONSTANTS section, with the loader's checks (ArtifactError if malformed)."""
    from .compress.huffman import HuffmanError, decode_payload

    if len(section) < CODED_HEADER.size:
        raise ArtifactError("CODED_CONSTANTS shorter than its header")
    image_bytes, count, _ = CODED_HEADER.unpack_from(section)
    if count == 0 or CODED_HEADER.size + count * CODED_CHUNK.size > len(section):
        raise ArtifactError("CODED_CONSTANTS: bad chunk count")
    if image_bytes > 1024 * len(section) + 64 * count:  # the loader's per-chunk bounds, summed
        raise ArtifactError("CODED_CONSTANTS: image_bytes out of bounds")
    image = bytearray(image_bytes)
    end = 0
    for i in range(count):
        method, _, dst, dst_bytes, src, src_bytes = CODED_CHUNK.unpack_from(
            section, CODED_HEADER.size + i * CODED_CHUNK.size
        )
        if dst != _align(end) or dst_bytes == 0 or dst + dst_bytes > image_bytes:
            raise ArtifactError(f"CODED_CONSTANTS: chunk {i} does not tile the image")
        if src < CODED_HEADER.size + count * CODED_CHUNK.size or src + src_bytes > len(section):
            raise ArtifactError(f"CODED_CONSTANTS: chunk {i} payload out of bounds")
        try:
            image[dst : dst + dst_bytes] = decode_payload(method, section[src : src + src_bytes], dst_bytes)
        except HuffmanError as e:
            raise ArtifactError(f"CODED_CONSTANTS: chunk {i}: {e}") from e
        end = dst + dst_bytes
    if end != image_bytes:
        raise ArtifactError("CODED_CONSTANTS: image_bytes differs from the end of the last chunk")
    return bytes(image)


def artifact_bytes(program: Program, huffman: bool = False) -> bytes:
    """The .ebm image of a planned program. Deterministic: same program, same bytes. With `huffman`, constants go
    to a CODED_CONSTANTS section (each entropy-coded or stored, whichever is smaller) instead of CONSTANTS."""
    strings = _Strings()

    chunks: list[tuple[int, int]] = []
    constants = bytearray()
    tensor_recs = bytearray(struct.pack("<II", len(program.tensors), 0))
    for t in program.tensors:
        name_off, name_len = strings.add(t.name)
        dims = list(t.shape) + [0] * (6 - len(t.shape))
        if t.data is not None:
            constants += b"\0" * (_align(len(constants)) - len(constants))
            t.offset = len(constants)
            raw = np.ascontiguousarray(t.data, dtype=t.dtype.numpy).tobytes()
            assert len(raw) == t.nbytes, t.name
            constants += raw
            chunks.append((t.offset, len(raw)))
        tensor_recs += TENSOR.pack(
            name_off,
            name_len,
            int(t.dtype),
            len(t.shape),
            int(t.data is not None),
            int(t.layout),
            *dims,
            float(t.scale),
            int(t.zero_point),
            0,
            t.offset,
            t.nbytes,
        )

    pool: list[int] = []
    op_recs = bytearray(struct.pack("<II", len(program.ops), 0))
    for op in program.ops:
        name_off, name_len = strings.add(op.name)
        start = len(pool)
        pool += op.inputs + op.outputs + op.params
        op_recs += OP.pack(
            int(op.opcode), name_off, name_len, len(op.inputs), len(op.outputs), len(op.params), start, 0, 0
        )
    int_pool = struct.pack("<II", len(pool), 0) + np.asarray(pool, dtype="<i4").tobytes()

    ids = program.inputs + program.outputs
    graph = struct.pack("<QII", program.arena_bytes, len(program.inputs), len(program.outputs))
    graph += np.asarray(ids, dtype="<i4").tobytes()
    metadata = json.dumps(program.metadata, sort_keys=True, separators=(",", ":")).encode("utf-8")

    sections = [
        (Section.STRINGS, bytes(strings.buf)),
        (Section.TENSORS, bytes(tensor_recs)),
        (Section.OPS, bytes(op_recs)),
        (Section.INT_POOL, int_pool),
        (Section.GRAPH, graph),
        (Section.METADATA, metadata),
    ]
    if constants and huffman:
        sections.append((Section.CODED_CONSTANTS, coded_constants(bytes(constants), chunks)))
    elif constants:
        sections.append((Section.CONSTANTS, bytes(constants)))

    table_end = HEADER.size + SECTION.size * len(sections)
    offset = _align(table_end)
    table = bytearray()
    body = bytearray()
    for kind, payload in sections:
        table += SECTION.pack(kind, 0, offset, len(payload))
        body += payload + b"\0" * (_align(len(payload)) - len(payload))
        offset += _align(len(payload))
    pad = b"\0" * (_align(table_end) - table_end)
    file_size = _align(table_end) + len(body)
    after_header = bytes(table) + pad + bytes(body)
    crc = zlib.crc32(after_header) & 0xFFFFFFFF
    minor = version_minor(program, coded=bool(huffman and constants))
    header = HEADER.pack(MAGIC, VERSION_MAJOR, minor, 0, len(sections), crc, file_size)
    return header + after_header


def version_minor(program: Program, *, coded: bool) -> int:
    """The oldest minor that reads the file: the newest `since` of its ops (the op table), 1 with
    CODED_CONSTANTS, else 0 (docs/artifact.md, Versioning)."""
    minor = 1 if coded else 0
    for op in program.ops:
        spec = BY_OPCODE.get(int(op.opcode))  # None: a hand-made opcode (tests of the reader's refusal)
        major, op_minor = (int(v) for v in spec.since.split(".")) if spec else (VERSION_MAJOR, 0)
        if major == VERSION_MAJOR:
            minor = max(minor, op_minor)
    return minor


def section_sizes(data: bytes) -> dict[int, int]:
    """Size in bytes of each section of a well-formed image, by kind."""
    _, _, _, _, count, _, _ = HEADER.unpack_from(data)
    sizes = {}
    for i in range(count):
        kind, _, _, size = SECTION.unpack_from(data, HEADER.size + i * SECTION.size)
        sizes[kind] = size
    return sizes


def write_artifact(program: Program, path: str | os.PathLike[str]) -> int:
    """Write atomically (temp file + rename): a reader never sees half a file. Returns the byte size."""
    data = artifact_bytes(program)
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(data)


class ArtifactError(ValueError):
    pass


def read_artifact(data: bytes) -> Program:
    """Parse an .ebm image back into a Program (for tests and inspection; the C++ loader is the one that runs).
    Any malformed image raises ArtifactError (a ValueError), whatever part of it is wrong (tests/trust fuzzes it)."""
    try:
        return _read_artifact(data)
    except ArtifactError:
        raise
    except (KeyError, IndexError, TypeError, ValueError, OverflowError, struct.error) as e:
        raise ArtifactError(f"malformed artifact: {type(e).__name__}: {e}") from e


def _read_artifact(data: bytes) -> Program:
    if len(data) < HEADER.size:
        raise ArtifactError("file shorter than the header")
    magic, major, _minor, _flags, count, crc, size = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise ArtifactError("bad magic")
    if major != VERSION_MAJOR:
        raise ArtifactError(f"format version {major} is not {VERSION_MAJOR}")
    if size != len(data):
        raise ArtifactError(f"header says {size} bytes, file has {len(data)}")
    if zlib.crc32(data[HEADER.size :]) & 0xFFFFFFFF != crc:
        raise ArtifactError("checksum mismatch")
    sections: dict[int, bytes] = {}
    for i in range(count):
        kind, _, off, sz = SECTION.unpack_from(data, HEADER.size + i * SECTION.size)
        if off + sz > len(data):
            raise ArtifactError(f"section {i} out of bounds")
        sections[kind] = data[off : off + sz]
    strings = sections[Section.STRINGS]
    constants = sections.get(Section.CONSTANTS, b"")
    if Section.CODED_CONSTANTS in sections:
        if Section.CONSTANTS in sections:
            raise ArtifactError("both CONSTANTS and CODED_CONSTANTS sections")
        constants = decode_coded_constants(sections[Section.CODED_CONSTANTS])

    def name(off: int, length: int) -> str:
        return strings[off : off + length].decode("utf-8")

    prog = Program()
    (n,) = struct.unpack_from("<I", sections[Section.TENSORS])
    for i in range(n):
        (n_off, n_len, dtype, rank, storage, layout, *rest) = TENSOR.unpack_from(
            sections[Section.TENSORS], 8 + i * TENSOR.size
        )
        dims, (scale, zp, _, offset, nbytes) = rest[:6], rest[6:]
        t = Tensor(
            name(n_off, n_len), DType(dtype), tuple(dims[:rank]), scale, zp, Layout(layout), offset=offset
        )
        if storage == 1:
            t.data = (
                np.frombuffer(constants[offset : offset + nbytes], dtype=t.dtype.numpy)
                .reshape(t.shape)
                .copy()
            )
        prog.tensors.append(t)
    pool_sec = sections[Section.INT_POOL]
    (pn,) = struct.unpack_from("<I", pool_sec)
    pool = np.frombuffer(pool_sec[8 : 8 + 4 * pn], dtype="<i4").tolist()
    (n,) = struct.unpack_from("<I", sections[Section.OPS])
    for i in range(n):
        opcode, n_off, n_len, nin, nout, npar, start, _, _ = OP.unpack_from(
            sections[Section.OPS], 8 + i * OP.size
        )
        args = pool[start : start + nin + nout + npar]
        prog.ops.append(
            Op(OpCode(opcode), name(n_off, n_len), args[:nin], args[nin : nin + nout], args[nin + nout :])
        )
    arena, nin, nout = struct.unpack_from("<QII", sections[Section.GRAPH])
    ids = np.frombuffer(sections[Section.GRAPH][16 : 16 + 4 * (nin + nout)], dtype="<i4").tolist()
    prog.arena_bytes, prog.inputs, prog.outputs = arena, ids[:nin], ids[nin:]
    if Section.METADATA in sections:
        prog.metadata = json.loads(sections[Section.METADATA].decode("utf-8"))
    return prog
