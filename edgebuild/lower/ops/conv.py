"""Lowerings for conv2d and linear: int8 weights per output channel, int32 bias, Q31 multipliers (eq. 6)."""

from __future__ import annotations

import numpy as np
from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import DType, Layout, OpCode
from ...qmath import quantize_multiplier
from .. import LoweringContext, node_shape, physical, register

MAX_TAPS = 65_000  # docs/quantization.md (6): keeps the int32 accumulator from overflowing


def _pair(v: object, default: int) -> tuple[int, int]:
    if v is None:
        return default, default
    if isinstance(v, int):
        return v, v
    vals = [int(x) for x in v]  # type: ignore[union-attr]
    return (vals[0], vals[0]) if len(vals) == 1 else (vals[0], vals[1])


def _weights(
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
    oc = w.shape[0]
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
    return w, [bias_id, mult_id, shift_id]


@register("aten.conv2d.default")
def lower_conv2d(ctx: LoweringContext, node: Node) -> None:
    args = list(node.args) + [None] * (7 - len(node.args))
    x_arg, w_arg, b_arg, stride, padding, dilation, groups = args[:7]
    x = ctx.input(x_arg)
    xt = ctx.tensor(x)
    if xt.layout != Layout.NHWC:
        raise EdgebuildError(f"{node.name}: conv2d input must be 4-D (N, C, H, W)")
    sh, sw = _pair(stride, 1)
    ph, pw = _pair(padding, 0)
    dh, dw = _pair(dilation, 1)
    g = int(groups) if groups is not None else 1
    shape, layout = physical(node_shape(node))
    y, amin, amax = ctx.new_output(node, shape, layout, fusable=True)
    w, rest = _weights(ctx, node, xt.scale, ctx.tensor(y).scale, w_arg, b_arg)
    _, icg, kh, kw = w.shape
    if kh * kw * icg > MAX_TAPS:
        raise EdgebuildError(
            f"{node.name}: {kh * kw * icg} taps per output exceed the int32 accumulator's "
            f"safe range ({MAX_TAPS})"
        )
    w_id = ctx.program.add_constant(f"{node.name}.weight", w.transpose(0, 2, 3, 1), DType.INT8)
    ctx.add_op(OpCode.CONV2D, node, [x, w_id, *rest], [y], [sh, sw, ph, pw, ph, pw, dh, dw, g, amin, amax])


@register("aten.linear.default")
def lower_linear(ctx: LoweringContext, node: Node) -> None:
    args = list(node.args) + [None] * (3 - len(node.args))
    x_arg, w_arg, b_arg = args[:3]
    x = ctx.input(x_arg)
    xt = ctx.tensor(x)
    if xt.layout == Layout.NHWC:
        raise EdgebuildError(f"{node.name}: linear on a 4-D activation is not supported; flatten it first")
    shape = node_shape(node)
    y, amin, amax = ctx.new_output(node, shape, Layout.PLAIN, fusable=True)
    w, rest = _weights(ctx, node, xt.scale, ctx.tensor(y).scale, w_arg, b_arg)
    if w.shape[1] > MAX_TAPS:
        raise EdgebuildError(
            f"{node.name}: {w.shape[1]} inputs per output exceed the int32 accumulator's "
            f"safe range ({MAX_TAPS})"
        )
    w_id = ctx.program.add_constant(f"{node.name}.weight", w, DType.INT8)
    ctx.add_op(OpCode.FULLY_CONNECTED, node, [x, w_id, *rest], [y], [amin, amax])
