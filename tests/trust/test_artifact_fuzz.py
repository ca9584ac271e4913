"""Hypothesis against the Python writer/reader pair and the C++ reader: names and metadata of any text round-trip,
and mutated files (CRC fixed up, so the structural checks are reached) are either read by both readers alike or
rejected with ValueError -- never another exception, never a crash."""

from __future__ import annotations

import copy
import functools
import struct
import zlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgebuild import _native
from edgebuild.ir import Program
from edgebuild.plan import plan_arena
from edgebuild.serialize import HEADER, artifact_bytes, read_artifact
from tests.helpers import quantize_and_lower
from tests.models import RandomCNN, calibration


@functools.cache
def program() -> Program:
    m = RandomCNN(1)
    q = quantize_and_lower(m, calibration(m.input_shape(), 2), "fuzz")
    plan_arena(q.program)
    return q.program


def fix_crc(data: bytearray) -> bytes:
    crc = zlib.crc32(bytes(data[HEADER.size :])) & 0xFFFFFFFF
    struct.pack_into("<I", data, 20, crc)
    return bytes(data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(names=st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=8), meta=json_values)
def test_names_and_metadata_round_trip(names: list[str], meta: object) -> None:
    p = copy.deepcopy(program())
    for i, name in enumerate(names):
        p.tensors[i % len(p.tensors)].name = name
    p.metadata["fuzz"] = meta
    data = artifact_bytes(p)
    back = read_artifact(data)
    assert [t.name for t in back.tensors] == [t.name for t in p.tensors]
    assert back.metadata["fuzz"] == meta
    assert artifact_bytes(back) == data
    m = _native.Model.from_bytes(data)  # the C++ reader takes every valid name
    assert m.num_ops == len(p.ops)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(st.tuples(st.integers(HEADER.size, 10**6), st.integers(0, 255)), min_size=1, max_size=6)
)
def test_mutated_files_are_read_alike_or_rejected(edits: list[tuple[int, int]]) -> None:
    original = artifact_bytes(program())
    data = bytearray(original)
    for pos, value in edits:
        data[pos % len(data)] = value
    mutated = fix_crc(data)
    try:
        py = read_artifact(mutated)
    except ValueError:
        py = None
    try:
        cpp = _native.Model.from_bytes(mutated)
    except ValueError:
        cpp = None
    if py is not None and cpp is not None:
        assert cpp.num_ops == len(py.ops)
        assert [tuple(i["shape"]) for i in cpp.inputs] == [py.tensors[t].shape for t in py.inputs]
