"""PAD: constant padding (PAD, in int8 with the value quantized, and in float) and the modes that copy elements
(reflect, replicate, circular: GATHERs, movement.py) of aten.pad / constant_pad_nd."""

from __future__ import annotations

import torch
from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import Tensor
from ...ir_ops import PadFloatParams, PadInt8Params
from ...qmath import quantize_value
from ..context import LoweringContext, node_shape, physical
from ..registry import register, register_float
from .movement import build_index_pad
from .moving import lower_moved_float, lower_moved_int8
from .shape import _to_physical_axis

# --- pad ----------------------------------------------------------------------------------------------------------


def pad_args(node: Node, xt: Tensor) -> tuple[list[int], list[int], float]:
    """(before, after) per stored dim of `xt` and the pad value of a constant pad node."""
    pads = [int(p) for p in node.args[1]]  # type: ignore[union-attr]
    if node.target == torch.ops.aten.pad.default:
        mode = node.args[2] if len(node.args) > 2 else node.kwargs.get("mode", "constant")
        value = node.args[3] if len(node.args) > 3 else node.kwargs.get("value")
        if mode != "constant":
            raise EdgebuildError(f"{node.name}: pad mode {mode!r} is not supported (only 'constant')")
    else:
        value = node.args[2] if len(node.args) > 2 else node.kwargs.get("value", 0.0)
    if any(p < 0 for p in pads):
        raise EdgebuildError(f"{node.name}: negative padding (cropping) is not supported; use slicing")
    rank = len(xt.shape)
    before, after = [0] * rank, [0] * rank
    for i in range(len(pads) // 2):  # pairs from the last logical dim backwards
        axis = _to_physical_axis(xt, rank - 1 - i)
        before[axis], after[axis] = pads[2 * i], pads[2 * i + 1]
    return before, after, float(value or 0.0)  # type: ignore[arg-type]


@register("aten.pad.default", "aten.constant_pad_nd.default")
def lower_pad(ctx: LoweringContext, node: Node) -> None:
    """Constant padding; the value is quantized with the (shared) output parameters, 0 -> the zero point exactly.
    Other modes (reflect, replicate, circular) copy elements: GATHERs (movement.py)."""
    if _pad_mode(node) != "constant":
        lower_moved_int8(ctx, node, _build_mode_pad)
        return
    x = ctx.input(node.args[0])
    xt = ctx.tensor(x)
    before, after, value = pad_args(node, xt)
    shape, layout = physical(node_shape(node))
    y, _, _ = ctx.new_output(node, shape, layout)
    yt = ctx.tensor(y)
    code = max(-128, min(127, quantize_value(value, yt.scale, yt.zero_point)))
    ctx.add_op(node, [x], [y], PadInt8Params(before=before, after=after, value=code))


@register_float("aten.pad.default", "aten.constant_pad_nd.default")
def lower_pad_f32(ctx: LoweringContext, node: Node) -> None:
    if _pad_mode(node) != "constant":
        lower_moved_float(ctx, node, _build_mode_pad)
        return
    x = ctx.float_value_cnn(node.args[0])
    xt = ctx.tensor(x)
    before, after, value = pad_args(node, xt)
    y = ctx.new_float(node, node_shape(node), xt.layout)
    ctx.add_op(node, [x], [y], PadFloatParams(before=before, after=after, value=value))


def _pad_mode(node: Node) -> str:
    if node.target != torch.ops.aten.pad.default:
        return "constant"
    return str(node.args[2] if len(node.args) > 2 else node.kwargs.get("mode", "constant"))


def _build_mode_pad(ctx: LoweringContext, node: Node, x: int, out: int) -> None:
    build_index_pad(ctx, node, x, out, [int(p) for p in node.args[1]], _pad_mode(node))  # type: ignore[union-attr]
