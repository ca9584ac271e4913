"""Sparse kernels on ARM: the SPARSE_CONV2D / SPARSE_FULLY_CONNECTED programs of the sparse sweep run by the real
static `edgebuild-run` under qemu with each NEON / dotprod path forced, against the host's reference path (which
test_sparse.py holds bit-identical to the dense reference on the same pruned weights)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest

from edgebuild.sparse import CostModel, choose_sparse, slice_density
from tests.kernels.paths_ran import RAN, record_path
from tests.kernels.runtime.isa_cases import Case, conv_case
from tests.kernels.runtime.sparse_cases import sparse_sweep, sparse_twin
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


def test_cost_model_line_per_target() -> None:
    """choose_sparse decides an arm64 layer with the arm64 line (bench_sparse --arm --write-costs: instruction
    counts, worst core) and a host layer with the host's: a layer sparse on one can stay dense on the other."""
    costs = CostModel({"convkxk": (0.0, 1.0)}, "test", {"arm64": {"convkxk": (0.0, 2.0)}})
    case = conv_case(c=16, oc=32, k=3, pad=1, seed=3, hw=(5, 5))
    half = sparse_twin(case, (16, 4), 0.5, 4).dense  # about half of the 16×4 slices non-zero
    w = half.tensors[half.ops[1].inputs[1]].data
    assert w is not None
    density = slice_density(w.reshape(w.shape[0], -1), 16)
    assert 0.25 < density < 0.75
    chosen = {}
    for target in ("host", "arm64"):
        prog = copy.deepcopy(half)
        (choice,) = choose_sparse(prog, target, costs=costs)
        chosen[target] = choice.chosen
        assert choice.expected_gain == (
            1.0 if choice.chosen == "dense" else pytest.approx(1 / (costs.ratio("convkxk", density, target)))
        )
    assert chosen == {"host": "sparse", "arm64": "dense"}
    # A kind the target has no line for falls back to the host's; the stored model has an arm64 line per conv kind.
    assert costs.ratio("convkxk", 0.3, "armv7") == costs.ratio("convkxk", 0.3)
    stored = CostModel.load()
    assert {"conv1x1", "convkxk"} <= set(stored.targets["arm64"])


def test_arm64_keeps_small_layers_dense() -> None:
    """A layer with little work per row (16 output channels × K 32: MobileNetV2's first 1×1 projection, slower sparse
    on the i8mm core) stays dense on arm64 whatever its density; the same layer is sparse on the host."""
    costs = CostModel({"conv1x1": (0.0, 1.0)}, "test", {"arm64": {"conv1x1": (0.0, 1.0)}})
    chosen = {}
    for c, oc in ((32, 16), (16, 96)):
        case = conv_case(c=c, oc=oc, k=1, pad=0, seed=5, hw=(4, 4))
        sparse = sparse_twin(case, (16, 4), "one", 4).dense  # one 16×4 block kept
        for target in ("host", "arm64"):
            (choice,) = choose_sparse(copy.deepcopy(sparse), target, costs=costs)
            chosen[(oc, c, target)] = choice.chosen
    assert chosen == {
        (16, 32, "host"): "sparse",
        (16, 32, "arm64"): "dense",
        (96, 16, "host"): "sparse",
        (96, 16, "arm64"): "sparse",
    }


def test_arm_sparse_conv_past_the_flat_copy_budget(
    runner_for: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """A k×k sparse conv whose padded input exceeds the flat path's copy budget (packing.cc plan_spmm: 4 × 256 KiB;
    here 522 × 514 × 4 bytes) keeps the per-tap pointers on the grouped kernels, and gives the reference's bytes."""
    case = sparse_twin(conv_case(c=4, oc=16, k=3, pad=1, seed=21, hw=(520, 512)), (16, 4), 0.5, 21)
    batches = write_batches(
        [Case(case.name, case.sparse, case.inputs)], tmp_path_factory.mktemp("sparse-big")
    )
    failures, count, _ = run_batches(runner_for("arm64"), "arm64", "max", "neondot", batches, tmp_path)
    assert count == 1 and not failures, failures
