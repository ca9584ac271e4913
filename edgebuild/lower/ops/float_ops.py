"""Float lowerings (the float fallback, lower/__init__.py) of the ops that also have int8 kernels: conv2d, linear,
add, the clamp activations, pooling, cat, and the value-moving ops (reshape family, permute/transpose, identities).

Each emits the float32 form of the same opcode (docs/artifact.md "Float fallback"). Activations are not fused in
float: a standalone CLAMP costs one pass over a tensor that is already slow to compute. Float activation bounds are
passed as the IEEE bits of float32 values (-inf / +inf when there is none).
"""

from __future__ import annotations

import math

import numpy as np
from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import DType, Layout, OpCode
from .. import (
    CHANNEL_DEQUANTIZE,
    DEQUANTIZE_NODES,
    NCHW_TO_NHWC_AXIS,
    FloatBlocked,
    LoweringContext,
    activation_of,
    f32_bits_of,
    logical,
    node_shape,
    register_float,
)
from .conv import _pair

NO_MIN, NO_MAX = f32_bits_of(-math.inf), f32_bits_of(math.inf)


def float_constant(ctx: LoweringContext, arg: object) -> np.ndarray:
    """The real (float) value of a weight: a float parameter, or the dequantized int8 weight PT2E folded."""
    if isinstance(arg, Node) and arg.op == "get_attr":
        return ctx.constant(arg).astype(np.float32)
    if isinstance(arg, Node) and arg.target in CHANNEL_DEQUANTIZE:
        w, scales = ctx.channel_weight(arg)
        return (w.astype(np.float64) * scales.reshape((-1,) + (1,) * (w.ndim - 1))).astype(np.float32)
    if isinstance(arg, Node) and arg.target in DEQUANTIZE_NODES and isinstance(arg.args[0], Node):
        q = ctx.constant(arg.args[0]).astype(np.float64)
        return ((q - float(arg.args[2])) * float(arg.args[1])).astype(np.float32)  # type: ignore[arg-type]
    raise FloatBlocked(f"{getattr(arg, 'name', arg)} is not a constant weight")


def _bias(ctx: LoweringContext, node: Node, arg: object) -> int:
    if arg is None:
        return -1
    return ctx.program.add_constant(f"{node.name}.bias", float_constant(ctx, arg), DType.FLOAT32)


@register_float("aten.conv2d.default")
def lower_conv2d_f32(ctx: LoweringContext, node: Node) -> None:
    args = list(node.args) + [None] * (7 - len(node.args))
    x_arg, w_arg, b_arg, stride, padding, dilation, groups = args[:7]
    x = ctx.float_value(x_arg, Layout.NHWC)
    sh, sw = _pair(stride, 1)
    ph, pw = _pair(padding, 0)
    dh, dw = _pair(dilation, 1)
    g = int(groups) if groups is not None else 1  # type: ignore[call-overload]
    w = float_constant(ctx, w_arg)
    w_id = ctx.program.add_constant(f"{node.name}.weight", w.transpose(0, 2, 3, 1), DType.FLOAT32)
    b_id = _bias(ctx, node, b_arg)
    y = ctx.new_float(node, node_shape(node), Layout.NHWC)
    ctx.add_op(OpCode.CONV2D, node, [x, w_id, b_id], [y], [sh, sw, ph, pw, ph, pw, dh, dw, g, NO_MIN, NO_MAX])


@register_float("aten.linear.default")
def lower_linear_f32(ctx: LoweringContext, node: Node) -> None:
    args = list(node.args) + [None] * (3 - len(node.args))
    x = ctx.float_value(args[0], Layout.PLAIN)
    w_id = ctx.program.add_constant(f"{node.name}.weight", float_constant(ctx, args[1]), DType.FLOAT32)
    b_id = _bias(ctx, node, args[2])
    y = ctx.new_float(node, node_shape(node))
    ctx.add_op(OpCode.FULLY_CONNECTED, node, [x, w_id, b_id], [y], [NO_MIN, NO_MAX])


@register_float("aten.add.Tensor")
def lower_add_f32(ctx: LoweringContext, node: Node) -> None:
    if len(node.args) != 2 or node.kwargs.get("alpha", 1) != 1 or not isinstance(node.args[1], Node):
        raise EdgebuildError(f"{node.name}: add with alpha or a scalar operand has no float lowering yet")
    a = ctx.float_value(node.args[0])
    b = ctx.float_value(node.args[1], ctx.tensor(a).layout)
    at, bt = ctx.tensor(a), ctx.tensor(b)
    if logical(at) != logical(bt):
        raise EdgebuildError(
            f"{node.name}: add of shapes {logical(at)} and {logical(bt)} needs broadcasting, "
            "which the float ADD does not do"
        )
    y = ctx.new_float(node, logical(at), at.layout)
    ctx.add_op(OpCode.ADD, node, [a, b], [y], [NO_MIN, NO_MAX])


@register_float(
    "aten.relu.default",
    "aten.relu_.default",
    "aten.relu6.default",
    "aten.hardtanh.default",
    "aten.hardtanh_.default",
)
def lower_activation_f32(ctx: LoweringContext, node: Node) -> None:
    x = ctx.float_value(node.args[0])
    xt = ctx.tensor(x)
    kind, (lo, hi) = activation_of(node)
    lo_b, hi_b = (f32_bits_of(0.0), NO_MAX) if kind == "relu" else (f32_bits_of(lo), f32_bits_of(hi))
    y = ctx.new_float(node, logical(xt), xt.layout)
    ctx.add_op(OpCode.CLAMP, node, [x], [y], [lo_b, hi_b])


@register_float("aten.dropout.default", "aten.clone.default", "aten.contiguous.default", "aten.alias.default")
def lower_identity_f32(ctx: LoweringContext, node: Node) -> None:
    if node.target.__name__.startswith("dropout") and len(node.args) > 2 and node.args[2]:  # type: ignore[union-attr]
        raise EdgebuildError(f"{node.name}: dropout in training mode; call model.eval() before exporting")
    ctx.alias_float(node, ctx.float_value(node.args[0]))


@register_float("aten.max_pool2d.default")
def lower_max_pool2d_f32(ctx: LoweringContext, node: Node) -> None:
    args = list(node.args) + [None] * (6 - len(node.args))
    _, kernel, stride, padding, dilation, _ceil = args[:6]
    kh, kw = _pair(kernel, 1)
    sh, sw = _pair(stride, 1) if stride else (kh, kw)
    ph, pw = _pair(padding, 0)
    dh, dw = _pair(dilation, 1)
    x = ctx.float_value(node.args[0], Layout.NHWC)
    y = ctx.new_float(node, node_shape(node), Layout.NHWC)
    ctx.add_op(OpCode.MAX_POOL2D, node, [x], [y], [kh, kw, sh, sw, ph, pw, dh, dw, NO_MIN, NO_MAX])


@register_float("aten.avg_pool2d.default")
def lower_avg_pool2d_f32(ctx: LoweringContext, node: Node) -> None:
    args = list(node.args) + [None] * (7 - len(node.args))
    _, kernel, stride, padding, _ceil, count_include_pad, divisor = args[:7]
    if divisor is not None:
        raise EdgebuildError(f"{node.name}: avg_pool2d with divisor_override is not supported")
    kh, kw = _pair(kernel, 1)
    sh, sw = _pair(stride, 1) if stride else (kh, kw)
    ph, pw = _pair(padding, 0)
    include = 1 if count_include_pad is None else int(bool(count_include_pad))
    x = ctx.float_value(node.args[0], Layout.NHWC)
    y = ctx.new_float(node, node_shape(node), Layout.NHWC)
    ctx.add_op(OpCode.AVG_POOL2D, node, [x], [y], [kh, kw, sh, sw, ph, pw, include, NO_MIN, NO_MAX])


@register_float("aten.adaptive_avg_pool2d.default")
def lower_adaptive_avg_pool2d_f32(ctx: LoweringContext, node: Node) -> None:
    x = ctx.float_value(node.args[0], Layout.NHWC)
    out = node_shape(node)
    (h, w), (oh, ow) = logical(ctx.tensor(x))[2:], out[2:]
    if h % oh or w % ow:
        raise EdgebuildError(f"{node.name}: adaptive_avg_pool2d from {h}x{w} to {oh}x{ow} has uneven windows")
    kh, kw = h // oh, w // ow
    y = ctx.new_float(node, out, Layout.NHWC)
    ctx.add_op(OpCode.AVG_POOL2D, node, [x], [y], [kh, kw, kh, kw, 0, 0, 1, NO_MIN, NO_MAX])


@register_float(
    "aten.flatten.using_ints",
    "aten.view.default",
    "aten.reshape.default",
    "aten._unsafe_view.default",
    "aten.unsqueeze.default",
    "aten.squeeze.dim",
    "aten.squeeze.dims",
)
def lower_reshape_f32(ctx: LoweringContext, node: Node) -> None:
    """A reshape in PyTorch's (logical) element order: the input is made plain first."""
    x = ctx.float_value(node.args[0], Layout.PLAIN)
    y = ctx.new_float(node, node_shape(node))
    ctx.add_op(OpCode.RESHAPE, node, [x], [y], [])


@register_float("aten.permute.default", "aten.transpose.int", "aten.t.default")
def lower_permute_f32(ctx: LoweringContext, node: Node) -> None:
    x = ctx.float_value(node.args[0], Layout.PLAIN)
    rank = len(logical(ctx.tensor(x)))
    if node.target.__name__.startswith("permute"):  # type: ignore[union-attr]
        perm = [int(d) % rank for d in node.args[1]]  # type: ignore[union-attr]
    else:
        d0, d1 = (0, 1) if len(node.args) < 3 else (int(node.args[1]) % rank, int(node.args[2]) % rank)  # type: ignore[call-overload]
        perm = list(range(rank))
        perm[d0], perm[d1] = perm[d1], perm[d0]
    y = ctx.new_float(node, node_shape(node))
    ctx.add_op(OpCode.TRANSPOSE, node, [x], [y], perm)


@register_float("aten.cat.default", "aten.concat.default")
def lower_cat_f32(ctx: LoweringContext, node: Node) -> None:
    args = list(node.args[0])  # type: ignore[arg-type]
    first = ctx.float_value(args[0])
    layout = ctx.tensor(first).layout
    inputs = [first] + [ctx.float_value(a, layout) for a in args[1:]]
    out = node_shape(node)
    dim = (int(node.args[1]) if len(node.args) > 1 else 0) % len(out)  # type: ignore[call-overload]
    axis = NCHW_TO_NHWC_AXIS[dim] if layout == Layout.NHWC else dim
    y = ctx.new_float(node, out, layout)
    ctx.add_op(OpCode.CONCAT, node, inputs, [y], [axis])
