"""Sparse twins of the kernel sweep (STYLE.md shapes plus the sparse edge cases): a dense CONV2D /
FULLY_CONNECTED program whose weights were block-pruned, and the same program with the op rewritten to
SPARSE_CONV2D / SPARSE_FULLY_CONNECTED (edgebuild/sparse.py). Both must give the same bytes on every path."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from edgebuild.ir import OpCode, Program
from edgebuild.sparse import choose_sparse
from tests.kernels.runtime.isa_cases import Case, conv_case, fc_case

# Densities of non-zero blocks; "one" keeps a single block, "rows" empties every other block row.
PATTERNS = ("zero", "one", "rows", 0.1, 0.5, 1.0)


@dataclass
class SparseCase:
    name: str
    dense: Program
    sparse: Program
    inputs: list[np.ndarray]


def _prune(w: np.ndarray, block: tuple[int, int], pattern: object, rng: np.random.Generator) -> np.ndarray:
    oc, k = w.shape
    br, bc = block
    r, c = oc // br, k // bc
    if pattern == "zero":
        keep = np.zeros((r, c), bool)
    elif pattern == "one":
        keep = np.zeros((r, c), bool)
        keep[rng.integers(r), rng.integers(c)] = True
    elif pattern == "rows":
        keep = rng.random((r, c)) < 0.5
        keep[::2] = False
    else:
        keep = rng.random((r, c)) < float(pattern)  # type: ignore[arg-type]
    mask = np.repeat(np.repeat(keep, br, axis=0), bc, axis=1)
    return np.where(mask, w, 0).astype(np.int8)


def sparse_twin(case: Case, block: tuple[int, int], pattern: object, seed: int) -> SparseCase:
    rng = np.random.default_rng(seed)
    dense = case.program
    op = dense.ops[1]
    wt = dense.tensors[op.inputs[1]]
    assert wt.data is not None
    w2 = wt.data.reshape(wt.shape[0], -1)
    wt.data = _prune(w2, block, pattern, rng).reshape(wt.shape)
    sparse = copy.deepcopy(dense)
    choices = choose_sparse(sparse, block=block, mode="always")
    assert [c.chosen for c in choices] == ["sparse"], choices
    assert sparse.ops[1].opcode in (OpCode.SPARSE_CONV2D, OpCode.SPARSE_FULLY_CONNECTED)
    return SparseCase(f"{case.name}-b{block[0]}x{block[1]}-{pattern}", dense, sparse, case.inputs)


def sparse_sweep(full: bool = False) -> list[SparseCase]:
    """FC and one-group conv shapes around the sparse tiles (rows 4 and 8, columns 8 and 16, k slices of 4), every
    pattern, blocks 1x1, 1x4, 4x4, 16x4 where they tile; `full` adds more shapes (the slow sweep)."""
    out = []
    seed = 1000
    fc_shapes = [(1, 16, 64), (3, 17, 12), (9, 32, 36), (5, 33, 8), (2, 8, 4), (17, 48, 128), (1, 5, 7)]
    if full:
        fc_shapes += [
            (m, n, k)
            for m in (1, 4, 8, 9, 25)
            for n in (1, 8, 15, 16, 17, 31, 64)
            for k in (4, 8, 20, 64, 132)
        ]
    conv_shapes = [
        {"c": 8, "oc": 16, "k": 1},
        {"c": 16, "oc": 32, "k": 3, "pad": 1},
        {"c": 12, "oc": 20, "k": 3, "stride": 2, "pad": 1},
        {"c": 4, "oc": 16, "k": 5, "stride": 1, "pad": 2},
        {"c": 32, "oc": 48, "k": 1, "stride": 2},
        {"c": 8, "oc": 16, "k": 3, "pad": 2, "dilation": 2},
        {"c": 16, "oc": 16, "k": 3, "pad": 1, "batch": 2, "hw": (5, 4)},
        {"c": 3, "oc": 16, "k": 3, "pad": 1},  # channels not a multiple of 4: the reference path
        # The ARM kernels' flat path (packing.cc plan_spmm): no padding (rows point into the input itself), and
        # padding on two sides only (the padded copy's edges).
        {"c": 8, "oc": 16, "k": 3},
        {"c": 8, "oc": 24, "k": 3, "stride": 2, "pads": (0, 1, 1, 0)},
    ]
    if full:
        conv_shapes += [
            {"c": c, "oc": oc, "k": kk, "stride": s, "pad": kk // 2}
            for c in (4, 8, 24, 64)
            for oc in (8, 16, 17, 40)
            for kk, s in ((1, 1), (3, 1), (3, 2), (7, 2))
        ]
    cases: list[tuple[Case, tuple[int, int]]] = []
    for m, n, k in fc_shapes:
        for block in ((1, 1), (1, 4), (4, 4), (16, 4)):
            if n % block[0] == 0 and k % block[1] == 0:
                seed += 1
                cases.append((fc_case(m, n, k, seed), block))
    for shape in conv_shapes:
        for block in ((1, 4), (16, 4), (4, 1)):
            kk = int(shape["k"])
            if int(shape["oc"]) % block[0] == 0 and (kk * kk * int(shape["c"])) % block[1] == 0:
                seed += 1
                cases.append((conv_case(seed=seed, **{"hw": (9, 8), **shape}), block))  # type: ignore[arg-type]
    for i, (case, block) in enumerate(cases):
        pattern = PATTERNS[i % len(PATTERNS)]
        out.append(sparse_twin(case, block, pattern, seed + i))
    # Every pattern on one conv and one FC shape.
    for pattern in PATTERNS:
        seed += 1
        out.append(
            sparse_twin(conv_case(c=16, oc=32, k=3, pad=1, seed=seed, hw=(6, 5)), (16, 4), pattern, seed)
        )
        seed += 1
        out.append(sparse_twin(fc_case(4, 32, 64, seed), (8, 4), pattern, seed))
    # Accumulator extremes: all −128 inputs, ±127 weights, large K, fully dense.
    out.append(sparse_twin(fc_case(2, 16, 4096, 7, extreme=True), (16, 4), 1.0, 7))
    out.append(
        sparse_twin(conv_case(c=64, oc=16, k=5, pad=2, seed=8, hw=(4, 4), extreme=True), (16, 4), 0.5, 8)
    )
    return out
