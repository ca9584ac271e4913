"""ADD / SUB / MUL: aten.add / sub / mul of two tensors with NumPy broadcasting, in int8 (TFLite's int8 add, eq. 7;
mul, eq. 12) and in float, and their PT2E annotation."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import Layout
from ...ir_ops import (
    AddFloatParams,
    AddInt8Params,
    MulFloatParams,
    MulInt8Params,
    ReshapeParams,
    SubFloatParams,
    SubInt8Params,
    TransposeParams,
)
from ...qmath import quantize_multiplier
from ..context import (
    DEQUANTIZE_NODES,
    LoweringContext,
    NotQuantized,
    logical,
    nhwc,
    node_shape,
    op_name,
    physical,
)
from ..registry import register, register_annotation, register_float

if TYPE_CHECKING:
    from ...quantize import Annotator

ADD_LEFT_SHIFT = 20  # docs/quantization.md (7): headroom for the rescaled operands, as TFLite


NAMES = (
    "aten.add.Tensor",
    "aten.sub.Tensor",
    "aten.mul.Tensor",
    "aten.add_.Tensor",
    "aten.sub_.Tensor",
    "aten.mul_.Tensor",
)


@register_annotation(*NAMES)
def annotate_binary(q: Annotator, node: Node) -> None:
    """Two tensor operands (broadcasting allowed, no alpha), own output observer (or its fused activation's); one
    tensor and a python number: arith.annotate_scalar (a table)."""
    from .arith import annotate_scalar

    if annotate_scalar(q, node):
        return
    x, y = node.args[0], node.args[1]
    if not (isinstance(x, Node) and isinstance(y, Node)) or len(node.args) > 2 or node.kwargs:
        return
    if q.shape(x) is None or q.shape(y) is None:
        return
    q.mark_fusing(node, {x: q.act, y: q.act})


def broadcast_operand(
    ctx: LoweringContext, node: Node, tid: int, out_logical: tuple[int, ...], layout: Layout
) -> int:
    """The operand as a tensor of the output's rank and layout: a RESHAPE when its bytes are already in that order
    (a [C, 1, 1] scale against an NHWC image), else a TRANSPOSE to PyTorch's order, the RESHAPE to the output's
    rank, and a TRANSPOSE to NHWC ([C, H, W] against an NHWC image; an NHWC operand of a 5-D result). TRANSPOSE
    moves codes or bits, so int8 and float alike keep their values."""
    t = ctx.tensor(tid)
    rank = len(out_logical)
    if len(t.shape) == rank and t.layout == layout:
        return tid
    lt = logical(t)
    if len(lt) > rank:
        raise EdgebuildError(f"{node.name}: operand of shape {lt} does not broadcast to {out_logical}")
    padded = (1,) * (rank - len(lt)) + lt
    src_order = [a + rank - len(lt) for a in ((0, 2, 3, 1) if t.layout == Layout.NHWC else range(len(lt)))]
    dst_order = [0, 2, 3, 1] if layout == Layout.NHWC else list(range(rank))
    if [a for a in src_order if padded[a] > 1] != [a for a in dst_order if padded[a] > 1]:
        if t.layout == Layout.NHWC:  # to PyTorch's order first
            plain = ctx.temp(f"{node.name}.{t.name}.nchw", t, lt, Layout.PLAIN)
            ctx.add_op(
                node, [tid], [plain], TransposeParams(perm=[0, 3, 1, 2]), name=f"{node.name}.{t.name}.to_nchw"
            )
            tid, t = plain, ctx.tensor(plain)
        if layout == Layout.NHWC:  # rank 4: PyTorch's order at rank 4, then NHWC
            tid = broadcast_operand(ctx, node, tid, out_logical, Layout.PLAIN)
            t = ctx.tensor(tid)
            out = ctx.temp(f"{node.name}.{t.name}.nhwc", t, nhwc(t.shape), Layout.NHWC)
            ctx.add_op(
                node, [tid], [out], TransposeParams(perm=[0, 2, 3, 1]), name=f"{node.name}.{t.name}.to_nhwc"
            )
            return out
        return broadcast_operand(ctx, node, tid, out_logical, layout)
    shape = tuple(padded[a] for a in dst_order)
    out = ctx.temp(f"{node.name}.{t.name}.broadcast", t, shape, layout)
    ctx.add_op(node, [tid], [out], ReshapeParams(), name=f"{node.name}.{t.name}.reshape")
    return out


def _binary_io(ctx: LoweringContext, node: Node, what: str) -> tuple[int, int, int, int, int]:
    if len(node.args) != 2 or node.kwargs.get("alpha", 1) != 1 or not isinstance(node.args[1], Node):
        raise NotQuantized(f"{node.name}: {what} with alpha or a scalar operand")  # arith.py / the float form
    a, b = ctx.input(node.args[0]), ctx.input(node.args[1])
    out_logical = node_shape(node)
    shape, layout = physical(out_logical)
    a = broadcast_operand(ctx, node, a, out_logical, layout)
    b = broadcast_operand(ctx, node, b, out_logical, layout)
    y, amin, amax = ctx.new_output(node, shape, layout, fusable=True)
    return a, b, y, amin, amax


def _scalar_int8(ctx: LoweringContext, node: Node) -> bool:
    """One tensor and a python number: arith.py's table (True when it lowered the node)."""
    from .arith import _scalar_and_tensor, lower_scalar_int8

    if _scalar_and_tensor(node) is None:
        return False
    lower_scalar_int8(ctx, node)
    return True


@register("aten.add.Tensor", "aten.sub.Tensor", "aten.add_.Tensor", "aten.sub_.Tensor")
def lower_add_sub(ctx: LoweringContext, node: Node) -> None:
    """TFLite's int8 add (eq. 7), with NumPy broadcasting; sub negates the rescaled second operand."""
    if _scalar_int8(ctx, node):
        return
    sub = op_name(node).startswith("aten.sub")
    a, b, y, amin, amax = _binary_io(ctx, node, "sub" if sub else "add")
    at, bt = ctx.tensor(a), ctx.tensor(b)
    sy = ctx.tensor(y).scale
    twice_max = 2.0 * max(at.scale, bt.scale)
    am, ash = quantize_multiplier(at.scale / twice_max)
    bm, bsh = quantize_multiplier(bt.scale / twice_max)
    om, osh = quantize_multiplier(twice_max / ((1 << ADD_LEFT_SHIFT) * sy))
    cls = SubInt8Params if sub else AddInt8Params
    params = cls(
        left_shift=ADD_LEFT_SHIFT,
        a_mult=am,
        a_shift=ash,
        b_mult=bm,
        b_shift=bsh,
        out_mult=om,
        out_shift=osh,
        act_min=amin,
        act_max=amax,
    )
    ctx.add_op(node, [a, b], [y], params)


@register("aten.mul.Tensor", "aten.mul_.Tensor")
def lower_mul(ctx: LoweringContext, node: Node) -> None:
    """TFLite's int8 mul (docs/quantization.md (12)), with NumPy broadcasting (SE blocks: x · gate[N, C, 1, 1])."""
    if _scalar_int8(ctx, node):
        return
    a, b, y, amin, amax = _binary_io(ctx, node, "mul")
    real = ctx.tensor(a).scale * ctx.tensor(b).scale / ctx.tensor(y).scale
    om, osh = quantize_multiplier(real)
    ctx.add_op(node, [a, b], [y], MulInt8Params(out_mult=om, out_shift=osh, act_min=amin, act_max=amax))


FLOAT_PARAMS = {"add": AddFloatParams, "sub": SubFloatParams, "mul": MulFloatParams}


def _plain_float(ctx: LoweringContext, node: Node) -> bool:
    """Two float32 tensors, no alpha: the ADD / SUB / MUL float forms; anything else is arith.py's ELEMENTWISE."""
    from .arith import lower_arith
    from .ewvalue import node_dtype

    a, b = node.args[0], node.args[1] if len(node.args) > 1 else None
    simple = bool(
        len(node.args) == 2
        and node.kwargs.get("alpha", 1) == 1
        and isinstance(a, Node)
        and isinstance(b, Node)
        and node_dtype(node) == torch.float32
        and node_dtype(a) == torch.float32
        and node_dtype(b) == torch.float32
    )
    if not simple:
        lower_arith(ctx, node)
    return simple


def _float_layout(ctx: LoweringContext, node: Node, out: tuple[int, ...]) -> Layout:
    """NHWC for a 4-D result when an operand already exists in NHWC (a CNN's activations), else PLAIN: a 4-D
    tensor that is not an image (attention scores [B, heads, T, T] plus their mask) stays in PyTorch's order rather
    than being transposed to NHWC and back around the op."""
    if len(out) != 4:
        return Layout.PLAIN
    for arg in node.args[:2]:
        if isinstance(arg, Node) and Layout.NHWC in ctx.fvalues.get(arg, {}):
            return Layout.NHWC
        src = arg.args[0] if isinstance(arg, Node) and arg.target in DEQUANTIZE_NODES and arg.args else None
        if isinstance(src, Node) and src in ctx.values and ctx.tensor(ctx.values[src]).layout == Layout.NHWC:
            return Layout.NHWC  # an int8 image's dequantized value
    return Layout.PLAIN


def _float_operand(ctx: LoweringContext, node: Node, arg: Node, out: tuple[int, ...], layout: Layout) -> int:
    """A float operand in the output's rank and layout: an operand of the output's rank (4-D: an image) is read in
    that layout, one of lower rank (a [C, 1, 1] layer scale, a [C, H, W] table) in PyTorch's order and then
    broadcast_operand's RESHAPE or TRANSPOSE."""
    same_rank = len(node_shape(arg)) == len(out)
    tid = ctx.float_value(arg, layout if same_rank else Layout.PLAIN)
    return broadcast_operand(ctx, node, tid, out, layout)


@register_float("aten.sub.Tensor", "aten.mul.Tensor", "aten.sub_.Tensor", "aten.mul_.Tensor")
def lower_binary_f32(ctx: LoweringContext, node: Node) -> None:
    """ADD / SUB / MUL in float32 with broadcasting (lower_add_f32 sends broadcasting adds here)."""
    if not _plain_float(ctx, node):
        return
    out = node_shape(node)
    layout = _float_layout(ctx, node, out)
    a = _float_operand(ctx, node, node.args[0], out, layout)
    b = _float_operand(ctx, node, node.args[1], out, layout)
    y = ctx.new_float(node, out, layout)
    kind = op_name(node).split(".")[1].rstrip("_")
    ctx.add_op(node, [a, b], [y], FLOAT_PARAMS[kind](lo=-math.inf, hi=math.inf))


@register_float("aten.add.Tensor", "aten.add_.Tensor")
def lower_add_f32(ctx: LoweringContext, node: Node) -> None:
    """Operands of one shape are added in the layout the first one has; broadcasting goes to lower_binary_f32."""
    if not _plain_float(ctx, node):
        return
    if node_shape(node.args[0]) != node_shape(node.args[1]):  # type: ignore[arg-type]
        return lower_binary_f32(ctx, node)
    a = ctx.float_value(node.args[0])
    b = ctx.float_value(node.args[1], ctx.tensor(a).layout)
    at = ctx.tensor(a)
    y = ctx.new_float(node, logical(at), at.layout)
    ctx.add_op(node, [a, b], [y], AddFloatParams(lo=-math.inf, hi=math.inf))
