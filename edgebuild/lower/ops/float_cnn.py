"""Float lowerings (the float fallback, lower/__init__.py) of issue 8's CNN ops: the elementwise functions (UNARY's
formula form), sub / mul / add with broadcasting, pad, slice and split, upsample and spatial mean. Each emits the
float32 form of the same opcode as its int8 lowering (docs/artifact.md)."""

from __future__ import annotations

import math

import numpy as np
from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import DType, Layout, OpCode, UnaryFunc
from .. import LoweringContext, f32_bits_of, logical, node_shape, op_name, register_float
from .elementwise import _broadcast_operand
from .float_ops import float_constant
from .resize import linear_table, nearest_table, upsample_args
from .shape import SPLITS, _slice_op, pad_args, slice_args
from .unary import FUNCS, unary_func

NO_MIN, NO_MAX = f32_bits_of(-math.inf), f32_bits_of(math.inf)


def _value(ctx: LoweringContext, arg: object) -> int:
    """The float tensor of `arg`, NHWC when it is 4-D (the layout every CNN op here works in)."""
    rank = len(node_shape(arg)) if isinstance(arg, Node) else 0
    return ctx.float_value(arg, Layout.NHWC if rank == 4 else None)


@register_float(*FUNCS)
def lower_unary_f32(ctx: LoweringContext, node: Node) -> None:
    func, alpha = unary_func(node)
    x = _value(ctx, node.args[0])
    xt = ctx.tensor(x)
    slope = -1
    if func == UnaryFunc.PRELU:
        w = float_constant(ctx, node.args[1]).reshape(-1)
        if (
            w.size > 1
            and not (xt.layout == Layout.NHWC or len(xt.shape) == 2)
            or w.size not in (1, xt.shape[-1])
        ):
            raise EdgebuildError(f"{node.name}: prelu with {w.size} slopes on an input of shape {xt.shape}")
        slope = ctx.program.add_constant(f"{node.name}.slope", w, DType.FLOAT32)
    y = ctx.new_float(node, logical(xt), xt.layout)
    alpha_bits = f32_bits_of(float(alpha)) if func == UnaryFunc.LEAKY_RELU else 0
    ctx.add_op(OpCode.UNARY, node, [x, slope], [y], [int(func), alpha_bits])


@register_float("aten.sub.Tensor", "aten.mul.Tensor")
def lower_binary_f32(ctx: LoweringContext, node: Node) -> None:
    """ADD / SUB / MUL in float32 with broadcasting (lower_add_f32 sends broadcasting adds here)."""
    if len(node.args) != 2 or node.kwargs.get("alpha", 1) != 1 or not isinstance(node.args[1], Node):
        raise EdgebuildError(
            f"{node.name}: {op_name(node)} with alpha or a scalar operand has no float lowering"
        )
    out = node_shape(node)
    layout = Layout.NHWC if len(out) == 4 else Layout.PLAIN
    a = _broadcast_operand(ctx, node, _value(ctx, node.args[0]), out, layout)
    b = _broadcast_operand(ctx, node, _value(ctx, node.args[1]), out, layout)
    y = ctx.new_float(node, out, layout)
    opcode = {"aten.add.Tensor": OpCode.ADD, "aten.sub.Tensor": OpCode.SUB, "aten.mul.Tensor": OpCode.MUL}
    ctx.add_op(opcode[op_name(node)], node, [a, b], [y], [NO_MIN, NO_MAX])


@register_float("aten.pad.default", "aten.constant_pad_nd.default")
def lower_pad_f32(ctx: LoweringContext, node: Node) -> None:
    x = _value(ctx, node.args[0])
    xt = ctx.tensor(x)
    before, after, value = pad_args(node, xt)
    y = ctx.new_float(node, node_shape(node), xt.layout)
    ctx.add_op(OpCode.PAD, node, [x], [y], before + after + [f32_bits_of(value)])


@register_float("aten.slice.Tensor")
def lower_slice_f32(ctx: LoweringContext, node: Node) -> None:
    x = _value(ctx, node.args[0])
    xt = ctx.tensor(x)
    axis, begin, stride = slice_args(node, xt)
    y = ctx.new_float(node, node_shape(node), xt.layout)
    _slice_op(ctx, node, x, y, axis, begin, stride)


@register_float(*SPLITS)
def lower_split_f32(ctx: LoweringContext, node: Node) -> None:
    """Nothing here: each getitem becomes a SLICE (lower_getitem_f32)."""


@register_float("getitem")
def lower_getitem_f32(ctx: LoweringContext, node: Node) -> None:
    src, index = node.args[0], int(node.args[1])  # type: ignore[arg-type]
    if not isinstance(src, Node) or op_name(src) not in SPLITS:
        raise EdgebuildError(f"{node.name}: getitem of {getattr(src, 'name', src)} has no float lowering")
    x = _value(ctx, src.args[0])
    xt = ctx.tensor(x)
    dim = src.args[2] if len(src.args) > 2 else src.kwargs.get("dim", 0)
    axis = int(dim) % len(xt.shape)  # type: ignore[call-overload]
    start = sum(int(p.shape[axis]) for p in src.meta["val"][:index])
    y = ctx.new_float(node, node_shape(node), xt.layout)
    _slice_op(ctx, node, x, y, axis, start, 1)


@register_float(
    "aten.upsample_nearest2d.vec",
    "aten.upsample_nearest2d.default",
    "aten.upsample_bilinear2d.vec",
    "aten.upsample_bilinear2d.default",
)
def lower_upsample_f32(ctx: LoweringContext, node: Node) -> None:
    bilinear, align, fh, fw = upsample_args(node)
    x = ctx.float_value(node.args[0], Layout.NHWC)
    (ih, iw), out = logical(ctx.tensor(x))[2:], node_shape(node)
    if bilinear:
        ht, wt = linear_table(ih, out[2], align, fh), linear_table(iw, out[3], align, fw)
    else:
        ht = nearest_table(ih, out[2], fh).astype(np.float32)
        wt = nearest_table(iw, out[3], fw).astype(np.float32)
    h_id = ctx.program.add_constant(f"{node.name}.rows", ht, DType.FLOAT32)
    w_id = ctx.program.add_constant(f"{node.name}.cols", wt, DType.FLOAT32)
    y = ctx.new_float(node, out, Layout.NHWC)
    ctx.add_op(OpCode.RESIZE, node, [x, h_id, w_id], [y], [int(bilinear), int(align)])


@register_float("aten.mean.dim")
def lower_mean_f32(ctx: LoweringContext, node: Node) -> None:
    """mean over (H, W) of a 4-D tensor: a global AVG_POOL2D (then a RESHAPE without keepdim)."""
    dims = sorted(int(d) % 4 for d in node.args[1])  # type: ignore[union-attr]
    x = ctx.float_value(node.args[0], Layout.NHWC)
    xt = ctx.tensor(x)
    if dims != [2, 3] or len(xt.shape) != 4:
        raise EdgebuildError(
            f"{node.name}: mean is supported over the spatial dims (2, 3) of a 4-D tensor only"
        )
    n, h, w, c = xt.shape
    keep = bool(len(node.args) > 2 and node.args[2]) or bool(node.kwargs.get("keepdim", False))
    params = [h, w, h, w, 0, 0, 1, NO_MIN, NO_MAX]
    if keep:
        y = ctx.new_float(node, (n, c, 1, 1), Layout.NHWC)
        ctx.add_op(OpCode.AVG_POOL2D, node, [x], [y], params)
        return
    pooled = ctx.temp(f"{node.name}.pooled", xt, (n, 1, 1, c), Layout.NHWC)
    ctx.add_op(OpCode.AVG_POOL2D, node, [x], [pooled], params)
    y = ctx.new_float(node, (n, c))
    ctx.add_op(OpCode.RESHAPE, node, [pooled], [y], [], name=f"{node.name}.squeeze")
