"""Indexing by tensors, any dtype (moving.py): index_select and advanced indexing (aten.index.Tensor: one or several
index tensors, constant or computed, None entries) as GATHER / GATHER_ELEMENTS, torch.gather as GATHER_ELEMENTS, and
sort / topk (TOPK: one op per getitem, values or int32 indices)."""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING

import numpy as np
from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import DType
from ...ir_ops import BroadcastToParams, GatherElementsParams, TopkParams
from ..context import LoweringContext, NotQuantized, node_shape, op_name
from ..registry import register, register_annotation, register_float
from .moving import (
    constant_of,
    finish,
    float_input,
    gather,
    gather_const,
    index_operand,
    like,
    lower_moved_float,
    lower_moved_int8,
    mover,
    narrow,
    op,
    reshape,
    transpose,
)

if TYPE_CHECKING:
    from ...quantize import Annotator

SORTS = ("aten.sort.default", "aten.sort.stable", "aten.topk.default")


@mover("aten.index_select.default")
def build_index_select(ctx: LoweringContext, node: Node, x: int, out: int) -> None:
    dim = int(node.args[1]) % len(ctx.tensor(x).shape)  # type: ignore[call-overload]
    idx = index_operand(ctx, node, node.args[2], ctx.tensor(x).shape[dim])
    gather(ctx, node, x, dim, idx, "select", out)


@mover("aten.gather.default")
def build_gather(ctx: LoweringContext, node: Node, x: int, out: int) -> None:
    """torch.gather: GATHER_ELEMENTS (a run-time index outside the dim reads 0)."""
    dim = int(node.args[1]) % len(ctx.tensor(x).shape)  # type: ignore[call-overload]
    idx = index_operand(ctx, node, node.args[2], ctx.tensor(x).shape[dim])
    op(ctx, node, [x, idx], out, GatherElementsParams(axis=dim))


def broadcast_index(ctx: LoweringContext, node: Node, idx: int, shape: tuple[int, ...], tag: str) -> int:
    """An int32 index tensor broadcast to `shape` (RESHAPE to its rank, then BROADCAST_TO)."""
    have = ctx.tensor(idx).shape
    idx = reshape(ctx, node, idx, (1,) * (len(shape) - len(have)) + have, f"{tag}_r")
    if ctx.tensor(idx).shape == shape:
        return idx
    y = like(ctx, idx, f"{node.name}.{tag}_b", shape)
    op(ctx, node, [idx], y, BroadcastToParams(), f"{tag}_b")
    return y


@mover("aten.index.Tensor")
def build_index(ctx: LoweringContext, node: Node, x: int, out: int) -> None:
    """x[i0, :, i2, ...]. One index tensor: a GATHER. Several: the indexed dims go first (TRANSPOSE); all constant:
    one GATHER of the merged dims by the flat index; computed: a GATHER by the first index, then per further index a
    GATHER_ELEMENTS. The broadcast index dims stay in place when the indexed dims are adjacent, else go first
    (PyTorch's rule)."""
    shape = ctx.tensor(x).shape
    args = list(node.args[1])  # type: ignore[arg-type]
    pos = [d for d, a in enumerate(args) if a is not None]
    for d in pos:
        c = constant_of(ctx, args[d])
        if c is not None and c.dtype == np.bool_:
            raise EdgebuildError(
                f"{node.name}: indexing by a boolean mask has a data-dependent shape; not supported"
            )
    if len(pos) == 1:
        gather(ctx, node, x, pos[0], index_operand(ctx, node, args[pos[0]], shape[pos[0]]), "index", out)
        return
    rest = [d for d in range(len(shape)) if d not in pos]
    moved = transpose(ctx, node, x, pos + rest, "index_t")
    consts = [constant_of(ctx, args[d]) for d in pos]
    sizes = [shape[d] for d in pos]
    if all(c is not None for c in consts):
        vals = []
        for c, n in zip(consts, sizes, strict=True):
            v = narrow(node, c).astype(np.int64)  # type: ignore[arg-type]
            if v.size and (v.min() < -n or v.max() >= n):
                raise EdgebuildError(f"{node.name}: index out of range for a dim of size {n}")
            vals.append(np.where(v < 0, v + n, v))
        flat_index = np.ravel_multi_index(tuple(np.broadcast_arrays(*vals)), sizes)
        flat = reshape(ctx, node, moved, (int(np.prod(sizes)),) + tuple(shape[d] for d in rest), "index_flat")
        g = gather_const(ctx, node, flat, 0, np.asarray(flat_index), "index")
        nb = np.asarray(flat_index).ndim
    else:
        idx = [index_operand(ctx, node, args[d], shape[d]) for d in pos]
        b = tuple(int(n) for n in np.broadcast_shapes(*(ctx.tensor(i).shape for i in idx)))
        nb = len(b)
        g = gather(ctx, node, moved, 0, broadcast_index(ctx, node, idx[0], b, "i0"), "index0")
        for t in range(1, len(pos)):
            cur = ctx.tensor(g).shape
            want = b + (1,) + cur[nb + 1 :]
            it = broadcast_index(ctx, node, idx[t], b, f"i{t}")
            it = broadcast_index(
                ctx, node, reshape(ctx, node, it, b + (1,) * (len(cur) - nb), f"i{t}_e"), want, f"i{t}_w"
            )
            picked = like(ctx, g, f"{node.name}.index{t}", want)
            op(ctx, node, [g, it], picked, GatherElementsParams(axis=nb), f"index{t}")
            g = reshape(ctx, node, picked, b + cur[nb + 1 :], f"index{t}_r")
    adjacent = pos == list(range(pos[0], pos[0] + len(pos)))
    if adjacent and pos[0] > 0:  # [B..., rest...] -> [rest before..., B..., rest after...]
        k = pos[0]
        perm = list(range(nb, nb + k)) + list(range(nb)) + list(range(nb + k, nb + len(rest)))
        g = transpose(ctx, node, g, perm, "index_back")
    finish(ctx, node, g, out)


# --- sort, topk ---------------------------------------------------------------------------------------------------


@register_annotation(*SORTS)
def annotate_sort(q: Annotator, node: Node) -> None:
    """The values (getitem 0) share the input's quantization; the indices (getitem 1) are int32, never observed."""
    x = node.args[0]
    if isinstance(x, Node) and float_input(x) and q.int8_output(x):
        q.mark(node, {x: q.act}, None)
        for user in node.users:
            if user.target is operator.getitem and user.args[1] == 0:
                q.mark(user, {}, q.shared(x, node))


@register(*SORTS)
def lower_sort(ctx: LoweringContext, node: Node) -> None:
    """Nothing here: each getitem becomes one TOPK (lower_sorted_item)."""
    ctx.input(node.args[0])


@register_float(*SORTS)
def lower_sort_f32(ctx: LoweringContext, node: Node) -> None:
    """Nothing here: each getitem becomes one TOPK."""


def _topk_params(src: Node, rank: int, n_of: tuple[int, ...], indices: bool) -> TopkParams:
    def arg(i: int, name: str, default: object) -> object:
        return src.args[i] if len(src.args) > i else src.kwargs.get(name, default)

    if op_name(src) == "aten.topk.default":
        k = int(arg(1, "k", 1))  # type: ignore[call-overload]
        dim = int(arg(2, "dim", -1)) % rank  # type: ignore[call-overload]
        largest = bool(arg(3, "largest", True))
    elif op_name(src) == "aten.sort.stable":
        dim = int(src.kwargs.get("dim", -1)) % rank  # type: ignore[call-overload]
        k, largest = n_of[dim], bool(src.kwargs.get("descending", False))
    else:
        dim = int(arg(1, "dim", -1)) % rank  # type: ignore[call-overload]
        k, largest = n_of[dim], bool(arg(2, "descending", False))
    return TopkParams(axis=dim, k=k, largest=largest, indices=indices)


def lower_sorted_item(ctx: LoweringContext, node: Node, *, float_form: bool) -> None:
    """getitem 0 (values, x's dtype) or 1 (int32 indices) of sort / topk: one TOPK."""
    src = node.args[0]
    assert isinstance(src, Node)
    which = int(node.args[1])  # type: ignore[call-overload]

    def build(ctx: LoweringContext, node: Node, x: int, out: int) -> None:
        shape = ctx.tensor(x).shape
        if len(shape) == 0:
            raise EdgebuildError(f"{src.name}: sort / topk of a 0-d tensor")
        op(ctx, node, [x], out, _topk_params(src, len(shape), shape, which == 1))

    if not float_form:
        if which == 1:
            raise NotQuantized(f"{node.name}: indices are int32")
        lower_moved_int8(ctx, node, build, arg=src.args[0])
    else:
        lower_moved_float(ctx, node, build, arg=src.args[0], dtype=DType.INT32 if which == 1 else None)


__all__ = ["SORTS", "lower_sorted_item", "node_shape"]
