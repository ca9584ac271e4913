"""Indexing and data movement (GATHER, GATHER_ELEMENTS, SCATTER_ELEMENTS, BROADCAST_TO, TOPK and the lowerings that
use them), float forms against PyTorch eager over random shapes.

Tolerance: none. These ops move float32 values without arithmetic (scatter's add / multiply apply the same float32
operations in PyTorch's CPU order: one contribution at a time, in increasing position along the axis), so every
output must equal eager bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from edgebuild.capture import graph_of
from edgebuild.ir import Program
from edgebuild.lower import lower_graph
from edgebuild.quantize import quantize_model
from tests.helpers import native

SETTINGS = settings(max_examples=5, deadline=None)


def export(m: torch.nn.Module, ex: tuple[torch.Tensor, ...]) -> torch.fx.GraphModule:
    """torch.export, decomposed to core ATen and folded, as capture does."""
    return graph_of(torch.export.export(m, ex))


class Fn(torch.nn.Module):
    def __init__(self, fn: Callable[..., torch.Tensor]) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, *a: torch.Tensor) -> torch.Tensor:
        return self.fn(*a)


def float_program(fn: Callable[..., torch.Tensor], *ex: torch.Tensor) -> Program:
    m = Fn(fn).eval()
    gm = export(m, ex)
    layers = tuple(n.name for n in gm.graph.nodes if n.op == "call_function")
    qgm = quantize_model(export(m, ex), [ex], float_layers=layers)
    return lower_graph(qgm, "m", float_layers=layers)


def check(fn: Callable[..., torch.Tensor], *ex: torch.Tensor, ops: set[str]) -> Program:
    prog = float_program(fn, *ex)
    assert ops <= set(prog.op_counts()), prog.op_counts()
    assert "QUANTIZE" not in prog.op_counts()
    got = np.asarray(native(prog).run([np.ascontiguousarray(e.numpy()) for e in ex])[0])
    want = fn(*ex).detach().numpy()
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    return prog


shapes = st.lists(st.integers(1, 5), min_size=1, max_size=4).map(tuple)


def rand(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


@SETTINGS
@given(shapes, st.data())
def test_flip_roll(shape: tuple[int, ...], data: st.DataObject) -> None:
    x = rand(shape, len(shape))
    dims = data.draw(st.lists(st.integers(0, len(shape) - 1), min_size=1, max_size=len(shape), unique=True))
    shifts = [data.draw(st.integers(-7, 7)) for _ in dims]
    check(lambda x: x.flip(dims).roll(shifts, dims).roll(shifts[0]), x, ops=set())
    check(lambda x: x.flip(list(range(len(shape)))), torch.randn((2,) + shape), ops={"GATHER"})


@SETTINGS
@given(shapes, st.data())
def test_expand_repeat_select(shape: tuple[int, ...], data: st.DataObject) -> None:
    x = rand(shape, 1)
    reps = data.draw(st.lists(st.integers(1, 3), min_size=len(shape), max_size=len(shape) + 1))
    d = data.draw(st.integers(0, len(shape) - 1))
    i = data.draw(st.integers(-shape[d], shape[d] - 1))
    check(lambda x: x.narrow(d, 0, 1).expand((2,) + x.narrow(d, 0, 1).shape), x, ops={"BROADCAST_TO"})
    check(lambda x: x.repeat(reps), x, ops=set())
    check(lambda x: x.select(d, i), x, ops={"GATHER"} if shape[d] > 1 else set())  # a size-1 dim: a RESHAPE


@SETTINGS
@given(st.integers(1, 3), st.integers(2, 6), st.integers(2, 6), st.data())
def test_index_pads(rank: int, h: int, w: int, data: st.DataObject) -> None:
    shape = (1, 2, h, w)[-rank - 1 :] if rank < 3 else (1, 2, 3, h, w)
    x = rand(shape, h * w)
    # reflect needs each pad < its dim: pairs run from the last dim backwards (rank 3's depth dim is 3)
    pads = [data.draw(st.integers(0, shape[-1 - i // 2] - 1)) for i in range(2 * rank)]
    for mode in ("reflect", "replicate", "circular"):
        check(lambda x, mode=mode: F.pad(x, pads, mode=mode), x, ops={"GATHER"} if any(pads) else set())  # type: ignore[misc]


@SETTINGS
@given(st.integers(2, 5), st.integers(2, 5), st.integers(1, 4), st.data())
def test_advanced_indexing(a: int, b: int, c: int, data: st.DataObject) -> None:
    x = rand((a, b, c), a * b)
    i = torch.tensor(data.draw(st.lists(st.integers(-a, a - 1), min_size=1, max_size=4)))
    j = torch.tensor(data.draw(st.lists(st.integers(0, b - 1), min_size=len(i), max_size=len(i))))
    k = torch.tensor(data.draw(st.lists(st.integers(0, c - 1), min_size=1, max_size=3)))
    check(lambda x: x[i], x, ops={"GATHER"})
    check(lambda x: x[i, j], x, ops={"GATHER"})
    check(lambda x: x[:, j[:, None], k], x, ops={"GATHER"})
    check(lambda x: x[i, :, k[:1]], x, ops={"GATHER"})
    check(lambda x: x.index_select(2, k), x, ops={"GATHER"})
    check(lambda x: x.diagonal(0, 0, 1), x, ops={"GATHER"})
    check(lambda x: x.as_strided((2,), (2,), 1), x, ops={"GATHER"})


@SETTINGS
@given(st.integers(1, 4), st.integers(2, 6), st.data())
def test_computed_indices(rows: int, n: int, data: st.DataObject) -> None:
    """Indices computed at run time (sort's int32 output) drive GATHER and GATHER_ELEMENTS."""
    x = rand((rows, n), rows * n)
    k = data.draw(st.integers(1, n))
    largest = data.draw(st.booleans())
    check(lambda x: x.gather(1, x.sort(1)[1]), x, ops={"TOPK", "GATHER_ELEMENTS"})
    check(lambda x: x.topk(k, 1, largest=largest)[0], x, ops={"TOPK"})
    check(lambda x: x[:, x.topk(k, 1)[1][0]], x, ops={"TOPK", "GATHER"})  # column indices index dim 1
    check(lambda x: x[x.sort(0)[1][:1, :1], x.sort(1)[1][:, :1]], x, ops={"TOPK", "GATHER"})


@SETTINGS
@given(st.integers(1, 4), st.integers(2, 6), st.data())
def test_scatter(rows: int, n: int, data: st.DataObject) -> None:
    x = rand((rows, n), 7 * rows + n)
    m = data.draw(st.integers(1, 2 * n))
    idx = torch.tensor(data.draw(st.lists(st.integers(0, n - 1), min_size=rows * m, max_size=rows * m))).view(
        rows, m
    )
    src = rand((rows, m), 5)
    for reduce in ("sum", "prod", "amax", "amin"):
        for include in (True, False):
            check(
                lambda x, r=reduce, i=include: x.scatter_reduce(1, idx, src, r, include_self=i),  # type: ignore[misc]
                x,
                ops={"SCATTER_ELEMENTS"},
            )
    first = torch.tensor([row[0] for row in idx.tolist()]).view(rows, 1)  # one write per row: no tie in order
    check(lambda x: x.scatter(1, first, src[:, :1]) + x.scatter(1, first, 2.5), x, ops={"SCATTER_ELEMENTS"})
    check(lambda x: x.scatter_add(1, idx, src), x, ops={"SCATTER_ELEMENTS"})
    check(lambda x: torch.slice_scatter(x, x.flip(1)[:, ::2], 1, 0, n, 2), x, ops={"SCATTER_ELEMENTS"})
    check(lambda x: torch.select_scatter(x, x[:, -1], 1, 0), x, ops={"SCATTER_ELEMENTS"})
    rows_i = torch.tensor(data.draw(st.lists(st.integers(0, rows - 1), min_size=1, max_size=4)))
    check(lambda x: x.index_put((rows_i,), x[0], accumulate=True), x, ops={"SCATTER_ELEMENTS"})


def test_int32_data_moves() -> None:
    """Integer model inputs (ids) move as int32: flip, repeat, index_select and gather keep their values."""
    ids = torch.tensor([[3, 1, 4, 1, 5], [9, 2, 6, 5, 3]])
    table = torch.randn(10, 3)
    fn = lambda i: F.embedding(i.flip(1).repeat(1, 2).index_select(1, torch.tensor([0, 9, 2])), table)
    prog = float_program(fn, ids)
    assert {"GATHER"} <= set(prog.op_counts()), prog.op_counts()
    got = np.asarray(native(prog).run([ids.numpy().astype(np.int32)])[0])
    np.testing.assert_array_equal(got, fn(ids).numpy())
