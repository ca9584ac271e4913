"""Sparse kernels on ARM: the SPARSE_CONV2D / SPARSE_FULLY_CONNECTED programs of the sparse sweep run by the real
static `edgebuild-run` under qemu with each NEON / dotprod path forced, against the host's reference path (which
test_sparse.py holds bit-identical to the dense reference on the same pruned weights)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from edgebuild import _native
from edgebuild.plan import plan_arena
from edgebuild.serialize import artifact_bytes
from tests.kernels.isa_cases import Case
from tests.kernels.paths_ran import RAN, record_path
from tests.kernels.sparse_cases import sparse_sweep
from tests.kernels.test_isa_arm import CONFIGS, EMULATOR, MAX_IO, merge


@pytest.fixture(scope="module")
def sparse_batches(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, list[Path], list[bytes]]]:
    root = tmp_path_factory.mktemp("sparse-arm")
    cases = [Case(c.name, c.sparse, c.inputs) for c in sparse_sweep()]
    out = []
    for b in range(0, len(cases), MAX_IO):
        program, inputs = merge(cases[b : b + MAX_IO])
        plan_arena(program)
        blob = artifact_bytes(program)
        path = root / f"batch{b}.ebm"
        path.write_bytes(blob)
        os.environ["EDGEBUILD_ISA"] = "ref"
        try:
            want = [np.asarray(y).tobytes() for y in _native.Model.from_bytes(blob).run(inputs)]
        finally:
            del os.environ["EDGEBUILD_ISA"]
        files = []
        for i, x in enumerate(inputs):
            files.append(root / f"batch{b}-x{i}.npy")
            np.save(files[-1], np.ascontiguousarray(x, np.float32))
        out.append((path, files, want))
    return out


@pytest.mark.parametrize(("target", "cpu", "isa"), CONFIGS, ids=[f"{t}-{c}-{i}" for t, c, i in CONFIGS])
def test_arm_sparse_matches_reference(
    target: str,
    cpu: str,
    isa: str,
    sparse_batches: list[tuple[Path, list[Path], list[bytes]]],
    runner_for: Callable[[str], Path],
    tmp_path: Path,
) -> None:
    runner = runner_for(target)
    failures, count = [], 0
    for b, (artifact, inputs, want) in enumerate(sparse_batches):
        outs = [tmp_path / f"y{b}-{i}.npy" for i in range(len(want))]
        argv = [EMULATOR[target], "-cpu", cpu, str(runner), str(artifact), "--threads", "2"]
        for x in inputs:
            argv += ["--input", str(x)]
        for y in outs:
            argv += ["--output", str(y)]
        done = subprocess.run(
            argv,
            check=False,
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "EDGEBUILD_ISA": isa},
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert json.loads(done.stdout)["isa"] == isa
        for i, (y, w) in enumerate(zip(outs, want)):
            if np.load(y).tobytes() != w:
                failures.append(f"batch {b} case {i}")
        count += len(want)
    assert not failures, f"{target} {cpu} {isa}: sparse differs from ref in {failures[:20]}"
    record_path(f"{target}/{cpu}", f"sparse-{isa}", count)


def test_all_arm_sparse_paths_ran() -> None:
    missing = [f"{t}/{c} {i}" for t, c, i in CONFIGS if (f"{t}/{c}", f"sparse-{i}") not in RAN]
    assert not missing, f"ARM sparse paths that did not run: {missing}"
