"""SOFTMAX: aten.softmax over the last dimension, float only (no int8 kernel: the float fallback runs it between
int8 ops, lower/__init__.py)."""

from __future__ import annotations

from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import Layout
from ...ir_ops import SoftmaxFloatParams
from ..context import LoweringContext, logical
from ..registry import register_float


@register_float("aten.softmax.int", "aten._softmax.default")
def lower_softmax(ctx: LoweringContext, node: Node) -> None:
    x = ctx.float_value(node.args[0], Layout.PLAIN)
    shape = logical(ctx.tensor(x))
    dim = int(node.args[1]) % len(shape)  # type: ignore[call-overload]
    if dim != len(shape) - 1:
        raise EdgebuildError(
            f"{node.name}: softmax over dim {dim} of {shape}: only the last dimension is supported"
        )
    y = ctx.new_float(node, shape)
    ctx.add_op(node, [x], [y], SoftmaxFloatParams())
