"""FULLY_CONNECTED: aten.linear over the last axis of an N-D activation, in int8 (eq. 6, the weight helpers of
lower/ops/conv.py) and in float, and its PT2E annotation (the same rule as conv2d)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import DType, Layout
from ...ir_ops import FullyConnectedFloatParams, FullyConnectedInt8Params, TransposeParams
from ..context import LoweringContext, node_shape, physical
from ..registry import register, register_annotation, register_float
from .conv import MAX_TAPS, annotate_weighted, float_bias, requant_constants, requant_weights
from .convolution import axis1_weight_spec, weight_array
from .matmul import plain_int8

if TYPE_CHECKING:
    from ...quantize import Annotator

register_annotation("aten.linear.default")(annotate_weighted)


@register("aten.linear.default")
def lower_linear(ctx: LoweringContext, node: Node) -> None:
    args = list(node.args) + [None] * (3 - len(node.args))
    x_arg, w_arg, b_arg = args[:3]
    x = ctx.input(x_arg)
    xt = ctx.tensor(x)
    shape = node_shape(node)
    phys, layout = physical(shape)
    y, amin, amax = ctx.new_output(node, phys, layout, fusable=True)
    w, rest = requant_weights(ctx, node, xt.scale, ctx.tensor(y).scale, w_arg, b_arg)
    if w.shape[1] > MAX_TAPS:
        raise EdgebuildError(
            f"{node.name}: {w.shape[1]} inputs per output exceed the int32 accumulator's "
            f"safe range ({MAX_TAPS})"
        )
    w_id = ctx.program.add_constant(f"{node.name}.weight", w, DType.INT8)
    # A 4-D activation is stored NHWC (lower/context.py, Layout): the product runs over PyTorch's last axis of the
    # plain bytes, so the input is transposed to plain and the plain result back to NHWC.
    x = plain_int8(ctx, node, x)
    params = FullyConnectedInt8Params(act_min=amin, act_max=amax)
    if layout != Layout.NHWC:
        ctx.add_op(node, [x, w_id, *rest], [y], params)
        return
    flat = ctx.temp(f"{node.name}.plain", ctx.tensor(y), shape, Layout.PLAIN)
    ctx.add_op(node, [x, w_id, *rest], [flat], params)
    ctx.add_op(node, [flat], [y], TransposeParams(perm=[0, 2, 3, 1]), name=f"{node.name}.to_nhwc")


@register_float("aten.linear.default")
def lower_linear_f32(ctx: LoweringContext, node: Node) -> None:
    args = list(node.args) + [None] * (3 - len(node.args))
    x = ctx.float_value(args[0], Layout.PLAIN)
    w_id = ctx.program.add_constant(f"{node.name}.weight", ctx.float_constant(args[1]), DType.FLOAT32)
    b_id = float_bias(ctx, node, args[2])
    y = ctx.new_float(node, node_shape(node))
    ctx.add_op(node, [x, w_id, b_id], [y], FullyConnectedFloatParams(lo=-math.inf, hi=math.inf))


def _addmm_parts(node: Node) -> tuple[object, object, object] | None:
    """(bias, x, weight) of an addmm that is a linear layer: beta = alpha = 1, a constant [K, N] weight and a
    constant 1-D bias (core ATen's decomposed linear, LSTM / GRU gates); else None (the float form)."""
    names = ["input", "mat1", "mat2", "beta", "alpha"]
    args = dict(zip(names, node.args)) | dict(node.kwargs)
    b, x, w = args["input"], args["mat1"], args["mat2"]
    if float(args.get("beta", 1)) != 1.0 or float(args.get("alpha", 1)) != 1.0:  # type: ignore[arg-type]
        return None
    if not (isinstance(w, Node) and w.op == "get_attr" and isinstance(x, Node)):
        return None
    if not (isinstance(b, Node) and b.op == "get_attr" and len(b.meta["val"].shape) == 1):
        return None
    return b, x, w


@register_annotation("aten.addmm.default")
def annotate_addmm(q: Annotator, node: Node) -> None:
    """As linear, with the weight's output channels on axis 1 ([K, N])."""
    parts = _addmm_parts(node)
    if parts is None:
        return
    b, x, w = parts
    assert isinstance(b, Node) and isinstance(x, Node) and isinstance(w, Node)
    q.mark_fusing(node, {x: q.act, w: axis1_weight_spec(), b: q.bias(x, w, node)})


@register("aten.addmm.default")
def lower_addmm(ctx: LoweringContext, node: Node) -> None:
    """An annotated addmm (a linear layer): FULLY_CONNECTED with the transposed weight."""
    names = ["input", "mat1", "mat2"]
    args = dict(zip(names, node.args)) | dict(node.kwargs)
    x = ctx.input(args["mat1"])
    xt = ctx.tensor(x)
    y, amin, amax = ctx.new_output(node, node_shape(node), Layout.PLAIN, fusable=True)
    w, scales = weight_array(ctx, args["mat2"], quantized=True)
    w = np.ascontiguousarray(w.T)
    if w.shape[1] > MAX_TAPS:
        raise EdgebuildError(
            f"{node.name}: {w.shape[1]} inputs per output exceed the int32 accumulator's range"
        )
    rest = requant_constants(ctx, node, xt.scale, ctx.tensor(y).scale, scales, w.shape[0], args["input"])
    w_id = ctx.program.add_constant(f"{node.name}.weight", w, DType.INT8)
    ctx.add_op(node, [x, w_id, *rest], [y], FullyConnectedInt8Params(act_min=amin, act_max=amax))
