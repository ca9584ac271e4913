"""MAX_POOL2D / AVG_POOL2D: max and average pooling, adaptive average pooling and mean over (H, W), in int8 (the
output keeps the input's scale and zero point; averages round as eq. 9) and in float, and their PT2E annotation."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import Layout
from ...ir_ops import (
    AvgPool2dFloatParams,
    AvgPool2dInt8Params,
    MaxPool2dFloatParams,
    MaxPool2dInt8Params,
    ReshapeParams,
)
from ..context import LoweringContext, NotQuantized, logical, node_shape, pair, physical
from ..registry import register, register_annotation, register_float
from .pool_nd import adaptive_avg_f32

if TYPE_CHECKING:
    from ...quantize import Annotator

NO_BOUNDS = {"lo": -math.inf, "hi": math.inf}  # the float forms' activation bounds: none
INT8_BOUNDS = {"act_min": -128, "act_max": 127}


ADAPTIVE = ("aten.adaptive_avg_pool2d.default", "aten._adaptive_avg_pool2d.default")


@register_annotation("aten.max_pool2d.default", "aten.avg_pool2d.default", *ADAPTIVE, "aten.mean.dim")
def annotate_pool(q: Annotator, node: Node) -> None:
    """The output shares the input's scale and zero point."""
    q.share_input(node)


def _pool_io(ctx: LoweringContext, node: Node) -> tuple[int, int]:
    x = ctx.input(node.args[0])
    xt = ctx.tensor(x)
    if xt.layout != Layout.NHWC:
        raise EdgebuildError(f"{node.name}: pooling input must be 4-D (N, C, H, W)")
    shape, layout = physical(node_shape(node))
    y, _, _ = ctx.new_output(node, shape, layout)
    yt = ctx.tensor(y)
    if (yt.scale, yt.zero_point) != (xt.scale, xt.zero_point):
        raise EdgebuildError(f"{node.name}: pooling input and output must share quantization parameters")
    return x, y


def _window(kh: int, kw: int, sh: int, sw: int, ph: int, pw: int) -> dict[str, int]:
    """The window fields both pooling forms share."""
    return {"kernel_h": kh, "kernel_w": kw, "stride_h": sh, "stride_w": sw, "pad_h": ph, "pad_w": pw}


def _max_pool_window(node: Node) -> dict[str, int]:
    args = list(node.args) + [None] * (6 - len(node.args))
    _, kernel, stride, padding, dilation, _ceil = args[:6]
    kh, kw = pair(kernel, 1)
    sh, sw = pair(stride, 1) if stride else (kh, kw)
    ph, pw = pair(padding, 0)
    dh, dw = pair(dilation, 1)
    return _window(kh, kw, sh, sw, ph, pw) | {"dilation_h": dh, "dilation_w": dw}


def _avg_pool_window(node: Node, what: str) -> dict[str, int]:
    args = list(node.args) + [None] * (7 - len(node.args))
    _, kernel, stride, padding, _ceil, count_include_pad, divisor = args[:7]
    if divisor is not None:
        raise EdgebuildError(f"{node.name}: avg_pool2d with divisor_override is not supported{what}")
    kh, kw = pair(kernel, 1)
    sh, sw = pair(stride, 1) if stride else (kh, kw)
    ph, pw = pair(padding, 0)
    include = 1 if count_include_pad is None else int(bool(count_include_pad))
    return _window(kh, kw, sh, sw, ph, pw) | {"count_include_pad": include}


def _global_window(kh: int, kw: int) -> dict[str, int]:
    """A window that tiles the input exactly (adaptive pooling with even windows, mean over H and W)."""
    return _window(kh, kw, kh, kw, 0, 0) | {"count_include_pad": 1}


@register("aten.max_pool2d.default")
def lower_max_pool2d(ctx: LoweringContext, node: Node) -> None:
    window = _max_pool_window(node)
    x, y = _pool_io(ctx, node)
    ctx.add_op(node, [x], [y], MaxPool2dInt8Params(**window, **INT8_BOUNDS))


@register_float("aten.max_pool2d.default")
def lower_max_pool2d_f32(ctx: LoweringContext, node: Node) -> None:
    window = _max_pool_window(node)
    x = ctx.float_value(node.args[0], Layout.NHWC)
    y = ctx.new_float(node, node_shape(node), Layout.NHWC)
    ctx.add_op(node, [x], [y], MaxPool2dFloatParams(**window, **NO_BOUNDS))


@register("aten.avg_pool2d.default")
def lower_avg_pool2d(ctx: LoweringContext, node: Node) -> None:
    window = _avg_pool_window(node, " in int8")
    x, y = _pool_io(ctx, node)
    ctx.add_op(node, [x], [y], AvgPool2dInt8Params(**window, **INT8_BOUNDS))


@register_float("aten.avg_pool2d.default")
def lower_avg_pool2d_f32(ctx: LoweringContext, node: Node) -> None:
    window = _avg_pool_window(node, "")
    x = ctx.float_value(node.args[0], Layout.NHWC)
    y = ctx.new_float(node, node_shape(node), Layout.NHWC)
    ctx.add_op(node, [x], [y], AvgPool2dFloatParams(**window, **NO_BOUNDS))


@register(*ADAPTIVE, "aten.mean.dim")
def lower_adaptive_avg_pool2d(ctx: LoweringContext, node: Node) -> None:
    """Adaptive pooling whose output divides the input evenly is a plain average pool (global pooling: 1×1, any
    odd size). mean over (H, W) is global pooling; without keepdim its [N, C] result is the same bytes as the NHWC
    [N, 1, 1, C] pool output, so a RESHAPE follows."""
    keep = True
    if node.target.__name__.startswith("mean"):  # type: ignore[union-attr]
        dims = sorted(int(d) % 4 for d in node.args[1])  # type: ignore[union-attr]
        keep = bool(len(node.args) > 2 and node.args[2]) or bool(node.kwargs.get("keepdim", False))
        if dims != [2, 3] or ctx.tensor(ctx.input(node.args[0])).layout != Layout.NHWC:
            # any other mean runs in float (reduce.py's REDUCE MEAN between DEQUANTIZE and QUANTIZE)
            raise NotQuantized(
                f"{node.name}: an int8 mean is global pooling over (H, W) of a 4-D tensor only"
            )
    xt = ctx.tensor(ctx.input(node.args[0]))
    (h, w) = logical(xt)[2:]
    (oh, ow) = node_shape(node)[2:] if keep else (1, 1)
    if h % oh or w % ow:  # uneven windows: the float form (lower/ops/pool_nd.py)
        raise NotQuantized(f"{node.name}: adaptive_avg_pool2d from {h}x{w} to {oh}x{ow} has uneven windows")
    params = AvgPool2dInt8Params(**_global_window(h // oh, w // ow), **INT8_BOUNDS)
    if keep:
        x, y = _pool_io(ctx, node)
        ctx.add_op(node, [x], [y], params)
        return
    x = ctx.input(node.args[0])
    n, c = node_shape(node)
    y, _, _ = ctx.new_output(node, (n, c), Layout.PLAIN)
    yt = ctx.tensor(y)
    if (yt.scale, yt.zero_point) != (xt.scale, xt.zero_point):
        raise EdgebuildError(f"{node.name}: mean input and output must share quantization parameters")
    pooled = ctx.temp(f"{node.name}.pooled", yt, (n, 1, 1, c), Layout.NHWC)
    ctx.add_op(node, [x], [pooled], params)
    ctx.add_op(node, [pooled], [y], ReshapeParams(), name=f"{node.name}.squeeze")


@register_float(*ADAPTIVE)
def lower_adaptive_avg_pool2d_f32(ctx: LoweringContext, node: Node) -> None:
    """Windows that tile the input: one AVG_POOL2D; uneven ones: a constant averaging matrix per axis
    (lower/ops/pool_nd.py)."""
    out = node_shape(node)
    (h, w), (oh, ow) = logical(ctx.tensor(ctx.float_value(node.args[0])))[2:], out[2:]
    if h % oh or w % ow:
        ctx.alias_float(node, adaptive_avg_f32(ctx, node, ctx.float_value(node.args[0], Layout.PLAIN), out))
        return
    x = ctx.float_value(node.args[0], Layout.NHWC)
    y = ctx.new_float(node, out, Layout.NHWC)
    ctx.add_op(node, [x], [y], AvgPool2dFloatParams(**_global_window(h // oh, w // ow), **NO_BOUNDS))
