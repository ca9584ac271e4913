"""What the elementwise families (arith.py, compare.py, cast.py) share: operand values of a dtype in PLAIN layout,
python scalars as constants, CAST, and one ELEMENTWISE op with its operands broadcast to the output's rank.

bool tensors are INT32 0/1 and int64 tensors INT32 (constants are range-checked); float64/float16 are FLOAT32.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import DType, Layout, Tensor
from ...ir_ops import BinaryFunc, CastParams, ElementwiseParams
from ..context import FloatBlocked, LoweringContext, logical, node_shape
from .elementwise import broadcast_operand

Scalar = int | float | bool


def ir_dtype(dtype: torch.dtype) -> DType:
    """The IR dtype holding a torch dtype's values."""
    return DType.FLOAT32 if dtype.is_floating_point else DType.INT32


def node_dtype(node: Node) -> torch.dtype:
    val = node.meta.get("val")
    if not isinstance(val, torch.Tensor):
        raise EdgebuildError(f"{node.name}: no dtype recorded by torch.export")
    return val.dtype


def meta_operand(arg: object) -> torch.Tensor:
    """A stand-in (meta device) for torch's type promotion: a node's tensor, or a wrapped python number."""
    if isinstance(arg, Node):
        val = arg.meta.get("val")
        if isinstance(val, torch.Tensor):
            return torch.empty(val.shape, dtype=val.dtype, device="meta")
        if isinstance(val, (int, float, bool)):
            arg = val
        else:
            raise EdgebuildError(f"{arg.name}: no dtype recorded by torch.export")
    if isinstance(arg, (bool, int, float)):
        return torch.tensor(arg)  # a 0-d "wrapped number" for result_type
    raise EdgebuildError(f"{arg!r} is not a tensor or a number")


def compute_dtype(a: object, b: object) -> DType:
    """The dtype torch computes a binary op of `a` and `b` in (torch.result_type)."""
    ta, tb = meta_operand(a), meta_operand(b)
    if not isinstance(a, Node):
        ta = a  # type: ignore[assignment]
    if not isinstance(b, Node):
        tb = b  # type: ignore[assignment]
    return ir_dtype(torch.result_type(ta, tb))  # type: ignore[arg-type]


def constant(ctx: LoweringContext, name: str, value: np.ndarray | Scalar, dtype: DType) -> int:
    """A constant tensor of `dtype` (an int value out of int32's range is refused)."""
    arr = np.asarray(value)
    if dtype == DType.INT32 and arr.size:
        if arr.dtype.kind == "f":
            raise EdgebuildError(f"{name}: a float constant where an integer tensor is needed")
        if arr.min() < -(2**31) or arr.max() >= 2**31:
            raise EdgebuildError(f"{name}: an integer constant does not fit int32 (edgebuild narrows int64)")
    return ctx.program.add_constant(name, arr.astype(dtype.numpy), dtype)


def value(ctx: LoweringContext, node: Node, arg: object, dtype: DType, tag: str) -> int:
    """`arg` (a node's value, a constant or a python number) as a PLAIN tensor of `dtype` (a CAST when needed)."""
    if not isinstance(arg, Node):
        if not isinstance(arg, (bool, int, float)):
            raise EdgebuildError(f"{node.name}: operand {arg!r} is not a tensor or a number")
        v = float(arg) if dtype == DType.FLOAT32 else int(arg)
        return constant(ctx, f"{node.name}.{tag}", np.array(v), dtype)
    if arg.op == "get_attr" and arg not in ctx.fvalues:
        data = ctx.constant(arg)
        want = DType.FLOAT32 if data.dtype.kind == "f" else DType.INT32
        ctx.fvalues[arg] = {Layout.PLAIN: constant(ctx, arg.name, data, want)}
    tid = ctx.float_value(arg, Layout.PLAIN)
    return cast(ctx, node, tid, dtype, tag)


def cast(ctx: LoweringContext, node: Node, tid: int, dtype: DType, tag: str, to_bool: bool = False) -> int:
    """Tensor `tid` converted to `dtype` (CAST; the tensor itself when it already is and no bool is asked)."""
    t = ctx.tensor(tid)
    if t.dtype == dtype and not to_bool:
        return tid
    if t.dtype not in (DType.FLOAT32, DType.INT32):
        raise FloatBlocked(f"{t.name} is {t.dtype.name}")
    out = ctx.program.add_tensor(Tensor(f"{node.name}.{tag}.cast", dtype, t.shape, layout=t.layout))
    ctx.add_op(node, [tid], [out], CastParams(to_bool=to_bool), name=f"{node.name}.{tag}.cast")
    return out


def new_value(ctx: LoweringContext, node: Node, dtype: DType, shape: tuple[int, ...] | None = None) -> int:
    """The PLAIN output tensor of `node` (its recorded shape unless given), FLOAT32 or INT32."""
    shape = node_shape(node) if shape is None else shape
    if dtype == DType.FLOAT32:
        return ctx.new_float(node, shape, Layout.PLAIN)
    tid = ctx.program.add_tensor(Tensor(node.name, dtype, shape))
    ctx.fvalues[node] = {Layout.PLAIN: tid}
    return tid


def elementwise(
    ctx: LoweringContext, node: Node, func: BinaryFunc, a: int, b: int, out: int | None = None
) -> int:
    """ELEMENTWISE func(a, b) into `node`'s value (or `out`), the operands reshaped to the output's rank."""
    shape = node_shape(node) if out is None else logical(ctx.tensor(out))
    a = broadcast_operand(ctx, node, a, shape, Layout.PLAIN)
    b = broadcast_operand(ctx, node, b, shape, Layout.PLAIN)
    if out is None:
        is_cmp = BinaryFunc.EQ <= func <= BinaryFunc.LOGICAL_XOR
        out = new_value(ctx, node, DType.INT32 if is_cmp else ctx.tensor(a).dtype)
    name = node.name if node in ctx.fvalues and ctx.fvalues[node].get(Layout.PLAIN) == out else None
    ctx.add_op(
        node, [a, b], [out], ElementwiseParams(func=func), name=name or f"{node.name}.{func.name.lower()}"
    )
    return out


def temp_value(ctx: LoweringContext, node: Node, tag: str, dtype: DType) -> int:
    """An intermediate PLAIN tensor of `node`'s shape."""
    return ctx.program.add_tensor(Tensor(f"{node.name}.{tag}", dtype, node_shape(node)))
