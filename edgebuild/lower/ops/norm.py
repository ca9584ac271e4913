"""Normalizations, float only, on LAYER_NORM (mean and variance of each row of the last axis, in double):

- layer_norm / native_layer_norm over any trailing normalized_shape: the trailing dims flattened into one row
  (RESHAPE, the same bytes), gamma and beta flattened alike;
- native_group_norm: rows of one (sample, group), then the per-channel gamma and beta as MUL and ADD;
- _native_batch_norm_legit with batch statistics (instance_norm decomposes into it on a [1, N·C, ...] view): rows
  of one channel (a TRANSPOSE first when the batch is larger than 1), then MUL and ADD;
- _native_batch_norm_legit_no_training (a batch norm that was not folded into a convolution): y = x·s + t with the
  per-channel constants s = w / sqrt(var + eps), t = b − mean·s computed in double at build time.

The native_* ops return (y, mean, rstd): only y (getitem 0) is lowered; its getitem is consumed here.
"""

from __future__ import annotations

import math
import operator

import numpy as np
from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import DType, Layout, Tensor
from ...ir_ops import AddFloatParams, LayerNormFloatParams, MulFloatParams, ReshapeParams, TransposeParams
from ..context import NCHW_TO_NHWC_AXIS, LoweringContext, logical
from ..registry import register_float

_NO_BOUNDS = {"lo": -math.inf, "hi": math.inf}


def _result(ctx: LoweringContext, node: Node) -> Node:
    """The node that receives y: the getitem 0 of a native_* op (consumed here), or the node itself."""
    users = list(node.users)
    if not any(u.target is operator.getitem for u in users):
        return node
    for u in users:
        if u.target is not operator.getitem or int(u.args[1]) != 0:  # type: ignore[call-overload]
            raise EdgebuildError(
                f"{node.name}: only its normalized output is supported (not the mean or rstd)"
            )
        ctx.consumed.add(u)
    return users[0]


def _tensor(ctx: LoweringContext, name: str, shape: tuple[int, ...], layout: Layout = Layout.PLAIN) -> int:
    return ctx.program.add_tensor(Tensor(name, DType.FLOAT32, shape, layout=layout))


def _reshape(ctx: LoweringContext, node: Node, x: int, shape: tuple[int, ...], name: str) -> int:
    y = _tensor(ctx, name, shape)
    ctx.add_op(node, [x], [y], ReshapeParams(), name=name)
    return y


def _const(ctx: LoweringContext, node: Node, arg: object, what: str, count: int) -> np.ndarray | None:
    if arg is None:
        return None
    v = ctx.float_constant(arg).astype(np.float64).reshape(-1)
    if v.size != count:
        raise EdgebuildError(f"{node.name}: {what} has {v.size} values, expected {count}")
    return v


def _rows_norm(
    ctx: LoweringContext, node: Node, x: int, rows: int, cols: int, eps: float, out: int, **gb: int
) -> None:
    """LAYER_NORM of PLAIN `x` viewed as [rows, cols] into `out` (same element count)."""
    a = _reshape(ctx, node, x, (rows, cols), f"{node.name}.rows")
    b = _tensor(ctx, f"{node.name}.normed", (rows, cols))
    ctx.add_op(node, [a, gb.get("g", -1), gb.get("b", -1)], [b], LayerNormFloatParams(eps=eps))
    ctx.add_op(node, [b], [out], ReshapeParams(), name=f"{node.name}.unrows")


def _channel_affine(
    ctx: LoweringContext, node: Node, x: int, scale: np.ndarray | None, shift: np.ndarray | None, y: int
) -> None:
    """y = x·scale[c] + shift[c] over the channel axis (logical dim 1) of `x`, which has y's shape and layout."""
    xt = ctx.tensor(x)
    rank = len(xt.shape)
    axis = NCHW_TO_NHWC_AXIS[1] if xt.layout == Layout.NHWC else 1
    cshape = tuple(xt.shape[axis] if k == axis else 1 for k in range(rank))
    cur = x
    steps = [
        (v, p, n)
        for v, p, n in ((scale, MulFloatParams, "scale"), (shift, AddFloatParams, "shift"))
        if v is not None
    ]
    if not steps:
        ctx.add_op(node, [x], [y], ReshapeParams(), name=f"{node.name}.copy")
    for i, (v, params, what) in enumerate(steps):
        c = ctx.program.add_constant(f"{node.name}.{what}", v.reshape(cshape), DType.FLOAT32)
        dst = y if i == len(steps) - 1 else _tensor(ctx, f"{node.name}.{what}d", xt.shape, xt.layout)
        ctx.add_op(node, [cur, c], [dst], params(**_NO_BOUNDS), name=f"{node.name}.{what}")
        cur = dst


def _out(ctx: LoweringContext, target: Node, like: int) -> int:
    t = ctx.tensor(like)
    y = _tensor(ctx, target.name, t.shape, t.layout)
    ctx.fvalues[target] = {t.layout: y}
    return y


@register_float("aten.layer_norm.default", "aten.native_layer_norm.default")
def lower_layer_norm(ctx: LoweringContext, node: Node) -> None:
    args = list(node.args) + [None] * (5 - len(node.args))
    x_arg, normalized, w_arg, b_arg, eps = args[:5]
    x = ctx.float_value(x_arg, Layout.PLAIN)
    shape = logical(ctx.tensor(x))
    trailing = [int(d) for d in normalized]  # type: ignore[union-attr]
    k = len(trailing)
    if k == 0 or k > len(shape) or list(shape[len(shape) - k :]) != trailing:
        raise EdgebuildError(f"{node.name}: layer_norm over {trailing} of a {list(shape)} tensor")
    cols = math.prod(trailing)
    rows = math.prod(shape) // cols
    gb = {}
    for key, arg, what in (("g", w_arg, "weight"), ("b", b_arg, "bias")):
        v = _const(ctx, node, arg, what, cols)
        if v is not None:
            gb[key] = ctx.program.add_constant(f"{node.name}.{what}", v, DType.FLOAT32)
    target = _result(ctx, node)
    y = _out(ctx, target, x)
    if k == 1:
        ctx.add_op(node, [x, gb.get("g", -1), gb.get("b", -1)], [y], LayerNormFloatParams(eps=_eps(eps)))
    else:
        _rows_norm(ctx, node, x, rows, cols, _eps(eps), y, **gb)


def _eps(v: object) -> float:
    return 1e-5 if v is None else float(v)  # type: ignore[arg-type]


@register_float("aten.native_group_norm.default")
def lower_group_norm(ctx: LoweringContext, node: Node) -> None:
    """Rows of one (sample, group). One group (PoolFormer's, ConvNeXt-style GroupNorm(1, C)) reads its sample's
    values in any order, so a 4-D input stored NHWC stays NHWC (no TRANSPOSE either side); more groups need each
    group's channels together: PyTorch's order."""
    x_arg, w_arg, b_arg, n, c, hw, groups, eps = node.args[:8]
    n, c, hw, groups = int(n), int(c), int(hw), int(groups)  # type: ignore[call-overload]
    have = ctx.fvalues.get(x_arg, {}) if isinstance(x_arg, Node) else {}
    keep_nhwc = groups == 1 and Layout.NHWC in have and Layout.PLAIN not in have
    x = ctx.float_value(x_arg, Layout.NHWC if keep_nhwc else Layout.PLAIN)
    xt = ctx.tensor(x)
    if groups < 1 or c % groups or n * c * hw != xt.numel:
        raise EdgebuildError(f"{node.name}: group_norm of {list(logical(xt))} in {groups} groups")
    target = _result(ctx, node)
    scale, shift = _const(ctx, node, w_arg, "weight", c), _const(ctx, node, b_arg, "bias", c)
    affine = scale is not None or shift is not None
    normed = _tensor(ctx, f"{node.name}.groups", xt.shape, xt.layout) if affine else None
    y = _out(ctx, target, x)
    _rows_norm(ctx, node, x, n * groups, (c // groups) * hw, _eps(eps), normed if normed is not None else y)
    if normed is not None:
        _channel_affine(ctx, node, normed, scale, shift, y)


@register_float("aten._native_batch_norm_legit.no_stats", "aten._native_batch_norm_legit.default")
def lower_batch_norm_batch_stats(ctx: LoweringContext, node: Node) -> None:
    """Normalization by the batch's own statistics per channel (training=True: instance_norm's form)."""
    x_arg, w_arg, b_arg = node.args[:3]
    is_default = "no_stats" not in str(node.target)
    training, eps = (node.args[5], node.args[7]) if is_default else (node.args[3], node.args[5])
    if is_default and not training:
        raise EdgebuildError(f"{node.name}: batch norm with running statistics: expected _no_training")
    x = ctx.float_value(x_arg, Layout.PLAIN)
    xt = ctx.tensor(x)
    shape = logical(xt)
    if len(shape) < 2:
        raise EdgebuildError(f"{node.name}: batch norm of a {len(shape)}-D tensor")
    n, c = shape[0], shape[1]
    inner = xt.numel // (n * c)
    target = _result(ctx, node)
    scale, shift = _const(ctx, node, w_arg, "weight", c), _const(ctx, node, b_arg, "bias", c)
    y = _out(ctx, target, x)
    normed = _tensor(ctx, f"{node.name}.normed", xt.shape) if (scale is not None or shift is not None) else y
    if n == 1:
        _rows_norm(ctx, node, x, c, inner, _eps(eps), normed)
    else:  # channels first: [N, C, L] -> [C, N, L], rows of N·L, and back
        v = _reshape(ctx, node, x, (n, c, inner), f"{node.name}.ncl")
        t = _tensor(ctx, f"{node.name}.cnl", (c, n, inner))
        ctx.add_op(node, [v], [t], TransposeParams(perm=[1, 0, 2]), name=f"{node.name}.to_cnl")
        r = _tensor(ctx, f"{node.name}.cnl_normed", (c, n, inner))
        _rows_norm(ctx, node, t, c, n * inner, _eps(eps), r)
        back = _tensor(ctx, f"{node.name}.ncl_normed", (n, c, inner))
        ctx.add_op(node, [r], [back], TransposeParams(perm=[1, 0, 2]), name=f"{node.name}.to_ncl")
        ctx.add_op(node, [back], [normed], ReshapeParams(), name=f"{node.name}.unflatten")
    if normed != y:
        _channel_affine(ctx, node, normed, scale, shift, y)


@register_float("aten._native_batch_norm_legit_no_training.default")
def lower_batch_norm_inference(ctx: LoweringContext, node: Node) -> None:
    x_arg, w_arg, b_arg, mean_arg, var_arg = node.args[:5]
    eps = node.args[6] if len(node.args) > 6 else node.kwargs.get("eps", 1e-5)
    arg_shape = logical(ctx.tensor(ctx.float_value(x_arg)))  # as stored now: no TRANSPOSE yet
    if len(arg_shape) < 2:
        raise EdgebuildError(f"{node.name}: batch norm of a {len(arg_shape)}-D tensor")
    c = arg_shape[1]
    have = ctx.fvalues.get(x_arg) if isinstance(x_arg, Node) else None
    x = ctx.float_value(x_arg, Layout.NHWC if have and Layout.NHWC in have else Layout.PLAIN)
    mean, var = _const(ctx, node, mean_arg, "running_mean", c), _const(ctx, node, var_arg, "running_var", c)
    if mean is None or var is None:
        raise EdgebuildError(f"{node.name}: batch norm without running statistics")
    w, b = _const(ctx, node, w_arg, "weight", c), _const(ctx, node, b_arg, "bias", c)
    scale = (np.ones(c) if w is None else w) / np.sqrt(var + _eps(eps))
    shift = (np.zeros(c) if b is None else b) - mean * scale
    target = _result(ctx, node)
    y = _out(ctx, target, x)
    _channel_affine(ctx, node, x, scale, shift, y)
