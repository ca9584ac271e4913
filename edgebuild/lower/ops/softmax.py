"""SOFTMAX and log_softmax over any dim, and their PT2E annotation.

SOFTMAX of an int8 tensor is int8 (TFLite's int8 SOFTMAX, docs/quantization.md (17)-(21)): the quantizer annotates it
only behind an int8 producer (a softmax whose input is float — behind a dynamically quantized linear layer, a float
layer norm — stays float), with its output fixed to scale 1/256 and zero point −128, which the kernel writes. Rows
longer than 4095 (the int32 sum of (20)) and input scales below 2^−26 stay float. log_softmax is float only (the float
fallback runs it between int8 ops, lower/__init__.py).

SOFTMAX runs over the stored last axis: a 4-D tensor stored NHWC softmaxed over C (dim 1, a per-pixel class score
such as MTCNN's P-Net) needs nothing more; any other dim is swapped to the end by a TRANSPOSE and back.
log_softmax is the max-shifted logsumexp, never log(softmax) (which gives -inf where softmax underflows):
t = x - max(x), y = t - log(sum(exp(t))), with max and logsumexp as REDUCE (keepdim) and the differences as SUB.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch.fx import Node

from ..._torchao import pt2e
from ...errors import EdgebuildError
from ...ir import DType, Layout, Tensor
from ...ir_enums import ReduceFunc
from ...ir_ops import SoftmaxFloatParams, SoftmaxInt8Params, SubFloatParams, TransposeParams
from ...qmath import SOFTMAX_MAX_COLS, SOFTMAX_OUT_SCALE, SOFTMAX_OUT_ZP, softmax_params
from ..context import NCHW_TO_NHWC_AXIS, LoweringContext, NotQuantized, logical
from ..registry import register, register_annotation, register_float
from .reduce import emit_reduce

if TYPE_CHECKING:
    from ...quantize import Annotator

SOFTMAX_OPS = ("aten.softmax.int", "aten._softmax.default")


def stored_operand(ctx: LoweringContext, arg: object, dim: int) -> tuple[int, int]:
    """(tensor, stored axis of `dim`): the NHWC value of a 4-D tensor that has one (no TRANSPOSE), else PLAIN."""
    have = ctx.fvalues.get(arg) if isinstance(arg, Node) else None
    if have and Layout.PLAIN not in have and Layout.NHWC in have:
        return have[Layout.NHWC], NCHW_TO_NHWC_AXIS[dim]
    return ctx.float_value(arg, Layout.PLAIN), dim


def _dim(node: Node, rank: int) -> int:
    return int(node.args[1]) % max(rank, 1)  # type: ignore[call-overload]


def _out(ctx: LoweringContext, node: Node, like: int) -> int:
    t = ctx.tensor(like)
    y = ctx.program.add_tensor(Tensor(node.name, t.dtype, t.shape, layout=t.layout))
    ctx.fvalues[node] = {t.layout: y}
    return y


def _softmax_output_spec() -> object:
    """docs/quantization.md (21): TFLite's int8 SOFTMAX writes scale 1/256, zero point −128, whatever the data."""
    return pt2e.quantizer.FixedQParamsQuantizationSpec(
        dtype=torch.int8,
        scale=SOFTMAX_OUT_SCALE,
        zero_point=SOFTMAX_OUT_ZP,
        quant_min=-128,
        quant_max=127,
        qscheme=torch.per_tensor_affine,
    )


@register_annotation(*SOFTMAX_OPS)
def annotate_softmax(q: Annotator, node: Node) -> None:
    """int8 in, fixed (1/256, −128) out, behind an int8 producer only; half_to_float (fp16 models) stays float."""
    x = node.args[0]
    shape = q.shape(x) if isinstance(x, Node) else None
    if not isinstance(x, Node) or not shape or not q.int8_output(x):
        return
    if len(node.args) > 2 and node.args[2]:  # aten._softmax's half_to_float
        return
    if shape[_dim(node, len(shape))] > SOFTMAX_MAX_COLS:
        return
    q.mark(node, {x: q.act}, _softmax_output_spec())


@register(*SOFTMAX_OPS)
def lower_softmax_int8(ctx: LoweringContext, node: Node) -> None:
    """int8 SOFTMAX over the stored axis of `dim` (an NHWC tensor's channels need no TRANSPOSE); any other axis is
    swapped to the end by int8 TRANSPOSEs (codes move unchanged)."""
    x = ctx.input(node.args[0])
    xt = ctx.tensor(x)
    rank = len(xt.shape)
    if rank == 0:
        raise EdgebuildError(f"{node.name}: softmax of a 0-d tensor")
    dim = _dim(node, rank)
    axis = NCHW_TO_NHWC_AXIS[dim] if xt.layout == Layout.NHWC else dim
    qnode, _, _ = ctx.output_quant(node)
    scale, zp = float(qnode.args[1]), int(qnode.args[2])  # type: ignore[arg-type]
    if (scale, zp) != (SOFTMAX_OUT_SCALE, SOFTMAX_OUT_ZP):
        raise NotQuantized(
            f"{node.name}: int8 softmax writes scale 1/256, zero point -128, not {scale:g}, {zp}"
        )
    if xt.shape[axis] > SOFTMAX_MAX_COLS:
        raise NotQuantized(f"{node.name}: int8 softmax over {xt.shape[axis]} > {SOFTMAX_MAX_COLS} values")
    try:
        params = SoftmaxInt8Params(*softmax_params(xt.scale))
    except EdgebuildError as e:
        raise NotQuantized(f"{node.name}: {e}") from None
    y, _, _ = ctx.new_output(node, xt.shape, xt.layout)
    if axis == rank - 1:
        ctx.add_op(node, [x], [y], params)
        return
    perm = list(range(rank))
    perm[axis], perm[-1] = perm[-1], perm[axis]  # its own inverse
    swapped = tuple(xt.shape[p] for p in perm)
    prog = ctx.program
    a = prog.add_tensor(Tensor(f"{node.name}.in", DType.INT8, swapped, xt.scale, xt.zero_point))
    b = prog.add_tensor(Tensor(f"{node.name}.out", DType.INT8, swapped, SOFTMAX_OUT_SCALE, SOFTMAX_OUT_ZP))
    ctx.add_op(node, [x], [a], TransposeParams(perm=perm), name=f"{node.name}.to_last")
    ctx.add_op(node, [a], [b], params)
    ctx.add_op(node, [b], [y], TransposeParams(perm=perm), name=f"{node.name}.from_last")


@register_float(*SOFTMAX_OPS)
def lower_softmax(ctx: LoweringContext, node: Node) -> None:
    arg = node.args[0]
    x = ctx.float_value(arg)
    rank = len(ctx.tensor(x).shape)
    x, axis = stored_operand(ctx, arg, _dim(node, rank))
    if rank == 0:
        raise EdgebuildError(f"{node.name}: softmax of a 0-d tensor")
    y = _out(ctx, node, x)
    if axis == rank - 1:
        ctx.add_op(node, [x], [y], SoftmaxFloatParams())
        return
    perm = list(range(rank))
    perm[axis], perm[-1] = perm[-1], perm[axis]  # its own inverse
    xt = ctx.tensor(x)
    swapped = tuple(xt.shape[p] for p in perm)
    a = ctx.program.add_tensor(Tensor(f"{node.name}.in", xt.dtype, swapped))
    b = ctx.program.add_tensor(Tensor(f"{node.name}.out", xt.dtype, swapped))
    ctx.add_op(node, [x], [a], TransposeParams(perm=perm), name=f"{node.name}.to_last")
    ctx.add_op(node, [a], [b], SoftmaxFloatParams())
    ctx.add_op(node, [b], [y], TransposeParams(perm=perm), name=f"{node.name}.from_last")


@register_float("aten._log_softmax.default", "aten.log_softmax.int")
def lower_log_softmax(ctx: LoweringContext, node: Node) -> None:
    arg = node.args[0]
    rank = len(logical(ctx.tensor(ctx.float_value(arg))))
    x, axis = stored_operand(ctx, arg, _dim(node, rank))
    xt = ctx.tensor(x)
    kept = tuple(1 if k == axis else d for k, d in enumerate(xt.shape))
    no_bounds = SubFloatParams(lo=-math.inf, hi=math.inf)
    m = emit_reduce(ctx, node, x, ReduceFunc.MAX, [axis], kept, name=f"{node.name}.max", layout=xt.layout)
    t = ctx.program.add_tensor(Tensor(f"{node.name}.shifted", xt.dtype, xt.shape, layout=xt.layout))
    ctx.add_op(node, [x, m], [t], no_bounds, name=f"{node.name}.shift")
    lse = emit_reduce(
        ctx, node, t, ReduceFunc.LOGSUMEXP, [axis], kept, name=f"{node.name}.lse", layout=xt.layout
    )
    y = _out(ctx, node, x)
    ctx.add_op(node, [t, lse], [y], no_bounds, name=f"{node.name}.sub")
