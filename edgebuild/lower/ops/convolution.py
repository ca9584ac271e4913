"""aten.convolution (core ATen) and the conv1d / conv_transpose1d / conv_transpose2d ops it stands for: CONV2D,
DEPTHWISE_CONV2D or TRANSPOSE_CONV2D, in int8 (eq. 6, the weight helpers of lower/ops/conv.py) and in float, and
their PT2E annotation.

A 1-D convolution is a 2-D one over an image of height 1: its plain [N, C, L] input is transposed to [N, L, C] and
reshaped (same bytes) to NHWC [N, 1, L, C]; the NHWC [N, 1, L', OC] result goes back the same way. A transposed
convolution's weight [C, OC/G, KH, KW] is regrouped to CONV2D's [OC, KH, KW, C/G]; in int8 its per-channel scales
are on axis 1 (the output channels), so the annotation quantizes that axis (groups = 1; a grouped transposed
convolution stays float)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.fx import Node

from ..._torchao import pt2e
from ...errors import EdgebuildError
from ...ir import DType, Layout, Tensor
from ...ir_ops import (
    Conv2dFloatParams,
    Conv2dInt8Params,
    DepthwiseConv2dFloatParams,
    DepthwiseConv2dInt8Params,
    OpParams,
    ReshapeParams,
    TransposeConv2dFloatParams,
    TransposeConv2dInt8Params,
    TransposeParams,
)
from ..context import CHANNEL_DEQUANTIZE, LoweringContext, nhwc, node_shape, op_name
from ..registry import register, register_annotation, register_float
from .conv import MAX_TAPS, annotate_weighted, float_bias, is_depthwise, requant_constants

if TYPE_CHECKING:
    from ...quantize import Annotator

CONV_OPS = (
    "aten.convolution.default",
    "aten.conv1d.default",
    "aten.conv_transpose1d.default",
    "aten.conv_transpose2d.input",
)


def _ints(v: object, n: int, default: int) -> tuple[int, ...]:
    if v is None:
        return (default,) * n
    if isinstance(v, int):
        return (v,) * n
    vals = tuple(int(e) for e in v)  # type: ignore[union-attr]
    return vals * n if len(vals) == 1 else vals


@dataclass
class ConvSpec:
    """A convolution node's operands and geometry, as a 2-D convolution (a 1-D one gets height 1)."""

    x: object
    w: object
    b: object
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    output_padding: tuple[int, int]
    groups: int
    transposed: bool
    one_d: bool


def conv_spec(node: Node) -> ConvSpec:
    name = op_name(node)
    schema = node.target._schema  # type: ignore[union-attr]
    a = list(node.args) + [
        node.kwargs.get(arg.name, arg.default_value if arg.has_default_value() else None)
        for arg in schema.arguments[len(node.args) :]
    ]
    a += [None] * (9 - len(a))
    if name == "aten.convolution.default":
        x, w, b, stride, padding, dilation, transposed, out_pad, groups = a[:9]
    elif name == "aten.conv1d.default":
        x, w, b, stride, padding, dilation, groups = a[:7]
        transposed, out_pad = False, None
    else:  # conv_transpose1d / conv_transpose2d.input
        x, w, b, stride, padding, out_pad, groups, dilation = a[:8]
        transposed = True
    if isinstance(padding, str):
        raise EdgebuildError(
            f"{node.name}: padding={padding!r} (string padding) is not supported; give numbers"
        )
    rank = len(node_shape(node))  # the output's rank is the input's (q/dq nodes may lack shapes)
    if rank not in (3, 4):
        raise EdgebuildError(f"{node.name}: {rank - 2}-D convolution is not supported (1-D and 2-D are)")
    n = rank - 2

    def two(v: object, default: int) -> tuple[int, int]:
        vals = _ints(v, n, default)
        return (1 if default == 1 else 0, vals[0]) if n == 1 else (vals[0], vals[1])

    return ConvSpec(
        x,
        w,
        b,
        two(stride, 1),
        two(padding, 0),
        two(dilation, 1),
        two(out_pad, 0),
        int(groups) if groups is not None else 1,  # type: ignore[call-overload]
        bool(transposed),
        n == 1,
    )


# --- PT2E annotation -------------------------------------------------------------------------------------------


def axis1_weight_spec() -> object:
    """Per-channel symmetric int8 on axis 1: a transposed convolution's output channels (groups = 1), addmm's
    [K, N] weight's columns."""
    return pt2e.quantizer.QuantizationSpec(
        dtype=torch.int8,
        quant_min=-127,
        quant_max=127,
        qscheme=torch.per_channel_symmetric,
        ch_axis=1,
        observer_or_fake_quant_ctr=pt2e.PerChannelMinMaxObserver.with_args(eps=2**-12),
    )


@register_annotation(*CONV_OPS)
def annotate_convolution(q: Annotator, node: Node) -> None:
    s = conv_spec(node)
    if not s.transposed:
        annotate_weighted(q, node)
        return
    if s.groups != 1 or not isinstance(s.x, Node) or not isinstance(s.w, Node):
        return  # a grouped transposed convolution stays float (its output channels are not one axis)
    inputs: dict[Node, object] = {s.x: q.act, s.w: axis1_weight_spec()}
    if isinstance(s.b, Node):
        inputs[s.b] = q.bias(s.x, s.w, node)
    q.mark_fusing(node, inputs)


# --- weights ---------------------------------------------------------------------------------------------------


def weight_array(ctx: LoweringContext, arg: object, quantized: bool) -> tuple[np.ndarray, np.ndarray]:
    """(weights, scales over the output channels): int8 behind dequantize_per_channel (any axis), or float."""
    if quantized:
        if not (isinstance(arg, Node) and arg.target in CHANNEL_DEQUANTIZE):
            raise EdgebuildError(f"{getattr(arg, 'name', arg)}: expected per-channel int8 weights")
        values, scales = ctx.constant(arg.args[0]), ctx.constant(arg.args[1]).astype(np.float64)
        return values, scales
    if isinstance(arg, Node) and arg.target in CHANNEL_DEQUANTIZE:
        values, scales, axis = ctx.constant(arg.args[0]), ctx.constant(arg.args[1]), int(arg.args[3])  # type: ignore
        shape = [1] * values.ndim
        shape[axis] = -1
        return (values.astype(np.float64) * scales.reshape(shape)).astype(np.float32), scales
    return ctx.float_constant(arg), np.ones(1)


def _conv_weight(w: np.ndarray, s: ConvSpec) -> np.ndarray:
    """The stored weight [OC, KH, KW, C/G] of a PyTorch weight (conv: [OC, C/G, (KH,) KW]; transposed:
    [C, OC/G, (KH,) KW])."""
    if s.one_d:
        w = w[:, :, None, :]
    if not s.transposed:
        return w.transpose(0, 2, 3, 1)
    g = s.groups
    c, ocg, kh, kw = w.shape
    return w.reshape(g, c // g, ocg, kh, kw).transpose(0, 2, 3, 4, 1).reshape(g * ocg, kh, kw, c // g)


def _params(s: ConvSpec, w: np.ndarray, bounds: dict[str, float]) -> OpParams:
    """The op of this convolution: TRANSPOSE_CONV2D, DEPTHWISE_CONV2D or CONV2D (int8 when bounds are codes)."""
    int8 = "act_min" in bounds
    (sh, sw), (ph, pw), (dh, dw) = s.stride, s.padding, s.dilation
    if s.transposed:
        cls_t = TransposeConv2dInt8Params if int8 else TransposeConv2dFloatParams
        return cls_t(
            stride_h=sh,
            stride_w=sw,
            pad_h=ph,
            pad_w=pw,
            output_pad_h=s.output_padding[0],
            output_pad_w=s.output_padding[1],
            dilation_h=dh,
            dilation_w=dw,
            groups=s.groups,
            **bounds,
        )
    window = {
        "stride_h": sh,
        "stride_w": sw,
        "pad_top": ph,
        "pad_left": pw,
        "pad_bottom": ph,
        "pad_right": pw,
        "dilation_h": dh,
        "dilation_w": dw,
    }
    if is_depthwise(s.groups, (w.shape[0], w.shape[3])):
        cls_d = DepthwiseConv2dInt8Params if int8 else DepthwiseConv2dFloatParams
        return cls_d(**window, **bounds)
    cls_c = Conv2dInt8Params if int8 else Conv2dFloatParams
    return cls_c(**window, groups=s.groups, **bounds)


# --- 1-D <-> NHWC ----------------------------------------------------------------------------------------------


def _like(ctx: LoweringContext, tid: int, name: str, shape: tuple[int, ...], layout: Layout) -> int:
    t = ctx.tensor(tid)
    return ctx.program.add_tensor(Tensor(name, t.dtype, shape, t.scale, t.zero_point, layout))


def _rows_to_nhwc(ctx: LoweringContext, node: Node, x: int) -> int:
    """Plain [N, C, L] -> NHWC [N, 1, L, C]: a TRANSPOSE to [N, L, C], then the same bytes as NHWC."""
    n, c, length = ctx.tensor(x).shape
    nlc = _like(ctx, x, f"{node.name}.nlc", (n, length, c), Layout.PLAIN)
    ctx.add_op(node, [x], [nlc], TransposeParams(perm=[0, 2, 1]), name=f"{node.name}.to_nlc")
    x4 = _like(ctx, x, f"{node.name}.x4", (n, 1, length, c), Layout.NHWC)
    ctx.add_op(node, [nlc], [x4], ReshapeParams(), name=f"{node.name}.to_nhwc")
    return x4


def _nhwc_to_rows(ctx: LoweringContext, node: Node, y4: int, y: int) -> None:
    """NHWC [N, 1, L, OC] -> plain [N, OC, L] (the inverse of _rows_to_nhwc) into y."""
    n, _, length, oc = ctx.tensor(y4).shape
    nlc = _like(ctx, y4, f"{node.name}.ylc", (n, length, oc), Layout.PLAIN)
    ctx.add_op(node, [y4], [nlc], ReshapeParams(), name=f"{node.name}.from_nhwc")
    ctx.add_op(node, [nlc], [y], TransposeParams(perm=[0, 2, 1]), name=f"{node.name}.to_ncl")


def _out4(s: ConvSpec, out: tuple[int, ...]) -> tuple[int, ...]:
    """The NHWC shape of the 2-D convolution's output."""
    return (out[0], 1, out[2], out[1]) if s.one_d else nhwc(out)


# --- lowerings -------------------------------------------------------------------------------------------------


@register(*CONV_OPS)
def lower_convolution(ctx: LoweringContext, node: Node) -> None:
    s = conv_spec(node)
    x = ctx.input(s.x)
    xt = ctx.tensor(x)
    if len(xt.shape) != (3 if s.one_d else 4):
        raise EdgebuildError(f"{node.name}: convolution input of shape {xt.shape}")
    out = node_shape(node)
    if s.one_d:
        y, amin, amax = ctx.new_output(node, out, Layout.PLAIN, fusable=True)
        y4 = _like(ctx, y, f"{node.name}.y4", _out4(s, out), Layout.NHWC)
    else:
        y, amin, amax = ctx.new_output(node, nhwc(out), Layout.NHWC, fusable=True)
        y4 = y
    w, scales = weight_array(ctx, s.w, quantized=True)
    if w.dtype != np.int8:
        raise EdgebuildError(f"{node.name}: weights are {w.dtype}, expected int8")
    w4 = _conv_weight(w, s)
    oc, kh, kw, icg = w4.shape
    if kh * kw * icg > MAX_TAPS:
        raise EdgebuildError(
            f"{node.name}: {kh * kw * icg} taps per output exceed the int32 accumulator's safe range ({MAX_TAPS})"
        )
    rest = requant_constants(ctx, node, xt.scale, ctx.tensor(y).scale, scales, oc, s.b)
    w_id = ctx.program.add_constant(f"{node.name}.weight", w4, DType.INT8)
    x4 = _rows_to_nhwc(ctx, node, x) if s.one_d else x
    ctx.add_op(node, [x4, w_id, *rest], [y4], _params(s, w4, {"act_min": amin, "act_max": amax}))
    if s.one_d:
        _nhwc_to_rows(ctx, node, y4, y)


@register_float(*CONV_OPS)
def lower_convolution_f32(ctx: LoweringContext, node: Node) -> None:
    """Float: no fused activation (a standalone CLAMP follows; lower/ops/clamp.py), so no bounds."""
    s = conv_spec(node)
    out = node_shape(node)
    if s.one_d:
        x4 = _rows_to_nhwc(ctx, node, ctx.float_value(s.x, Layout.PLAIN))
    else:
        x4 = ctx.float_value(s.x, Layout.NHWC)
    w, _ = weight_array(ctx, s.w, quantized=False)
    w4 = _conv_weight(w.astype(np.float32), s)
    w_id = ctx.program.add_constant(f"{node.name}.weight", w4, DType.FLOAT32)
    b_id = float_bias(ctx, node, s.b)
    params = _params(s, w4, {"lo": -math.inf, "hi": math.inf})
    if s.one_d:
        y = ctx.new_float(node, out)
        y4 = _like(ctx, y, f"{node.name}.y4", _out4(s, out), Layout.NHWC)
        ctx.add_op(node, [x4, w_id, b_id], [y4], params)
        _nhwc_to_rows(ctx, node, y4, y)
    else:
        y = ctx.new_float(node, out, Layout.NHWC)
        ctx.add_op(node, [x4, w_id, b_id], [y], params)
