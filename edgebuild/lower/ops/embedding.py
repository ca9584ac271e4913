"""EMBEDDING: aten.embedding, a float table looked up by integer token ids (a model input), float only."""

from __future__ import annotations

from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import DType
from ...ir_ops import EmbeddingFloatParams
from ..context import LoweringContext, node_shape
from ..registry import register_float


@register_float("aten.embedding.default")
def lower_embedding(ctx: LoweringContext, node: Node) -> None:
    table = ctx.float_constant(node.args[0])
    ids = ctx.float_value(node.args[1])
    if ctx.tensor(ids).dtype != DType.INT32:
        raise EdgebuildError(
            f"{node.name}: embedding indices must be an integer model input (token ids), not a computed tensor"
        )
    t_id = ctx.program.add_constant(f"{node.name}.table", table, DType.FLOAT32)
    y = ctx.new_float(node, node_shape(node))
    ctx.add_op(node, [t_id, ids], [y], EmbeddingFloatParams())
