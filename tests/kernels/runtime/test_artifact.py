"""The .ebm writer (Python) and reader (C++) against each other, and the reader against bad files."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from edgebuild import _native
from edgebuild.plan import plan_arena
from edgebuild.serialize import artifact_bytes, read_artifact
from tests.helpers import quantize_and_lower
from tests.models import RandomCNN, calibration


@pytest.fixture(scope="module")
def artifact() -> bytes:
    m = RandomCNN(5)
    q = quantize_and_lower(m, calibration(m.input_shape(), 4), "r5")
    plan_arena(q.program)
    return artifact_bytes(q.program)


def test_roundtrip_python_reader(artifact: bytes) -> None:
    prog = read_artifact(artifact)
    assert artifact_bytes(prog) == artifact  # re-serializing what was read gives the same bytes
    assert len(artifact) % 64 == 0


def test_cpp_reader_sees_what_python_wrote(artifact: bytes) -> None:
    prog = read_artifact(artifact)
    m = _native.Model.from_bytes(artifact)
    assert m.num_ops == len(prog.ops)
    assert m.arena_bytes == prog.arena_bytes
    assert [tuple(i["shape"]) for i in m.inputs] == [prog.tensors[t].shape for t in prog.inputs]
    assert [tuple(o["shape"]) for o in m.outputs] == [prog.tensors[t].shape for t in prog.outputs]
    for i, op in enumerate(prog.ops):
        info = m.op_info(i)
        assert info["name"] == op.name


def test_every_truncation_is_an_error(artifact: bytes) -> None:
    for n in range(len(artifact)):
        with pytest.raises(ValueError):
            _native.Model.from_bytes(artifact[:n])


def test_bit_flips_are_errors(artifact: bytes) -> None:
    rng = np.random.default_rng(0)
    # Bytes 10-15 (version_minor, flags) are outside the CRC and ignored by design (docs/artifact.md).
    positions = [p for p in range(len(artifact)) if not 10 <= p < 16]
    for pos in rng.choice(positions, size=min(2000, len(positions)), replace=False):
        data = bytearray(artifact)
        data[pos] ^= 1 << int(rng.integers(8))
        with pytest.raises(ValueError):
            _native.Model.from_bytes(bytes(data))


def test_same_program_same_bytes() -> None:
    m = RandomCNN(3)
    cal = calibration(m.input_shape(), 4)
    images = []
    for _ in range(2):
        torch.manual_seed(0)
        q = quantize_and_lower(RandomCNN(3), cal, "r3")
        plan_arena(q.program)
        images.append(artifact_bytes(q.program))
    assert images[0] == images[1]
