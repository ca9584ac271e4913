"""Pooling beyond pool.py, on the same MAX_POOL2D / AVG_POOL2D kernels (int8 and float) or FULLY_CONNECTED:

- max_pool2d_with_indices (max_pool2d's core ATen form): the values; the indices output is refused when used.
- max_pool3d_with_indices, avg_pool3d: separable. A plain [N, C, D, H, W] tensor is, byte for byte, the NHWC image
  [N·C·D, H, W, 1]: pool (H, W) there, then view the result as [N·C, D, OH·OW, 1] and pool D with a (kd, 1) window.
  A max of maxes is the max; an average of averages is the average, also without padding in the count, since the
  count of valid taps factorizes (valid_d · valid_h · valid_w). int8: two roundings of an average are within 1 LSB
  (the first is at most ½ LSB off, and averaging keeps that bound).
- _adaptive_avg_pool2d / _adaptive_avg_pool3d with windows that do not tile the input: per pooled axis a constant
  [out, in] matrix of 1/count over PyTorch's windows [floor(i·in/out), ceil((i+1)·in/out)), as a float
  FULLY_CONNECTED over that axis (moved last by a TRANSPOSE). Float only: an int8 adaptive pool with uneven windows
  falls back to float (pool.py raises NotQuantized for it).
"""

from __future__ import annotations

import math
import operator
from typing import TYPE_CHECKING

import numpy as np
from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import DType, Layout, Tensor
from ...ir_ops import (
    AvgPool2dFloatParams,
    AvgPool2dInt8Params,
    FullyConnectedFloatParams,
    MaxPool2dFloatParams,
    MaxPool2dInt8Params,
    OpParams,
    ReshapeParams,
    TransposeParams,
)
from ..context import LoweringContext, node_shape, physical
from ..registry import register, register_annotation, register_float

if TYPE_CHECKING:
    from ...quantize import Annotator

WITH_INDICES = ("aten.max_pool2d_with_indices.default", "aten.max_pool3d_with_indices.default")
POOL3D = ("aten.max_pool3d_with_indices.default", "aten.avg_pool3d.default")


def _values_user(node: Node) -> Node | None:
    """The getitem(node, 0) of a (values, indices) op; refuses a used indices output."""
    values = None
    for user in node.users:
        if user.target is not operator.getitem:
            raise EdgebuildError(f"{node.name}: its tuple is used other than through getitem")
        if user.args[1] == 0:
            values = user
        elif user.users:
            raise EdgebuildError(f"{node.name}: the indices output of max pooling is not supported")
    return values


@register_annotation(*WITH_INDICES)
def annotate_with_indices(q: Annotator, node: Node) -> None:
    """The values (getitem 0) share the input's quantization."""
    x, values = node.args[0], _values_user(node)
    if isinstance(x, Node) and values is not None:
        q.mark(node, {x: q.act}, None)
        q.mark(values, {}, q.shared(x, node))


@register_annotation("aten.avg_pool3d.default")
def annotate_pool3d(q: Annotator, node: Node) -> None:
    q.share_input(node)


def _triple(v: object, default: int) -> tuple[int, ...]:
    if v is None or (isinstance(v, (list, tuple)) and len(v) == 0):
        return (default,) * 3
    if isinstance(v, int):
        return (v,) * 3
    vals = tuple(int(e) for e in v)  # type: ignore[union-attr]
    return vals * 3 if len(vals) == 1 else vals


def _window(node: Node, rank: int) -> dict[str, object]:
    """kernel, stride, padding, dilation, count_include_pad per spatial axis (`rank` of them) of a pool node."""
    names = [a.name for a in node.target._schema.arguments]  # type: ignore[union-attr]
    args = dict(zip(names, node.args)) | dict(node.kwargs)
    if args.get("ceil_mode"):
        raise EdgebuildError(f"{node.name}: pooling with ceil_mode=True is not supported")
    if args.get("divisor_override") is not None:
        raise EdgebuildError(f"{node.name}: avg_pool3d with divisor_override is not supported")
    k = _triple(args["kernel_size"], 1)[:rank]
    s = _triple(args.get("stride"), 0)[:rank]
    return {
        "kernel": k,
        "stride": tuple(si or ki for si, ki in zip(s, k)),
        "padding": _triple(args.get("padding"), 0)[:rank],
        "dilation": _triple(args.get("dilation"), 1)[:rank],
        "include": bool(args.get("count_include_pad", True)),
    }


def _pool_params(is_max: bool, int8: bool, w: dict[str, object], axes: tuple[int, int]) -> OpParams:
    """A 2-D pool over the window's `axes` (-1: a unit axis)."""

    def pick(key: str, unit: int) -> tuple[int, int]:
        vals = w[key]
        return tuple(vals[a] if a >= 0 else unit for a in axes)  # type: ignore[index, return-value]

    (kh, kw), (sh, sw), (ph, pw) = pick("kernel", 1), pick("stride", 1), pick("padding", 0)
    base = {"kernel_h": kh, "kernel_w": kw, "stride_h": sh, "stride_w": sw, "pad_h": ph, "pad_w": pw}
    bounds: dict[str, float] = (
        {"act_min": -128, "act_max": 127} if int8 else {"lo": -math.inf, "hi": math.inf}
    )
    if is_max:
        dh, dw = pick("dilation", 1)
        cls_m = MaxPool2dInt8Params if int8 else MaxPool2dFloatParams
        return cls_m(**base, dilation_h=dh, dilation_w=dw, **bounds)  # type: ignore[arg-type]
    cls_a = AvgPool2dInt8Params if int8 else AvgPool2dFloatParams
    return cls_a(**base, count_include_pad=w["include"], **bounds)  # type: ignore[arg-type]


def _view(
    ctx: LoweringContext, node: Node, tid: int, shape: tuple[int, ...], layout: Layout, tag: str
) -> int:
    t = ctx.tensor(tid)
    out = ctx.program.add_tensor(Tensor(f"{node.name}.{tag}", t.dtype, shape, t.scale, t.zero_point, layout))
    ctx.add_op(node, [tid], [out], ReshapeParams(), name=f"{node.name}.{tag}")
    return out


def _pool3d(ctx: LoweringContext, node: Node, x: int, y: int, int8: bool) -> None:
    """Plain [N, C, D, H, W] x -> plain y, separably (module docstring)."""
    is_max = "max" in str(node.target)
    w = _window(node, 3)
    n, c, d, h, wd = ctx.tensor(x).shape
    _, _, od, oh, ow = ctx.tensor(y).shape
    t = ctx.tensor(x)
    img = _view(ctx, node, x, (n * c * d, h, wd, 1), Layout.NHWC, "hw_in")
    hw = ctx.program.add_tensor(
        Tensor(f"{node.name}.hw", t.dtype, (n * c * d, oh, ow, 1), t.scale, t.zero_point, Layout.NHWC)
    )
    ctx.add_op(node, [img], [hw], _pool_params(is_max, int8, w, (1, 2)), name=f"{node.name}.hw")
    col = _view(ctx, node, hw, (n * c, d, oh * ow, 1), Layout.NHWC, "d_in")
    dd = ctx.program.add_tensor(
        Tensor(f"{node.name}.d", t.dtype, (n * c, od, oh * ow, 1), t.scale, t.zero_point, Layout.NHWC)
    )
    ctx.add_op(node, [col], [dd], _pool_params(is_max, int8, w, (0, -1)), name=f"{node.name}.d")
    ctx.add_op(node, [dd], [y], ReshapeParams(), name=f"{node.name}.out")


def _values_node(node: Node) -> Node:
    if op_is_with_indices(node):
        values = _values_user(node)
        if values is None:
            raise EdgebuildError(f"{node.name}: max pooling whose values are unused")
        return values
    return node


def op_is_with_indices(node: Node) -> bool:
    return "with_indices" in str(node.target)


def _consume_items(ctx: LoweringContext, node: Node) -> None:
    if op_is_with_indices(node):
        ctx.consumed.update(u for u in node.users)


@register(*POOL3D, "aten.max_pool2d_with_indices.default")
def lower_pool_nd(ctx: LoweringContext, node: Node) -> None:
    x = ctx.input(node.args[0])
    xt = ctx.tensor(x)
    out_node = _values_node(node)
    out = node_shape(out_node)
    shape, layout = physical(out)
    y, _, _ = ctx.new_output(out_node, shape, layout)
    yt = ctx.tensor(y)
    if (yt.scale, yt.zero_point) != (xt.scale, xt.zero_point):
        raise EdgebuildError(f"{node.name}: pooling input and output must share quantization parameters")
    _consume_items(ctx, node)
    if len(out) == 5:
        _pool3d(ctx, node, x, y, int8=True)
    else:
        ctx.add_op(node, [x], [y], _pool_params(True, True, _window(node, 2), (0, 1)))


@register_float(*POOL3D, "aten.max_pool2d_with_indices.default")
def lower_pool_nd_f32(ctx: LoweringContext, node: Node) -> None:
    out_node = _values_node(node)
    out = node_shape(out_node)
    _consume_items(ctx, node)
    if len(out) == 5:
        x = ctx.float_value(node.args[0], Layout.PLAIN)
        y = ctx.new_float(out_node, out)
        _pool3d(ctx, node, x, y, int8=False)
        return
    x = ctx.float_value(node.args[0], Layout.NHWC)
    y = ctx.new_float(out_node, out, Layout.NHWC)
    ctx.add_op(node, [x], [y], _pool_params(True, False, _window(node, 2), (0, 1)))


# --- adaptive average pooling with uneven windows (float) -----------------------------------------------------------


def adaptive_matrix(size: int, out: int) -> np.ndarray:
    """[out, size]: row i averages PyTorch's window [floor(i·size/out), ceil((i+1)·size/out))."""
    m = np.zeros((out, size), np.float64)
    for i in range(out):
        lo, hi = (i * size) // out, -(-((i + 1) * size) // out)
        m[i, lo:hi] = 1.0 / (hi - lo)
    return m


def adaptive_avg_f32(ctx: LoweringContext, node: Node, x: int, out: tuple[int, ...]) -> int:
    """Plain x [N, C, *in] -> plain [N, C, *out]: per pooled axis, a FULLY_CONNECTED by adaptive_matrix."""
    cur = x
    rank = len(out)
    for axis in range(2, rank):
        shape = ctx.tensor(cur).shape
        if shape[axis] == out[axis]:
            continue
        perm = list(range(rank))
        perm[axis], perm[-1] = perm[-1], perm[axis]
        moved = tuple(shape[p] for p in perm)
        if axis != rank - 1:
            t = ctx.program.add_tensor(Tensor(f"{node.name}.ax{axis}", DType.FLOAT32, moved))
            ctx.add_op(node, [cur], [t], TransposeParams(perm=perm), name=f"{node.name}.ax{axis}")
            cur = t
        w = adaptive_matrix(shape[axis], out[axis])
        w_id = ctx.program.add_constant(f"{node.name}.pool{axis}", w, DType.FLOAT32)
        pooled = ctx.program.add_tensor(
            Tensor(f"{node.name}.p{axis}", DType.FLOAT32, (*moved[:-1], out[axis]))
        )
        ctx.add_op(node, [cur, w_id, -1], [pooled], FullyConnectedFloatParams(lo=-math.inf, hi=math.inf))
        cur = pooled
        if axis != rank - 1:
            back = ctx.program.add_tensor(
                Tensor(f"{node.name}.b{axis}", DType.FLOAT32, tuple(ctx.tensor(cur).shape[p] for p in perm))
            )
            ctx.add_op(node, [cur], [back], TransposeParams(perm=perm), name=f"{node.name}.b{axis}")
            cur = back
    return cur


@register_float("aten._adaptive_avg_pool3d.default", "aten.adaptive_avg_pool3d.default")
def lower_adaptive_avg_pool3d(ctx: LoweringContext, node: Node) -> None:
    out = node_shape(node)
    x = ctx.float_value(node.args[0], Layout.PLAIN)
    y = adaptive_avg_f32(ctx, node, x, out)
    if y == x:  # the identity: still an op of its own
        y = ctx.new_float(node, out)
        ctx.add_op(node, [x], [y], ReshapeParams(), name=f"{node.name}.copy")
        return
    ctx.alias_float(node, y)
