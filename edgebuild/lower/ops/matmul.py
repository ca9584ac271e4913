"""BATCH_MATMUL: the product of two activations (aten.matmul / bmm / mm, addmm) in int8 (eq. 6 with one multiplier)
and in float, and its PT2E annotation. torch.matmul's rules: a 1-D operand gains an axis of size 1 (dropped from the
result), batch dims broadcast (lower/ops/broadcast.py). A product by a constant 2-D matrix (mm / addmm / matmul by a
weight, as decomposed linear layers and LSTM / GRU cells are) is a float FULLY_CONNECTED with the transposed
weight."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import DType, Layout, Tensor
from ...ir_ops import (
    AddFloatParams,
    BatchMatmulFloatParams,
    BatchMatmulInt8Params,
    FullyConnectedFloatParams,
    ReshapeParams,
    TransposeParams,
)
from ...qmath import quantize_multiplier
from ..context import (
    CHANNEL_DEQUANTIZE,
    DEQUANTIZE_NODES,
    LoweringContext,
    NotQuantized,
    logical,
    node_shape,
    physical,
)
from ..registry import register, register_annotation, register_float
from .broadcast import broadcast_shape, expand_plain, reshape_plain

if TYPE_CHECKING:
    from ...quantize import Annotator

MAX_BMM_K = 33025  # docs/artifact.md BATCH_MATMUL: 33025 · 255² < 2^31


def plain_int8(ctx: LoweringContext, node: Node, tid: int) -> int:
    """The plain (PyTorch-order) int8 tensor of `tid`: a TRANSPOSE of a 4-D NHWC tensor, else `tid` itself."""
    t = ctx.tensor(tid)
    if t.layout != Layout.NHWC:
        return tid
    plain = ctx.program.add_tensor(Tensor(f"{t.name}.plain", DType.INT8, logical(t), t.scale, t.zero_point))
    ctx.add_op(node, [tid], [plain], TransposeParams(perm=[0, 3, 1, 2]), name=f"{t.name}.to_plain")
    return plain


MATMUL_OPS = ("aten.matmul.default", "aten.bmm.default", "aten.mm.default")


def matmul_shapes(
    sa: tuple[int, ...], sb: tuple[int, ...]
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """(a's, b's and the product's shapes as batched matrices with broadcast batch dims) for torch.matmul."""
    a2 = (1, *sa) if len(sa) == 1 else sa
    b2 = (*sb, 1) if len(sb) == 1 else sb
    if not sa or not sb or a2[-1] != b2[-2]:
        raise EdgebuildError(f"matmul of {sa} and {sb}: the inner dimensions differ")
    batch = broadcast_shape(a2[:-2], b2[:-2])
    return (*batch, *a2[-2:]), (*batch, *b2[-2:]), (*batch, a2[-2], b2[-1])


def _batched(ctx: LoweringContext, node: Node, tid: int, full: tuple[int, ...], tag: str) -> int:
    """Plain `tid` as the batched matrix `full`: a 1-D operand reshaped, batch dims broadcast."""
    t = ctx.tensor(tid)
    if len(t.shape) == 1:
        tid = reshape_plain(ctx, node, tid, (1, t.shape[0]) if tag == "a" else (t.shape[0], 1), f"{tag}.2d")
    return expand_plain(ctx, node, tid, full, tag)


def is_constant(arg: object) -> bool:
    """A weight: a get_attr, or PT2E's dequantize of one."""
    if not isinstance(arg, Node):
        return False
    if arg.op == "get_attr":
        return True
    return (
        arg.target in DEQUANTIZE_NODES | CHANNEL_DEQUANTIZE and getattr(arg.args[0], "op", "") == "get_attr"
    )


@register_annotation(*MATMUL_OPS)
def annotate_matmul(q: Annotator, node: Node) -> None:
    """Both operands int8 activations, own output observer; a product by a constant stays float (FULLY_CONNECTED)."""
    a, b = node.args[0], node.args[1]
    sa, sb = (q.shape(v) if isinstance(v, Node) else None for v in (a, b))
    if sa is None or sb is None or is_constant(a) or is_constant(b):
        return
    try:
        matmul_shapes(sa, sb)
    except EdgebuildError:
        return
    assert isinstance(a, Node) and isinstance(b, Node)
    q.mark(node, {a: q.act, b: q.act} if a is not b else {a: q.act}, q.act)


@register(*MATMUL_OPS)
def lower_matmul_int8(ctx: LoweringContext, node: Node) -> None:
    """The product of two int8 activations (eq. 6 with one multiplier s_a·s_b/s_y). Operates on the plain
    (PyTorch-order) bytes: a 4-D int8 activation is stored NHWC, so it is transposed to plain first and the
    result back (attention tensors [B, heads, T, d] are not images)."""
    a, b = ctx.input(node.args[0]), ctx.input(node.args[1])
    at, bt = ctx.tensor(a), ctx.tensor(b)
    sa, sb = logical(at), logical(bt)
    try:
        fa, fb, full = matmul_shapes(sa, sb)
    except EdgebuildError as e:
        raise EdgebuildError(f"{node.name}: {e}") from None
    if sa[-1] > MAX_BMM_K:
        raise NotQuantized(f"{node.name}: K = {sa[-1]} exceeds the int32 accumulator's range in int8")
    out = node_shape(node)
    qnode, _, _ = ctx.output_quant(node)  # before anything is emitted: NotQuantized leaves no trace
    a, b = plain_int8(ctx, node, a), plain_int8(ctx, node, b)
    a, b = _batched(ctx, node, a, fa, "a"), _batched(ctx, node, b, fb, "b")
    scale_y = float(qnode.args[1])  # type: ignore[arg-type]
    mult, shift = quantize_multiplier(at.scale * bt.scale / scale_y)
    shape, layout = physical(out)
    if layout == Layout.PLAIN and full == out:
        y, amin, amax = ctx.new_output(node, shape, layout)
        params = BatchMatmulInt8Params(transpose_b=False, mult=mult, shift=shift, act_min=amin, act_max=amax)
        ctx.add_op(node, [a, b], [y], params)
        return
    zp = int(qnode.args[2])  # type: ignore[call-overload]
    flat = ctx.program.add_tensor(Tensor(f"{node.name}.plain", DType.INT8, full, scale_y, zp))
    params = BatchMatmulInt8Params(transpose_b=False, mult=mult, shift=shift, act_min=-128, act_max=127)
    ctx.add_op(node, [a, b], [flat], params)
    y, _, _ = ctx.new_output(node, shape, layout)
    if layout == Layout.NHWC:
        flat = reshape_plain(ctx, node, flat, out, "squeeze")
        ctx.add_op(node, [flat], [y], TransposeParams(perm=[0, 2, 3, 1]), name=f"{node.name}.to_nhwc")
    else:
        ctx.add_op(node, [flat], [y], ReshapeParams(), name=f"{node.name}.squeeze")


def product_f32(ctx: LoweringContext, node: Node, a_arg: object, b_arg: object, y: int, alpha: float) -> None:
    """y = alpha · (a @ b) in float (torch.matmul's rules; y plain, of the product's shape)."""
    yt = ctx.tensor(y)
    if is_constant(b_arg) and alpha == 1.0 and len(node_shape(b_arg)) == 2:  # type: ignore[arg-type]
        w = ctx.float_constant(b_arg).T
        w_id = ctx.program.add_constant(f"{node.name}.weight", w, DType.FLOAT32)
        x = ctx.float_value(a_arg, Layout.PLAIN)
        ctx.add_op(node, [x, w_id, -1], [y], FullyConnectedFloatParams(lo=-math.inf, hi=math.inf))
        return
    a, b = ctx.float_value(a_arg, Layout.PLAIN), ctx.float_value(b_arg, Layout.PLAIN)
    try:
        fa, fb, full = matmul_shapes(logical(ctx.tensor(a)), logical(ctx.tensor(b)))
    except EdgebuildError as e:
        raise EdgebuildError(f"{node.name}: {e}") from None
    a, b = _batched(ctx, node, a, fa, "a"), _batched(ctx, node, b, fb, "b")
    params = BatchMatmulFloatParams(transpose_b=False, alpha=alpha)
    if full == yt.shape:
        ctx.add_op(node, [a, b], [y], params)
        return
    flat = ctx.program.add_tensor(Tensor(f"{node.name}.full", DType.FLOAT32, full))
    ctx.add_op(node, [a, b], [flat], params)
    ctx.add_op(node, [flat], [y], ReshapeParams(), name=f"{node.name}.squeeze")


@register_float(*MATMUL_OPS)
def lower_matmul(ctx: LoweringContext, node: Node) -> None:
    y = ctx.new_float(node, node_shape(node))
    product_f32(ctx, node, node.args[0], node.args[1], y, 1.0)


@register_float("aten.addmm.default")
def lower_addmm(ctx: LoweringContext, node: Node) -> None:
    """beta · input + alpha · (mat1 @ mat2): a FULLY_CONNECTED with bias for a constant mat2 and bias (a decomposed
    linear layer), else the product and an ADD (beta folded into a constant input; 1 for a computed one)."""
    names = ["input", "mat1", "mat2", "beta", "alpha"]
    args = dict(zip(names, node.args)) | dict(node.kwargs)
    beta, alpha = float(args.get("beta", 1)), float(args.get("alpha", 1))  # type: ignore[arg-type]
    bias, m1, m2 = args["input"], args["mat1"], args["mat2"]
    out = node_shape(node)
    y = ctx.new_float(node, out)
    if is_constant(m2) and is_constant(bias) and alpha == 1.0 and beta == 1.0:
        b = ctx.float_constant(bias)
        if b.size == out[1] and b.ndim <= 2:
            w_id = ctx.program.add_constant(f"{node.name}.weight", ctx.float_constant(m2).T, DType.FLOAT32)
            b_id = ctx.program.add_constant(f"{node.name}.bias", b.reshape(-1), DType.FLOAT32)
            x = ctx.float_value(m1, Layout.PLAIN)
            ctx.add_op(node, [x, w_id, b_id], [y], FullyConnectedFloatParams(lo=-math.inf, hi=math.inf))
            return
    prod = ctx.program.add_tensor(Tensor(f"{node.name}.product", DType.FLOAT32, out))
    product_f32(ctx, node, m1, m2, prod, alpha)
    if is_constant(bias):
        c = ctx.float_constant(bias).astype(np.float64) * beta
        b_id = ctx.program.add_constant(
            f"{node.name}.input", c.reshape((1,) * (2 - c.ndim) + c.shape), DType.FLOAT32
        )
    elif beta == 1.0:
        b_id = ctx.float_value(bias, Layout.PLAIN)
        b_id = reshape_plain(
            ctx, node, b_id, (1,) * (2 - len(ctx.tensor(b_id).shape)) + ctx.tensor(b_id).shape, "in"
        )
    else:
        raise EdgebuildError(f"{node.name}: addmm with beta = {beta} and a computed input is not supported")
    ctx.add_op(node, [prod, b_id], [y], AddFloatParams(lo=-math.inf, hi=math.inf), name=f"{node.name}.add")
