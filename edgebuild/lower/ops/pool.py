"""Lowerings for max/avg pooling and adaptive average pooling; all keep the input's scale and zero point."""

from __future__ import annotations

from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import Layout, OpCode
from .. import LoweringContext, logical, node_shape, physical, register
from .conv import _pair


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


@register("aten.max_pool2d.default")
def lower_max_pool2d(ctx: LoweringContext, node: Node) -> None:
    args = list(node.args) + [None] * (6 - len(node.args))
    _, kernel, stride, padding, dilation, _ceil = args[:6]
    kh, kw = _pair(kernel, 1)
    sh, sw = _pair(stride, 1) if stride else (kh, kw)
    ph, pw = _pair(padding, 0)
    dh, dw = _pair(dilation, 1)
    x, y = _pool_io(ctx, node)
    ctx.add_op(OpCode.MAX_POOL2D, node, [x], [y], [kh, kw, sh, sw, ph, pw, dh, dw, -128, 127])


@register("aten.avg_pool2d.default")
def lower_avg_pool2d(ctx: LoweringContext, node: Node) -> None:
    args = list(node.args) + [None] * (7 - len(node.args))
    _, kernel, stride, padding, _ceil, count_include_pad, divisor = args[:7]
    if divisor is not None:
        raise EdgebuildError(f"{node.name}: avg_pool2d with divisor_override is not supported in int8")
    kh, kw = _pair(kernel, 1)
    sh, sw = _pair(stride, 1) if stride else (kh, kw)
    ph, pw = _pair(padding, 0)
    include = 1 if count_include_pad is None else int(bool(count_include_pad))
    x, y = _pool_io(ctx, node)
    ctx.add_op(OpCode.AVG_POOL2D, node, [x], [y], [kh, kw, sh, sw, ph, pw, include, -128, 127])


@register("aten.adaptive_avg_pool2d.default", "aten.mean.dim")
def lower_adaptive_avg_pool2d(ctx: LoweringContext, node: Node) -> None:
    """Adaptive pooling whose output divides the input evenly is a plain average pool (global pooling: 1×1, any
    odd size). mean over (H, W) is global pooling; without keepdim its [N, C] result is the same bytes as the NHWC
    [N, 1, 1, C] pool output, so a RESHAPE follows."""
    keep = True
    if node.target.__name__.startswith("mean"):  # type: ignore[union-attr]
        dims = sorted(int(d) % 4 for d in node.args[1])  # type: ignore[union-attr]
        keep = bool(len(node.args) > 2 and node.args[2]) or bool(node.kwargs.get("keepdim", False))
        if dims != [2, 3] or ctx.tensor(ctx.input(node.args[0])).layout != Layout.NHWC:
            raise EdgebuildError(
                f"{node.name}: mean is supported over the spatial dims (2, 3) of a 4-D tensor only, not {dims}"
            )
    xt = ctx.tensor(ctx.input(node.args[0]))
    (h, w) = logical(xt)[2:]
    (oh, ow) = node_shape(node)[2:] if keep else (1, 1)
    if h % oh or w % ow:
        raise EdgebuildError(f"{node.name}: adaptive_avg_pool2d from {h}x{w} to {oh}x{ow} has uneven windows")
    kh, kw = h // oh, w // ow
    params = [kh, kw, kh, kw, 0, 0, 1, -128, 127]
    if keep:
        x, y = _pool_io(ctx, node)
        ctx.add_op(OpCode.AVG_POOL2D, node, [x], [y], params)
        return
    x = ctx.input(node.args[0])
    n, c = node_shape(node)
    y, _, _ = ctx.new_output(node, (n, c), Layout.PLAIN)
    yt = ctx.tensor(y)
    if (yt.scale, yt.zero_point) != (xt.scale, xt.zero_point):
        raise EdgebuildError(f"{node.name}: mean input and output must share quantization parameters")
    pooled = ctx.temp(f"{node.name}.pooled", yt, (n, 1, 1, c), Layout.NHWC)
    ctx.add_op(OpCode.AVG_POOL2D, node, [x], [pooled], params)
    ctx.add_op(OpCode.RESHAPE, node, [pooled], [y], [], name=f"{node.name}.squeeze")
