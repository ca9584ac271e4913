"""CLAMP: an activation (relu, relu6, hardtanh) that is not fused into its producer, in int8 (a clamp between tensors
that share scale and zero point, eq. 8) and in float, and its PT2E annotation. A fused activation is no op of its
own: the producer's lowering applies it (LoweringContext.output_quant) and its annotation rule marks it
(Annotator.mark_fusing)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from torch.fx import Node

from ...errors import EdgebuildError
from ...ir_ops import ClampFloatParams, ClampInt8Params
from ...qmath import activation_bounds
from ..context import LoweringContext, activation_of, logical
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
