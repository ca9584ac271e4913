"""aten._embedding_bag (nn.EmbeddingBag; embedding_bag.padding_idx before decomposition), float: an EMBEDDING of
the token ids (a model input) followed by a BATCH_MATMUL with a constant [bags, ids] matrix that sums (mode sum,
with per_sample_weights when given) or averages (mode mean) each bag's rows. The bags come from constant offsets (a
2-D ids input gets them from arange, which build-time constant folding makes constant). Max bags and a padding_idx
under mean (the count would depend on the ids) are refused; a padding_idx under sum is a zeroed table row. Only the
output (item 0) may be used."""

from __future__ import annotations

import operator

import numpy as np
from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import DType, Layout, Tensor
from ...ir_ops import BatchMatmulFloatParams, EmbeddingFloatParams
from ..context import LoweringContext, node_shape
from ..registry import register_float

NAMES = (
    "weight",
    "indices",
    "offsets",
    "scale_grad_by_freq",
    "mode",
    "sparse",
    "per_sample_weights",
    "include_last_offset",
    "padding_idx",
)


def bag_matrix(
    n_ids: int, offsets: np.ndarray, include_last: bool, mean: bool, weights: np.ndarray | None
) -> np.ndarray:
    """[bags, n_ids]: row b holds the weight of each id of bag b (1, the per-sample weight, or 1/count)."""
    starts = [int(o) for o in offsets]
    ends = starts[1:] + [n_ids] if not include_last else starts[1:]
    starts = starts if not include_last else starts[:-1]
    m = np.zeros((len(starts), n_ids), np.float64)
    for b, (lo, hi) in enumerate(zip(starts, ends)):
        if not 0 <= lo <= hi <= n_ids:
            raise EdgebuildError(
                f"embedding_bag offsets {offsets.tolist()} are not increasing within {n_ids} ids"
            )
        if hi > lo:
            m[b, lo:hi] = weights[lo:hi] if weights is not None else (1.0 / (hi - lo) if mean else 1.0)
    return m


@register_float("aten._embedding_bag.default", "aten.embedding_bag.padding_idx", "aten.embedding_bag.default")
def lower_embedding_bag(ctx: LoweringContext, node: Node) -> None:
    args = dict(zip(NAMES, node.args)) | dict(node.kwargs)
    mode = int(args.get("mode") or 0)  # type: ignore[call-overload]
    pad = args.get("padding_idx")
    pad = -1 if pad is None else int(pad)  # type: ignore[call-overload]
    if mode == 2:
        raise EdgebuildError(
            f"{node.name}: embedding_bag with mode='max' is not supported (sum and mean are)"
        )
    if pad >= 0 and mode == 1:
        raise EdgebuildError(f"{node.name}: embedding_bag mean with padding_idx is not supported")
    outputs = [u for u in node.users if u.target is operator.getitem]
    if len(outputs) != len(node.users) or any(u.args[1] != 0 and u.users for u in outputs):
        raise EdgebuildError(f"{node.name}: only the output of embedding_bag (item 0) may be used")
    table = ctx.float_constant(args["weight"]).copy()
    if pad >= 0:
        table[pad] = 0.0
    ids = ctx.float_value(args["indices"], Layout.PLAIN)
    it = ctx.tensor(ids)
    if it.dtype != DType.INT32:
        raise EdgebuildError(f"{node.name}: embedding_bag indices must be an integer model input (token ids)")
    weights = None
    if args.get("per_sample_weights") is not None:
        weights = ctx.float_constant(args["per_sample_weights"]).astype(np.float64).reshape(-1)
    off = args.get("offsets")
    if len(it.shape) != 1 or not (isinstance(off, Node) and off.op == "get_attr"):
        raise EdgebuildError(f"{node.name}: embedding_bag needs 1-D ids and constant offsets")
    offsets, include_last = ctx.constant(off).reshape(-1), bool(args.get("include_last_offset"))
    n_ids = ctx.tensor(ids).shape[0]
    bags = bag_matrix(n_ids, offsets, include_last, mode == 1, weights)
    t_id = ctx.program.add_constant(f"{node.name}.table", table, DType.FLOAT32)
    rows = ctx.program.add_tensor(Tensor(f"{node.name}.rows", DType.FLOAT32, (n_ids, table.shape[1])))
    ctx.add_op(node, [t_id, ids], [rows], EmbeddingFloatParams(), name=f"{node.name}.lookup")
    m_id = ctx.program.add_constant(f"{node.name}.bags", bags, DType.FLOAT32)
    first = next((u for u in outputs if u.args[1] == 0), None)
    if first is None:
        raise EdgebuildError(f"{node.name}: the output of embedding_bag is unused")
    y = ctx.new_float(first, node_shape(first))
    ctx.add_op(
        node, [m_id, rows], [y], BatchMatmulFloatParams(transpose_b=False, alpha=1.0), name=f"{node.name}.sum"
    )
    ctx.consumed.update(outputs)
