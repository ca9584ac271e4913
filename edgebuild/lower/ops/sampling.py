"""GRID_SAMPLE: aten.grid_sampler_2d (F.grid_sample on 4-D inputs) in float: bilinear or nearest, zeros / border /
reflection padding, align_corners (kernels/ukernels/f32-gridsample/ref.cc). Bicubic has no kernel. And col2im
(F.fold) as a TRANSPOSE_CONV2D with one-hot weights."""

from __future__ import annotations

import math

import numpy as np
from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import DType, Layout, Tensor
from ...ir_ops import (
    GridSampleFloatParams,
    GridSampleMode,
    GridSamplePadding,
    TransposeConv2dFloatParams,
    TransposeParams,
)
from ..context import LoweringContext, node_shape, pair
from ..registry import register_float
from .broadcast import reshape_plain

MODES = {0: GridSampleMode.BILINEAR, 1: GridSampleMode.NEAREST}  # aten's interpolation_mode
PADDINGS = {0: GridSamplePadding.ZEROS, 1: GridSamplePadding.BORDER, 2: GridSamplePadding.REFLECTION}


@register_float("aten.grid_sampler_2d.default", "aten.grid_sampler.default")
def lower_grid_sample(ctx: LoweringContext, node: Node) -> None:
    names = ["input", "grid", "interpolation_mode", "padding_mode", "align_corners"]
    args = dict(zip(names, node.args)) | dict(node.kwargs)
    mode, padding = int(args["interpolation_mode"]), int(args["padding_mode"])  # type: ignore[call-overload]
    if mode not in MODES or padding not in PADDINGS:
        raise EdgebuildError(
            f"{node.name}: grid_sample with interpolation mode {mode} / padding mode {padding}: bilinear and nearest "
            "with zeros, border or reflection padding are supported (not bicubic)"
        )
    out = node_shape(node)
    if len(out) != 4:
        raise EdgebuildError(
            f"{node.name}: grid_sample of a {len(out)}-D input: 4-D (N, C, H, W) is supported"
        )
    x = ctx.float_value(args["input"], Layout.NHWC)
    grid = ctx.float_value(args["grid"], Layout.PLAIN)
    y = ctx.new_float(node, out, Layout.NHWC)
    params = GridSampleFloatParams(
        mode=MODES[mode], padding=PADDINGS[padding], align_corners=bool(args["align_corners"])
    )
    ctx.add_op(node, [x, grid], [y], params)


@register_float("aten.col2im.default")
def lower_col2im(ctx: LoweringContext, node: Node) -> None:
    """fold: the sum of overlapping patches is a transposed convolution of the [N, C·kh·kw, LH, LW] blocks with
    groups = C and one-hot weights (input channel c·kh·kw + i·kw + j feeds output channel c at tap (i, j));
    TRANSPOSE_CONV2D's float form sums in double, so each output is its exact sum rounded once."""
    x_arg, size, kernel, dilation, padding, stride = node.args[:6]
    (oh, ow), (kh, kw) = pair(size, 0), pair(kernel, 1)
    (dh, dw), (ph, pw), (sh, sw) = pair(dilation, 1), pair(padding, 0), pair(stride, 1)
    out = node_shape(node)
    if len(out) != 4:
        raise EdgebuildError(f"{node.name}: col2im of an unbatched input: give it a batch dim")
    n, c = out[0], out[1]
    lh, lw = (oh + 2 * ph - dh * (kh - 1) - 1) // sh + 1, (ow + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    x = ctx.float_value(x_arg, Layout.PLAIN)
    if ctx.tensor(x).shape != (n, c * kh * kw, lh * lw):
        raise EdgebuildError(
            f"{node.name}: col2im input {ctx.tensor(x).shape} does not hold {lh}x{lw} blocks"
        )
    blocks = reshape_plain(ctx, node, x, (n, c * kh * kw, lh, lw), "blocks")
    nhwc = ctx.program.add_tensor(
        Tensor(f"{node.name}.nhwc", DType.FLOAT32, (n, lh, lw, c * kh * kw), layout=Layout.NHWC)
    )
    ctx.add_op(node, [blocks], [nhwc], TransposeParams(perm=[0, 2, 3, 1]), name=f"{node.name}.to_nhwc")
    w = np.zeros((c, kh, kw, kh * kw), np.float32)
    for i in range(kh):
        for j in range(kw):
            w[:, i, j, i * kw + j] = 1.0
    w_id = ctx.program.add_constant(f"{node.name}.onehot", w, DType.FLOAT32)
    y = ctx.new_float(node, out, Layout.NHWC)
    params = TransposeConv2dFloatParams(
        stride_h=sh,
        stride_w=sw,
        pad_h=ph,
        pad_w=pw,
        output_pad_h=oh - ((lh - 1) * sh - 2 * ph + dh * (kh - 1) + 1),
        output_pad_w=ow - ((lw - 1) * sw - 2 * pw + dw * (kw - 1) + 1),
        dilation_h=dh,
        dilation_w=dw,
        groups=c,
        lo=-math.inf,
        hi=math.inf,
    )
    ctx.add_op(node, [nhwc, w_id, -1], [y], params)
