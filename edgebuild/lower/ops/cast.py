"""Copies and dtype conversions: _to_copy (CAST, or the value itself when the dtype does not change in the IR:
float64 / float16 are float32 there, int64 is int32, bool is int32 0/1), copy, detach, lift_fresh_copy (the value
itself; clone, alias and contiguous are shape.py's identities)."""

from __future__ import annotations

import torch
from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import DType, Layout
from ..context import LoweringContext
from ..registry import register_float
from .ewvalue import cast, ir_dtype, node_dtype, value


@register_float("aten._to_copy.default", "aten.to.dtype", "aten._to_dim_order_copy.default")
def lower_to_copy(ctx: LoweringContext, node: Node) -> None:
    x = node.args[0]
    if not isinstance(x, Node):
        raise EdgebuildError(f"{node.name}: _to_copy of {x!r}")
    src, dst = node_dtype(x), node_dtype(node)
    tid = value(ctx, node, x, ir_dtype(src), "x") if x.op == "get_attr" else ctx.float_value(x)
    to_bool = dst == torch.bool and src != torch.bool
    out = cast(ctx, node, tid, ir_dtype(dst), "to", to_bool=to_bool)
    if out == tid and ctx.tensor(tid).dtype == DType.FLOAT32 and x.op != "get_attr" and x in ctx.fvalues:
        ctx.fvalues[node] = dict(ctx.fvalues[x])  # every layout x has
        return
    ctx.fvalues[node] = {ctx.tensor(out).layout: out}


@register_float("aten.copy.default", "aten.detach.default", "aten.lift_fresh_copy.default")
def lower_identity(ctx: LoweringContext, node: Node) -> None:
    """The value itself (copy(dst, src) is src's value, broadcast to dst's shape when it is smaller)."""
    src = node.args[1] if "copy.default" in str(node.target) and len(node.args) > 1 else node.args[0]
    if not isinstance(src, Node):
        raise EdgebuildError(f"{node.name}: copy of {src!r}")
    if src.op == "get_attr":
        value(ctx, node, src, ir_dtype(node_dtype(src)), "x")
    val, sval = node.meta.get("val"), src.meta.get("val")
    if (
        isinstance(val, torch.Tensor)
        and isinstance(sval, torch.Tensor)
        and tuple(val.shape) != tuple(sval.shape)
    ):
        raise EdgebuildError(f"{node.name}: copy that broadcasts {tuple(sval.shape)} to {tuple(val.shape)}")
    if src not in ctx.fvalues:
        ctx.float_value(src, Layout.PLAIN)
    ctx.fvalues[node] = dict(ctx.fvalues[src])


@register_float("aten._assert_tensor_metadata.default", "aten._assert_scalar.default")
def lower_assert(ctx: LoweringContext, node: Node) -> None:
    """torch.export's metadata checks (around a dtype conversion): nothing to run."""
