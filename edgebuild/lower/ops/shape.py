"""RESHAPE, TRANSPOSE, CONCAT, SLICE: values moved, not computed — flatten / view / reshape, (un)squeeze, permute /
transpose, cat, slice / split / chunk and the identities (dropout, clone, ...), in int8 and in float,
and their PT2E annotations (the output shares the input's quantization; cat shares its first input's).

4-D activations live as NHWC; PyTorch's reshapes are defined on NCHW order. A reshape of an NHWC tensor with more
than one spatial position therefore transposes to NCHW first (and back to NHWC when the result is 4-D again), as the
TFLite converter does. With a 1×1 spatial extent both orders are the same bytes and no transpose is needed.
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING

import torch
from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import DType, Layout, Tensor
from ...ir_ops import (
    ConcatFloatParams,
    ConcatInt8Params,
    ReshapeParams,
    SliceFloatParams,
    SliceInt8Params,
    TransposeParams,
)
from ...qmath import quantize_multiplier
from ..context import NCHW_TO_NHWC_AXIS, FloatBlocked, LoweringContext, logical, node_shape, op_name, physical
from ..registry import register, register_annotation, register_float
from .index import SORTS, lower_sorted_item
from .moving import float_input, new_value

if TYPE_CHECKING:
    from ...quantize import Annotator

TO_NCHW = [0, 3, 1, 2]  # y.dims[j] = x.dims[perm[j]]: NHWC -> NCHW
TO_NHWC = [0, 2, 3, 1]
SPLITS = ("aten.split.Tensor", "aten.split_with_sizes.default", "aten.chunk.default")
IDENTITIES = ("aten.dropout.default", "aten.clone.default", "aten.contiguous.default", "aten.alias.default")

# --- annotation ---------------------------------------------------------------------------------------------------


@register_annotation(
    "aten.flatten.using_ints",
    "aten.view.default",
    "aten.reshape.default",
    "aten._unsafe_view.default",
    "aten.unsqueeze.default",
    "aten.squeeze.dim",
    "aten.squeeze.dims",
    "aten.dropout.default",
    "aten.clone.default",
    "aten.alias.default",
)
def annotate_reshape(q: Annotator, node: Node) -> None:
    if float_input(node.args[0]):  # integer tensors (ids, masks) are never observed
        q.share_input(node)


@register_annotation(
    "aten.permute.default",
    "aten.transpose.int",
    "aten.contiguous.default",
    "aten.slice.Tensor",
    "aten.pad.default",
    "aten.constant_pad_nd.default",
)
def annotate_moved(q: Annotator, node: Node) -> None:
    """Behind an int8 producer only: between two float ops they stay float."""
    if float_input(node.args[0]):
        q.share_int8_input(node)


@register_annotation(*SPLITS)
def annotate_split(q: Annotator, node: Node) -> None:
    """The input edge is annotated on the split, each getitem shares it."""
    x = node.args[0]
    if isinstance(x, Node) and float_input(x) and q.int8_output(x):
        q.mark(node, {x: q.act}, None)
        for user in node.users:
            if user.target is operator.getitem:
                q.mark(user, {}, q.shared(x, node))


@register_annotation("aten.cat.default", "aten.concat.default")
def annotate_cat(q: Annotator, node: Node) -> None:
    """Every input and the output share the first input's quantization."""
    arg = node.args[0]
    tensors = [t for t in arg if isinstance(t, Node)] if isinstance(arg, (list, tuple)) else []
    if tensors and len(tensors) == len(arg) and all(float_input(t) for t in tensors):  # type: ignore[arg-type]
        first = tensors[0]
        shared = q.shared(first, node)
        inputs: dict[Node, object] = {first: q.act}
        for t in tensors[1:]:  # the same node twice (torch.cat([y, y])) is one input edge
            inputs.setdefault(t, shared)
        q.mark(node, inputs, shared)


# --- reshape, permute, identities ---------------------------------------------------------------------------------


def _spatial(shape: tuple[int, ...]) -> int:
    return shape[2] * shape[3] if len(shape) == 4 else 1


@register(
    "aten.flatten.using_ints",
    "aten.view.default",
    "aten.reshape.default",
    "aten._unsafe_view.default",
    "aten.unsqueeze.default",
    "aten.squeeze.dim",
    "aten.squeeze.dims",
)
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
        ctx.add_op(node, [x], [src], TransposeParams(perm=TO_NCHW), name=f"{node.name}.to_nchw")
    if out_layout == Layout.NHWC and _spatial(out_logical) > 1:
        flat = ctx.temp(f"{node.name}.reshaped", xt, out_logical, Layout.PLAIN)
        ctx.add_op(node, [src], [flat], ReshapeParams())
        y, _, _ = ctx.new_output(node, out_shape, out_layout)
        ctx.add_op(node, [flat], [y], TransposeParams(perm=TO_NHWC), name=f"{node.name}.to_nhwc")
    else:
        y, _, _ = ctx.new_output(node, out_shape, out_layout)
        ctx.add_op(node, [src], [y], ReshapeParams())


@register_float(
    "aten.flatten.using_ints",
    "aten.view.default",
    "aten.reshape.default",
    "aten._unsafe_view.default",
    "aten.unsqueeze.default",
    "aten.squeeze.dim",
    "aten.squeeze.dims",
)
def lower_reshape_f32(ctx: LoweringContext, node: Node) -> None:
    """A reshape in PyTorch's (logical) element order: the input is made plain first."""
    x = ctx.float_value(node.args[0], Layout.PLAIN)
    y = new_value(ctx, node, node_shape(node), ctx.tensor(x).dtype)
    ctx.add_op(node, [x], [y], ReshapeParams())


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
    ctx.add_op(node, [x], [y], TransposeParams(perm=q))


@register_float("aten.permute.default", "aten.transpose.int", "aten.t.default")
def lower_permute_f32(ctx: LoweringContext, node: Node) -> None:
    x = ctx.float_value(node.args[0], Layout.PLAIN)
    rank = len(logical(ctx.tensor(x)))
    if node.target.__name__.startswith("permute"):  # type: ignore[union-attr]
        perm = [int(d) % rank for d in node.args[1]]  # type: ignore[union-attr]
    else:
        d0, d1 = (0, 1) if len(node.args) < 3 else (int(node.args[1]) % rank, int(node.args[2]) % rank)  # type: ignore[call-overload]
        perm = list(range(rank))
        perm[d0], perm[d1] = perm[d1], perm[d0]
    y = new_value(ctx, node, node_shape(node), ctx.tensor(x).dtype)
    ctx.add_op(node, [x], [y], TransposeParams(perm=perm))


def _check_eval(node: Node) -> None:
    if node.target.__name__.startswith("dropout") and len(node.args) > 2 and node.args[2]:  # type: ignore[union-attr]
        raise EdgebuildError(f"{node.name}: dropout in training mode; call model.eval() before exporting")


@register(*IDENTITIES)
def lower_identity(ctx: LoweringContext, node: Node) -> None:
    _check_eval(node)
    ctx.alias_output(node, ctx.input(node.args[0]))


@register_float(*IDENTITIES)
def lower_identity_f32(ctx: LoweringContext, node: Node) -> None:
    _check_eval(node)
    ctx.alias_float(node, ctx.float_value(node.args[0]))


# --- cat ----------------------------------------------------------------------------------------------------------


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
    requant: list[int] = []
    for t in inputs:
        xt = ctx.tensor(t)
        if (xt.scale, xt.zero_point) == (yt.scale, yt.zero_point):
            requant += [0, 0]
        else:  # docs/quantization.md (10)
            requant += list(quantize_multiplier(xt.scale / yt.scale))
    ctx.add_op(node, inputs, [y], ConcatInt8Params(axis=axis, input_requant=requant))


@register_float("aten.cat.default", "aten.concat.default")
def lower_cat_f32(ctx: LoweringContext, node: Node) -> None:
    args = list(node.args[0])  # type: ignore[arg-type]
    first = ctx.float_value(args[0])
    layout = ctx.tensor(first).layout
    inputs = [first] + [ctx.float_value(a, layout) for a in args[1:]]
    out = node_shape(node)
    dim = (int(node.args[1]) if len(node.args) > 1 else 0) % len(out)  # type: ignore[call-overload]
    axis = NCHW_TO_NHWC_AXIS[dim] if layout == Layout.NHWC else dim
    y = ctx.new_float(node, out, layout)
    ctx.add_op(node, inputs, [y], ConcatFloatParams(axis=axis))


# --- slice, split -------------------------------------------------------------------------------------------------


def _slice_op(ctx: LoweringContext, node: Node, x: int, y: int, axis: int, start: int, step: int) -> None:
    xt, yt = ctx.tensor(x), ctx.tensor(y)
    rank = len(xt.shape)
    starts, steps = [0] * rank, [1] * rank
    phys = _to_physical_axis(xt, axis)
    starts[phys], steps[phys] = start, step
    cls = SliceInt8Params if yt.dtype == DType.INT8 else SliceFloatParams
    ctx.add_op(node, [x], [y], cls(start=starts, step=steps))


def _new_like(ctx: LoweringContext, node: Node, xt: Tensor) -> int:
    """The float-path output of `node` in x's layout and dtype (float32, or int32 ids / masks)."""
    if xt.dtype == DType.FLOAT32:
        return ctx.new_float(node, node_shape(node), xt.layout)
    return new_value(ctx, node, node_shape(node), xt.dtype)


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


@register_float("aten.slice.Tensor")
def lower_slice_f32(ctx: LoweringContext, node: Node) -> None:
    x = ctx.float_value_cnn(node.args[0])
    xt = ctx.tensor(x)
    axis, begin, stride = slice_args(node, xt)
    y = _new_like(ctx, node, xt)
    _slice_op(ctx, node, x, y, axis, begin, stride)


@register(*SPLITS)
def lower_split(ctx: LoweringContext, node: Node) -> None:
    """Nothing here: each `getitem` of the split's tuple becomes one SLICE (lower_getitem)."""
    ctx.input(node.args[0])  # the input must be int8


@register_float(*SPLITS)
def lower_split_f32(ctx: LoweringContext, node: Node) -> None:
    """Nothing here: each getitem becomes a SLICE (lower_getitem_f32)."""


@register("getitem")
def lower_getitem(ctx: LoweringContext, node: Node) -> None:
    """Part `index` of split / split_with_sizes / chunk: a SLICE starting after the parts before it."""
    src, index = node.args[0], int(node.args[1])  # type: ignore[arg-type]
    if isinstance(src, Node) and op_name(src) in SORTS:
        lower_sorted_item(ctx, node, float_form=False)
        return
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


@register_float("getitem")
def lower_getitem_f32(ctx: LoweringContext, node: Node) -> None:
    src, index = node.args[0], int(node.args[1])  # type: ignore[arg-type]
    if isinstance(src, Node) and op_name(src) in SORTS:
        lower_sorted_item(ctx, node, float_form=True)
        return
    if isinstance(src, Node) and op_name(src) not in SPLITS:
        # the ops returning tuples (native_group_norm, max_pool2d_with_indices, ...) consume their getitems when
        # they lower: reaching here means the op itself was not lowered, and that op is what the build reports
        raise FloatBlocked(f"{src.name} was not lowered")
    if not isinstance(src, Node):
        raise EdgebuildError(f"{node.name}: getitem of {src!r} has no float lowering")
    x = ctx.float_value_cnn(src.args[0])
    xt = ctx.tensor(x)
    dim = src.args[2] if len(src.args) > 2 else src.kwargs.get("dim", 0)
    axis = int(dim) % len(xt.shape)  # type: ignore[call-overload]
    start = sum(int(p.shape[axis]) for p in src.meta["val"][:index])
    y = _new_like(ctx, node, xt)
    _slice_op(ctx, node, x, y, axis, start, 1)
