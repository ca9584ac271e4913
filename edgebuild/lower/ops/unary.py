"""UNARY: elementwise functions of one tensor (hardswish, sigmoid, gelu, prelu, reciprocal, ...), in int8 (a 256-entry table)
and in float (the formula), and their PT2E annotation.

An int8 input takes 256 values, so any elementwise function is exactly a table (TFLite's approach for LOGISTIC,
TANH, HARD_SWISH on int8). The table is built here from the input and output quantization parameters by doing what
PT2E's reference graph does to each code — dequantize (eq. 2), apply the float32 function, quantize (eq. 1) — so the
kernel equals the reference bit for bit, wherever PyTorch's float32 function agrees with this one (docs/quantization.md
(11)). PReLU with one slope per channel gets one table per channel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import DType, Layout, UnaryFunc
from ...ir_ops import UnaryFloatParams, UnaryInt8Params
from ..context import LoweringContext, logical, op_name
from ..registry import register, register_annotation, register_float

if TYPE_CHECKING:
    from ...quantize import Annotator

A = torch.ops.aten

# ATen op -> UNARY function
FUNCS = {
    "aten.hardswish.default": UnaryFunc.HARDSWISH,
    "aten.hardswish_.default": UnaryFunc.HARDSWISH,
    "aten.hardsigmoid.default": UnaryFunc.HARDSIGMOID,
    "aten.hardsigmoid_.default": UnaryFunc.HARDSIGMOID,
    "aten.sigmoid.default": UnaryFunc.SIGMOID,
    "aten.sigmoid_.default": UnaryFunc.SIGMOID,
    "aten.silu.default": UnaryFunc.SILU,
    "aten.silu_.default": UnaryFunc.SILU,
    "aten.gelu.default": UnaryFunc.GELU,
    "aten.gelu_.default": UnaryFunc.GELU,
    "aten.tanh.default": UnaryFunc.TANH,
    "aten.tanh_.default": UnaryFunc.TANH,
    "aten.leaky_relu.default": UnaryFunc.LEAKY_RELU,
    "aten.leaky_relu_.default": UnaryFunc.LEAKY_RELU,
    "aten.prelu.default": UnaryFunc.PRELU,
    "aten.reciprocal.default": UnaryFunc.RECIPROCAL,
    "aten.reciprocal_.default": UnaryFunc.RECIPROCAL,
}


def apply_float(func: UnaryFunc, x: torch.Tensor, alpha: float | torch.Tensor) -> torch.Tensor:
    """The float32 function, computed by PyTorch itself (the reference graph runs these same ATen ops)."""
    if func == UnaryFunc.HARDSWISH:
        return A.hardswish.default(x)
    if func == UnaryFunc.HARDSIGMOID:
        return A.hardsigmoid.default(x)
    if func == UnaryFunc.SIGMOID:
        return A.sigmoid.default(x)
    if func == UnaryFunc.SILU:
        return A.silu.default(x)
    if func == UnaryFunc.GELU:
        return A.gelu.default(x)
    if func == UnaryFunc.GELU_TANH:
        return A.gelu.default(x, approximate="tanh")
    if func == UnaryFunc.TANH:
        return A.tanh.default(x)
    if func == UnaryFunc.LEAKY_RELU:
        return A.leaky_relu.default(x, float(alpha))
    if func == UnaryFunc.RECIPROCAL:
        return A.reciprocal.default(x)
    assert isinstance(alpha, torch.Tensor)
    return torch.where(x > 0, x, x * alpha)


def build_table(
    func: UnaryFunc,
    x_scale: float,
    x_zp: int,
    y_scale: float,
    y_zp: int,
    alpha: float | np.ndarray = 0.0,
) -> np.ndarray:
    """int8 [T, 256]: row c, column q + 128 = quantize(f(dequantize(q))), T = number of slopes (PReLU) or 1."""
    q = torch.arange(-128, 128, dtype=torch.int32)
    x = (q - x_zp).to(torch.float32) * torch.tensor(x_scale, dtype=torch.float32)  # eq. (2), float32
    if func == UnaryFunc.PRELU:
        slopes = torch.from_numpy(np.asarray(alpha, np.float32).reshape(-1, 1))
        y = apply_float(func, x.reshape(1, 256), slopes)
    else:
        y = apply_float(func, x, alpha).reshape(1, 256)
    out = torch.ops.quantized_decomposed.quantize_per_tensor.default(y, y_scale, y_zp, -128, 127, torch.int8)
    return out.numpy().astype(np.int8)


def unary_func(node: Node) -> tuple[UnaryFunc, float]:
    """The UNARY function of an ATen node, and leaky_relu's slope (0 otherwise)."""
    func = FUNCS[op_name(node)]
    approximate = node.kwargs.get("approximate", node.args[1] if len(node.args) > 1 else "none")
    if func == UnaryFunc.GELU and approximate == "tanh":
        func = UnaryFunc.GELU_TANH
    alpha = 0.0
    if func == UnaryFunc.LEAKY_RELU:
        alpha = float(node.args[1]) if len(node.args) > 1 else 0.01  # type: ignore[arg-type]
    return func, alpha


@register_annotation(*(name for name in FUNCS if not name.endswith("_.default")))
def annotate_unary(q: Annotator, node: Node) -> None:
    """Own output observer: the table maps every input code to the output's. A prelu slope stays a float constant
    (the table folds it in). The in-place variants, which torch.export's functionalization removes, are not
    annotated."""
    x = node.args[0]
    if isinstance(x, Node):
        q.mark(node, {x: q.act}, q.act)


@register(*FUNCS)
def lower_unary(ctx: LoweringContext, node: Node) -> None:
    func, leaky = unary_func(node)
    x = ctx.input(node.args[0])
    xt = ctx.tensor(x)
    alpha: float | np.ndarray = leaky
    if func == UnaryFunc.PRELU:
        alpha = ctx.constant(node.args[1]).astype(np.float32).reshape(-1)
        per_channel_ok = xt.layout == Layout.NHWC or len(xt.shape) == 2  # the channel is the last stored dim
        if alpha.size > 1 and (not per_channel_ok or xt.shape[-1] != alpha.size):
            raise EdgebuildError(
                f"{node.name}: prelu with {alpha.size} slopes on an input of shape {xt.shape} is not supported: "
                "use one slope, or one per channel of an (N, C) or (N, C, H, W) input"
            )
    y, _, _ = ctx.new_output(node, xt.shape, xt.layout)
    yt = ctx.tensor(y)
    table = build_table(func, xt.scale, xt.zero_point, yt.scale, yt.zero_point, alpha)
    t_id = ctx.program.add_constant(f"{node.name}.table", table, DType.INT8)
    params = UnaryInt8Params(func=func, alpha=leaky if func == UnaryFunc.LEAKY_RELU else 0.0)
    ctx.add_op(node, [x, t_id], [y], params)


@register_float(*FUNCS)
def lower_unary_f32(ctx: LoweringContext, node: Node) -> None:
    func, alpha = unary_func(node)
    x = ctx.float_value_cnn(node.args[0])
    xt = ctx.tensor(x)
    slope = -1
    if func == UnaryFunc.PRELU:
        w = ctx.float_constant(node.args[1]).reshape(-1)
        if (
            w.size > 1
            and not (xt.layout == Layout.NHWC or len(xt.shape) == 2)
            or w.size not in (1, xt.shape[-1])
        ):
            raise EdgebuildError(f"{node.name}: prelu with {w.size} slopes on an input of shape {xt.shape}")
        slope = ctx.program.add_constant(f"{node.name}.slope", w, DType.FLOAT32)
    y = ctx.new_float(node, logical(xt), xt.layout)
    params = UnaryFloatParams(func=func, alpha=float(alpha) if func == UnaryFunc.LEAKY_RELU else 0.0)
    ctx.add_op(node, [x, slope], [y], params)
