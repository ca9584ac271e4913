"""Lowerings for add (TFLite's int8 add, eq. 7), standalone activations (a clamp, eq. 8) and identities."""

from __future__ import annotations

from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import OpCode
from ...qmath import activation_bounds, quantize_multiplier
from .. import LoweringContext, activation_of, register

ADD_LEFT_SHIFT = 20  # docs/quantization.md (7): headroom for the rescaled operands, as TFLite


@register("aten.add.Tensor")
def lower_add(ctx: LoweringContext, node: Node) -> None:
    if len(node.args) != 2 or node.kwargs.get("alpha", 1) != 1:
        raise EdgebuildError(f"{node.name}: add with alpha or a scalar operand is not supported in int8")
    a, b = ctx.input(node.args[0]), ctx.input(node.args[1])
    at, bt = ctx.tensor(a), ctx.tensor(b)
    if at.shape != bt.shape:
        raise EdgebuildError(
            f"{node.name}: add of shapes {at.shape} and {bt.shape} needs broadcasting, "
            "which the int8 add does not do yet"
        )
    y, amin, amax = ctx.new_output(node, at.shape, at.layout, fusable=True)
    sy = ctx.tensor(y).scale
    twice_max = 2.0 * max(at.scale, bt.scale)
    am, ash = quantize_multiplier(at.scale / twice_max)
    bm, bsh = quantize_multiplier(bt.scale / twice_max)
    om, osh = quantize_multiplier(twice_max / ((1 << ADD_LEFT_SHIFT) * sy))
    ctx.add_op(OpCode.ADD, node, [a, b], [y], [ADD_LEFT_SHIFT, am, ash, bm, bsh, om, osh, amin, amax])


@register(
    "aten.relu.default",
    "aten.relu_.default",
    "aten.relu6.default",
    "aten.hardtanh.default",
    "aten.hardtanh_.default",
)
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
    ctx.add_op(OpCode.CLAMP, node, [x], [y], [amin, amax])


@register("aten.dropout.default", "aten.clone.default", "aten.contiguous.default", "aten.alias.default")
def lower_identity(ctx: LoweringContext, node: Node) -> None:
    if node.target.__name__.startswith("dropout") and len(node.args) > 2 and node.args[2]:  # type: ignore[union-attr]
        raise EdgebuildError(f"{node.name}: dropout in training mode; call model.eval() before exporting")
    ctx.alias_output(node, ctx.input(node.args[0]))
