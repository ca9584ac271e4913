"""LAYER_NORM: aten.layer_norm over the last dimension, float only. (Batch norm has no lowering: PT2E's prepare
folds it into the convolution before it.)"""

from __future__ import annotations

from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import DType, Layout
from ...ir_ops import LayerNormFloatParams
from ..context import LoweringContext, logical
from ..registry import register_float


@register_float("aten.layer_norm.default")
def lower_layer_norm(ctx: LoweringContext, node: Node) -> None:
    args = list(node.args) + [None] * (5 - len(node.args))
    x_arg, normalized, w_arg, b_arg, eps = args[:5]
    x = ctx.float_value(x_arg, Layout.PLAIN)
    shape = logical(ctx.tensor(x))
    if list(normalized) != [shape[-1]]:  # type: ignore[call-overload]
        raise EdgebuildError(
            f"{node.name}: layer_norm over {list(normalized)} of {shape}: only the last dimension is supported"  # type: ignore[call-overload]
        )
    g = (
        -1
        if w_arg is None
        else ctx.program.add_constant(f"{node.name}.weight", ctx.float_constant(w_arg), DType.FLOAT32)
    )
    b = (
        -1
        if b_arg is None
        else ctx.program.add_constant(f"{node.name}.bias", ctx.float_constant(b_arg), DType.FLOAT32)
    )
    y = ctx.new_float(node, shape)
    params = LayerNormFloatParams(eps=1e-5 if eps is None else float(eps))  # type: ignore[arg-type]
    ctx.add_op(node, [x, g, b], [y], params)
