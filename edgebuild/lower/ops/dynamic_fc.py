"""DYNAMIC_FULLY_CONNECTED: a linear layer with int8 weights per output channel and float32 activations quantized per
row at run time (docs/quantization.md (14)-(15)). Its forms in the graph are the linear layers the quantizer leaves
unannotated as dynamic (edgebuild/quantize.py, `--activations`): aten.linear with a constant weight, an addmm that is
a linear layer (lower/ops/linear.py), and matmul / mm by a constant 2-D matrix. Its input is the float value of the
activation (a DEQUANTIZE in front when the producer is int8), its output float32.

DYNAMIC_BATCH_MATMUL: a product of two float activations (attention's Q·Kᵀ and P·V) in a model whose linear layers
are dynamic: both operands quantized at run time, a per row, b per output column (docs/quantization.md (16)).

The weights are quantized here, once, in numpy float32 as (14)'s preamble says: s_w[n] = max_k |w[n, k]| / 127 (1 for
an all-zero row, and for a row so small that the division underflows to 0), q_w = clamp(rne(w / s_w), -127, 127)."""

from __future__ import annotations

import math

import numpy as np
from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import DType, Layout, Tensor
from ...ir_ops import DynamicBatchMatmulFloatParams, DynamicFullyConnectedFloatParams, ReshapeParams
from ..context import LoweringContext, logical, node_shape, op_name
from ..registry import register_dynamic
from .linear import _addmm_parts
from .matmul import MATMUL_OPS, _batched, is_constant, matmul_shapes

MAX_K = 16384  # EB_QD8_MAX_K (edgebuild/ukernels.h): the runtime refuses longer rows
# bmm multiplies by a 3-D operand: never a linear layer's weight
LINEAR_OPS = (
    "aten.linear.default",
    "aten.addmm.default",
    *(op for op in MATMUL_OPS if op != "aten.bmm.default"),
)


def quantize_weight_rows(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(q_w int8 [N, K], s_w float32 [N]) of a float weight [N, K]: symmetric per output channel, every step in
    float32 (docs/quantization.md (14), preamble)."""
    w = np.asarray(w, dtype=np.float32)
    if w.ndim != 2:
        raise EdgebuildError(f"a dynamic linear layer needs a 2-D weight, got {w.shape}")
    if not np.isfinite(w).all():
        raise EdgebuildError("the weight holds NaN or infinity")
    amax = np.abs(w).max(axis=1) if w.shape[1] else np.zeros(w.shape[0], np.float32)
    scale = amax / np.float32(127)
    scale = np.where(scale == 0, np.float32(1), scale).astype(np.float32)
    q = np.clip(np.rint(w / scale[:, None]), -127, 127).astype(np.int8)
    return q, scale


def linear_parts(node: Node) -> tuple[Node, Node, bool, object] | None:
    """(x, weight node, transposed, bias or None) of a linear layer the dynamic form takes: y = x · Wᵀ + b with a
    constant W stored [N, K] (transposed = False: aten.linear) or [K, N] (addmm, matmul, mm); else None."""
    if node.op != "call_function":
        return None
    target = op_name(node)
    if target == "aten.linear.default":
        x, w = node.args[0], node.args[1]
        b = node.args[2] if len(node.args) > 2 else node.kwargs.get("bias")
        bias_ok = b is None or (is_constant(b) and _rank(b) == 1)
        if isinstance(x, Node) and isinstance(w, Node) and is_constant(w) and _rank(w) == 2 and bias_ok:
            return x, w, False, b
        return None
    if target == "aten.addmm.default":
        parts = _addmm_parts(node)
        if parts is None:
            return None
        bias, mat1, mat2 = parts
        assert isinstance(mat1, Node) and isinstance(mat2, Node)
        return (mat1, mat2, True, bias) if _rank(mat2) == 2 else None
    if target in MATMUL_OPS:
        x, w = node.args[0], node.args[1]
        if isinstance(x, Node) and is_constant(w) and not is_constant(x) and _rank(w) == 2 and _rank(x) >= 1:
            assert isinstance(w, Node)
            return x, w, True, None
    return None


def _rank(arg: object) -> int:
    val = arg.meta.get("val") if isinstance(arg, Node) else None
    shape = getattr(val, "shape", None)
    return len(shape) if shape is not None else -1


def activation_product(node: Node) -> tuple[Node, Node] | None:
    """(a, b) of a matmul / bmm of two activations, both of rank >= 2 (attention's products); else None."""
    if node.op != "call_function" or op_name(node) not in MATMUL_OPS or len(node.args) < 2:
        return None
    a, b = node.args[0], node.args[1]
    if not (isinstance(a, Node) and isinstance(b, Node)) or is_constant(a) or is_constant(b):
        return None
    return (a, b) if _rank(a) >= 2 and _rank(b) >= 2 else None


def lower_dynamic_product(ctx: LoweringContext, node: Node) -> None:
    """DYNAMIC_BATCH_MATMUL of two activations (torch.matmul's rules: batch dims broadcast by an expand first)."""
    parts = activation_product(node)
    if parts is None:
        raise EdgebuildError(f"{node.name}: not a product of two activations of rank >= 2")
    a, b = ctx.float_value(parts[0], Layout.PLAIN), ctx.float_value(parts[1], Layout.PLAIN)
    fa, fb, full = matmul_shapes(logical(ctx.tensor(a)), logical(ctx.tensor(b)))
    if fa[-1] > MAX_K:
        raise EdgebuildError(f"{node.name}: K = {fa[-1]} exceeds the dynamic form's {MAX_K}")
    a, b = _batched(ctx, node, a, fa, "a"), _batched(ctx, node, b, fb, "b")
    y = ctx.new_float(node, node_shape(node))
    params = DynamicBatchMatmulFloatParams(transpose_b=False, alpha=1.0)
    if tuple(full) == tuple(ctx.tensor(y).shape):
        ctx.add_op(node, [a, b], [y], params)
        return
    flat = ctx.program.add_tensor(Tensor(f"{node.name}.full", DType.FLOAT32, full))
    ctx.add_op(node, [a, b], [flat], params)
    ctx.add_op(node, [flat], [y], ReshapeParams(), name=f"{node.name}.squeeze")


@register_dynamic(*LINEAR_OPS, "aten.bmm.default")
def lower_dynamic_linear(ctx: LoweringContext, node: Node) -> None:
    """DYNAMIC_FULLY_CONNECTED of a linear layer (linear_parts): the weight quantized per row here, the bias float;
    DYNAMIC_BATCH_MATMUL of a product of two activations (activation_product)."""
    parts = linear_parts(node)
    if parts is None:
        if activation_product(node) is not None:
            return lower_dynamic_product(ctx, node)
        raise EdgebuildError(f"{node.name}: not a linear layer with a constant 2-D weight")
    x_arg, w_arg, transposed, b_arg = parts
    w = ctx.float_constant(w_arg)
    w = np.ascontiguousarray(w.T if transposed else w)
    if w.shape[1] > MAX_K:
        raise EdgebuildError(f"{node.name}: K = {w.shape[1]} exceeds the dynamic form's {MAX_K}")
    q, scale = quantize_weight_rows(w)
    w_id = ctx.program.add_constant(f"{node.name}.weight", q, DType.INT8)
    s_id = ctx.program.add_constant(f"{node.name}.w_scale", scale, DType.FLOAT32)
    b_id = -1
    if b_arg is not None:
        b = ctx.float_constant(b_arg).reshape(-1)
        if b.size != w.shape[0]:
            raise EdgebuildError(f"{node.name}: bias of {b.size} values for {w.shape[0]} outputs")
        b_id = ctx.program.add_constant(f"{node.name}.bias", b, DType.FLOAT32)
    x = ctx.float_value(x_arg, Layout.PLAIN)
    y = ctx.new_float(node, node_shape(node))
    ctx.add_op(node, [x, w_id, s_id, b_id], [y], DynamicFullyConnectedFloatParams(lo=-math.inf, hi=math.inf))
