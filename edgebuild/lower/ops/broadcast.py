"""Broadcasting an operand with the ops every target has: a RESHAPE that prepends axes of size 1 (same bytes), then,
per axis of size 1 that must grow to n, a CONCAT of n copies along it (pure data movement: int8 keeps its scale and
zero point, float its bits). Used by BATCH_MATMUL's broadcasting batch dims and attention's masks and shared heads."""

from __future__ import annotations

from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import DType, Layout, Tensor
from ...ir_ops import ConcatFloatParams, ConcatInt8Params, OpParams, ReshapeParams
from ..context import LoweringContext

MAX_COPIES = 4096  # a CONCAT of more copies than this is a model that should broadcast differently


def broadcast_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    """NumPy's broadcast of two shapes, or EdgebuildError."""
    rank = max(len(a), len(b))
    pa, pb = (1,) * (rank - len(a)) + a, (1,) * (rank - len(b)) + b
    out = []
    for x, y in zip(pa, pb):
        if x != y and 1 not in (x, y):
            raise EdgebuildError(f"shapes {a} and {b} do not broadcast")
        out.append(max(x, y) if 0 not in (x, y) else 0)
    return tuple(out)


def reshape_plain(ctx: LoweringContext, node: Node, tid: int, shape: tuple[int, ...], tag: str) -> int:
    """A plain tensor of `shape` holding the bytes of plain tensor `tid` (same element count)."""
    t = ctx.tensor(tid)
    if t.shape == shape and t.layout == Layout.PLAIN:
        return tid
    if t.layout != Layout.PLAIN:
        raise EdgebuildError(f"{node.name}: internal: reshape of an NHWC tensor")
    out = ctx.program.add_tensor(Tensor(f"{node.name}.{tag}", t.dtype, shape, t.scale, t.zero_point))
    ctx.add_op(node, [tid], [out], ReshapeParams(), name=f"{node.name}.{tag}")
    return out


def expand_plain(ctx: LoweringContext, node: Node, tid: int, shape: tuple[int, ...], tag: str) -> int:
    """Plain tensor `tid` broadcast to `shape` (NumPy rules)."""
    t = ctx.tensor(tid)
    cur = (1,) * (len(shape) - len(t.shape)) + t.shape
    if len(cur) != len(shape) or broadcast_shape(cur, shape) != shape:
        raise EdgebuildError(f"{node.name}: a {t.shape} operand does not broadcast to {shape}")
    tid = reshape_plain(ctx, node, tid, cur, f"{tag}.rank")
    for axis, (have, want) in enumerate(zip(cur, shape)):
        if have == want:
            continue
        if want > MAX_COPIES:
            raise EdgebuildError(
                f"{node.name}: broadcasting an axis to {want} copies (more than {MAX_COPIES})"
            )
        cur = cur[:axis] + (want,) + cur[axis + 1 :]
        src = ctx.tensor(tid)
        out = ctx.program.add_tensor(
            Tensor(f"{node.name}.{tag}.b{axis}", src.dtype, cur, src.scale, src.zero_point)
        )
        params: OpParams = (
            ConcatInt8Params(axis=axis, input_requant=[0, 0] * want)
            if src.dtype == DType.INT8
            else ConcatFloatParams(axis=axis)
        )
        ctx.add_op(node, [tid] * want, [out], params, name=f"{node.name}.{tag}.b{axis}")
        tid = out
    return tid
