"""CONV2D and DEPTHWISE_CONV2D: aten.conv2d in int8 (int8 weights per output channel, int32 bias, Q31 multipliers,
eq. 6) and in float, and its PT2E annotation. The weight helpers here serve FULLY_CONNECTED too (lower/ops/linear.py).

Depthwise is decided here, once: groups > 1 with one input channel per group (weight [OC, 1, KH, KW], so
groups == C_in and OC = C_in x depth multiplier) is DEPTHWISE_CONV2D; the runtime's packer and the exporters read
the opcode instead of re-deriving it."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import DType, Layout
from ...ir_ops import (
    Conv2dFloatParams,
    Conv2dInt8Params,
    DepthwiseConv2dFloatParams,
    DepthwiseConv2dInt8Params,
    OpParams,
)
from ...qmath import quantize_multiplier
from ..context import LoweringContext, node_shape, pair, physical
from ..registry import register, register_annotation, register_float

if TYPE_CHECKING:
    from ...quantize import Annotator

MAX_TAPS = 65_000  # docs/quantization.md (6): keeps the int32 accumulator from overflowing


def requant_weights(
    ctx: LoweringContext,
    node: Node,
    x_scale: float,
    y_scale: float,
    w_arg: object,
    b_arg: object,
) -> tuple[np.ndarray, list[int]]:
    """(int8 weights as stored in the graph, [bias id or -1, mult id, shift id])."""
    w, w_scales = ctx.channel_weight(w_arg)
    if w.dtype != np.int8:
        raise EdgebuildError(f"{node.name}: weights are {w.dtype}, expected int8")
    return w, requant_constants(ctx, node, x_scale, y_scale, w_scales, w.shape[0], b_arg)


def requant_constants(
    ctx: LoweringContext,
    node: Node,
    x_scale: float,
    y_scale: float,
    w_scales: np.ndarray,
    oc: int,
    b_arg: object,
) -> list[int]:
    """[bias id or -1, mult id, shift id] of `oc` output channels with weight scales `w_scales` (one, or per
    channel)."""
    if w_scales.size == 1:
        w_scales = np.full(oc, float(w_scales.reshape(-1)[0]))
    if b_arg is not None:
        bias, _ = ctx.channel_weight(b_arg)
        if bias.dtype != np.int32:
            raise EdgebuildError(f"{node.name}: bias is {bias.dtype}, expected int32")
        bias_id = ctx.program.add_constant(f"{node.name}.bias", bias, DType.INT32)
    else:
        bias_id = -1
    mults, shifts = zip(*(quantize_multiplier(x_scale * float(s) / y_scale) for s in w_scales))
    # The runtime needs only the multipliers; exporters (.tflite, ONNX) need the scales (docs/artifact.md, METADATA).
    scales = [float(np.float32(s)) for s in w_scales]
    ctx.program.metadata.setdefault("weight_scales", {})[f"{node.name}.weight"] = scales
    mult_id = ctx.program.add_constant(f"{node.name}.multiplier", np.array(mults), DType.INT32)
    shift_id = ctx.program.add_constant(f"{node.name}.shift", np.array(shifts), DType.INT32)
    return [bias_id, mult_id, shift_id]


def float_bias(ctx: LoweringContext, node: Node, arg: object) -> int:
    if arg is None:
        return -1
    return ctx.program.add_constant(f"{node.name}.bias", ctx.float_constant(arg), DType.FLOAT32)


@register_annotation("aten.conv2d.default")
def annotate_weighted(q: Annotator, node: Node) -> None:
    """conv2d / linear: int8 input, int8 per-channel weight, int32 bias, own output observer (or its fused
    activation's)."""
    x, w = node.args[0], node.args[1]
    b = node.args[2] if len(node.args) > 2 else None
    if not (isinstance(x, Node) and isinstance(w, Node)):
        return
    inputs: dict[Node, object] = {x: q.act, w: q.weight(w)}
    if isinstance(b, Node):
        inputs[b] = q.bias(x, w, node)
    q.mark_fusing(node, inputs)


def _conv_args(node: Node) -> tuple[object, object, object, dict[str, int]]:
    """(x, w, b, the geometry fields of CONV2D's params) of an aten.conv2d node."""
    args = list(node.args) + [None] * (7 - len(node.args))
    x_arg, w_arg, b_arg, stride, padding, dilation, groups = args[:7]
    sh, sw = pair(stride, 1)
    ph, pw = pair(padding, 0)
    dh, dw = pair(dilation, 1)
    g = int(groups) if groups is not None else 1  # type: ignore[call-overload]
    geometry = {
        "stride_h": sh,
        "stride_w": sw,
        "pad_top": ph,
        "pad_left": pw,
        "pad_bottom": ph,
        "pad_right": pw,
        "dilation_h": dh,
        "dilation_w": dw,
        "groups": g,
    }
    return x_arg, w_arg, b_arg, geometry


def is_depthwise(groups: int, weight_shape: tuple[int, ...]) -> bool:
    """One input channel per group, more than one group (a 1-channel input stays CONV2D, on the GEMM)."""
    return groups > 1 and weight_shape[1] == 1


def _window(geometry: dict[str, int]) -> dict[str, int]:
    """DEPTHWISE_CONV2D's geometry: CONV2D's without groups (C, by definition)."""
    return {k: v for k, v in geometry.items() if k != "groups"}


@register("aten.conv2d.default")
def lower_conv2d(ctx: LoweringContext, node: Node) -> None:
    x_arg, w_arg, b_arg, geometry = _conv_args(node)
    x = ctx.input(x_arg)
    xt = ctx.tensor(x)
    if xt.layout != Layout.NHWC:
        raise EdgebuildError(f"{node.name}: conv2d input must be 4-D (N, C, H, W)")
    shape, layout = physical(node_shape(node))
    y, amin, amax = ctx.new_output(node, shape, layout, fusable=True)
    w, rest = requant_weights(ctx, node, xt.scale, ctx.tensor(y).scale, w_arg, b_arg)
    _, icg, kh, kw = w.shape
    if kh * kw * icg > MAX_TAPS:
        raise EdgebuildError(
            f"{node.name}: {kh * kw * icg} taps per output exceed the int32 accumulator's "
            f"safe range ({MAX_TAPS})"
        )
    w_id = ctx.program.add_constant(f"{node.name}.weight", w.transpose(0, 2, 3, 1), DType.INT8)
    params: OpParams
    if is_depthwise(geometry["groups"], w.shape):
        params = DepthwiseConv2dInt8Params(**_window(geometry), act_min=amin, act_max=amax)
    else:
        params = Conv2dInt8Params(**geometry, act_min=amin, act_max=amax)
    ctx.add_op(node, [x, w_id, *rest], [y], params)


@register_float("aten.conv2d.default")
def lower_conv2d_f32(ctx: LoweringContext, node: Node) -> None:
    """Float: no fused activation (a standalone CLAMP follows; lower/ops/clamp.py), so no bounds."""
    x_arg, w_arg, b_arg, geometry = _conv_args(node)
    x = ctx.float_value(x_arg, Layout.NHWC)
    w = ctx.float_constant(w_arg)
    w_id = ctx.program.add_constant(f"{node.name}.weight", w.transpose(0, 2, 3, 1), DType.FLOAT32)
    b_id = float_bias(ctx, node, b_arg)
    y = ctx.new_float(node, node_shape(node), Layout.NHWC)
    params: OpParams
    if is_depthwise(geometry["groups"], w.shape):
        params = DepthwiseConv2dFloatParams(**_window(geometry), lo=-math.inf, hi=math.inf)
    else:
        params = Conv2dFloatParams(**geometry, lo=-math.inf, hi=math.inf)
    ctx.add_op(node, [x, w_id, b_id], [y], params)
