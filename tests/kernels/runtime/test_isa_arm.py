"""Tier 2 on ARM: every NEON / dotprod / i8mm path against the reference path, bit-exactly, under qemu-user.

The sweep is packed into a few multi-input artifacts (the runner takes at most 64 inputs), run by the real static
`edgebuild-run` of each target under each emulated CPU with EDGEBUILD_ISA forcing the path; the runner's JSON names
the path that ran. Reference outputs come from the host's reference path (the spine's tests hold ref bit-identical
across x86-64, arm64 and armv7). A path built for a target and not run fails the session (test_all_arm_paths_ran).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from edgebuild import _native
from edgebuild.ir import Program, Tensor
from edgebuild.plan import plan_arena
from edgebuild.serialize import artifact_bytes
from tests.kernels.paths_ran import RAN, record_path
from tests.kernels.runtime.isa_cases import Case, conv_case, dw_row_cases, elementwise_sweep, fc_case

# (target, emulated CPU, forced ISA): plain NEON on an armv8.0 core, i8mm (SMMLA GEMM) and dotprod on `-cpu max`
# (and NEON there too), armv7 NEON. test_all_arm_paths_ran checks that these cover every path each target's runner
# was built with (the runner's "compiled_isas").
CONFIGS = [
    ("arm64", "cortex-a53", "neon"),
    ("arm64", "max", "i8mm"),
    ("arm64", "max", "neondot"),
    ("arm64", "max", "neon"),
    ("armv7", "max", "neon"),
]
EMULATOR = {"arm64": "qemu-aarch64", "armv7": "qemu-arm"}
# The non-reference paths each target's runner was built with, as its JSON line reports them ("compiled_isas").
COMPILED: dict[str, set[str]] = {}
MAX_IO = 60


def arm_sweep() -> list[Case]:
    """Tile edges of the ARM kernels (2x8c8, 4x8c4, 4x16c8, depthwise 8 channels) plus every conv kind and the
    extremes, and the ADD / pooling sweep of isa_cases.py (NEON kernels on every ARM path)."""
    cases, seed = [], 5000
    for m in (1, 2, 3, 4, 5, 9):
        for n in (1, 7, 8, 9, 16, 17, 24, 33):
            for k in (1, 3, 4, 5, 8, 9, 16, 17, 33):
                seed += 1
                cases.append(fc_case(m, n, k, seed))
    cases.append(fc_case(3, 9, 4096, 1, extreme=True))
    cases.append(fc_case(2, 5, 65_000, 2, extreme=True))
    for c, oc in ((3, 8), (8, 16), (15, 17), (33, 7)):
        for kk, stride, pad in ((1, 1, 0), (1, 2, 0), (3, 1, 1), (3, 2, 1), (5, 2, 2)):
            seed += 1
            cases.append(conv_case(c=c, oc=oc, k=kk, stride=stride, pad=pad, seed=seed, hw=(7, 6)))
    for c in (1, 7, 8, 9, 16, 17, 33):
        for kk, stride, pad in ((3, 1, 1), (3, 2, 1), (5, 1, 2), (5, 2, 2), (2, 1, 0)):
            seed += 1
            cases.append(conv_case(c=c, oc=c, k=kk, stride=stride, pad=pad, groups=c, seed=seed, hw=(6, 7)))
    cases.append(conv_case(c=8, oc=16, k=3, pad=1, groups=8, seed=1))
    cases.append(conv_case(c=12, oc=18, k=3, pad=1, groups=3, seed=2))
    cases.append(conv_case(c=16, oc=16, k=3, pad=2, dilation=2, groups=16, seed=3))
    cases.append(conv_case(c=2048, oc=9, k=1, seed=4, hw=(2, 2), extreme=True))
    cases.append(conv_case(c=32, oc=32, k=3, pad=1, groups=32, seed=5, extreme=True))
    cases.append(with_m128_weights(fc_case(3, 9, 64, 6, extreme=True)))
    return cases + dw_row_cases(6000) + elementwise_sweep()


def with_m128_weights(case: Case) -> Case:
    """The case with every weight −128, which docs/quantization.md never writes (weights stop at −127) but a hand-made
    file may: against all −128 inputs two products summed in an int16 lane wrap, so the NEON path must take its exact
    2x8c8 kernel for this layer (cpu.cc gemm_kernel_for_weights) instead of 2x8c16."""
    w = next(t for t in case.program.tensors if t.name == "w")
    assert w.data is not None
    w.data = np.full_like(w.data, -128)
    return Case(case.name + "-w128", case.program, case.inputs)


def merge(cases: list[Case]) -> tuple[Program, list[np.ndarray]]:
    """One program running every case side by side: tensor ids shifted, names prefixed."""
    merged = Program()
    inputs: list[np.ndarray] = []
    for i, case in enumerate(cases):
        base = len(merged.tensors)
        for t in case.program.tensors:
            merged.tensors.append(
                Tensor(f"c{i}.{t.name}", t.dtype, t.shape, t.scale, t.zero_point, t.layout, t.data)
            )
        for op in case.program.ops:
            merged.ops.append(
                type(op)(
                    op.opcode,
                    f"c{i}.{op.name}",
                    [x + base if x >= 0 else x for x in op.inputs],
                    [x + base for x in op.outputs],
                    list(op.params),
                )
            )
        merged.inputs += [x + base for x in case.program.inputs]
        merged.outputs += [x + base for x in case.program.outputs]
        inputs += case.inputs
    return merged, inputs


Batch = tuple[Path, list[Path], list[bytes]]  # artifact, input files, reference output bytes


def write_batches(cases: list[Case], root: Path) -> list[Batch]:
    """The cases packed into artifacts of at most MAX_IO inputs (an ADD case has two), each with its input files and
    the host reference path's outputs."""
    groups: list[list[Case]] = [[]]
    for case in cases:
        if sum(len(c.inputs) for c in groups[-1]) + len(case.inputs) > MAX_IO:
            groups.append([])
        groups[-1].append(case)
    out = []
    for b, group in enumerate(groups):
        program, inputs = merge(group)
        plan_arena(program)
        blob = artifact_bytes(program)
        path = root / f"batch{b}.ebm"
        path.write_bytes(blob)
        os.environ["EDGEBUILD_ISA"] = "ref"
        try:
            ref = _native.Model.from_bytes(blob)
        finally:
            del os.environ["EDGEBUILD_ISA"]
        want = [np.asarray(y).tobytes() for y in ref.run(inputs)]
        files = []
        for i, x in enumerate(inputs):
            f = root / f"batch{b}-x{i}.npy"
            np.save(f, np.ascontiguousarray(x, np.float32))
            files.append(f)
        out.append((path, files, want))
    return out


def run_batches(
    runner: Path, target: str, cpu: str, isa: str, batches: list[Batch], tmp_path: Path
) -> tuple[list[str], int, dict]:
    """Every batch through the target's runner under qemu with `isa` forced: (the cases whose output differs from the
    reference, the number of cases, the runner's JSON line of the last run). Asserts each run succeeded on `isa`."""
    failures, count, doc = [], 0, {}
    for b, (artifact, inputs, want) in enumerate(batches):
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
        doc = json.loads(done.stdout)
        assert doc["isa"] == isa, f"asked for {isa}, the runner ran {doc['isa']}"
        for i, (y, w) in enumerate(zip(outs, want)):
            if np.load(y).tobytes() != w:
                failures.append(f"batch {b} case {i}")
        count += len(want)
    return failures, count, doc


@pytest.fixture(scope="module")
def batches(tmp_path_factory: pytest.TempPathFactory) -> list[Batch]:
    return write_batches(arm_sweep(), tmp_path_factory.mktemp("isa-arm"))


@pytest.mark.parametrize(("target", "cpu", "isa"), CONFIGS, ids=[f"{t}-{c}-{i}" for t, c, i in CONFIGS])
def test_arm_isa_matches_reference(
    target: str,
    cpu: str,
    isa: str,
    batches: list[Batch],
    runner_for: Callable[[str], Path],
    tmp_path: Path,
) -> None:
    failures, count, doc = run_batches(runner_for(target), target, cpu, isa, batches, tmp_path)
    COMPILED[target] = set(doc["compiled_isas"].split(",")) - {"ref"}
    assert not failures, f"{target} {cpu} {isa}: differs from ref in {failures[:20]}"
    record_path(f"{target}/{cpu}", isa, count)


def test_all_arm_paths_ran() -> None:
    """Fails when a path built for an ARM target was skipped (deselected, or its run failed before recording), or
    when a target's runner contains a path that CONFIGS does not run at all."""
    missing = [f"{t}/{c} {i}" for t, c, i in CONFIGS if (f"{t}/{c}", i) not in RAN]
    assert not missing, f"ARM paths that did not run: {missing}"
    for target in EMULATOR:
        assert target in COMPILED, f"no {target} run reported the paths its runner contains"
        ran = {isa for (t, isa) in RAN if t.startswith(f"{target}/")}
        assert COMPILED[target] <= ran, f"{target} runner paths never run: {sorted(COMPILED[target] - ran)}"
