"""Writes at indices, any dtype (moving.py): scatter (src / value / reduce), scatter_add, scatter_reduce, index_put,
slice_scatter, select_scatter and masked_scatter with a constant mask, each one SCATTER_ELEMENTS. In int8 only the
reductions that move codes (none, amax, amin) run, with src sharing x's quantization; the rest run in float."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import DType
from ...ir_enums import ScatterReduce
from ...ir_ops import ReshapeParams, ScatterElementsParams
from ...qmath import quantize_value
from ..context import LoweringContext, NotQuantized, node_shape, op_name
from ..registry import register_annotation
from .index import broadcast_index
from .moving import constant_of, float_input, gather_const, index_operand, like, mover, op, reshape, value

if TYPE_CHECKING:
    from ...quantize import Annotator

R = ScatterReduce
_REDUCE = {
    "sum": R.ADD,
    "add": R.ADD,
    "prod": R.MUL,
    "multiply": R.MUL,
    "amax": R.MAX,
    "amin": R.MIN,
    "mean": R.MEAN,
}
# op -> position of the src operand (None: a scalar value)
_SRC = {
    "aten.scatter.src": 3,
    "aten.scatter.value": None,
    "aten.scatter.reduce": 3,
    "aten.scatter.value_reduce": None,
    "aten.scatter_add.default": 3,
    "aten.scatter_reduce.two": 3,
    "aten.index_put.default": 2,
    "aten.index_put_.default": 2,
    "aten.slice_scatter.default": 1,
    "aten.select_scatter.default": 1,
    "aten.masked_scatter.default": 2,
}


def _reduce_of(node: Node) -> tuple[ScatterReduce, bool]:
    name = op_name(node)
    if name == "aten.scatter_add.default":
        return R.ADD, True
    if name in ("aten.scatter.reduce", "aten.scatter.value_reduce"):
        return _REDUCE[str(node.args[4] if len(node.args) > 4 else node.kwargs["reduce"])], True
    if name == "aten.scatter_reduce.two":
        reduce = str(node.args[4] if len(node.args) > 4 else node.kwargs["reduce"])
        include = node.args[5] if len(node.args) > 5 else node.kwargs.get("include_self", True)
        return _REDUCE[reduce], bool(include)
    if name.startswith("aten.index_put"):
        acc = node.args[3] if len(node.args) > 3 else node.kwargs.get("accumulate", False)
        return (R.ADD if acc else R.NONE), True
    return R.NONE, True


@register_annotation(*_SRC)
def annotate_scatter(q: Annotator, node: Node) -> None:
    """Reductions that move codes (none, amax, amin): src and the output share x's quantization; the others
    (add, multiply, mean) stay float."""
    x, at = node.args[0], _SRC[op_name(node)]
    if not (isinstance(x, Node) and float_input(x) and q.int8_output(x)) or _reduce_of(node)[0] not in (
        R.NONE,
        R.MAX,
        R.MIN,
    ):
        return
    shared = q.shared(x, node)
    inputs: dict[Node, object] = {x: q.act}
    src = node.args[at] if at is not None else None
    if isinstance(src, Node) and src is not x:
        inputs[src] = shared
    q.mark(node, inputs, shared)


def _scalar_src(ctx: LoweringContext, node: Node, x: int, shape: tuple[int, ...], v: float) -> int:
    xt = ctx.tensor(x)
    if xt.dtype == DType.INT8:
        code = max(-128, min(127, quantize_value(v, xt.scale, xt.zero_point)))
        return ctx.program.add_constant(f"{node.name}.value", np.full(shape, code), DType.INT8)
    return ctx.program.add_constant(f"{node.name}.value", np.full(shape, v), xt.dtype)


def _scatter(ctx: LoweringContext, node: Node, x: int, idx: int, src: int, axis: int, out: int) -> None:
    reduce, include = _reduce_of(node)
    if reduce == R.MEAN:
        raise EdgebuildError(
            f"{node.name}: scatter_reduce 'mean' is not supported (sum, prod, amax, amin are)"
        )
    if ctx.tensor(x).dtype == DType.INT8 and reduce not in (R.NONE, R.MAX, R.MIN):
        raise NotQuantized(f"{node.name}: {reduce.name} on int8 runs in float")
    if ctx.tensor(src).dtype != ctx.tensor(x).dtype:
        raise EdgebuildError(f"{node.name}: src dtype differs from the input's")
    op(ctx, node, [x, idx, src], out, ScatterElementsParams(axis=axis, reduce=reduce, include_self=include))


@mover("aten.scatter.src", "aten.scatter.value", "aten.scatter.reduce", "aten.scatter.value_reduce",
       "aten.scatter_add.default", "aten.scatter_reduce.two", annotate=False)  # fmt: skip
def build_scatter(ctx: LoweringContext, node: Node, x: int, out: int) -> None:
    rank = len(ctx.tensor(x).shape)
    dim = int(node.args[1]) % rank  # type: ignore[call-overload]
    idx = index_operand(ctx, node, node.args[2], ctx.tensor(x).shape[dim])
    at = _SRC[op_name(node)]
    if at is None:
        src = _scalar_src(ctx, node, x, ctx.tensor(idx).shape, float(node.args[3]))  # type: ignore[arg-type]
    else:
        src = value(ctx, node, node.args[at], x)
    _scatter(ctx, node, x, idx, src, dim, out)


def _broadcast_src(ctx: LoweringContext, node: Node, src: int, shape: tuple[int, ...]) -> int:
    return broadcast_index(ctx, node, src, shape, "src")  # any dtype: RESHAPE + BROADCAST_TO


@mover("aten.index_put.default", "aten.index_put_.default", annotate=False)
def build_index_put(ctx: LoweringContext, node: Node, x: int, out: int) -> None:
    """x[..., I, ...] = values (accumulate: +=) for one index tensor I on dim d: values broadcast to
    x.dims[:d] + I.dims + x.dims[d+1:], flattened on I's dims, scattered along d."""
    shape = ctx.tensor(x).shape
    args = list(node.args[1])  # type: ignore[arg-type]
    pos = [d for d, a in enumerate(args) if a is not None]
    if len(pos) != 1:
        raise EdgebuildError(f"{node.name}: index_put with {len(pos)} index tensors; only one is supported")
    d = pos[0]
    c = constant_of(ctx, args[d])
    if c is not None and c.dtype == np.bool_:
        if c.ndim != 1:
            raise EdgebuildError(f"{node.name}: index_put by a {c.ndim}-D boolean mask is not supported")
        c = np.nonzero(c)[0]
    idx = (
        index_operand(ctx, node, args[d], shape[d]) if c is None else index_operand_np(ctx, node, c, shape[d])
    )
    m = int(np.prod(ctx.tensor(idx).shape))
    idx = reshape(ctx, node, idx, (1,) * d + (m,) + (1,) * (len(shape) - d - 1), "idx_r")
    target = shape[:d] + (m,) + shape[d + 1 :]
    vals = value(ctx, node, node.args[2], x)
    full = shape[:d] + ctx.tensor(idx).shape[d : d + 1] + shape[d + 1 :]
    vt = ctx.tensor(vals).shape
    if int(np.prod(vt)) == int(np.prod(full)) and len(vt) > len(full):
        vals = reshape(ctx, node, vals, full, "vals_r")
    vals = _broadcast_src(ctx, node, vals, target)
    _scatter(ctx, node, x, broadcast_index(ctx, node, idx, target, "idx"), vals, d, out)


def index_operand_np(ctx: LoweringContext, node: Node, v: np.ndarray, n: int) -> int:
    v = v.astype(np.int64)
    if v.size and (v.min() < -n or v.max() >= n):
        raise EdgebuildError(f"{node.name}: index out of range for a dim of size {n}")
    return ctx.program.add_constant(f"{node.name}.idx", np.where(v < 0, v + n, v), DType.INT32)


@mover("aten.slice_scatter.default", annotate=False)
def build_slice_scatter(ctx: LoweringContext, node: Node, x: int, out: int) -> None:
    shape = ctx.tensor(x).shape
    a = [*node.args, *([None] * (6 - len(node.args)))]
    dim = int(a[2] or 0) % len(shape)  # type: ignore[call-overload]
    start, end, step = (None if v is None else int(v) for v in a[3:6])  # type: ignore[call-overload]
    positions = np.arange(*slice(start, end, step).indices(shape[dim]))
    src = value(ctx, node, node.args[1], x)
    sshape = ctx.tensor(src).shape
    index = np.broadcast_to(positions.reshape([-1 if k == dim else 1 for k in range(len(shape))]), sshape)
    idx = ctx.program.add_constant(f"{node.name}.idx", index, DType.INT32)
    _scatter(ctx, node, x, idx, src, dim, out)


@mover("aten.select_scatter.default", annotate=False)
def build_select_scatter(ctx: LoweringContext, node: Node, x: int, out: int) -> None:
    shape = ctx.tensor(x).shape
    dim = int(node.args[2]) % len(shape)  # type: ignore[call-overload]
    i = int(node.args[3]) % shape[dim]  # type: ignore[call-overload]
    src = value(ctx, node, node.args[1], x)
    src = reshape(ctx, node, src, shape[:dim] + (1,) + shape[dim + 1 :], "src_r")
    idx = ctx.program.add_constant(f"{node.name}.idx", np.full(ctx.tensor(src).shape, i), DType.INT32)
    _scatter(ctx, node, x, idx, src, dim, out)


@mover("aten.masked_scatter.default", annotate=False)
def build_masked_scatter(ctx: LoweringContext, node: Node, x: int, out: int) -> None:
    """With a constant mask: y.flat[p_k] = source.flat[k] for the k-th True position p_k (a GATHER of the first
    elements of source, a SCATTER_ELEMENTS into flat x). A computed mask needs a prefix sum: not supported."""
    shape = ctx.tensor(x).shape
    mask = constant_of(ctx, node.args[1])
    if mask is None:
        raise EdgebuildError(
            f"{node.name}: masked_scatter with a computed mask is not supported (constant only)"
        )
    where = np.flatnonzero(np.broadcast_to(mask.astype(bool), shape))
    total = int(np.prod(shape))
    flat = reshape(ctx, node, x, (total,), "flat")
    src = value(ctx, node, node.args[2], x)
    sflat = reshape(ctx, node, src, (int(np.prod(ctx.tensor(src).shape)),), "src_flat")
    picked = gather_const(ctx, node, sflat, 0, np.arange(len(where)), "src_pick")
    idx = ctx.program.add_constant(f"{node.name}.idx", where, DType.INT32)
    scattered = like(ctx, flat, f"{node.name}.scattered", (total,))
    _scatter(ctx, node, flat, idx, picked, 0, scattered)
    op(ctx, node, [scattered], out, ReshapeParams(), "out")


__all__ = ["build_scatter", "node_shape"]
