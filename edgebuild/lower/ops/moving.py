"""Shared machinery of the data-movement lowerings (movement.py, index.py, scatter.py): values in PLAIN layout of any
dtype (float32, int32 for ids and bool masks, int8 keeping the input's scale and zero point), index operands
(constant or computed) and the `mover` decorator that registers one builder as an op's int8 lowering, its float
lowering and its PT2E annotation (the output shares the input's quantization).

A builder writes `out` from `x`, both PLAIN; in int8 a 4-D NHWC input is transposed to PLAIN first and a 4-D result
is transposed back to NHWC (the layout every int8 4-D activation has).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import DType, Layout, Tensor
from ...ir_ops import GatherParams, OpParams, ReshapeParams, TransposeParams
from ..context import LoweringContext, node_shape, physical
from ..registry import register, register_annotation, register_float

if TYPE_CHECKING:
    from ...quantize import Annotator

TO_NCHW = [0, 3, 1, 2]
TO_NHWC = [0, 2, 3, 1]
Builder = Callable[[LoweringContext, Node, int, int], None]
# Nodes that pass an index constant through unchanged (torch.tensor([...]) in a model exports as a lifted copy).
_PASS_THROUGH = {"clone", "lift_fresh_copy", "detach", "detach_", "alias", "_to_copy", "contiguous"}
I32 = (-(2**31), 2**31 - 1)


def float_input(x: object) -> bool:
    """Is the first operand a float tensor (only those are quantized; ids and masks stay int32)."""
    val = x.meta.get("val") if isinstance(x, Node) else None
    return isinstance(val, torch.Tensor) and val.dtype.is_floating_point


def annotate_moved(q: Annotator, node: Node) -> None:
    """The output shares the (int8) input's quantization; integer inputs are never observed."""
    x = node.args[0]
    if isinstance(x, Node) and float_input(x) and q.int8_output(x):
        q.mark(node, {x: q.act}, q.shared(x, node))


# --- values -------------------------------------------------------------------------------------------------------


def like(
    ctx: LoweringContext, tid: int, name: str, shape: tuple[int, ...], dtype: DType | None = None
) -> int:
    """A PLAIN arena tensor with `tid`'s dtype (or `dtype`) and quantization."""
    t = ctx.tensor(tid)
    dt = dtype or t.dtype
    scale, zp = (t.scale, t.zero_point) if dt == DType.INT8 else (0.0, 0)
    return ctx.program.add_tensor(Tensor(name, dt, tuple(shape), scale, zp, Layout.PLAIN))


def new_value(ctx: LoweringContext, node: Node, shape: tuple[int, ...], dtype: DType) -> int:
    """The float-path output of `node` (float32, or int32 for integer results): PLAIN."""
    tid = ctx.program.add_tensor(Tensor(node.name, dtype, tuple(shape)))
    ctx.fvalues[node] = {Layout.PLAIN: tid}
    return tid


def plain_int8(ctx: LoweringContext, node: Node, arg: object) -> int:
    """The int8 tensor behind `arg` (a dequantize node), PLAIN (NotQuantized when it is not int8)."""
    x = ctx.input(arg)
    xt = ctx.tensor(x)
    if xt.layout != Layout.NHWC:
        return x
    n, h, w, c = xt.shape
    y = like(ctx, x, f"{node.name}.{xt.name}.nchw", (n, c, h, w))
    ctx.add_op(node, [x], [y], TransposeParams(perm=TO_NCHW), name=f"{node.name}.to_nchw")
    return y


def value(ctx: LoweringContext, node: Node, arg: object, x: int) -> int:
    """A second data operand (scatter's src) in the form of `x`: int8 with x's quantization, or float/int32."""
    if ctx.tensor(x).dtype == DType.INT8:
        return plain_int8(ctx, node, arg)
    return ctx.float_value(arg, Layout.PLAIN)


def op(ctx: LoweringContext, node: Node, ins: list[int], out: int, params: OpParams, tag: str = "") -> None:
    ctx.add_op(node, ins, [out], params, name=f"{node.name}.{tag}" if tag else None)


def reshape(ctx: LoweringContext, node: Node, x: int, shape: tuple[int, ...], tag: str) -> int:
    if ctx.tensor(x).shape == tuple(shape):
        return x
    y = like(ctx, x, f"{node.name}.{tag}", shape)
    op(ctx, node, [x], y, ReshapeParams(), tag)
    return y


def transpose(ctx: LoweringContext, node: Node, x: int, perm: list[int], tag: str) -> int:
    if perm == list(range(len(perm))):
        return x
    shape = ctx.tensor(x).shape
    y = like(ctx, x, f"{node.name}.{tag}", tuple(shape[p] for p in perm))
    op(ctx, node, [x], y, TransposeParams(perm=perm), tag)
    return y


def gather(
    ctx: LoweringContext, node: Node, x: int, axis: int, idx: int, tag: str, out: int | None = None
) -> int:
    """GATHER of x along `axis` by the int32 tensor idx (into `out` when given)."""
    shape = ctx.tensor(x).shape
    ishape = ctx.tensor(idx).shape
    y_shape = shape[:axis] + ishape + shape[axis + 1 :]
    y = like(ctx, x, f"{node.name}.{tag}", y_shape) if out is None else out
    op(ctx, node, [x, idx], y, GatherParams(axis=axis), tag)
    return y


def gather_const(
    ctx: LoweringContext, node: Node, x: int, axis: int, index: np.ndarray, tag: str, out: int | None = None
) -> int:
    """GATHER with constant indices (flip, roll, padding, select, repeat): the identity is no op unless `out`."""
    n = ctx.tensor(x).shape[axis]
    if out is None and index.ndim == 1 and len(index) == n and (index == np.arange(n)).all():
        return x
    idx = ctx.program.add_constant(f"{node.name}.{tag}.idx", index, DType.INT32)
    return gather(ctx, node, x, axis, idx, tag, out)


def finish(ctx: LoweringContext, node: Node, y: int, out: int, tag: str = "out") -> None:
    """Copy the last intermediate `y` into the node's output `out` (a RESHAPE, the byte copy) unless y is out."""
    if y != out:
        op(ctx, node, [y], out, ReshapeParams(), tag)


# --- index operands -----------------------------------------------------------------------------------------------


def _short(node: Node) -> str:
    parts = str(node.target).split(".")
    return parts[-2] if len(parts) > 1 else parts[0]


def constant_of(ctx: LoweringContext, arg: object) -> np.ndarray | None:
    """The value of a constant tensor operand (through lifted copies), or None for a computed one."""
    while isinstance(arg, Node) and arg.op == "call_function" and _short(arg) in _PASS_THROUGH:
        arg = arg.args[0]
    if isinstance(arg, Node) and arg.op == "get_attr":
        return ctx.constant(arg)
    return None


def narrow(node: Node, values: np.ndarray) -> np.ndarray:
    """int64 / bool index values as int32 (EdgebuildError when one does not fit)."""
    v = np.asarray(values)
    if v.dtype == np.bool_:
        return v.astype(np.int32)
    if not np.issubdtype(v.dtype, np.integer):
        raise EdgebuildError(f"{node.name}: index tensor of dtype {v.dtype}, expected an integer tensor")
    if v.size and (v.min() < I32[0] or v.max() > I32[1]):
        raise EdgebuildError(f"{node.name}: index values outside int32 ({v.min()}..{v.max()})")
    return v.astype(np.int32)


def index_operand(ctx: LoweringContext, node: Node, arg: object, size: int | None = None) -> int:
    """The int32 tensor of an index operand: a constant (normalized into [0, size) when size is given, checked)
    or a computed int32 value (run-time: out-of-range indices read zeros / are skipped by the kernels)."""
    c = constant_of(ctx, arg)
    if c is not None:
        v = narrow(node, c)
        if size is not None:
            if v.size and (v.min() < -size or v.max() >= size):
                raise EdgebuildError(
                    f"{node.name}: index {int(v.min()) if v.min() < -size else int(v.max())} is out of range for "
                    f"a dim of size {size}"
                )
            v = np.where(v < 0, v + size, v).astype(np.int32)
        return ctx.program.add_constant(f"{node.name}.{getattr(arg, 'name', 'idx')}", v, DType.INT32)
    tid = ctx.float_value(arg, Layout.PLAIN)
    if ctx.tensor(tid).dtype != DType.INT32:
        raise EdgebuildError(f"{node.name}: index {getattr(arg, 'name', arg)} is not an integer tensor")
    return tid


# --- registration -------------------------------------------------------------------------------------------------


def lower_moved_int8(ctx: LoweringContext, node: Node, build: Builder, arg: object = None) -> None:
    """The int8 lowering of a builder: PLAIN int8 input (node.args[0], or `arg`), a 4-D result transposed back to
    NHWC."""
    x = plain_int8(ctx, node, node.args[0] if arg is None else arg)
    shape = node_shape(node)
    phys, layout = physical(shape)
    y, _, _ = ctx.new_output(node, phys, layout)
    if layout == Layout.NHWC:
        out = like(ctx, x, f"{node.name}.plain", shape)
        build(ctx, node, x, out)
        op(ctx, node, [out], y, TransposeParams(perm=TO_NHWC), "to_nhwc")
    else:
        build(ctx, node, x, y)


def lower_moved_float(
    ctx: LoweringContext, node: Node, build: Builder, arg: object = None, dtype: DType | None = None
) -> None:
    """The float lowering of a builder: PLAIN input (node.args[0], or `arg`) and output of the input's dtype
    (float32 or int32; or `dtype`)."""
    x = ctx.float_value(node.args[0] if arg is None else arg, Layout.PLAIN)
    out = new_value(ctx, node, node_shape(node), dtype or ctx.tensor(x).dtype)
    try:
        build(ctx, node, x, out)
    except BaseException:
        del ctx.fvalues[node]  # the walker undoes the tensors and ops; the value must go with them
        raise


def mover(*names: str, annotate: bool = True) -> Callable[[Builder], Builder]:
    """Register `build(ctx, node, x, out)` as the int8 and float lowering of `names` (and the shared-quantization
    annotation). x is the first operand, PLAIN; out is the PLAIN output of node_shape(node) and x's dtype."""

    def deco(build: Builder) -> Builder:
        def lower_int8(ctx: LoweringContext, node: Node) -> None:
            lower_moved_int8(ctx, node, build)

        def lower_float(ctx: LoweringContext, node: Node) -> None:
            lower_moved_float(ctx, node, build)

        lower_int8.__qualname__ = f"{build.__qualname__}.int8"
        lower_float.__qualname__ = f"{build.__qualname__}.float"
        register(*names)(lower_int8)
        register_float(*names)(lower_float)
        if annotate:
            register_annotation(*names)(annotate_moved)
        return build

    return deco
