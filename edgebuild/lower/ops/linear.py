"""FULLY_CONNECTED: aten.linear in int8 (eq. 6, the weight helpers of lower/ops/conv.py) and in float, and its PT2E
annotation (the same rule as conv2d)."""

from __future__ import annotations

import math

from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import DType, Layout
from ...ir_ops import FullyConnectedFloatParams, FullyConnectedInt8Params
from ..context import LoweringContext, node_shape
from ..registry import register, register_annotation, register_float
from .conv import MAX_TAPS, annotate_weighted, float_bias, requant_weights

register_annotation("aten.linear.default")(annotate_weighted)


@register("aten.linear.default")
def lower_linear(ctx: LoweringContext, node: Node) -> None:
    args = list(node.args) + [None] * (3 - len(node.args))
    x_arg, w_arg, b_arg = args[:3]
    x = ctx.input(x_arg)
    xt = ctx.tensor(x)
    if xt.layout == Layout.NHWC:
        raise EdgebuildError(f"{node.name}: linear on a 4-D activation is not supported; flatten it first")
    shape = node_shape(node)
    y, amin, amax = ctx.new_output(node, shape, Layout.PLAIN, fusable=True)
    w, rest = requant_weights(ctx, node, xt.scale, ctx.tensor(y).scale, w_arg, b_arg)
    if w.shape[1] > MAX_TAPS:
        raise EdgebuildError(
            f"{node.name}: {w.shape[1]} inputs per output exceed the int32 accumulator's "
            f"safe range ({MAX_TAPS})"
        )
    w_id = ctx.program.add_constant(f"{node.name}.weight", w, DType.INT8)
    ctx.add_op(node, [x, w_id, *rest], [y], FullyConnectedInt8Params(act_min=amin, act_max=amax))


@register_float("aten.linear.default")
def lower_linear_f32(ctx: LoweringContext, node: Node) -> None:
    args = list(node.args) + [None] * (3 - len(node.args))
    x = ctx.float_value(args[0], Layout.PLAIN)
    w_id = ctx.program.add_constant(f"{node.name}.weight", ctx.float_constant(args[1]), DType.FLOAT32)
    b_id = float_bias(ctx, node, args[2])
    y = ctx.new_float(node, node_shape(node))
    ctx.add_op(node, [x, w_id, b_id], [y], FullyConnectedFloatParams(lo=-math.inf, hi=math.inf))
