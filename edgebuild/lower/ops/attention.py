"""scaled_dot_product_attention as torch.export keeps it (one ATen op), decomposed here into BATCH_MATMUL (q·kᵀ·scale)
-> [ADD mask] -> SOFTMAX -> BATCH_MATMUL (·v), float.

PyTorch's rules: q [..., L, E], k [..., S, E], v [..., S, Ev] with batch dims that broadcast; `attn_mask` broadcasts
to the scores [..., L, S] and is either additive (float) or a bool "may attend" mask (True keeps the score, False
gives −inf); `is_causal` keeps keys j <= i (top-left aligned, tril of an L × S block of ones); `enable_gqa` shares
each of k's / v's Hkv heads among Hq / Hkv query heads (repeat_interleave over dim −3). A bool mask is a
constant (made additive at build time) or computed (int32 0/1 at run time: WHERE(mask, 0, −inf))."""

from __future__ import annotations

import math

import numpy as np
from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import DType, Layout, Tensor
from ...ir_ops import AddFloatParams, BatchMatmulFloatParams, SoftmaxFloatParams, WhereParams
from ..context import LoweringContext, logical, node_shape
from ..registry import register_float
from .broadcast import broadcast_shape, expand_plain, reshape_plain

NAMES = ("query", "key", "value", "attn_mask", "dropout_p", "is_causal", "scale", "enable_gqa")


def _shared_heads(ctx: LoweringContext, node: Node, tid: int, heads: int, tag: str) -> int:
    """k or v [..., Hkv, S, E] -> [..., heads, S, E], each head repeated heads / Hkv times in place."""
    shape = ctx.tensor(tid).shape
    if len(shape) < 3 or heads % shape[-3]:
        raise EdgebuildError(f"{node.name}: enable_gqa with {heads} query heads and a {shape} {tag}")
    rep = heads // shape[-3]
    if rep == 1:
        return tid
    lead = shape[:-3]
    five = reshape_plain(ctx, node, tid, (*lead, shape[-3], 1, *shape[-2:]), f"{tag}.heads")
    five = expand_plain(ctx, node, five, (*lead, shape[-3], rep, *shape[-2:]), f"{tag}.gqa")
    return reshape_plain(ctx, node, five, (*lead, heads, *shape[-2:]), f"{tag}.shared")


def _mask(ctx: LoweringContext, node: Node, arg: object, score_shape: tuple[int, ...]) -> int:
    """The additive float mask, of the scores' rank (ADD broadcasts its axes of size 1)."""
    rank = len(score_shape)
    if isinstance(arg, Node) and arg.op == "get_attr":
        value = ctx.constant(arg)
        if value.dtype == np.bool_:
            value = np.where(value, np.float32(0), np.float32(-np.inf))
        value = value.astype(np.float32)
        shape = (1,) * (rank - value.ndim) + value.shape
        broadcast_shape(shape, score_shape)
        if len(shape) != rank or broadcast_shape(shape, score_shape) != score_shape:
            raise EdgebuildError(
                f"{node.name}: attn_mask of shape {value.shape} does not broadcast to {score_shape}"
            )
        return ctx.program.add_constant(f"{node.name}.mask", value.reshape(shape), DType.FLOAT32)
    m = ctx.float_value(arg, Layout.PLAIN)
    mt = ctx.tensor(m)
    shape = (1,) * (rank - len(logical(mt))) + logical(mt)
    if len(shape) != rank or broadcast_shape(shape, score_shape) != score_shape:
        raise EdgebuildError(
            f"{node.name}: attn_mask of shape {logical(mt)} does not broadcast to {score_shape}"
        )
    m = reshape_plain(ctx, node, m, shape, "mask")
    if mt.dtype == DType.FLOAT32:
        return m
    if mt.dtype != DType.INT32:
        raise EdgebuildError(
            f"{node.name}: attn_mask of dtype {mt.dtype.name}: bool or float masks are supported"
        )
    # a bool mask computed at run time (int32 0/1): WHERE(mask, 0, -inf) is its additive form
    unit = (1,) * rank
    keep = ctx.program.add_constant(f"{node.name}.keep", np.zeros(unit, np.float32), DType.FLOAT32)
    drop = ctx.program.add_constant(f"{node.name}.drop", np.full(unit, -np.inf, np.float32), DType.FLOAT32)
    keep, drop = expand_plain(ctx, node, keep, shape, "keep"), expand_plain(ctx, node, drop, shape, "drop")
    additive = ctx.program.add_tensor(Tensor(f"{node.name}.additive", DType.FLOAT32, shape))
    ctx.add_op(node, [m, keep, drop], [additive], WhereParams(), name=f"{node.name}.additive")
    return additive


@register_float("aten.scaled_dot_product_attention.default")
def lower_sdpa(ctx: LoweringContext, node: Node) -> None:
    args = dict(zip(NAMES, node.args)) | dict(node.kwargs)
    if float(args.get("dropout_p") or 0.0) != 0.0:  # type: ignore[arg-type]
        raise EdgebuildError(f"{node.name}: attention with dropout_p > 0 (training); call model.eval()")
    causal = bool(args.get("is_causal"))
    mask = args.get("attn_mask")
    if causal and mask is not None:
        raise EdgebuildError(f"{node.name}: attention with both is_causal and attn_mask")
    q = ctx.float_value(args["query"], Layout.PLAIN)
    k = ctx.float_value(args["key"], Layout.PLAIN)
    v = ctx.float_value(args["value"], Layout.PLAIN)
    sq, sk, sv = (logical(ctx.tensor(t)) for t in (q, k, v))
    if not (min(len(sq), len(sk), len(sv)) >= 2 and sq[-1] == sk[-1] and sk[-2] == sv[-2]):
        raise EdgebuildError(f"{node.name}: attention over q {sq}, k {sk}, v {sv}: shapes do not match")
    if args.get("enable_gqa") and len(sq) >= 3:
        k, v = _shared_heads(ctx, node, k, sq[-3], "key"), _shared_heads(ctx, node, v, sq[-3], "value")
        sk, sv = ctx.tensor(k).shape, ctx.tensor(v).shape
    try:
        batch = broadcast_shape(broadcast_shape(sq[:-2], sk[:-2]), sv[:-2])
    except EdgebuildError as e:
        raise EdgebuildError(f"{node.name}: attention over q {sq}, k {sk}, v {sv}: {e}") from None
    q = expand_plain(ctx, node, q, (*batch, *sq[-2:]), "q")
    k = expand_plain(ctx, node, k, (*batch, *sk[-2:]), "k")
    v = expand_plain(ctx, node, v, (*batch, *sv[-2:]), "v")
    scale = args.get("scale")
    alpha = float(scale) if scale is not None else 1.0 / math.sqrt(sq[-1])  # type: ignore[arg-type]
    score_shape = (*batch, sq[-2], sk[-2])
    prog = ctx.program
    scores = prog.add_tensor(Tensor(f"{node.name}.scores", DType.FLOAT32, score_shape))
    ctx.add_op(
        node, [q, k], [scores], BatchMatmulFloatParams(transpose_b=True, alpha=alpha), name=f"{node.name}.qk"
    )
    if causal:  # query i sees keys j <= i: a constant −inf above the diagonal, broadcast over the batch
        tri = np.triu(np.full(score_shape[-2:], -np.inf, np.float32), k=1)
        m = prog.add_constant(
            f"{node.name}.causal", tri.reshape((1,) * len(batch) + tri.shape), DType.FLOAT32
        )
    elif mask is not None:
        m = _mask(ctx, node, mask, score_shape)
    if causal or mask is not None:
        masked = prog.add_tensor(Tensor(f"{node.name}.masked", DType.FLOAT32, score_shape))
        ctx.add_op(
            node, [scores, m], [masked], AddFloatParams(lo=-math.inf, hi=math.inf), name=f"{node.name}.mask"
        )
        scores = masked
    probs = prog.add_tensor(Tensor(f"{node.name}.probs", DType.FLOAT32, score_shape))
    ctx.add_op(node, [scores], [probs], SoftmaxFloatParams(), name=f"{node.name}.softmax")
    y = ctx.new_float(node, node_shape(node))
    ctx.add_op(
        node, [probs, v], [y], BatchMatmulFloatParams(transpose_b=False, alpha=1.0), name=f"{node.name}.pv"
    )
