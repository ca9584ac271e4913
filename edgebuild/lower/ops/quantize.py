"""QUANTIZE / DEQUANTIZE: the int8 boundaries of a program (eq. 1 and 2).

QUANTIZE: at a float32 graph input (NCHW in, NHWC int8 when 4-D), and behind a float op whose output PT2E quantized
(the float -> int8 boundary of the float fallback); a quantize of a dequantized int8 value (a requantization) is a
UNARY table. DEQUANTIZE: at an int8 graph output (back to NCHW), and in front
of a float op reading an int8 value (LoweringContext.float_value). The walker (lower/walker.py) calls these; the
quantize and dequantize nodes themselves have no lowering of their own.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.fx import Node

from ...ir import DType, Layout, Tensor, UnaryFunc
from ...ir_ops import DequantizeParams, QuantizeParams, UnaryInt8Params
from ...qmath import inv_scale_f32
from ..context import DEQUANTIZE_NODES, LoweringContext, logical, node_shape, physical


def lower_quantize(ctx: LoweringContext, node: Node) -> None:
    """A quantize_per_tensor node the walker meets on its own (not the output of an int8 lowering)."""
    prog = ctx.program
    src = node.args[0]
    if (
        isinstance(src, Node)
        and src.op == "placeholder"
        and prog.tensors[ctx.values[src]].dtype != DType.FLOAT32
    ):
        return  # an integer input that PT2E observed: it is used as ids, not quantized
    if isinstance(src, Node) and src.op != "placeholder" and src in ctx.fvalues:
        # the int8/float boundary behind a float op: QUANTIZE its output
        fsrc = ctx.float_value(src)
        ft = ctx.tensor(fsrc)
        shape, layout = physical(node_shape(src))
        scale, zp = float(node.args[1]), int(node.args[2])  # type: ignore[arg-type]
        tid = prog.add_tensor(Tensor(node.name, DType.INT8, shape, scale, zp, layout))
        ctx.values[node] = tid
        to_nhwc = layout == Layout.NHWC and ft.layout != Layout.NHWC
        params = QuantizeParams(to_nhwc=to_nhwc, inv_scale=float(inv_scale_f32(scale)))
        ctx.add_op(node, [fsrc], [tid], params)
    elif isinstance(src, Node) and src.op == "placeholder":
        x = ctx.values[src]
        shape, layout = physical(node_shape(src))
        scale, zp = float(node.args[1]), int(node.args[2])  # type: ignore[arg-type]
        tid = prog.add_tensor(Tensor(node.name, DType.INT8, shape, scale, zp, layout))
        ctx.values[node] = tid
        params = QuantizeParams(to_nhwc=layout == Layout.NHWC, inv_scale=float(inv_scale_f32(scale)))
        ctx.add_op(node, [x], [tid], params)
    elif isinstance(src, Node) and src.target in DEQUANTIZE_NODES and src.args and src.args[0] in ctx.values:
        requantize(ctx, node, ctx.values[src.args[0]])  # type: ignore[index]
    # any other quantize belongs to an op that was not lowered: reported there


def requantize(ctx: LoweringContext, node: Node, x: int) -> None:
    """quantize(dequantize(x)) with other parameters: PT2E's requantization where an op's input observer is not its
    producer's output observer (a softmax's probabilities read by a multiply). A function of one int8 tensor, so a
    UNARY 256-entry table (named x·1) computed with PT2E's own dequantize and quantize: its codes, bit for bit."""
    xt = ctx.tensor(x)
    scale, zp = float(node.args[1]), int(node.args[2])  # type: ignore[arg-type]
    qmin, qmax = int(node.args[3]), int(node.args[4])  # type: ignore[arg-type]
    y = ctx.program.add_tensor(Tensor(node.name, DType.INT8, xt.shape, scale, zp, xt.layout))
    ctx.values[node] = y
    qd = torch.ops.quantized_decomposed
    codes = torch.arange(-128, 128, dtype=torch.int32).to(torch.int8).reshape(1, 256)
    real = qd.dequantize_per_tensor.default(codes, xt.scale, xt.zero_point, -128, 127, torch.int8)
    table = qd.quantize_per_tensor.default(real, scale, zp, qmin, qmax, torch.int8)
    t_id = ctx.program.add_constant(f"{node.name}.table", table.numpy().astype(np.int8), DType.INT8)
    ctx.add_op(node, [x, t_id], [y], UnaryInt8Params(func=UnaryFunc.MUL_SCALAR, alpha=1.0))


def dequantize_output(ctx: LoweringContext, out: Node, src: int) -> int:
    """The float32 graph output (PyTorch's NCHW) of the int8 tensor `src`."""
    t = ctx.tensor(src)
    tid = ctx.program.add_tensor(Tensor(f"output_{len(ctx.program.outputs)}", DType.FLOAT32, logical(t)))
    params = DequantizeParams(to_nchw=t.layout == Layout.NHWC)
    ctx.add_op(out, [src], [tid], params, name=f"dequantize_{out.name}")
    return tid


def dequantize_to_float(ctx: LoweringContext, arg: Node, src: int) -> int:
    """The float32 value of int8 tensor `src` (behind dequantize node `arg`), in the same layout."""
    st = ctx.tensor(src)
    tid = ctx.program.add_tensor(Tensor(f"{arg.name}.f32", DType.FLOAT32, st.shape, layout=st.layout))
    ctx.add_op(arg, [src], [tid], DequantizeParams(to_nchw=False), name=f"dequantize_{arg.name}")
    return tid
