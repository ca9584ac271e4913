"""The float BATCH_MATMUL and FULLY_CONNECTED, and the int8 BATCH_MATMUL, on every x86 path against the reference
path, bit for bit, through the runtime (the op's plan reserves the kernel's scratch, the run picks f32_bmm_fn /
f32_gemm_fn / qs8_bmm_fn): MiniLM's attention shapes, tails around the tiles, both layouts of B, alpha, bias, clamps,
NaN / inf / subnormal inputs, zero points, 1 and 3 threads. The kernels themselves are held to their twins by the
microkernel tester (also under qemu for arm64)."""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest

from edgebuild import _native
from edgebuild.ir import DType, Op, OpCode, Program, Tensor
from edgebuild.lower import f32_bits_of
from edgebuild.plan import plan_arena
from edgebuild.serialize import artifact_bytes
from tests.kernels.ukernels.test_bmm_ref import bmm_program as int8_bmm_program
from tests.kernels.ukernels.test_ref_vs_oracle import codes

AVAILABLE = [i for i in _native.available_isas().split(",") if i != "ref"]


def operand(rng: np.random.Generator, shape: tuple[int, ...], special: bool) -> np.ndarray:
    x = (rng.standard_normal(shape) * np.exp2(rng.integers(-3, 4, size=shape))).astype(np.float32)
    if special:  # NaN, ±inf, ±0, subnormals and huge values, a few of each
        pool = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-40, -1e-45, 3e38, -2e38], np.float32)
        pick = rng.random(shape) < 0.03
        x = np.where(pick, pool[rng.integers(0, len(pool), size=shape)], x).astype(np.float32)
    return x


def bmm_program(batch: tuple[int, ...], m: int, n: int, k: int, transpose_b: bool, alpha: float) -> Program:
    prog = Program()
    a = prog.add_tensor(Tensor("a", DType.FLOAT32, (*batch, m, k)))
    b = prog.add_tensor(Tensor("b", DType.FLOAT32, (*batch, n, k) if transpose_b else (*batch, k, n)))
    y = prog.add_tensor(Tensor("y", DType.FLOAT32, (*batch, m, n)))
    prog.inputs += [a, b]
    prog.outputs.append(y)
    prog.add_op(Op(OpCode.BATCH_MATMUL, "bmm", [a, b], [y], [int(transpose_b), f32_bits_of(alpha)]))
    return prog


def fc_program(
    rng: np.random.Generator, rows: tuple[int, ...], n: int, k: int, bias: bool, bounds: tuple[float, float]
) -> Program:
    prog = Program()
    x = prog.add_tensor(Tensor("x", DType.FLOAT32, (*rows, k)))
    y = prog.add_tensor(Tensor("y", DType.FLOAT32, (*rows, n)))
    prog.inputs.append(x)
    prog.outputs.append(y)
    w = prog.add_constant("w", operand(rng, (n, k), False), DType.FLOAT32)
    b = prog.add_constant("b", operand(rng, (n,), False), DType.FLOAT32) if bias else -1
    prog.add_op(Op(OpCode.FULLY_CONNECTED, "fc", [x, w, b], [y], [f32_bits_of(v) for v in bounds]))
    return prog


CASES = [
    # (name, program builder, input shapes, special values)
    ("minilm-qk-seq32", lambda r: bmm_program((1, 12), 32, 32, 32, True, 1 / math.sqrt(32)), False),
    ("minilm-pv-seq32", lambda r: bmm_program((1, 12), 32, 32, 32, False, 1.0), False),
    ("minilm-qk-seq128", lambda r: bmm_program((1, 2), 128, 128, 32, True, 1 / math.sqrt(32)), False),
    ("minilm-pv-seq128", lambda r: bmm_program((1, 2), 128, 32, 128, False, 1.0), False),
    ("bmm-tails", lambda r: bmm_program((2, 3), 7, 67, 9, False, -0.5), True),
    ("bmm-tails-t", lambda r: bmm_program((3,), 13, 33, 17, True, 3.0), True),
    ("bmm-k1", lambda r: bmm_program((2,), 5, 3, 1, True, 1.0), True),
    ("fc-bias-relu6", lambda r: fc_program(r, (2, 9), 70, 37, True, (0.0, 6.0)), False),
    ("fc-nobias-signed-zero-bounds", lambda r: fc_program(r, (5,), 19, 64, False, (-0.0, 0.0)), True),
    ("fc-specials", lambda r: fc_program(r, (1, 3), 130, 5, True, (-math.inf, math.inf)), True),
]


def run(
    blob: bytes, isa: str, inputs: list[np.ndarray], threads: int, monkeypatch: pytest.MonkeyPatch
) -> bytes:
    monkeypatch.setenv("EDGEBUILD_ISA", isa)
    model = _native.Model.from_bytes(blob)
    assert model.isa == isa
    model.threads = threads
    return np.asarray(model.run(inputs)[0]).tobytes()


@pytest.mark.parametrize("isa", AVAILABLE)
@pytest.mark.parametrize(("name", "build", "special"), CASES, ids=[c[0] for c in CASES])
def test_float_matmul_matches_reference(isa: str, name: str, build, special: bool, monkeypatch) -> None:
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    prog = build(rng)
    plan_arena(prog)
    blob = artifact_bytes(prog)
    inputs = [operand(rng, prog.tensors[t].shape, special) for t in prog.inputs]
    want = run(blob, "ref", inputs, 1, monkeypatch)
    for threads in (1, 3):
        got = run(blob, isa, inputs, threads, monkeypatch)
        w = np.frombuffer(want, np.float32)
        g = np.frombuffer(got, np.float32)
        same = (g.view(np.uint32) == w.view(np.uint32)) | (np.isnan(g) & np.isnan(w))
        assert same.all(), (
            f"{name} on {isa}, {threads} threads: {int((~same).sum())} of {w.size} outputs differ"
        )
    assert np.isfinite(np.frombuffer(want, np.float32)).any()  # not a vacuous comparison


INT8_CASES = [
    # (name, batch dims, m, k, n, transpose_b, zero points a / b / y, real multiplier, activation range)
    ("minilm-qk-seq32", (1, 12), 32, 32, 32, 1, (3, -5, 0), 0.002, (-128, 127)),
    ("minilm-pv-seq32", (1, 12), 32, 32, 32, 0, (-128, 0, -128), 0.004, (-128, 127)),
    ("minilm-qk-seq128", (1, 2), 128, 32, 128, 1, (0, 0, 7), 0.003, (-128, 127)),
    ("minilm-pv-seq128", (1, 2), 128, 128, 32, 0, (-128, 3, -9), 0.001, (-100, 90)),
    ("tails", (2, 3), 9, 5, 33, 0, (127, -128, 1), 0.0005, (-128, 127)),
    ("tails-t", (3,), 17, 7, 65, 1, (127, 127, 0), 0.0004, (-20, 127)),
]


@pytest.mark.parametrize("isa", AVAILABLE)
@pytest.mark.parametrize("case", INT8_CASES, ids=[c[0] for c in INT8_CASES])
def test_int8_bmm_matches_reference(isa: str, case: tuple, monkeypatch) -> None:
    name, lead, m, k, n, tr, zps, mult, act = case
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    prog = int8_bmm_program(lead, m, k, n, tr, zps, mult, act)
    plan_arena(prog)
    blob = artifact_bytes(prog)
    inputs = [codes(rng, prog.tensors[t].shape, zp) for t, zp in zip(prog.inputs, zps, strict=False)]
    want = run(blob, "ref", inputs, 1, monkeypatch)
    assert len(set(np.frombuffer(want, np.float32).tolist())) > 10  # not a saturated, vacuous output
    for threads in (1, 3):
        assert run(blob, isa, inputs, threads, monkeypatch) == want, f"{name} on {isa}, {threads} threads"
