"""RESIZE: upsample (nearest, bilinear) in int8 and in float, with per-row and per-column tables built here, and its
PT2E annotation.

The tables hold, for each output row (column), the two input rows it reads and the weight of the second, computed
exactly as PyTorch's CPU kernels do (float32 arithmetic, the scale from `scale_factors` when given, else
input/output; `align_corners`). The int8 kernel takes the weight in Q16 (docs/quantization.md (13)); a nearest table
has weight 0 and copies codes exactly. Output shares the input's quantization parameters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import DType, Layout
from ...ir_ops import ResizeFloatParams, ResizeInt8Params, ResizeMode
from ..context import LoweringContext, logical, node_shape, op_name, physical
from ..registry import register, register_annotation, register_float

if TYPE_CHECKING:
    from ...quantize import Annotator

F32 = np.float32


def _scale(in_size: int, out_size: int, factor: float | None) -> np.float32:
    """compute_scales_value: 1/factor (double, then float) when a factor is given, else in/out in float."""
    if factor is not None and factor > 0:
        return F32(1.0 / factor)
    return F32(in_size) / F32(out_size)


def nearest_table(in_size: int, out_size: int, factor: float | None) -> np.ndarray:
    """[out, 3] int rows (i0, i0, 0): PyTorch's nearest_idx."""
    tab = np.zeros((out_size, 3), np.int64)
    scale = _scale(in_size, out_size, factor)
    for o in range(out_size):
        if out_size == in_size:
            i = o
        elif out_size == 2 * in_size:
            i = o >> 1
        else:
            i = min(int(np.floor(F32(o) * scale)), in_size - 1)
        tab[o] = (i, i, 0)
    return tab


def linear_table(in_size: int, out_size: int, align_corners: bool, factor: float | None) -> np.ndarray:
    """[out, 3] float32 rows (i0, i1, lambda1): PyTorch's compute_indices_weights_linear (float32 opmath)."""
    if align_corners:
        scale = F32(in_size - 1) / F32(out_size - 1) if out_size > 1 else F32(0)
    else:
        scale = _scale(in_size, out_size, factor)
    tab = np.zeros((out_size, 3), np.float32)
    for o in range(out_size):
        if out_size == in_size:  # PyTorch copies
            tab[o] = (o, o, 0)
            continue
        if align_corners:
            real = scale * F32(o)
        else:
            real = max(scale * (F32(o) + F32(0.5)) - F32(0.5), F32(0))
        i0 = min(int(np.floor(real)), in_size - 1)  # guard_index_and_lambda
        lam = min(max(real - F32(i0), F32(0)), F32(1))
        i1 = i0 + (1 if i0 < in_size - 1 else 0)
        tab[o] = (i0, i1, lam)
    return tab


def q16(tab: np.ndarray) -> np.ndarray:
    """Float tables -> the int8 kernel's int32 tables with the weight in Q16 (round half away; weights >= 0)."""
    out = tab.astype(np.int64)
    out[:, 2] = np.floor(tab[:, 2].astype(np.float64) * 65536.0 + 0.5).astype(np.int64)
    return out.astype(np.int32)


def upsample_args(node: Node) -> tuple[bool, bool, float | None, float | None]:
    """(bilinear, align_corners, scale factor h, scale factor w) of an upsample node (.vec or .default)."""
    name = op_name(node)
    bilinear = "bilinear" in name
    args = list(node.args)
    align = bool(args[2]) if bilinear else False
    if name.endswith(".vec"):
        factors = (
            args[3] if bilinear and len(args) > 3 else (args[2] if not bilinear and len(args) > 2 else None)
        )
        if factors:
            return bilinear, align, float(factors[0]), float(factors[1])  # type: ignore[index]
        return bilinear, align, None, None
    rest = (
        args[3:] if bilinear else args[2:]
    )  # .default: (x, output_size, [align_corners,] scales_h, scales_w)
    fh = float(rest[0]) if len(rest) > 0 and rest[0] is not None else None  # type: ignore[arg-type]
    fw = float(rest[1]) if len(rest) > 1 and rest[1] is not None else None  # type: ignore[arg-type]
    return bilinear, align, fh, fw


UPSAMPLE_OPS = (
    "aten.upsample_nearest2d.vec",
    "aten.upsample_nearest2d.default",
    "aten.upsample_bilinear2d.vec",
    "aten.upsample_bilinear2d.default",
)


@register_annotation(*UPSAMPLE_OPS)
def annotate_upsample(q: Annotator, node: Node) -> None:
    """The output shares the input's quantization, behind an int8 producer only (else it stays float)."""
    q.share_int8_input(node)


def _mode(bilinear: bool) -> ResizeMode:
    return ResizeMode.BILINEAR if bilinear else ResizeMode.NEAREST


@register(*UPSAMPLE_OPS)
def lower_upsample(ctx: LoweringContext, node: Node) -> None:
    bilinear, align, fh, fw = upsample_args(node)
    x = ctx.input(node.args[0])
    xt = ctx.tensor(x)
    if xt.layout != Layout.NHWC:
        raise EdgebuildError(f"{node.name}: upsample input must be 4-D (N, C, H, W)")
    (ih, iw), out_logical = logical(xt)[2:], node_shape(node)
    oh, ow = out_logical[2:]
    if bilinear:
        htab, wtab = q16(linear_table(ih, oh, align, fh)), q16(linear_table(iw, ow, align, fw))
    else:
        htab, wtab = nearest_table(ih, oh, fh), nearest_table(iw, ow, fw)
    shape, layout = physical(out_logical)
    y, _, _ = ctx.new_output(node, shape, layout)
    yt = ctx.tensor(y)
    if (yt.scale, yt.zero_point) != (xt.scale, xt.zero_point):
        raise EdgebuildError(f"{node.name}: upsample input and output must share quantization parameters")
    h_id = ctx.program.add_constant(f"{node.name}.rows", htab, DType.INT32)
    w_id = ctx.program.add_constant(f"{node.name}.cols", wtab, DType.INT32)
    ctx.add_op(node, [x, h_id, w_id], [y], ResizeInt8Params(mode=_mode(bilinear), align_corners=align))


@register_float(*UPSAMPLE_OPS)
def lower_upsample_f32(ctx: LoweringContext, node: Node) -> None:
    bilinear, align, fh, fw = upsample_args(node)
    x = ctx.float_value(node.args[0], Layout.NHWC)
    (ih, iw), out = logical(ctx.tensor(x))[2:], node_shape(node)
    if bilinear:
        ht, wt = linear_table(ih, out[2], align, fh), linear_table(iw, out[3], align, fw)
    else:
        ht = nearest_table(ih, out[2], fh).astype(np.float32)
        wt = nearest_table(iw, out[3], fw).astype(np.float32)
    h_id = ctx.program.add_constant(f"{node.name}.rows", ht, DType.FLOAT32)
    w_id = ctx.program.add_constant(f"{node.name}.cols", wt, DType.FLOAT32)
    y = ctx.new_float(node, out, Layout.NHWC)
    ctx.add_op(node, [x, h_id, w_id], [y], ResizeFloatParams(mode=_mode(bilinear), align_corners=align))
