"""GRID_SAMPLE: aten.grid_sampler_2d (F.grid_sample on 4-D inputs) in float: bilinear or nearest, zeros / border /
reflection padding, align_corners (kernels/ukernels/f32-gridsample/ref.cc). Bicubic has no kernel."""

from __future__ import annotations

from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import Layout
from ...ir_ops import GridSampleFloatParams, GridSampleMode, GridSamplePadding
from ..context import LoweringContext, node_shape
from ..registry import register_float

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
