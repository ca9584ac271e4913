"""REDUCE and CUMSUM: sum, mean, amax, amin, max/min (values and indices), argmax, argmin, var, prod, any, all,
logsumexp and cumsum over any dims, in PLAIN layout (PyTorch's own axes).

Float tensors reduce in float32 with double accumulation (xx-reduce); int32 tensors (int64 and bool narrowed,
DESIGN.md) reduce in int32; ARGMAX, ARGMIN, ANY and ALL write int32 (bool as 0/1). mean over (H, W) of an int8
4-D activation stays the global AVG_POOL2D of pool.py; its float form is here (a REDUCE like every other mean).
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING

import torch
from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import DType, Layout, Tensor
from ...ir_enums import ReduceFunc
from ...ir_ops import CumsumParams, ReduceParams, TransposeParams
from ..context import NCHW_TO_NHWC_AXIS, LoweringContext, NotQuantized, logical, nhwc, node_shape, op_name
from ..registry import register, register_annotation, register_float

if TYPE_CHECKING:
    from ...quantize import Annotator

# torch's result dtype of each function on an integer (int32-stored) input
_INT_FUNCS = {ReduceFunc.SUM, ReduceFunc.MAX, ReduceFunc.MIN, ReduceFunc.PROD, ReduceFunc.ANY, ReduceFunc.ALL}
INDEX_FUNCS = {ReduceFunc.ARGMAX, ReduceFunc.ARGMIN, ReduceFunc.ANY, ReduceFunc.ALL}


def _arg(node: Node, i: int, name: str, default: object = None) -> object:
    if len(node.args) > i:
        return node.args[i]
    return node.kwargs.get(name, default)


def reduced_axes(node: Node, dim: object, rank: int) -> list[int]:
    """PyTorch's `dim` argument (an int, a list, or None / [] for every dim) as sorted axes."""
    if dim is None or (isinstance(dim, (list, tuple)) and len(dim) == 0):
        return list(range(rank))
    dims = [dim] if isinstance(dim, int) else list(dim)  # type: ignore[call-overload]
    if rank == 0:
        return []
    out = sorted({int(d) % rank for d in dims})
    if len(out) != len(dims):
        raise EdgebuildError(f"{node.name}: dim {dim} names an axis twice")
    return out


def emit_reduce(
    ctx: LoweringContext,
    node: Node,
    x: int,
    func: ReduceFunc,
    axes: list[int],
    out_shape: tuple[int, ...],
    *,
    correction: float = 0.0,
    name: str | None = None,
    layout: Layout = Layout.PLAIN,
) -> int:
    """A REDUCE of tensor `x` over its stored `axes` into a new tensor of stored shape `out_shape`."""
    xt = ctx.tensor(x)
    if xt.dtype == DType.INT32 and func not in _INT_FUNCS | INDEX_FUNCS:
        raise EdgebuildError(f"{node.name}: {func.name.lower()} of an integer tensor is not supported")
    if len(xt.shape) > 6:
        raise EdgebuildError(f"{node.name}: a reduction of a {len(xt.shape)}-D tensor (at most 6-D)")
    dtype = DType.INT32 if func in INDEX_FUNCS else xt.dtype
    scale, zp = (xt.scale, xt.zero_point) if dtype == DType.INT8 else (0.0, 0)
    y = ctx.program.add_tensor(Tensor(name or node.name, dtype, out_shape, scale, zp, layout))
    mask = sum(1 << a for a in axes)
    ctx.add_op(node, [x], [y], ReduceParams(func=func, axes=mask, correction=float(correction)), name=name)
    return y


def _plain(ctx: LoweringContext, arg: object) -> int:
    return ctx.float_value(arg, Layout.PLAIN)


def _set(ctx: LoweringContext, node: Node, tid: int) -> None:
    ctx.fvalues[node] = {Layout.PLAIN: tid}


def _stored_nhwc(
    ctx: LoweringContext, arg: object, axes: list[int], keep: bool, func: ReduceFunc
) -> int | None:
    """The NHWC tensor of a 4-D `arg` that has no PLAIN value yet, when reducing it in NHWC gives the same result
    (no TRANSPOSE): keepdim (the output is NHWC too), or kept axes in the same order both ways. Not for an index
    or bool result kept 4-D (int32 values stay PLAIN) or an index over several axes (it counts in stored order)."""
    have = ctx.fvalues.get(arg) if isinstance(arg, Node) else None
    if not have or Layout.PLAIN in have or Layout.NHWC not in have:
        return None
    kept = [a for a in range(4) if a not in axes]
    if func in INDEX_FUNCS and (keep or len(axes) > 1):
        return (
            None  # int32 results are PLAIN (their consumers index with them); an index counts in stored order
        )
    if not keep and 1 in kept and (2 in kept or 3 in kept):
        return None
    return have[Layout.NHWC]


def _reduce_node(
    ctx: LoweringContext, node: Node, func: ReduceFunc, dim: object, correction: float = 0.0
) -> None:
    arg = node.args[0]
    rank = len(logical(ctx.tensor(ctx.float_value(arg))))  # as stored now: no TRANSPOSE yet
    axes = reduced_axes(node, dim, rank)
    out = node_shape(node)
    keep = len(out) == rank
    x = _stored_nhwc(ctx, arg, axes, keep, func) if rank == 4 else None
    if x is None:
        _set(ctx, node, emit_reduce(ctx, node, _plain(ctx, arg), func, axes, out, correction=correction))
        return
    phys = sorted(NCHW_TO_NHWC_AXIS[a] for a in axes)
    if keep:
        y = emit_reduce(ctx, node, x, func, phys, nhwc(out), correction=correction, layout=Layout.NHWC)
        ctx.fvalues[node] = {Layout.NHWC: y}
    else:
        _set(ctx, node, emit_reduce(ctx, node, x, func, phys, out, correction=correction))


# name -> (function, whether the overload has a dim argument: the others reduce every dim)
_SIMPLE = {
    "aten.sum.dim_IntList": (ReduceFunc.SUM, True),
    "aten.sum.default": (ReduceFunc.SUM, False),
    "aten.mean.dim": (ReduceFunc.MEAN, True),
    "aten.mean.default": (ReduceFunc.MEAN, False),
    "aten.amax.default": (ReduceFunc.MAX, True),
    "aten.amin.default": (ReduceFunc.MIN, True),
    "aten.max.default": (ReduceFunc.MAX, False),
    "aten.min.default": (ReduceFunc.MIN, False),
    "aten.prod.default": (ReduceFunc.PROD, False),
    "aten.prod.dim_int": (ReduceFunc.PROD, True),
    "aten.any.default": (ReduceFunc.ANY, False),
    "aten.any.dim": (ReduceFunc.ANY, True),
    "aten.any.dims": (ReduceFunc.ANY, True),
    "aten.all.default": (ReduceFunc.ALL, False),
    "aten.all.dim": (ReduceFunc.ALL, True),
    "aten.all.dims": (ReduceFunc.ALL, True),
    "aten.logsumexp.default": (ReduceFunc.LOGSUMEXP, True),
}


@register_float(*_SIMPLE)
def lower_reduce_f32(ctx: LoweringContext, node: Node) -> None:
    """dim is args[1] where the overload has one; keepdim is told by the output's shape."""
    func, has_dim = _SIMPLE[op_name(node)]
    dtype = node.kwargs.get("dtype")
    if dtype is not None and dtype not in (torch.float32, torch.int64, torch.int32, torch.bool):
        raise EdgebuildError(f"{node.name}: a reduction with dtype={dtype} is not supported")
    _reduce_node(ctx, node, func, _arg(node, 1, "dim") if has_dim else None)


@register_float("aten.argmax.default", "aten.argmin.default")
def lower_argmax_f32(ctx: LoweringContext, node: Node) -> None:
    """dim None: the index into the flattened tensor (row-major over every axis, as the kernel counts)."""
    func = ReduceFunc.ARGMAX if "argmax" in str(node.target) else ReduceFunc.ARGMIN
    _reduce_node(ctx, node, func, _arg(node, 1, "dim"))


@register_float("aten.var.correction", "aten.var.dim")
def lower_var_f32(ctx: LoweringContext, node: Node) -> None:
    dim = _arg(node, 1, "dim")
    if node.target == torch.ops.aten.var.dim:
        unbiased = _arg(node, 2, "unbiased", True)
        correction = 1.0 if unbiased else 0.0
    else:
        c = node.kwargs.get("correction")
        correction = 1.0 if c is None else float(c)  # type: ignore[arg-type]
    _reduce_node(ctx, node, ReduceFunc.VAR, dim, correction)


@register_float("aten.max.dim", "aten.min.dim")
def lower_max_dim_f32(ctx: LoweringContext, node: Node) -> None:
    """(values, indices): each `getitem` user gets its REDUCE here (MAX/MIN and ARGMAX/ARGMIN over one axis) and
    is consumed, so the walker does not visit it."""
    is_max = "max" in str(node.target)
    x = _plain(ctx, node.args[0])
    axes = reduced_axes(node, node.args[1], len(ctx.tensor(x).shape))
    for user in list(node.users):
        if user.target is not operator.getitem:
            raise EdgebuildError(f"{node.name}: its result is used other than through getitem")
        which = int(user.args[1])  # type: ignore[call-overload]
        if which == 0:
            func = ReduceFunc.MAX if is_max else ReduceFunc.MIN
        else:
            func = ReduceFunc.ARGMAX if is_max else ReduceFunc.ARGMIN
        _set(ctx, user, emit_reduce(ctx, node, x, func, axes, node_shape(user), name=user.name))
        ctx.consumed.add(user)


@register_float("aten.cumsum.default")
def lower_cumsum_f32(ctx: LoweringContext, node: Node) -> None:
    x = _plain(ctx, node.args[0])
    xt = ctx.tensor(x)
    rank = len(xt.shape)
    if rank == 0:
        raise EdgebuildError(f"{node.name}: cumsum of a 0-d tensor")
    dtype = node.kwargs.get("dtype")
    if dtype is not None and (dtype == torch.float32) != (xt.dtype == DType.FLOAT32):
        raise EdgebuildError(
            f"{node.name}: cumsum with dtype={dtype} of a {xt.dtype.name} tensor is not supported"
        )
    axis = int(node.args[1]) % rank  # type: ignore[call-overload]
    y = ctx.program.add_tensor(Tensor(node.name, xt.dtype, xt.shape))
    ctx.add_op(node, [x], [y], CumsumParams(axis=axis))
    _set(ctx, node, y)


# --- int8 -------------------------------------------------------------------------------------------------------
# max and min of int8 codes of one scale and zero point are the codes of the max and min (dequantization is
# increasing), so amax / amin run on the codes with the input's quantization shared to the output; argmax / argmin
# likewise read the codes directly (no DEQUANTIZE). Any other reduction of an int8 tensor runs in float.


@register_annotation("aten.amax.default", "aten.amin.default")
def annotate_amax(q: Annotator, node: Node) -> None:
    q.share_int8_input(node)


@register_annotation("aten.argmax.default", "aten.argmin.default")
def annotate_argmax(q: Annotator, node: Node) -> None:
    """The input stays int8 behind an int8 producer; the output is an index, never observed."""
    x = node.args[0]
    if isinstance(x, Node) and q.int8_output(x):
        q.mark(node, {x: q.act}, None)


def _int8_source(
    ctx: LoweringContext, node: Node, axes: list[int], keep: bool, func: ReduceFunc
) -> tuple[int, list[int]]:
    """The int8 input of a reduction and its stored axes: an NHWC tensor as it is where that gives the same result
    (the rules of _stored_nhwc), else its PLAIN copy (a TRANSPOSE)."""
    x = ctx.input(node.args[0])
    xt = ctx.tensor(x)
    if xt.layout != Layout.NHWC:
        return x, axes
    kept = [a for a in range(4) if a not in axes]
    reorders = not keep and 1 in kept and (2 in kept or 3 in kept)
    if not reorders and not (func in INDEX_FUNCS and (keep or len(axes) > 1)):
        return x, sorted(NCHW_TO_NHWC_AXIS[a] for a in axes)
    plain = ctx.temp(f"{node.name}.plain", xt, logical(xt), Layout.PLAIN)
    ctx.add_op(node, [x], [plain], TransposeParams(perm=[0, 3, 1, 2]), name=f"{node.name}.to_plain")
    return plain, axes


@register("aten.amax.default", "aten.amin.default")
def lower_amax_int8(ctx: LoweringContext, node: Node) -> None:
    func = ReduceFunc.MAX if "amax" in str(node.target) else ReduceFunc.MIN
    rank = len(logical(ctx.tensor(ctx.input(node.args[0]))))
    axes = reduced_axes(node, _arg(node, 1, "dim"), rank)
    out = node_shape(node)
    x, stored = _int8_source(ctx, node, axes, len(out) == rank, func)
    layout = ctx.tensor(x).layout if len(out) == rank else Layout.PLAIN
    y, _, _ = ctx.new_output(node, nhwc(out) if layout == Layout.NHWC else out, layout)
    xt, yt = ctx.tensor(x), ctx.tensor(y)
    if (yt.scale, yt.zero_point) != (xt.scale, xt.zero_point):
        raise NotQuantized(f"{node.name}: int8 {func.name.lower()} needs the input's scale and zero point")
    ctx.add_op(node, [x], [y], ReduceParams(func=func, axes=sum(1 << a for a in stored), correction=0.0))


@register("aten.argmax.default", "aten.argmin.default")
def lower_argmax_int8(ctx: LoweringContext, node: Node) -> None:
    func = ReduceFunc.ARGMAX if "argmax" in str(node.target) else ReduceFunc.ARGMIN
    rank = len(logical(ctx.tensor(ctx.input(node.args[0]))))
    axes = reduced_axes(node, _arg(node, 1, "dim"), rank)
    out = node_shape(node)
    keep = len(out) == rank
    x, stored = _int8_source(ctx, node, axes, keep, func)
    layout = ctx.tensor(x).layout if keep else Layout.PLAIN
    y = emit_reduce(ctx, node, x, func, stored, nhwc(out) if layout == Layout.NHWC else out, layout=layout)
    ctx.fvalues[node] = {layout: y}
