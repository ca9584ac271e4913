"""Sparse int8 kernels: SPARSE_CONV2D / SPARSE_FULLY_CONNECTED against the dense reference on the same pruned
weights, bit for bit, on the reference path and every optimized x86 path (1 and 3 threads); the block-CSR writer;
the loader's checks of the sparse structure."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from edgebuild import _native
from edgebuild.ir import DType, OpCode
from edgebuild.plan import plan_arena
from edgebuild.serialize import artifact_bytes
from edgebuild.sparse import block_csr, densify, densify_program, slice_density
from tests.kernels.paths_ran import record_not_run, record_path
from tests.kernels.runtime.sparse_cases import SparseCase, sparse_sweep

COMPILED = [i for i in _native.compiled_isas().split(",") if i != "ref"]
AVAILABLE = set(_native.available_isas().split(","))


def _blob(prog) -> bytes:  # type: ignore[no-untyped-def]
    plan_arena(prog)
    return artifact_bytes(prog)


def _run(
    blob: bytes, isa: str, inputs: list[np.ndarray], monkeypatch: pytest.MonkeyPatch, threads: int = 1
) -> bytes:
    monkeypatch.setenv("EDGEBUILD_ISA", isa)
    model = _native.Model.from_bytes(blob)
    assert model.isa == isa
    model.threads = threads
    return np.asarray(model.run(inputs)[0]).tobytes()


def _check(cases: list[SparseCase], monkeypatch: pytest.MonkeyPatch) -> None:
    isas = ["ref", *(i for i in COMPILED if i in AVAILABLE)]
    for isa in COMPILED:
        if isa not in AVAILABLE:  # reported at the end of the session as NOT run, never as passed
            record_not_run("host", f"sparse-{isa}", f"compiled in, but this CPU lacks {isa}")
    assert len(isas) > 1 or not COMPILED, "no optimized sparse path runs on this CPU"
    failures = []
    for case in cases:
        want = _run(_blob(case.dense), "ref", case.inputs, monkeypatch)
        blob = _blob(case.sparse)
        for isa in isas:
            for threads in (1, 3) if isa != "ref" else (1,):
                if _run(blob, isa, case.inputs, monkeypatch, threads) != want:
                    failures.append(f"{case.name} {isa} threads={threads}")
    assert not failures, f"{len(failures)} sparse runs differ from the dense reference:\n" + "\n".join(
        failures[:20]
    )
    for isa in isas:
        record_path("host", f"sparse-{isa}", len(cases))


def test_sparse_matches_dense_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    _check(sparse_sweep(), monkeypatch)


@pytest.mark.slow
def test_sparse_matches_dense_reference_full(monkeypatch: pytest.MonkeyPatch) -> None:
    _check(sparse_sweep(full=True), monkeypatch)


def test_block_csr_roundtrip_and_edge_cases() -> None:
    rng = np.random.default_rng(0)
    w = rng.integers(-127, 128, size=(32, 24)).astype(np.int8)
    w[rng.random(w.shape) < 0.8] = 0
    w[8:16] = 0  # empty block rows
    for block in ((1, 1), (1, 4), (8, 4), (16, 8)):
        values, row_ptr, col_idx = block_csr(w, block)
        assert (
            row_ptr[0] == 0 and np.all(np.diff(row_ptr) >= 0) and row_ptr[-1] == len(col_idx) == len(values)
        )
        assert np.array_equal(densify(values, row_ptr, col_idx, *w.shape), w)
    zero = np.zeros((16, 8), np.int8)
    values, row_ptr, col_idx = block_csr(zero, (16, 4))
    assert values.shape == (1, 16, 4) and not values.any()  # one explicit zero block: no empty tensors
    assert slice_density(zero, 16) == 0.0 and slice_density(np.ones((16, 8), np.int8), 16) == 1.0
    with pytest.raises(Exception, match="does not tile"):
        block_csr(w, (5, 4))


def test_densify_program_restores_dense_ops() -> None:
    case = sparse_sweep()[1]
    prog = copy.deepcopy(case.sparse)
    densify_program(prog)
    assert [op.opcode for op in prog.ops] == [op.opcode for op in case.dense.ops]
    want = [t.data for t in case.dense.tensors if t.data is not None and t.dtype == DType.INT8]
    got = [t.data for t in prog.tensors if t.data is not None and t.dtype == DType.INT8]
    assert all(np.array_equal(a, b) for a, b in zip(want, got))


def _corrupt(case: SparseCase, role: str, value: int) -> bytes:
    prog = copy.deepcopy(case.sparse)
    op = prog.ops[1]
    index = {"row_ptr": 5, "col_idx": 6}[role]
    t = prog.tensors[op.inputs[index]]
    assert t.data is not None
    data = t.data.copy()
    data.reshape(-1)[-1 if role == "row_ptr" else 0] = value
    t.data = data
    return _blob(prog)


@pytest.mark.parametrize(
    "role, value, message",
    [
        ("row_ptr", 10_000, "row_ptr\\[\\d+\\] = 10000, must equal"),
        ("col_idx", 999, "col_idx\\[0\\] = 999 outside"),
        ("col_idx", -1, "col_idx\\[0\\] = -1 outside"),
    ],
)
def test_loader_rejects_bad_sparse_structure(role: str, value: int, message: str) -> None:
    case = next(c for c in sparse_sweep() if c.sparse.ops[1].opcode == OpCode.SPARSE_CONV2D)
    with pytest.raises(_native.LoadError, match=message):
        _native.Model.from_bytes(_corrupt(case, role, value))


def test_loader_rejects_decreasing_row_ptr_and_bad_block() -> None:
    case = next(
        c for c in sparse_sweep() if "0.5" in c.name and c.sparse.ops[1].opcode == OpCode.SPARSE_CONV2D
    )
    prog = copy.deepcopy(case.sparse)
    op = prog.ops[1]
    rp = prog.tensors[op.inputs[5]]
    assert rp.data is not None and len(rp.data) >= 3
    data = rp.data.copy()
    data[1] = data[-1] + 1
    rp.data = data
    with pytest.raises(_native.LoadError, match="row_ptr decreases|must equal"):
        _native.Model.from_bytes(_blob(prog))
    prog = copy.deepcopy(case.sparse)
    prog.ops[1].params[-1] = 3  # block columns that do not tile K
    with pytest.raises(_native.LoadError, match="values .* dims|does not tile"):
        _native.Model.from_bytes(_blob(prog))
