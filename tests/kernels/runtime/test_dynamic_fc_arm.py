"""DYNAMIC_FULLY_CONNECTED (issue 19) on ARM: the cases of test_dynamic_fc.py (tile edges, rows of every kind (14)
singles out, bounds, no bias) run by the real static `edgebuild-run` under qemu with each ARM path forced
(kernels/runtime/qd8_gemm.cc: the SDOT pair on neondot and i8mm cores, the reference kernels elsewhere), against the
host's reference path bit for bit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.kernels.paths_ran import record_path
from tests.kernels.runtime.isa_cases import Case
from tests.kernels.runtime.test_dynamic_fc import CASES
from tests.kernels.runtime.test_isa_arm import CONFIGS, Batch, run_batches, write_batches

# The qd8 GEMM each forced ARM path runs (kernels/runtime/qd8_gemm.cc), as the runner's JSON names it: a missing table
# entry would run the reference kernels and still match the reference.
KERNEL = {"neon": "qd8_gemm_minmax_2x8c8__neon", "neondot": "qd8_gemm_minmax_4x16c4__neondot"}
KERNEL["i8mm"] = KERNEL["neondot"]  # I8MM cores have the dot product; no SMMLA variant yet


@pytest.fixture(scope="module")
def qd8_batches(tmp_path_factory: pytest.TempPathFactory) -> list[Batch]:
    cases = [Case(name, prog, [x]) for name, prog, x, _ in CASES]
    return write_batches(cases, tmp_path_factory.mktemp("qd8-arm"))


@pytest.mark.parametrize(("target", "cpu", "isa"), CONFIGS, ids=[f"{t}-{c}-{i}" for t, c, i in CONFIGS])
def test_arm_dynamic_fc_matches_reference(
    target: str,
    cpu: str,
    isa: str,
    qd8_batches: list[Batch],
    runner_for: Callable[[str], Path],
    tmp_path: Path,
) -> None:
    failures, count, doc = run_batches(runner_for(target), target, cpu, isa, qd8_batches, tmp_path)
    assert not failures, f"{target} {cpu} {isa}: DYNAMIC_FULLY_CONNECTED differs from ref in {failures}"
    assert doc["kernels"].get("qd8-gemm") == KERNEL[isa], f"{target} {cpu} {isa} ran {doc['kernels']}"
    record_path(f"{target}/{cpu}", f"qd8-{isa}", count)
