"""Lowerings for flatten / view / reshape and cat: int8 moved, not computed.

4-D activations live as NHWC; PyTorch's reshapes are defined on NCHW order. A reshape of an NHWC tensor with more
than one spatial position therefore transposes to NCHW first (and back to NHWC when the result is 4-D again), as the
TFLite converter does. With a 1×1 spatial extent both orders are the same bytes and no transpose is needed.
"""

from __future__ import annotations

import torch
from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import Layout, OpCode, Tensor
from ...qmath import quantize_multiplier, quantize_value
from .. import NCHW_TO_NHWC_AXIS, LoweringContext, logical, node_shape, physical, register

TO_NCHW = [0, 3, 1, 2]  # y.dims[j] = x.dims[perm[j]]: NHWC -> NCHW
TO_NHWC = [0, 2, 3, 1]


def _spatial(shape: tuple[int, ...]) -> int:
    return shape[2] * shape[3] if len(shape) == 4 else 1


@register("aten.flatten.using_ints", "aten.view.default", "aten.reshape.default", "aten._unsafe_view.default")
def lower_reshape(ctx: LoweringContext, node: Node) -> None:
    x = ctx.input(node.args[0])
    xt = ctx.tensor(x)
    in_logical = logical(xt)
    out_logical = node_shape(node)
    out_shape, out_layout = physical(out_logical)
    if out_shape == xt.shape and out_layout == xt.layout:
        ctx.alias_output(node, x)
        return
    src = x
    if xt.layout == Layout.NHWC and _spatial(in_logical) > 1:
        src = ctx.temp(f"{node.name}.nchw", xt, in_logical, Layout.PLAIN)
        ctx.add_op(OpCode.TRANSPOSE, node, [x], [src], TO_NCHW, name=f"{node.name}.to_nchw")
    if out_layout == Layout.NHWC and _spatial(out_logical) > 1:
        flat = ctx.temp(f"{node.name}.reshaped", xt, out_logical, Layout.PLAIN)
        ctx.add_op(OpCode.RESHAPE, node, [src], [flat], [])
        y, _, _ = ctx.new_output(node, out_shape, out_layout)
        ctx.add_op(OpCode.TRANSPOSE, node, [flat], [y], TO_NHWC, name=f"{node.name}.to_nhwc")
    else:
        y, _, _ = ctx.new_output(node, out_shape, out_layout)
        ctx.add_op(OpCode.RESHAPE, node, [src], [y], [])


@register("aten.cat.default", "aten.concat.default")
def lower_cat(ctx: LoweringContext, node: Node) -> None:
    inputs = [ctx.input(a) for a in node.args[0]]  # type: ignore[union-attr]
    dim = int(node.args[1]) if len(node.args) > 1 else 0  # type: ignore[arg-type]
    out_logical = node_shape(node)
    rank = len(out_logical)
    dim %= rank
    shape, layout = physical(out_logical)
    if any(ctx.tensor(t).layout != layout for t in inputs):
        raise EdgebuildError(f"{node.name}: cat of tensors with different ranks is not supported")
    axis = NCHW_TO_NHWC_AXIS[dim] if layout == Layout.NHWC else dim
    y, _, _ = ctx.new_output(node, shape, layout)
    yt = ctx.tensor(y)
    params = [axis]
    for t in inputs:
        xt = ctx.tensor(t)
        if (xt.scale, xt.zero_point) == (yt.scale, yt.zero_point):
            params += [0, 0]
        else:  # docs/quantization.md (10)
            params += list(quantize_multiplier(xt.scale / yt.scale))
    ctx.add_op(OpCode.CONCAT, node, inputs, [y], params)


def _to_physical_axis(t: Tensor, axis: int) -> int:
    """A logical (PyTorch) axis of `t` -> its position in memory order."""
    axis %= max(len(t.shape), 1)
    return NCHW_TO_NHWC_AXIS[axis] if t.layout == Layout.NHWC else axis


@register("aten.permute.default", "aten.transpose.int")
def lower_permute(ctx: LoweringContext, node: Node) -> None:
    """A logical permutation p becomes the memory-order permutation q[j] = inv(Px)[p[Py[j]]] (Px, Py: each
    tensor's logical axis at memory position j); the identity is an alias, e.g. the last step of channel shuffle."""
    x = ctx.input(node.args[0])
    xt = ctx.tensor(x)
    rank = len(xt.shape)
    if node.target == torch.ops.aten.transpose.int:
        d0, d1 = int(node.args[1]) % rank, int(node.args[2]) % rank  # type: ignore[arg-type]
        perm = list(range(rank))
        perm[d0], perm[d1] = perm[d1], perm[d0]
    else:
        perm = [int(d) % rank for d in node.args[1]]  # type: ignore[union-attr]
    shape, layout = physical(node_shape(node))
    px_inv = list(NCHW_TO_NHWC_AXIS) if xt.layout == Layout.NHWC else list(range(rank))
    py = TO_NHWC if layout == Layout.NHWC else list(range(rank))
    q = [px_inv[perm[py[j]]] for j in range(rank)]
    if q == list(range(rank)) and shape == xt.shape:
        ctx.alias_output(node, x)
        return
    y, _, _ = ctx.new_output(node, shape, layout)
    ctx.add_op(OpCode.TRANSPOSE, node, [x], [y], q)


def _slice_op(ctx: LoweringContext, node: Node, x: int, y: int, axis: int, start: int, step: int) -> None:
    xt = ctx.tensor(x)
    rank = len(xt.shape)
    starts, steps = [0] * rank, [1] * rank
    phys = _to_physical_axis(xt, axis)
    starts[phys], steps[phys] = start, step
    ctx.add_op(OpCode.SLICE, node, [x], [y], starts + steps)


def _opt_int(v: object) -> int | None:
    return None if v is None else int(v)  # type: ignore[call-overload]


def slice_args(node: Node, xt: Tensor) -> tuple[int, int, int]:
    """aten.slice.Tensor(x, dim=0, start=None, end=None, step=1) -> (logical axis, begin, step) on `xt`.

    The fx `Argument` union is narrowed to ints here, once: handing it to `slice()` directly sends mypy through every
    overload of every union member (minutes per call site)."""
    args: list[object] = [*node.args, *([None] * (5 - len(node.args)))]
    axis = (_opt_int(args[1]) or 0) % len(xt.shape)
    start, end, step = (_opt_int(a) for a in args[2:5])
    begin, _, stride = slice(start, end, step).indices(logical(xt)[axis])
    return axis, begin, stride


@register("aten.slice.Tensor")
def lower_slice(ctx: LoweringContext, node: Node) -> None:
    x = ctx.input(node.args[0])
    xt = ctx.tensor(x)
    axis, begin, stride = slice_args(node, xt)
    shape, layout = physical(node_shape(node))
    if shape == xt.shape:
        ctx.alias_output(node, x)
        return
    if 0 in shape:
        raise EdgebuildError(f"{node.name}: slice gives an empty tensor {node_shape(node)}")
    y, _, _ = ctx.new_output(node, shape, layout)
    _slice_op(ctx, node, x, y, axis, begin, stride)


SPLITS = ("aten.split.Tensor", "aten.split_with_sizes.default", "aten.chunk.default")


@register(*SPLITS)
def lower_split(ctx: LoweringContext, node: Node) -> None:
    """Nothing here: each `getitem` of the split's tuple becomes one SLICE (lower_getitem)."""
    ctx.input(node.args[0])  # the input must be int8


@register("getitem")
def lower_getitem(ctx: LoweringContext, node: Node) -> None:
    """Part `index` of split / split_with_sizes / chunk: a SLICE starting after the parts before it."""
    from .. import op_name

    src, index = node.args[0], int(node.args[1])  # type: ignore[arg-type]
    if not isinstance(src, Node) or op_name(src) not in SPLITS:
        raise EdgebuildError(f"{node.name}: getitem of {getattr(src, 'name', src)} is not supported")
    x = ctx.input(src.args[0])
    xt = ctx.tensor(x)
    dim = src.args[2] if len(src.args) > 2 else src.kwargs.get("dim", 0)
    axis = int(dim) % len(xt.shape)  # type: ignore[call-overload]
    parts = src.meta.get("val")
    if not isinstance(parts, (list, tuple)):
        raise EdgebuildError(f"{src.name}: no shapes recorded by torch.export")
    start = sum(int(p.shape[axis]) for p in parts[:index])
    shape, layout = physical(node_shape(node))
    y, _, _ = ctx.new_output(node, shape, layout)
    _slice_op(ctx, node, x, y, axis, start, 1)


def pad_args(node: Node, xt: Tensor) -> tuple[list[int], list[int], float]:
    """(before, after) per stored dim of `xt` and the pad value of a constant pad node."""
    pads = [int(p) for p in node.args[1]]  # type: ignore[union-attr]
    if node.target == torch.ops.aten.pad.default:
        mode = node.args[2] if len(node.args) > 2 else node.kwargs.get("mode", "constant")
        value = node.args[3] if len(node.args) > 3 else node.kwargs.get("value")
        if mode != "constant":
            raise EdgebuildError(f"{node.name}: pad mode {mode!r} is not supported (only 'constant')")
    else:
        value = node.args[2] if len(node.args) > 2 else node.kwargs.get("value", 0.0)
    if any(p < 0 for p in pads):
        raise EdgebuildError(f"{node.name}: negative padding (cropping) is not supported; use slicing")
    rank = len(xt.shape)
    before, after = [0] * rank, [0] * rank
    for i in range(len(pads) // 2):  # pairs from the last logical dim backwards
        axis = _to_physical_axis(xt, rank - 1 - i)
        before[axis], after[axis] = pads[2 * i], pads[2 * i + 1]
    return before, after, float(value or 0.0)  # type: ignore[arg-type]


@register("aten.pad.default", "aten.constant_pad_nd.default")
def lower_pad(ctx: LoweringContext, node: Node) -> None:
    """Constant padding; the value is quantized with the (shared) output parameters, 0 -> the zero point exactly."""
    x = ctx.input(node.args[0])
    xt = ctx.tensor(x)
    before, after, value = pad_args(node, xt)
    shape, layout = physical(node_shape(node))
    y, _, _ = ctx.new_output(node, shape, layout)
    yt = ctx.tensor(y)
    code = max(-128, min(127, quantize_value(value, yt.scale, yt.zero_point)))
    ctx.add_op(OpCode.PAD, node, [x], [y], before + after + [code])
