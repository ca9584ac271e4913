"""Lowerings of transformer ops (float32 forms): embedding lookup, layer_norm, softmax, batch matmul, and
scaled_dot_product_attention as torch.export emits it (one ATen op, decomposed here into BATCH_MATMUL -> [ADD mask]
-> SOFTMAX -> BATCH_MATMUL)."""

from __future__ import annotations

import math

import numpy as np
from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import DType, Layout, OpCode, Tensor
from ...qmath import quantize_multiplier
from .. import (
    LoweringContext,
    NotQuantized,
    f32_bits_of,
    logical,
    node_shape,
    physical,
    register,
    register_float,
)
from .float_ops import NO_MAX, NO_MIN, float_constant


@register_float("aten.embedding.default")
def lower_embedding(ctx: LoweringContext, node: Node) -> None:
    table = float_constant(ctx, node.args[0])
    ids = ctx.float_value(node.args[1])
    if ctx.tensor(ids).dtype != DType.INT32:
        raise EdgebuildError(
            f"{node.name}: embedding indices must be an integer model input (token ids), not a computed tensor"
        )
    t_id = ctx.program.add_constant(f"{node.name}.table", table, DType.FLOAT32)
    y = ctx.new_float(node, node_shape(node))
    ctx.add_op(OpCode.EMBEDDING, node, [t_id, ids], [y], [])


@register_float("aten.layer_norm.default")
def lower_layer_norm(ctx: LoweringContext, node: Node) -> None:
    args = list(node.args) + [None] * (5 - len(node.args))
    x_arg, normalized, w_arg, b_arg, eps = args[:5]
    x = ctx.float_value(x_arg, Layout.PLAIN)
    shape = logical(ctx.tensor(x))
    if list(normalized) != [shape[-1]]:  # type: ignore[call-overload]
        raise EdgebuildError(
            f"{node.name}: layer_norm over {list(normalized)} of {shape}: only the last dimension is supported"  # type: ignore[call-overload]
        )
    g = (
        -1
        if w_arg is None
        else ctx.program.add_constant(f"{node.name}.weight", float_constant(ctx, w_arg), DType.FLOAT32)
    )
    b = (
        -1
        if b_arg is None
        else ctx.program.add_constant(f"{node.name}.bias", float_constant(ctx, b_arg), DType.FLOAT32)
    )
    y = ctx.new_float(node, shape)
    ctx.add_op(OpCode.LAYER_NORM, node, [x, g, b], [y], [f32_bits_of(1e-5 if eps is None else float(eps))])  # type: ignore[arg-type]


@register_float("aten.softmax.int", "aten._softmax.default")
def lower_softmax(ctx: LoweringContext, node: Node) -> None:
    x = ctx.float_value(node.args[0], Layout.PLAIN)
    shape = logical(ctx.tensor(x))
    dim = int(node.args[1]) % len(shape)  # type: ignore[call-overload]
    if dim != len(shape) - 1:
        raise EdgebuildError(
            f"{node.name}: softmax over dim {dim} of {shape}: only the last dimension is supported"
        )
    y = ctx.new_float(node, shape)
    ctx.add_op(OpCode.SOFTMAX, node, [x], [y], [])


@register("aten.matmul.default", "aten.bmm.default")
def lower_matmul_int8(ctx: LoweringContext, node: Node) -> None:
    """The product of two int8 activations (eq. 6 with one multiplier s_a·s_b/s_y). Operates on the plain
    (PyTorch-order) bytes: a 4-D int8 activation is stored NHWC, so it is transposed to plain first and the
    result back (attention tensors [B, heads, T, d] are not images)."""
    a, b = ctx.input(node.args[0]), ctx.input(node.args[1])
    at, bt = ctx.tensor(a), ctx.tensor(b)
    sa, sb = logical(at), logical(bt)
    if len(sa) < 2 or len(sa) != len(sb) or sa[:-2] != sb[:-2]:
        raise NotQuantized(f"{node.name}: matmul of {sa} and {sb} needs broadcasting")
    if sa[-1] > MAX_BMM_K:
        raise NotQuantized(f"{node.name}: K = {sa[-1]} exceeds the int32 accumulator's range in int8")
    out = node_shape(node)
    qnode, _, _ = ctx.output_quant(node)  # before anything is emitted: NotQuantized leaves no trace
    a, b = (_plain_int8(ctx, node, t) for t in (a, b))
    scale_y = float(qnode.args[1])  # type: ignore[arg-type]
    mult, shift = quantize_multiplier(at.scale * bt.scale / scale_y)
    shape, layout = physical(out)
    if layout == Layout.NHWC:
        flat = ctx.program.add_tensor(
            Tensor(f"{node.name}.plain", DType.INT8, out, scale_y, int(qnode.args[2]))
        )  # type: ignore[call-overload]
        ctx.add_op(OpCode.BATCH_MATMUL, node, [a, b], [flat], [0, mult, shift, -128, 127])
        y, _, _ = ctx.new_output(node, shape, layout)
        ctx.add_op(OpCode.TRANSPOSE, node, [flat], [y], [0, 2, 3, 1], name=f"{node.name}.to_nhwc")
    else:
        y, amin, amax = ctx.new_output(node, shape, layout)
        ctx.add_op(OpCode.BATCH_MATMUL, node, [a, b], [y], [0, mult, shift, amin, amax])


MAX_BMM_K = 33025  # docs/artifact.md BATCH_MATMUL: 33025 · 255² < 2^31


def _plain_int8(ctx: LoweringContext, node: Node, tid: int) -> int:
    t = ctx.tensor(tid)
    if t.layout != Layout.NHWC:
        return tid
    plain = ctx.program.add_tensor(Tensor(f"{t.name}.plain", DType.INT8, logical(t), t.scale, t.zero_point))
    ctx.add_op(OpCode.TRANSPOSE, node, [tid], [plain], [0, 3, 1, 2], name=f"{t.name}.to_plain")
    return plain


@register_float("aten.matmul.default", "aten.bmm.default")
def lower_matmul(ctx: LoweringContext, node: Node) -> None:
    a = ctx.float_value(node.args[0], Layout.PLAIN)
    b = ctx.float_value(node.args[1], Layout.PLAIN)
    sa, sb = logical(ctx.tensor(a)), logical(ctx.tensor(b))
    if len(sa) < 2 or len(sa) != len(sb) or sa[:-2] != sb[:-2]:
        raise EdgebuildError(
            f"{node.name}: matmul of {sa} and {sb}: both operands need rank >= 2 and equal batch dims (no "
            "broadcasting)"
        )
    y = ctx.new_float(node, node_shape(node))
    ctx.add_op(OpCode.BATCH_MATMUL, node, [a, b], [y], [0, f32_bits_of(1.0)])


@register_float("aten.scaled_dot_product_attention.default")
def lower_sdpa(ctx: LoweringContext, node: Node) -> None:
    """softmax(q·kᵀ·scale + mask)·v: BATCH_MATMUL (transpose_b, alpha = scale), ADD of a float mask of the scores'
    shape (or of a constant −inf upper triangle for is_causal), SOFTMAX, BATCH_MATMUL."""
    names = ["query", "key", "value", "attn_mask", "dropout_p", "is_causal", "scale", "enable_gqa"]
    args = dict(zip(names, node.args))
    args.update(node.kwargs)
    if float(args.get("dropout_p") or 0.0) != 0.0:  # type: ignore[arg-type]
        raise EdgebuildError(f"{node.name}: attention with dropout_p > 0 (training); call model.eval()")
    causal = bool(args.get("is_causal"))
    if causal and args.get("attn_mask") is not None:
        raise EdgebuildError(f"{node.name}: attention with both is_causal and attn_mask")
    if args.get("enable_gqa"):
        raise EdgebuildError(f"{node.name}: grouped-query attention (enable_gqa) is not supported")
    q = ctx.float_value(args["query"], Layout.PLAIN)
    k = ctx.float_value(args["key"], Layout.PLAIN)
    v = ctx.float_value(args["value"], Layout.PLAIN)
    sq, sk, sv = (logical(ctx.tensor(t)) for t in (q, k, v))
    if not (len(sq) == len(sk) == len(sv) >= 2 and sq[:-2] == sk[:-2] == sv[:-2] and sq[-1] == sk[-1]):
        raise EdgebuildError(f"{node.name}: attention over q {sq}, k {sk}, v {sv}: shapes do not match")
    scale = args.get("scale")
    alpha = float(scale) if scale is not None else 1.0 / math.sqrt(sq[-1])  # type: ignore[arg-type]
    score_shape = (*sq[:-1], sk[-2])
    prog = ctx.program
    scores = prog.add_tensor(Tensor(f"{node.name}.scores", DType.FLOAT32, score_shape))
    ctx.add_op(OpCode.BATCH_MATMUL, node, [q, k], [scores], [1, f32_bits_of(alpha)], name=f"{node.name}.qk")
    mask = args.get("attn_mask")
    if causal:  # PyTorch's is_causal: query i sees keys j <= i (a constant −inf above the diagonal)
        tri = np.triu(np.full(score_shape[-2:], -np.inf, np.float32), k=1)
        m = prog.add_constant(f"{node.name}.causal", np.broadcast_to(tri, score_shape), DType.FLOAT32)
        masked = prog.add_tensor(Tensor(f"{node.name}.masked", DType.FLOAT32, score_shape))
        ctx.add_op(OpCode.ADD, node, [scores, m], [masked], [NO_MIN, NO_MAX], name=f"{node.name}.causal")
        scores = masked
    elif mask is not None:
        m = ctx.float_value(mask, Layout.PLAIN)
        mt = ctx.tensor(m)
        if mt.dtype != DType.FLOAT32 or logical(mt) != score_shape:
            raise EdgebuildError(
                f"{node.name}: attn_mask of shape {logical(mt)} ({mt.dtype.name}): a float mask of the scores' "
                f"shape {score_shape} is supported (expand it in the model)"
            )
        masked = prog.add_tensor(Tensor(f"{node.name}.masked", DType.FLOAT32, score_shape))
        ctx.add_op(OpCode.ADD, node, [scores, m], [masked], [NO_MIN, NO_MAX], name=f"{node.name}.mask")
        scores = masked
    probs = prog.add_tensor(Tensor(f"{node.name}.probs", DType.FLOAT32, score_shape))
    ctx.add_op(OpCode.SOFTMAX, node, [scores], [probs], [], name=f"{node.name}.softmax")
    y = ctx.new_float(node, node_shape(node))
    ctx.add_op(OpCode.BATCH_MATMUL, node, [probs, v], [y], [0, f32_bits_of(1.0)], name=f"{node.name}.pv")
