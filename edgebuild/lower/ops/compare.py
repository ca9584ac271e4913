"""Comparisons, logical ops, isnan / isinf, where and masked_fill: float32 or int32 operands, bool (int32 0/1)
results through ELEMENTWISE and WHERE. They run in float: PT2E leaves bool tensors unquantized, and an int8 operand
is dequantized first (a comparison of dequantized values is what PT2E's reference computes)."""

from __future__ import annotations

import math

from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import DType
from ...ir_ops import BinaryFunc, UnaryFloatParams, UnaryFunc, WhereParams
from ..context import LoweringContext, node_shape, op_name
from ..registry import register_float
from .elementwise import broadcast_operand
from .ewvalue import compute_dtype, elementwise, ir_dtype, new_value, node_dtype, temp_value, value

B = BinaryFunc
COMPARE = {"eq": B.EQ, "ne": B.NE, "lt": B.LT, "le": B.LE, "gt": B.GT, "ge": B.GE}
LOGICAL = {"logical_and": B.LOGICAL_AND, "logical_or": B.LOGICAL_OR, "logical_xor": B.LOGICAL_XOR}


def _base(node: Node) -> str:
    return op_name(node).split(".")[1].rstrip("_")


@register_float(
    *(f"aten.{n}.{ov}" for n in COMPARE for ov in ("Tensor", "Scalar")),
    *(f"aten.{n}.default" for n in LOGICAL),
)
def lower_compare(ctx: LoweringContext, node: Node) -> None:
    """EQ..GE in torch's promoted dtype; logical ops on each operand's own dtype (nonzero is true)."""
    a, b = node.args[0], node.args[1]
    base = _base(node)
    if base in COMPARE:
        work = compute_dtype(a, b)
        func = COMPARE[base]
    else:
        work, func = compute_dtype(a, b), LOGICAL[base]
    ta, tb = value(ctx, node, a, work, "a"), value(ctx, node, b, work, "b")
    elementwise(ctx, node, func, ta, tb)


@register_float("aten.logical_not.default", "aten.bitwise_not.default")
def lower_not(ctx: LoweringContext, node: Node) -> None:
    """logical_not: x == 0; bitwise_not: x ^ -1 on integers, == 0 on bools (torch's ~ of a bool)."""
    x = node.args[0]
    assert isinstance(x, Node)
    dt = ir_dtype(node_dtype(x))
    tx = value(ctx, node, x, dt, "x")
    if _base(node) == "bitwise_not" and node_dtype(node) != __import__("torch").bool:
        elementwise(ctx, node, B.BITWISE_XOR, tx, value(ctx, node, -1, DType.INT32, "ones"))
        return
    elementwise(ctx, node, B.EQ, tx, value(ctx, node, 0, dt, "zero"))


@register_float("aten.isnan.default", "aten.isinf.default")
def lower_isnan_isinf(ctx: LoweringContext, node: Node) -> None:
    """isnan: x != x; isinf: |x| == inf (an integer tensor: all false)."""
    x = node.args[0]
    assert isinstance(x, Node)
    if ir_dtype(node_dtype(x)) == DType.INT32:
        tx = value(ctx, node, x, DType.INT32, "x")
        elementwise(ctx, node, B.NE, tx, tx)  # false everywhere, of x's shape
        return
    tx = value(ctx, node, x, DType.FLOAT32, "x")
    if _base(node) == "isnan":
        elementwise(ctx, node, B.NE, tx, tx)
        return
    ab = temp_value(ctx, node, "abs", DType.FLOAT32)
    ctx.add_op(node, [tx, -1], [ab], UnaryFloatParams(func=UnaryFunc.ABS, alpha=0.0), name=f"{node.name}.abs")
    elementwise(ctx, node, B.EQ, ab, value(ctx, node, math.inf, DType.FLOAT32, "inf"))


def where(ctx: LoweringContext, node: Node, cond: object, a: object, b: object) -> None:
    """WHERE into `node`'s value: cond as int32 0/1, a and b in the node's dtype, all broadcast to its shape."""
    out_dtype = ir_dtype(node_dtype(node))
    shape = node_shape(node)
    tc = value(ctx, node, cond, DType.INT32, "cond")
    ta, tb = value(ctx, node, a, out_dtype, "a"), value(ctx, node, b, out_dtype, "b")
    ins = [
        broadcast_operand(ctx, node, t, shape, __import__("edgebuild.ir", fromlist=["Layout"]).Layout.PLAIN)
        for t in (tc, ta, tb)
    ]
    y = new_value(ctx, node, out_dtype)
    ctx.add_op(node, ins, [y], WhereParams())


@register_float("aten.where.self", "aten.where.ScalarSelf", "aten.where.ScalarOther", "aten.where.Scalar")
def lower_where(ctx: LoweringContext, node: Node) -> None:
    if len(node.args) != 3:
        raise EdgebuildError(f"{node.name}: where with one argument (nonzero) has a data-dependent shape")
    where(ctx, node, node.args[0], node.args[1], node.args[2])


@register_float(
    "aten.masked_fill.Scalar",
    "aten.masked_fill.Tensor",
    "aten.masked_fill_.Scalar",
    "aten.masked_fill_.Tensor",
)
def lower_masked_fill(ctx: LoweringContext, node: Node) -> None:
    """masked_fill(x, mask, v) = where(mask, v, x)."""
    x, mask, v = node.args[0], node.args[1], node.args[2]
    where(ctx, node, mask, v, x)
