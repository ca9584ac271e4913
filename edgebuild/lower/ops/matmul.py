"""BATCH_MATMUL: the product of two activations (aten.matmul / bmm) in int8 (eq. 6 with one multiplier) and in float,
its PT2E annotation, and scaled_dot_product_attention as torch.export emits it (one ATen op, decomposed here into
BATCH_MATMUL -> [ADD mask] -> SOFTMAX -> BATCH_MATMUL, float)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import DType, Layout, Tensor
from ...ir_ops import (
    AddFloatParams,
    BatchMatmulFloatParams,
    BatchMatmulInt8Params,
    SoftmaxFloatParams,
    TransposeParams,
)
from ...qmath import quantize_multiplier
from ..context import LoweringContext, NotQuantized, logical, node_shape, physical
from ..registry import register, register_annotation, register_float

if TYPE_CHECKING:
    from ...quantize import Annotator

MAX_BMM_K = 33025  # docs/artifact.md BATCH_MATMUL: 33025 · 255² < 2^31


@register_annotation("aten.matmul.default", "aten.bmm.default")
def annotate_matmul(q: Annotator, node: Node) -> None:
    """Both operands int8, own output observer; a broadcasting matmul is left to the float fallback (which says
    why)."""
    a, b = node.args[0], node.args[1]
    sa, sb = (q.shape(v) if isinstance(v, Node) else None for v in (a, b))
    if sa is None or sb is None or len(sa) < 2 or len(sa) != len(sb) or sa[:-2] != sb[:-2]:
        return
    assert isinstance(a, Node) and isinstance(b, Node)
    q.mark(node, {a: q.act, b: q.act} if a is not b else {a: q.act}, q.act)


def plain_int8(ctx: LoweringContext, node: Node, tid: int) -> int:
    """The plain (PyTorch-order) int8 tensor of `tid`: a TRANSPOSE of a 4-D NHWC tensor, else `tid` itself."""
    t = ctx.tensor(tid)
    if t.layout != Layout.NHWC:
        return tid
    plain = ctx.program.add_tensor(Tensor(f"{t.name}.plain", DType.INT8, logical(t), t.scale, t.zero_point))
    ctx.add_op(node, [tid], [plain], TransposeParams(perm=[0, 3, 1, 2]), name=f"{t.name}.to_plain")
    return plain


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
    a, b = (plain_int8(ctx, node, t) for t in (a, b))
    scale_y = float(qnode.args[1])  # type: ignore[arg-type]
    mult, shift = quantize_multiplier(at.scale * bt.scale / scale_y)
    shape, layout = physical(out)
    if layout == Layout.NHWC:
        flat = ctx.program.add_tensor(
            Tensor(f"{node.name}.plain", DType.INT8, out, scale_y, int(qnode.args[2]))
        )  # type: ignore[call-overload]
        params = BatchMatmulInt8Params(transpose_b=False, mult=mult, shift=shift, act_min=-128, act_max=127)
        ctx.add_op(node, [a, b], [flat], params)
        y, _, _ = ctx.new_output(node, shape, layout)
        ctx.add_op(node, [flat], [y], TransposeParams(perm=[0, 2, 3, 1]), name=f"{node.name}.to_nhwc")
    else:
        y, amin, amax = ctx.new_output(node, shape, layout)
        params = BatchMatmulInt8Params(transpose_b=False, mult=mult, shift=shift, act_min=amin, act_max=amax)
        ctx.add_op(node, [a, b], [y], params)


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
    ctx.add_op(node, [a, b], [y], BatchMatmulFloatParams(transpose_b=False, alpha=1.0))


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
    no_bounds = AddFloatParams(lo=-math.inf, hi=math.inf)
    scores = prog.add_tensor(Tensor(f"{node.name}.scores", DType.FLOAT32, score_shape))
    qk = BatchMatmulFloatParams(transpose_b=True, alpha=alpha)
    ctx.add_op(node, [q, k], [scores], qk, name=f"{node.name}.qk")
    mask = args.get("attn_mask")
    if causal:  # PyTorch's is_causal: query i sees keys j <= i (a constant −inf above the diagonal)
        tri = np.triu(np.full(score_shape[-2:], -np.inf, np.float32), k=1)
        m = prog.add_constant(f"{node.name}.causal", np.broadcast_to(tri, score_shape), DType.FLOAT32)
        masked = prog.add_tensor(Tensor(f"{node.name}.masked", DType.FLOAT32, score_shape))
        ctx.add_op(node, [scores, m], [masked], no_bounds, name=f"{node.name}.causal")
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
        ctx.add_op(node, [scores, m], [masked], no_bounds, name=f"{node.name}.mask")
        scores = masked
    probs = prog.add_tensor(Tensor(f"{node.name}.probs", DType.FLOAT32, score_shape))
    ctx.add_op(node, [scores], [probs], SoftmaxFloatParams(), name=f"{node.name}.softmax")
    y = ctx.new_float(node, node_shape(node))
    ctx.add_op(
        node, [probs, v], [y], BatchMatmulFloatParams(transpose_b=False, alpha=1.0), name=f"{node.name}.pv"
    )
