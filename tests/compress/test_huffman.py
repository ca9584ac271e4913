"""Huffman-coded constants: the Python encoder round-trips, the C++ loader decodes what Python wrote, bit for bit,
and rejects corrupted CODED_CONSTANTS sections cleanly (CRC re-sealed, so the section checks themselves are hit)."""

from __future__ import annotations

import functools
import struct
import zlib

import numpy as np
import pytest
import torch
from torch import nn

from edgebuild import _native
from edgebuild.compress import huffman as hf
from edgebuild.ir import Program
from edgebuild.plan import plan_arena
from edgebuild.serialize import (
    CODED_CHUNK,
    CODED_HEADER,
    HEADER,
    SECTION,
    ArtifactError,
    Section,
    artifact_bytes,
    read_artifact,
)
from tests.helpers import quantize_and_lower

RNG = np.random.default_rng(7)
FIB = [1, 1]
while len(FIB) < 40:
    FIB.append(FIB[-1] + FIB[-2])


def adversarial(n: int) -> dict[str, bytes]:
    """Inputs that break entropy coders: n bytes each (n >= 256)."""
    sparse = np.zeros(n, np.uint8)
    sparse[RNG.choice(n, n // 20, replace=False)] = RNG.integers(1, 256, n // 20)
    fib = np.repeat(np.arange(24, dtype=np.uint8), FIB[:24])  # Huffman lengths > 15 before limiting
    return {
        "single_symbol": bytes([0x5A]) * n,
        "all_zero": bytes(n),
        "all_256_distinct": (bytes(range(256)) * (n // 256 + 1))[:n],
        "random": RNG.integers(0, 256, n).astype(np.uint8).tobytes(),
        "skewed": (RNG.geometric(0.4, n) % 256).astype(np.uint8).tobytes(),
        "two_symbols": RNG.choice([3, 250], n, p=[0.999, 0.001]).astype(np.uint8).tobytes(),
        "fibonacci_counts": np.resize(RNG.permutation(fib), n).astype(np.uint8).tobytes(),
        "sparse": sparse.tobytes(),
        "zero_tail": bytes([1]) + bytes(n - 1),
        "zero_head": bytes(n - 1) + bytes([9]),
    }


# ---- the Python encoder and decoder ----


@pytest.mark.parametrize("name", list(adversarial(4096)))
@pytest.mark.parametrize("method", [hf.HUFFMAN, hf.HUFFMAN_RUNS])
def test_python_round_trip(name: str, method: int) -> None:
    data = adversarial(4096)[name]
    payload = hf.encode(data) if method == hf.HUFFMAN else hf.encode_runs(data)
    assert hf.decode_payload(method, payload, len(data)) == data


def test_code_lengths_are_limited_complete_and_canonical() -> None:
    counts = np.zeros(256, np.int64)
    counts[:40] = FIB[:40]  # plain Huffman gives a 39-bit code here
    lengths = hf.code_lengths(counts).astype(np.int64)
    assert lengths.max() == hf.MAX_CODE_BITS
    assert (
        sum(2 ** (hf.MAX_CODE_BITS - int(n)) for n in lengths if n) == 2**hf.MAX_CODE_BITS
    )  # Kraft: complete
    codes = hf.canonical_codes(lengths)
    words = {format(int(codes[s]), f"0{lengths[s]}b") for s in np.flatnonzero(lengths)}
    assert not any(a != b and b.startswith(a) for a in words for b in words)  # prefix-free
    assert len(words) == 40


def test_entropy_coding_compresses_what_it_should() -> None:
    d = adversarial(4096)
    assert len(hf.encode(d["single_symbol"])) == hf.TABLE_BYTES + 4096 // 8  # one bit per symbol
    assert len(hf.encode_runs(d["all_zero"])) < 600  # 16 filler pairs
    # Uniform bytes do not compress: best_encoding stores them.
    assert hf.best_encoding(d["random"])[0] == hf.STORED
    assert hf.best_encoding(d["sparse"])[0] == hf.HUFFMAN_RUNS
    skew = d["skewed"]
    p = np.bincount(np.frombuffer(skew, np.uint8), minlength=256) / len(skew)
    entropy_bytes = -(p[p > 0] * np.log2(p[p > 0])).sum() * len(skew) / 8
    assert (
        len(hf.encode(skew)) - hf.TABLE_BYTES < entropy_bytes + len(skew) / 8
    )  # within 1 bit/symbol of the entropy


def test_runs_split_long_gaps_with_filler_zeros() -> None:
    data = bytes(700) + b"\x07" + bytes(600)
    gaps, values = hf.runs(data)
    assert gaps.max() <= 255
    assert values[-3:].tolist() == [7, 0, 0]  # the value, then fillers covering the zero tail beyond 255
    assert hf.decode_runs(hf.encode_runs(data), len(data)) == data


# ---- the C++ loader decodes what Python wrote ----


@functools.cache
def linear_program() -> Program:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    calib = [torch.rand(1, 1, 8, 8) for _ in range(4)]
    q = quantize_and_lower(model, calib, "lin")
    plan_arena(q.program)
    return q.program


def weight_ids(program: Program) -> list[int]:
    return [i for i, t in enumerate(program.tensors) if t.data is not None and t.data.dtype == np.int8]


def with_weight(program: Program, data: bytes) -> Program:
    """A copy of the program whose first int8 weight holds `data` (the loader does not constrain weight values)."""
    prog = read_artifact(artifact_bytes(program))
    t = prog.tensors[weight_ids(prog)[0]]
    assert t.data is not None
    t.data = np.frombuffer(data[: t.nbytes], np.int8).reshape(t.shape).copy()
    return prog


@pytest.mark.parametrize("method", [hf.HUFFMAN, hf.HUFFMAN_RUNS, None])
def test_cpp_decoder_matches_python_encoder(method: int | None, monkeypatch: pytest.MonkeyPatch) -> None:
    if method is not None:  # force one method for every chunk, whatever its size
        enc = hf.encode if method == hf.HUFFMAN else hf.encode_runs
        monkeypatch.setattr(hf, "best_encoding", lambda b: (method, enc(b)))
    n = linear_program().tensors[weight_ids(linear_program())[0]].nbytes
    for name, data in adversarial(n).items():
        prog = with_weight(linear_program(), data)
        coded = artifact_bytes(prog, huffman=True)
        model = _native.Model.from_bytes(coded)
        for tid, t in enumerate(prog.tensors):
            if t.data is not None:
                assert model.tensor(tid).tobytes() == t.data.tobytes(), (name, t.name)
        # Same outputs as the plain artifact, bit for bit; the Python reader gets the same program back.
        plain = _native.Model.from_bytes(artifact_bytes(prog))
        x = [np.random.default_rng(1).random((1, 1, 8, 8), dtype=np.float32)]
        assert np.asarray(model.run(x)[0]).tobytes() == np.asarray(plain.run(x)[0]).tobytes()
        assert artifact_bytes(read_artifact(coded)) == artifact_bytes(prog), name


# ---- corrupted sections are rejected cleanly ----


def reseal(data: bytearray) -> bytes:
    struct.pack_into("<I", data, 20, zlib.crc32(bytes(data[HEADER.size :])) & 0xFFFFFFFF)
    return bytes(data)


def coded_section(data: bytes) -> tuple[int, int]:
    (count,) = struct.unpack_from("<I", data, 16)
    for i in range(count):
        kind, _, off, size = SECTION.unpack_from(data, HEADER.size + i * SECTION.size)
        if kind == Section.CODED_CONSTANTS:
            return off, size
    raise AssertionError("no CODED_CONSTANTS section")


def chunk_field(data: bytes, chunk: int, field: int) -> int:
    """Byte offset of field (0 method, 2 dst, 3 dst_bytes, 4 src, 5 src_bytes) of a chunk record."""
    off, _ = coded_section(data)
    return off + CODED_HEADER.size + chunk * CODED_CHUNK.size + [0, 4, 8, 16, 24, 32][field]


@pytest.fixture(scope="module")
def coded() -> bytes:
    n = linear_program().tensors[weight_ids(linear_program())[0]].nbytes
    return artifact_bytes(with_weight(linear_program(), adversarial(n)["skewed"]), huffman=True)


def first_huffman_chunk(data: bytes) -> int:
    off, _ = coded_section(data)
    _, count, _ = CODED_HEADER.unpack_from(data, off)
    for i in range(count):
        if struct.unpack_from("<I", data, chunk_field(data, i, 0))[0] == hf.HUFFMAN:
            return i
    raise AssertionError("no HUFFMAN chunk")


def corrupt(data: bytes, edit) -> bytes:  # type: ignore[no-untyped-def]
    buf = bytearray(data)
    edit(buf)
    return reseal(buf)


def u64(at: int, value: int):  # type: ignore[no-untyped-def]
    return lambda b: struct.pack_into("<Q", b, at, value)


def test_corrupted_coded_sections_are_rejected(coded: bytes) -> None:
    _native.Model.from_bytes(coded)  # the intact file loads
    off, size = coded_section(coded)
    h = first_huffman_chunk(coded)
    src = off + struct.unpack_from("<Q", coded, chunk_field(coded, h, 4))[0]
    src_bytes = struct.unpack_from("<Q", coded, chunk_field(coded, h, 5))[0]
    dst_bytes = struct.unpack_from("<Q", coded, chunk_field(coded, h, 3))[0]
    lengths = np.frombuffer(hf.unpack_lengths(coded[src : src + hf.TABLE_BYTES]), np.uint8)
    used = np.flatnonzero(lengths)

    def set_length(symbol: int, n: int):  # type: ignore[no-untyped-def]
        def edit(b: bytearray) -> None:
            at = src + symbol // 2
            b[at] = (b[at] & 0xF0) | n if symbol % 2 == 0 else (b[at] & 0x0F) | (n << 4)

        return edit

    cases = {
        "image_bytes": (u64(off, 1 << 40), "image_bytes"),
        "unknown method": (
            lambda b: struct.pack_into("<I", b, chunk_field(coded, 0, 0), 9),
            "unknown method",
        ),
        "misaligned chunk": (u64(chunk_field(coded, 1, 2), 8), "starts at 8"),
        "payload out of section": (u64(chunk_field(coded, h, 4), size), "outside"),
        "decompression bomb": (u64(chunk_field(coded, h, 3), src_bytes * 8), "cannot come from"),
        "oversubscribed": (
            set_length(int(np.flatnonzero(lengths == 0)[0]), 1),
            "oversubscribed",
        ),
        "incomplete": (set_length(int(used[-1]), 0), "incomplete"),
        "truncated stream": (
            lambda b: (
                struct.pack_into("<Q", b, chunk_field(coded, h, 5), src_bytes - 8),
                struct.pack_into("<Q", b, chunk_field(coded, h, 3), min(dst_bytes, (src_bytes - 136) * 8)),
            ),
            "ends inside a code",
        ),
        # Fewer symbols than coded, the chunk still ending inside the same 64-byte block (tiling unchanged).
        "trailing bytes": (
            u64(chunk_field(coded, h, 3), dst_bytes - (dst_bytes - 1) % 64),
            "after its last code",
        ),
    }
    for edit, needle in cases.values():
        with pytest.raises(ValueError, match=needle):
            _native.Model.from_bytes(corrupt(coded, edit))
        with pytest.raises(ArtifactError):
            read_artifact(corrupt(coded, edit))


def test_both_constant_sections_are_rejected(coded: bytes) -> None:
    # Rename METADATA (optional) to CONSTANTS: the file now has both kinds.
    buf = bytearray(coded)
    (count,) = struct.unpack_from("<I", buf, 16)
    for i in range(count):
        if struct.unpack_from("<I", buf, HEADER.size + i * SECTION.size)[0] == Section.METADATA:
            struct.pack_into("<I", buf, HEADER.size + i * SECTION.size, Section.CONSTANTS)
    with pytest.raises(ValueError, match="both CONSTANTS and CODED_CONSTANTS"):
        _native.Model.from_bytes(reseal(buf))


def test_every_bit_flip_in_the_section_is_rejected_or_harmless(coded: bytes) -> None:
    """A flipped bit (CRC re-sealed) either fails the load with a message or gives a model that loads and runs:
    never a crash. (Huffman streams are not self-checking: a flip can decode to other valid bytes.)"""
    off, size = coded_section(coded)
    x = [np.zeros((1, 1, 8, 8), np.float32)]
    rejected = loaded = 0
    rng = np.random.default_rng(3)
    for pos in rng.choice(size, size=min(size, 1500), replace=False):
        buf = bytearray(coded)
        buf[off + int(pos)] ^= 1 << int(rng.integers(8))
        try:
            m = _native.Model.from_bytes(reseal(buf))
        except ValueError as e:
            assert str(e)
            rejected += 1
            continue
        m.run(x)
        loaded += 1
    assert rejected > 0 and rejected + loaded == min(size, 1500)
