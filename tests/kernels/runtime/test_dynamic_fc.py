"""DYNAMIC_FULLY_CONNECTED (issue 19) end to end on hand-built artifacts: the reference path against a NumPy float32
oracle of docs/quantization.md (14)-(15), and every x86 path (kernels/runtime/qd8_gemm.cc) against the reference
path bit for bit, with 1 and 3 threads, over shapes that break kernels and rows the contract singles out (all zero,
NaN, ±inf, subnormal ranges, huge values)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edgebuild import _native
from edgebuild.ir import DType, Op, OpCode, Program, Tensor
from edgebuild.lower import f32_bits_of
from edgebuild.plan import plan_arena
from edgebuild.serialize import artifact_bytes
from tests.kernels.paths_ran import record_not_run, record_path

COMPILED = [i for i in _native.compiled_isas().split(",") if i in ("avx2", "avx512vnni")]
AVAILABLE = set(_native.available_isas().split(","))
F32 = np.float32


def program(
    x_shape: tuple[int, ...],
    w: np.ndarray,
    w_scale: np.ndarray,
    bias: np.ndarray | None,
    lo: float,
    hi: float,
) -> Program:
    prog = Program()
    x = prog.add_tensor(Tensor("x", DType.FLOAT32, x_shape))
    prog.inputs.append(x)
    wt = prog.add_constant("w", w, DType.INT8)
    st = prog.add_constant("w_scale", w_scale, DType.FLOAT32)
    bt = prog.add_constant("bias", bias, DType.FLOAT32) if bias is not None else -1
    y = prog.add_tensor(Tensor("y", DType.FLOAT32, x_shape[:-1] + (w.shape[0],)))
    prog.outputs.append(y)
    prog.add_op(
        Op(OpCode.DYNAMIC_FULLY_CONNECTED, "dfc", [x, wt, st, bt], [y], [f32_bits_of(lo), f32_bits_of(hi)])
    )
    plan_arena(prog)
    return prog


def oracle(x: np.ndarray, w: np.ndarray, w_scale: np.ndarray, bias: np.ndarray | None, lo: float, hi: float):
    """(14) and (15) in NumPy float32 scalars, step by step (the order the docs write)."""
    k = x.shape[-1]
    rows = x.reshape(-1, k).astype(F32)
    wq = w.astype(np.int64)
    out = np.empty((rows.shape[0], w.shape[0]), F32)
    with np.errstate(all="ignore"):
        for r, row in enumerate(rows):
            if not np.all(np.isfinite(row)):
                s, zp, q = F32(np.nan), 0, np.zeros(k, np.int64)
            else:
                lo_x, hi_x = min(F32(0), row.min()), max(F32(0), row.max())
                s = F32(F32(hi_x - lo_x) / F32(255))
                if not s >= np.finfo(F32).tiny:
                    s, zp, q = F32(1), 0, np.zeros(k, np.int64)
                else:
                    zp = int(np.clip(-128 - int(np.rint(F32(lo_x / s))), -128, 127))
                    inv = F32(F32(1) / s)
                    q = np.clip(np.rint(row * inv).astype(np.int64) + zp, -128, 127)
            acc = wq @ q - zp * wq.sum(axis=1)
            v = acc.astype(F32) * (s * w_scale.astype(F32))
            if bias is not None:
                v = v + bias
            v = np.where(v < F32(lo), F32(lo), v)
            out[r] = np.where(v > F32(hi), F32(hi), v)
    return out.reshape(x.shape[:-1] + (w.shape[0],))


def rows_of(rng: np.random.Generator, m: int, k: int, special: bool) -> np.ndarray:
    x = (rng.standard_normal((m, k)) * rng.choice([0.01, 1.0, 30.0], size=(m, 1))).astype(F32)
    if rng.random() < 0.3:
        x += F32(rng.uniform(-5, 5))  # rows not centred at 0: zp away from 0
    if special and m >= 2:
        kinds = [
            lambda r: r * 0,  # all zero
            lambda r: np.where(np.arange(k) == k // 2, F32(np.nan), r),
            lambda r: np.where(np.arange(k) == k - 1, F32(np.inf), r),
            lambda r: np.where(np.arange(k) == 0, F32(-np.inf), r),
            lambda r: r * F32(1e-39),  # subnormal range: s < FLT_MIN
            lambda r: (np.abs(r) / np.abs(r).max() * F32(3e38)).astype(F32),  # huge, all positive
            lambda r: -np.abs(r) - F32(1),  # all negative
            lambda r: np.full_like(r, F32(-0.0)),
        ]
        for i in rng.choice(m, size=min(m, 4), replace=False):
            x[i] = kinds[int(rng.integers(len(kinds)))](x[i])
    return x


# Tiles of the registered kernels: rows 4, 8; columns 16, 32; k steps 2, 4. 1 .. 3 tiles past each, primes, and the
# MiniLM shapes scaled down; 130 rows of K = 2049 make two row groups on the AVX-512 path (qd8_gemm.cc kQd8GroupBytes:
# 120 rows, then 10 in a short tile).
SHAPES = [
    (1, 1, 1),
    (3, 5, 7),
    (8, 32, 4),
    (9, 33, 5),
    (17, 16, 15),
    (25, 65, 64),
    (5, 97, 129),
    (13, 31, 33),
    (32, 48, 384),
    (7, 1, 130),
    (2, 70, 2),
    (130, 40, 2049),
]


def cases():
    out = []
    for i, (m, n, k) in enumerate(SHAPES):
        rng = np.random.default_rng(100 + i)
        w = rng.integers(-127, 128, size=(n, k)).astype(np.int8)
        if i % 4 == 1:
            w[0] = 0  # an all-zero weight row (s_w = 1 in the lowering; any scale here)
        w_scale = (rng.uniform(0.001, 0.05, size=n)).astype(F32)
        bias = rng.standard_normal(n).astype(F32) if i % 3 else None
        lo, hi = (-math.inf, math.inf) if i % 2 else (-0.5, 2.0)
        shape = (m, k) if i % 5 else (1, m, k)
        x = rows_of(rng, m, k, special=i % 2 == 0).reshape(shape)
        out.append(
            (f"m{m}-n{n}-k{k}", program(shape, w, w_scale, bias, lo, hi), x, (w, w_scale, bias, lo, hi))
        )
    return out


CASES = cases()


def run(
    prog: Program, x: np.ndarray, isa: str, monkeypatch: pytest.MonkeyPatch, threads: int = 1
) -> np.ndarray:
    monkeypatch.setenv("EDGEBUILD_ISA", isa)
    model = _native.Model.from_bytes(artifact_bytes(prog))
    assert model.isa == isa
    model.threads = threads
    return np.asarray(model.run([x])[0])


def test_reference_matches_oracle(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, prog, x, args in CASES:
        got = run(prog, x, "ref", monkeypatch)
        want = oracle(x, *args)
        assert got.tobytes() == want.tobytes(), f"{name}: {np.count_nonzero(got != want)} outputs differ"


@pytest.mark.parametrize("isa", COMPILED)
def test_isa_matches_reference(isa: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if isa not in AVAILABLE:
        reason = f"compiled in, but this CPU lacks {isa}"
        record_not_run("host", isa, reason)
        pytest.skip(f"{isa} NOT run: {reason}")
    monkeypatch.setenv("EDGEBUILD_ISA", isa)
    # The optimized path ran (kernels/runtime/qd8_gemm.cc's table), not the reference one.
    assert _native.Model.from_bytes(artifact_bytes(CASES[0][1])).kernel("qd8-gemm").endswith(f"__{isa}")
    monkeypatch.setenv("EDGEBUILD_ISA", "ref")
    assert _native.Model.from_bytes(artifact_bytes(CASES[0][1])).kernel("qd8-gemm") == ""
    failures = []
    for name, prog, x, _ in CASES:
        want = run(prog, x, "ref", monkeypatch)
        for threads in (1, 3):
            got = run(prog, x, isa, monkeypatch, threads)
            if got.tobytes() != want.tobytes():
                failures.append(
                    f"{name} threads={threads}: {np.count_nonzero(got.view(np.uint32) != want.view(np.uint32))} differ"
                )
    assert not failures, "\n".join(failures)
    record_path("host", isa, len(CASES))
