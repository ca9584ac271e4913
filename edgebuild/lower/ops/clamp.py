"""CLAMP: an activation (relu, relu6, hardtanh) that is not fused into its producer, in int8 (a clamp between tensors
that share scale and zero point, eq. 8) and in float, and its PT2E annotation. A fused activation is no op of its
own: the producer's lowering applies it (LoweringContext.output_quant) and its annotation rule marks it
(Annotator.mark_fusing)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import DType, UnaryFunc
from ...ir_ops import BinaryFunc, ClampFloatParams, ClampInt8Params
from ...qmath import activation_bounds
from ..context import LoweringContext, activation_of, logical, op_name
from ..registry import register, register_annotation, register_float

if TYPE_CHECKING:
    from ...quantize import Annotator

ACTIVATION_OPS = (
    "aten.relu.default",
    "aten.relu_.default",
    "aten.relu6.default",
    "aten.hardtanh.default",
    "aten.hardtanh_.default",
)


@register_annotation(*ACTIVATION_OPS)
def annotate_activation(q: Annotator, node: Node) -> None:
    """Standalone: the output shares the input's scale and zero point."""
    q.share_input(node)


@register(*ACTIVATION_OPS)
def lower_activation(ctx: LoweringContext, node: Node) -> None:
    """An activation not fused into its producer: a clamp between tensors that share scale and zero point."""
    x = ctx.input(node.args[0])
    xt = ctx.tensor(x)
    y, _, _ = ctx.new_output(node, xt.shape, xt.layout)
    yt = ctx.tensor(y)
    if (yt.scale, yt.zero_point) != (xt.scale, xt.zero_point):
        raise EdgebuildError(f"{node.name}: activation input and output must share quantization parameters")
    kind, (lo, hi) = activation_of(node)
    amin, amax = activation_bounds(kind, yt.scale, yt.zero_point, lo, hi)
    ctx.add_op(node, [x], [y], ClampInt8Params(act_min=amin, act_max=amax))


@register_float(*ACTIVATION_OPS)
def lower_activation_f32(ctx: LoweringContext, node: Node) -> None:
    """Activations are not fused in float: a standalone CLAMP costs one pass over a tensor that is already slow to
    compute."""
    x = ctx.float_value(node.args[0])
    xt = ctx.tensor(x)
    kind, (lo, hi) = activation_of(node)
    if kind == "relu":
        lo, hi = 0.0, math.inf
    y = ctx.new_float(node, logical(xt), xt.layout)
    ctx.add_op(node, [x], [y], ClampFloatParams(lo=lo, hi=hi))


# --- issue 16: clamp with scalar or tensor bounds -----------------------------------------------------------------
CLAMP_OPS = (
    "aten.clamp.default",
    "aten.clamp_.default",
    "aten.clamp_min.default",
    "aten.clamp_max.default",
)


def _bounds(node: Node) -> tuple[object, object]:
    name = op_name(node)
    if name == "aten.clamp_min.default":
        return node.args[1], None
    if name == "aten.clamp_max.default":
        return None, node.args[1]
    lo = node.kwargs.get("min", node.args[1] if len(node.args) > 1 else None)
    hi = node.kwargs.get("max", node.args[2] if len(node.args) > 2 else None)
    return lo, hi


@register_annotation(*CLAMP_OPS)
def annotate_clamp(q: Annotator, node: Node) -> None:
    """Behind an int8 producer: a table (own output observer)."""
    x = node.args[0]
    val = node.meta.get("val")
    if (
        isinstance(x, Node)
        and q.int8_output(x)
        and isinstance(val, torch.Tensor)
        and val.dtype == torch.float32
    ):
        q.mark(node, {x: q.act}, q.act)


@register(*CLAMP_OPS)
def lower_clamp_int8(ctx: LoweringContext, node: Node) -> None:
    """int8: UNARY's table of the clamp (exactly PT2E's reference)."""
    from .unary import lower_table

    lo, hi = _bounds(node)
    func = UnaryFunc.MAX_SCALAR if hi is None else UnaryFunc.MIN_SCALAR
    bound = lo if hi is None else hi
    assert isinstance(node.args[0], Node)
    lower_table(ctx, node, node.args[0], func, float(bound))  # type: ignore[arg-type]


@register_float(*CLAMP_OPS, "aten.clamp.Tensor", "aten.clamp_.Tensor")
def lower_clamp_f32(ctx: LoweringContext, node: Node) -> None:
    """Float scalar bounds: CLAMP (min > max gives max everywhere, as torch); integer tensors or tensor bounds:
    ELEMENTWISE MAXIMUM then MINIMUM (NaN propagates, as in torch)."""
    from .ewvalue import elementwise, ir_dtype, node_dtype, temp_value, value

    x = node.args[0]
    lo, hi = _bounds(node)
    dtype = ir_dtype(node_dtype(node))
    numbers = all(b is None or isinstance(b, (int, float)) for b in (lo, hi))
    if dtype == DType.FLOAT32 and numbers:
        tx = value(ctx, node, x, DType.FLOAT32, "x")
        flo = -math.inf if lo is None else float(np.float32(lo))  # type: ignore[arg-type]
        fhi = math.inf if hi is None else float(np.float32(hi))  # type: ignore[arg-type]
        y = ctx.new_float(node, logical(ctx.tensor(tx)), ctx.tensor(tx).layout)
        ctx.add_op(node, [tx], [y], ClampFloatParams(lo=min(flo, fhi), hi=fhi))
        return
    cur = value(ctx, node, x, dtype, "x")
    if lo is not None:
        out = temp_value(ctx, node, "lo", dtype) if hi is not None else None
        cur = elementwise(ctx, node, BinaryFunc.MAXIMUM, cur, value(ctx, node, lo, dtype, "min"), out=out)
    if hi is not None:
        elementwise(ctx, node, BinaryFunc.MINIMUM, cur, value(ctx, node, hi, dtype, "max"))
    if lo is None and hi is None:
        raise EdgebuildError(f"{node.name}: clamp without bounds")
