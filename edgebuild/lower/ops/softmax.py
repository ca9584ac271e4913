"""SOFTMAX and log_softmax over any dim, float only (no int8 kernel: the float fallback runs them between int8 ops,
lower/__init__.py).

SOFTMAX runs over the stored last axis: a 4-D tensor stored NHWC softmaxed over C (dim 1, a per-pixel class score
such as MTCNN's P-Net) needs nothing more; any other dim is swapped to the end by a TRANSPOSE and back.
log_softmax is the max-shifted logsumexp, never log(softmax) (which gives -inf where softmax underflows):
t = x - max(x), y = t - log(sum(exp(t))), with max and logsumexp as REDUCE (keepdim) and the differences as SUB.
"""

from __future__ import annotations

import math

from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import Layout, Tensor
from ...ir_enums import ReduceFunc
from ...ir_ops import SoftmaxFloatParams, SubFloatParams, TransposeParams
from ..context import NCHW_TO_NHWC_AXIS, LoweringContext, logical
from ..registry import register_float
from .reduce import emit_reduce


def stored_operand(ctx: LoweringContext, arg: object, dim: int) -> tuple[int, int]:
    """(tensor, stored axis of `dim`): the NHWC value of a 4-D tensor that has one (no TRANSPOSE), else PLAIN."""
    have = ctx.fvalues.get(arg) if isinstance(arg, Node) else None
    if have and Layout.PLAIN not in have and Layout.NHWC in have:
        return have[Layout.NHWC], NCHW_TO_NHWC_AXIS[dim]
    return ctx.float_value(arg, Layout.PLAIN), dim


def _dim(node: Node, rank: int) -> int:
    return int(node.args[1]) % max(rank, 1)  # type: ignore[call-overload]


def _out(ctx: LoweringContext, node: Node, like: int) -> int:
    t = ctx.tensor(like)
    y = ctx.program.add_tensor(Tensor(node.name, t.dtype, t.shape, layout=t.layout))
    ctx.fvalues[node] = {t.layout: y}
    return y


@register_float("aten.softmax.int", "aten._softmax.default")
def lower_softmax(ctx: LoweringContext, node: Node) -> None:
    arg = node.args[0]
    x = ctx.float_value(arg)
    rank = len(ctx.tensor(x).shape)
    x, axis = stored_operand(ctx, arg, _dim(node, rank))
    if rank == 0:
        raise EdgebuildError(f"{node.name}: softmax of a 0-d tensor")
    y = _out(ctx, node, x)
    if axis == rank - 1:
        ctx.add_op(node, [x], [y], SoftmaxFloatParams())
        return
    perm = list(range(rank))
    perm[axis], perm[-1] = perm[-1], perm[axis]  # its own inverse
    xt = ctx.tensor(x)
    swapped = tuple(xt.shape[p] for p in perm)
    a = ctx.program.add_tensor(Tensor(f"{node.name}.in", xt.dtype, swapped))
    b = ctx.program.add_tensor(Tensor(f"{node.name}.out", xt.dtype, swapped))
    ctx.add_op(node, [x], [a], TransposeParams(perm=perm), name=f"{node.name}.to_last")
    ctx.add_op(node, [a], [b], SoftmaxFloatParams())
    ctx.add_op(node, [b], [y], TransposeParams(perm=perm), name=f"{node.name}.from_last")


@register_float("aten._log_softmax.default", "aten.log_softmax.int")
def lower_log_softmax(ctx: LoweringContext, node: Node) -> None:
    arg = node.args[0]
    rank = len(logical(ctx.tensor(ctx.float_value(arg))))
    x, axis = stored_operand(ctx, arg, _dim(node, rank))
    xt = ctx.tensor(x)
    kept = tuple(1 if k == axis else d for k, d in enumerate(xt.shape))
    no_bounds = SubFloatParams(lo=-math.inf, hi=math.inf)
    m = emit_reduce(ctx, node, x, ReduceFunc.MAX, [axis], kept, name=f"{node.name}.max", layout=xt.layout)
    t = ctx.program.add_tensor(Tensor(f"{node.name}.shifted", xt.dtype, xt.shape, layout=xt.layout))
    ctx.add_op(node, [x, m], [t], no_bounds, name=f"{node.name}.shift")
    lse = emit_reduce(
        ctx, node, t, ReduceFunc.LOGSUMEXP, [axis], kept, name=f"{node.name}.lse", layout=xt.layout
    )
    y = _out(ctx, node, x)
    ctx.add_op(node, [t, lse], [y], no_bounds, name=f"{node.name}.sub")
