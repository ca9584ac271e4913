"""Sparse kernels on ARM: the SPARSE_CONV2D / SPARSE_FULLY_CONNECTED programs of the sparse sweep run by the real
static `edgebuild-run` under qemu with each NEON / dotprod path forced, against the host's reference path (which
test_sparse.py holds bit-identical to the dense reference on the same pruned weights)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.kernels.paths_ran import RAN, record_path
from tests.kernels.runtime.isa_cases import Case
from tests.kernels.runtime.sparse_cases import sparse_sweep
from tests.kernels.runtime.test_isa_arm import CONFIGS, Batch, run_batches, write_batches


@pytest.fixture(scope="module")
def sparse_batches(tmp_path_factory: pytest.TempPathFactory) -> list[Batch]:
    cases = [Case(c.name, c.sparse, c.inputs) for c in sparse_sweep()]
    return write_batches(cases, tmp_path_factory.mktemp("sparse-arm"))


@pytest.mark.parametrize(("target", "cpu", "isa"), CONFIGS, ids=[f"{t}-{c}-{i}" for t, c, i in CONFIGS])
def test_arm_sparse_matches_reference(
    target: str,
    cpu: str,
    isa: str,
    sparse_batches: list[Batch],
    runner_for: Callable[[str], Path],
    tmp_path: Path,
) -> None:
    failures, count, _ = run_batches(runner_for(target), target, cpu, isa, sparse_batches, tmp_path)
    assert not failures, f"{target} {cpu} {isa}: sparse differs from ref in {failures[:20]}"
    record_path(f"{target}/{cpu}", f"sparse-{isa}", count)


def test_all_arm_sparse_paths_ran() -> None:
    missing = [f"{t}/{c} {i}" for t, c, i in CONFIGS if (f"{t}/{c}", f"sparse-{i}") not in RAN]
    assert not missing, f"ARM sparse paths that did not run: {missing}"
