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
from ...ir_ops import BinaryFunc, UnaryFloatParams, UnaryInt8Params
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
# issue 16: the elementwise functions of one tensor (and their in-place variants)
ELEMENTWISE_FUNCS = {
    name: UnaryFunc[name.upper()]
    for name in [
        "exp",
        "log",
        "log2",
        "log10",
        "log1p",
        "expm1",
        "sqrt",
        "rsqrt",
        "erf",
        "sin",
        "cos",
        "tan",
        "asin",
        "acos",
        "atan",
        "sinh",
        "cosh",
        "asinh",
        "acosh",
        "atanh",
        "abs",
        "sign",
        "neg",
        "floor",
        "ceil",
        "round",
        "trunc",
        "elu",
    ]
}
for _name, _func in ELEMENTWISE_FUNCS.items():
    FUNCS[f"aten.{_name}.default"] = _func
    FUNCS[f"aten.{_name}_.default"] = _func
# on an integer tensor: identity (floor, ceil, round, trunc) or integer arithmetic (abs, neg, sign)
INTEGER_IDENTITY = {UnaryFunc.FLOOR, UnaryFunc.CEIL, UnaryFunc.ROUND, UnaryFunc.TRUNC}


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
    if func == UnaryFunc.ELU:
        alpha = float(node.kwargs.get("alpha", node.args[1] if len(node.args) > 1 else 1.0))  # type: ignore[arg-type]
    return func, alpha


def lower_table(ctx: LoweringContext, node: Node, x_arg: Node, func: UnaryFunc, alpha: float) -> None:
    """int8 UNARY of any elementwise function of one int8 tensor: the table is `node`'s own ATen op run on the 256
    dequantized codes (every other operand as in the graph), then quantized: PT2E's reference, code by code.
    `func` and `alpha` only name the function in the artifact (the int8 kernel reads the table)."""
    x = ctx.input(x_arg)
    xt = ctx.tensor(x)
    y, _, _ = ctx.new_output(node, xt.shape, xt.layout)
    yt = ctx.tensor(y)
    q = torch.arange(-128, 128, dtype=torch.int32)
    real = (q - xt.zero_point).to(torch.float32) * torch.tensor(xt.scale, dtype=torch.float32)  # eq. (2)

    def swap(a: object) -> object:
        return real if a is x_arg else a

    args = tuple(swap(a) for a in node.args)
    kwargs = {k: swap(v) for k, v in node.kwargs.items()}
    out = node.target(*args, **kwargs)  # type: ignore[operator]
    table = torch.ops.quantized_decomposed.quantize_per_tensor.default(
        out.to(torch.float32).reshape(1, 256), yt.scale, yt.zero_point, -128, 127, torch.int8
    )
    t_id = ctx.program.add_constant(f"{node.name}.table", table.numpy().astype(np.int8), DType.INT8)
    alpha = alpha if np.isfinite(alpha) else 0.0
    ctx.add_op(node, [x, t_id], [y], UnaryInt8Params(func=func, alpha=float(np.float32(alpha))))


@register_annotation(*(name for name in FUNCS if not name.endswith("_.default")))
def annotate_unary(q: Annotator, node: Node) -> None:
    """Own output observer: the table maps every input code to the output's. A prelu slope stays a float constant
    (the table folds it in). The in-place variants, which torch.export's functionalization removes, are not
    annotated."""
    x = node.args[0]
    if not isinstance(x, Node):
        return
    if FUNCS[op_name(node)] in ELEMENTWISE_FUNCS.values():  # issue 16's: only behind an int8 float producer
        val = node.meta.get("val")
        if not (isinstance(val, torch.Tensor) and val.dtype == torch.float32 and q.int8_output(x)):
            return
    q.mark(node, {x: q.act}, q.act)


@register(*FUNCS)
def lower_unary(ctx: LoweringContext, node: Node) -> None:
    func, leaky = unary_func(node)
    if func != UnaryFunc.PRELU:
        assert isinstance(node.args[0], Node)
        return lower_table(ctx, node, node.args[0], func, leaky)
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


def _elu_scales(node: Node) -> None:
    scale = node.kwargs.get("scale", node.args[2] if len(node.args) > 2 else 1.0)
    input_scale = node.kwargs.get("input_scale", node.args[3] if len(node.args) > 3 else 1.0)
    if scale != 1 or input_scale != 1:
        raise EdgebuildError(f"{node.name}: elu with scale or input_scale other than 1 has no float lowering")


def _lower_integer(ctx: LoweringContext, node: Node, func: UnaryFunc) -> None:
    """abs, neg, sign of an int32 tensor through ELEMENTWISE; floor, ceil, round, trunc are the identity."""
    from .ewvalue import elementwise, new_value, temp_value, value

    x = value(ctx, node, node.args[0], DType.INT32, "x")
    if func in INTEGER_IDENTITY:
        ctx.fvalues[node] = {Layout.PLAIN: x}
        return
    zero = value(ctx, node, 0, DType.INT32, "zero")
    if func == UnaryFunc.NEG:
        elementwise(ctx, node, BinaryFunc.SUB, zero, x)
    elif func == UnaryFunc.ABS:
        neg = elementwise(ctx, node, BinaryFunc.SUB, zero, x, out=temp_value(ctx, node, "neg", DType.INT32))
        elementwise(ctx, node, BinaryFunc.MAXIMUM, x, neg)
    elif func == UnaryFunc.SIGN:
        pos = elementwise(ctx, node, BinaryFunc.GT, x, zero, out=temp_value(ctx, node, "pos", DType.INT32))
        neg = elementwise(ctx, node, BinaryFunc.LT, x, zero, out=temp_value(ctx, node, "neg", DType.INT32))
        elementwise(ctx, node, BinaryFunc.SUB, pos, neg)
    else:
        new_value(ctx, node, DType.INT32)  # keeps mypy's flow simple; unreachable for integer inputs
        raise EdgebuildError(f"{node.name}: {op_name(node)} of an integer tensor")


@register_float(*FUNCS)
def lower_unary_f32(ctx: LoweringContext, node: Node) -> None:
    func, alpha = unary_func(node)
    val = node.meta.get("val")
    if isinstance(val, torch.Tensor) and not val.dtype.is_floating_point:
        return _lower_integer(ctx, node, func)
    if func == UnaryFunc.ELU:
        _elu_scales(node)
    # elementwise: any layout the input already has (NHWC after a conv, PLAIN elsewhere); PReLU's slopes index the
    # channel, which is the last stored dim in NHWC only
    x = ctx.float_value_cnn(node.args[0]) if func == UnaryFunc.PRELU else ctx.float_value(node.args[0])
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
    with_alpha = func in (UnaryFunc.LEAKY_RELU, UnaryFunc.ELU)
    params = UnaryFloatParams(func=func, alpha=float(alpha) if with_alpha else 0.0)
    ctx.add_op(node, [x, slope], [y], params)
