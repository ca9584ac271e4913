"""REDUCE and CUMSUM in float through the real build path (export, core-ATen decompositions, lowering, host runtime),
against PyTorch eager over random shapes, dims and keepdim.

Bounds. The kernels accumulate sums, products and variances in double and round once, so against a float64
reference (NumPy on the same float32 inputs) they are within 1 ulp of the correctly rounded result: the double
accumulation error, n·2^-53·Σ|x| for n <= 240 normal values, is far below half a float32 ulp of the result (the
1 ulp allows the one rounding at a tie-close point). Against PyTorch, whose float32 accumulation order is its own,
the bound is PyTorch's error: 1 ulp + n·2^-24·Σ|x| (the classic bound of recursive float summation; its cascade
summation is better). max, min, argmax, argmin, any and all are exact (equality, torch's first-index tie rule).
Integer results (indices, bools) reach a float output through EMBEDDING of a [V, 1] table holding 0..V-1: the model's
output is then the index exactly.
"""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import native
from tests.lower.float_build import float_program

SETTINGS = settings(max_examples=12, deadline=None)


def ulp_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|a - b| in float32 ulps (the bit patterns mapped to a monotone integer line)."""

    def line(v: np.ndarray) -> np.ndarray:
        i = np.ascontiguousarray(v, np.float32).view(np.int32).astype(np.int64)
        return np.where(i < 0, -(i & 0x7FFFFFFF), i)

    return np.abs(line(a) - line(b))


@st.composite
def shape_and_dims(draw: st.DrawFn, max_rank: int = 4) -> tuple[tuple[int, ...], list[int], bool]:
    rank = draw(st.integers(1, max_rank))
    shape = tuple(draw(st.lists(st.integers(1, 6), min_size=rank, max_size=rank)))
    dims = draw(st.lists(st.integers(0, rank - 1), min_size=1, max_size=rank, unique=True))
    return shape, dims, draw(st.booleans())


class Reductions(torch.nn.Module):
    def __init__(self, dims: list[int], keep: bool):
        super().__init__()
        self.dims, self.keep = dims, keep

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        d, k = self.dims, self.keep
        return (
            x.sum(d, keepdim=k),
            x.mean(d, keepdim=k),
            x.amax(d, keepdim=k),
            x.amin(d, keepdim=k),
            torch.var(x, d, keepdim=k, correction=1),
            torch.var(x, d, keepdim=k, correction=0),
            torch.logsumexp(x, d, keepdim=k),
        )


def _run(model: torch.nn.Module, x: torch.Tensor) -> list[np.ndarray]:
    prog = float_program(model, (x,))
    assert "REDUCE" in prog.op_counts() or "CUMSUM" in prog.op_counts(), prog.op_counts()
    return [np.asarray(o) for o in native(prog).run([x.numpy()])]


@SETTINGS
@given(shape_and_dims(), st.integers(0, 2**31 - 1))
def test_float_reductions_match_float64_and_torch(sdk: tuple, seed: int) -> None:
    shape, dims, keep = sdk
    x = torch.randn(shape, generator=torch.Generator().manual_seed(seed))
    m = Reductions(dims, keep)
    got = _run(m, x)
    want = [t.numpy() for t in m(x)]
    x64 = x.numpy().astype(np.float64)
    ax = tuple(dims)
    n = int(np.prod([shape[d] for d in dims]))
    ref64 = [
        x64.sum(ax, keepdims=keep),
        x64.mean(ax, keepdims=keep),
        None,
        None,
        x64.var(ax, keepdims=keep, ddof=1) if n > 1 else None,
        x64.var(ax, keepdims=keep, ddof=0),
        np.log(np.exp(x64).sum(ax, keepdims=keep)),
    ]
    abs_sum = np.abs(x64).sum(ax, keepdims=keep)
    for i, (g, w, r) in enumerate(zip(got, want, ref64)):
        assert g.shape == w.shape, (i, g.shape, w.shape)
        if r is None:
            if i in (2, 3):
                np.testing.assert_array_equal(g, w)
            continue
        assert ulp_distance(g, r.astype(np.float32)).max() <= 1, (i, g, r)
        # torch's float32 error: sum n·u·Σ|x|, mean u·Σ|x| (the sum's over n), var (Welford) and logsumexp
        # (exp and a sum of n terms <= 1 each after the max shift) a few n·u relative, u = 2^-24
        u = 2.0**-24
        scale = {0: n * abs_sum, 1: abs_sum}.get(i, 4 * n * (np.abs(r) + (i == 6)))
        bound = np.abs(w) * 2.0**-23 + u * scale
        assert (np.abs(g.astype(np.float64) - w) <= bound + 1e-30).all(), (i, g, w)


class Indices(torch.nn.Module):
    """argmax, argmin (one dim or flattened), max.dim indices and any/all (bool -> int64 by a sum over the kept size-1
    axis), each turned into floats through an embedding of 0..V-1."""

    def __init__(self, dim: int | None, keep: bool, v: int):
        super().__init__()
        self.dim, self.keep = dim, keep
        self.register_buffer("table", torch.arange(v, dtype=torch.float32).reshape(v, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        e = torch.nn.functional.embedding
        d, k = self.dim, self.keep
        outs = [e(torch.argmax(x, d, keepdim=k), self.table), e(torch.argmin(x, d, keepdim=k), self.table)]
        if d is not None:
            values, idx = torch.max(x, d, keepdim=k)
            lo, lo_idx = torch.min(x, d, keepdim=k)
            anyx = e(x.any(d, keepdim=True).sum(d), self.table)
            allx = e(x.all(d, keepdim=True).sum(d), self.table)
            outs += [values, e(idx, self.table), lo, e(lo_idx, self.table), anyx, allx]
        return tuple(outs)


@SETTINGS
@given(shape_and_dims(max_rank=3), st.booleans(), st.integers(0, 2**31 - 1))
def test_index_reductions_are_exact(sdk: tuple, flat: bool, seed: int) -> None:
    shape, dims, keep = sdk
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(-2, 3, shape, generator=g).float()  # few distinct values: ties, and zeros for all()
    m = Indices(None if flat else dims[0], keep, int(np.prod(shape)) + 1)
    got = _run(m, x)
    want = [t.numpy() for t in m(x)]
    for i, (a, b) in enumerate(zip(got, want)):
        np.testing.assert_array_equal(a, b, err_msg=f"output {i}")


def test_nan_rules_follow_torch() -> None:
    """max/amax propagate NaN, argmax points at the first NaN, sum and logsumexp give NaN; +-inf pass through."""
    x = torch.tensor([[1.0, float("nan"), 3.0, float("nan")], [2.0, float("inf"), -1.0, 0.0], [-np.inf] * 4])
    m = Indices(1, False, 5)
    got, want = _run(m, x), [t.numpy() for t in m(x)]
    for a, b in zip(got[:6], want[:6]):  # argmax, argmin, max, indices, min, indices
        np.testing.assert_array_equal(a, b)
    r = Reductions([1], False)
    got, want = _run(r, x), [t.numpy() for t in r(x)]
    for i in (0, 2, 3, 6):  # sum, amax, amin, logsumexp
        np.testing.assert_array_equal(got[i], want[i], err_msg=f"output {i}")


class Prod(torch.nn.Module):
    def __init__(self, dim: int | None, keep: bool):
        super().__init__()
        self.dim, self.keep = dim, keep

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.prod() if self.dim is None else x.prod(self.dim, keepdim=self.keep)


@SETTINGS
@given(shape_and_dims(max_rank=3), st.booleans(), st.integers(0, 2**31 - 1))
def test_prod_within_one_ulp_of_float64(sdk: tuple, flat: bool, seed: int) -> None:
    shape, dims, keep = sdk
    x = 0.5 + torch.rand(shape, generator=torch.Generator().manual_seed(seed))
    m = Prod(None if flat else dims[0], keep)
    got = _run(m, x)[0]
    x64 = x.numpy().astype(np.float64)
    ref = x64.prod() if flat else x64.prod(dims[0], keepdims=keep)
    assert ulp_distance(got, np.float32(ref) if flat else ref.astype(np.float32)).max() <= 1
    n = x.numel() if flat else shape[dims[0]]
    np.testing.assert_allclose(got, m(x).numpy(), rtol=n * 2.0**-23, atol=0)  # torch: n float roundings


class Cumsum(torch.nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cumsum(x, self.dim)


@SETTINGS
@given(shape_and_dims(), st.integers(0, 2**31 - 1))
def test_cumsum_within_one_ulp(sdk: tuple, seed: int) -> None:
    shape, dims, _ = sdk
    x = torch.randn(shape, generator=torch.Generator().manual_seed(seed))
    got = _run(Cumsum(dims[0] - len(shape)), x)[0]  # a negative dim
    ref = np.cumsum(x.numpy().astype(np.float64), dims[0])
    assert ulp_distance(got, ref.astype(np.float32)).max() <= 1
    want = torch.cumsum(x, dims[0]).numpy()
    bound = np.abs(want) * 2.0**-23 + shape[dims[0]] * 2.0**-24 * np.cumsum(np.abs(x.numpy()), dims[0])
    assert (np.abs(got - want) <= bound).all()
