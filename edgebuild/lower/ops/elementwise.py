"""Lowerings for add / sub (TFLite's int8 add, eq. 7) and mul (eq. 12) with broadcasting, standalone activations
(a clamp, eq. 8) and identities."""

from __future__ import annotations

from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import Layout, OpCode
from ...qmath import activation_bounds, quantize_multiplier
from .. import LoweringContext, activation_of, logical, node_shape, physical, register

ADD_LEFT_SHIFT = 20  # docs/quantization.md (7): headroom for the rescaled operands, as TFLite


def _broadcast_operand(
    ctx: LoweringContext, node: Node, tid: int, out_logical: tuple[int, ...], layout: Layout
) -> int:
    """The operand as a tensor of the output's rank and layout (a RESHAPE when its bytes are already in that order)."""
    t = ctx.tensor(tid)
    rank = len(out_logical)
    if len(t.shape) == rank and t.layout == layout:
        return tid
    lt = logical(t)
    padded = (1,) * (rank - len(lt)) + lt
    if len(lt) > rank:
        raise EdgebuildError(f"{node.name}: operand of shape {lt} does not broadcast to {out_logical}")
    src_order = [a + rank - len(lt) for a in ((0, 2, 3, 1) if t.layout == Layout.NHWC else range(len(lt)))]
    dst_order = [0, 2, 3, 1] if layout == Layout.NHWC else list(range(rank))
    if [a for a in src_order if padded[a] > 1] != [a for a in dst_order if padded[a] > 1]:
        raise EdgebuildError(
            f"{node.name}: broadcasting an operand of shape {lt} against {out_logical} needs a transpose, "
            "which the int8 lowering does not insert; give both operands the same rank"
        )
    shape = tuple(padded[a] for a in dst_order)
    out = ctx.temp(f"{node.name}.{t.name}.broadcast", t, shape, layout)
    ctx.add_op(OpCode.RESHAPE, node, [tid], [out], [], name=f"{node.name}.{t.name}.reshape")
    return out


def _binary_io(ctx: LoweringContext, node: Node, what: str) -> tuple[int, int, int, int, int]:
    if len(node.args) != 2 or node.kwargs.get("alpha", 1) != 1:
        raise EdgebuildError(f"{node.name}: {what} with alpha or a scalar operand is not supported in int8")
    a, b = ctx.input(node.args[0]), ctx.input(node.args[1])
    out_logical = node_shape(node)
    shape, layout = physical(out_logical)
    a = _broadcast_operand(ctx, node, a, out_logical, layout)
    b = _broadcast_operand(ctx, node, b, out_logical, layout)
    y, amin, amax = ctx.new_output(node, shape, layout, fusable=True)
    return a, b, y, amin, amax


@register("aten.add.Tensor", "aten.sub.Tensor")
def lower_add_sub(ctx: LoweringContext, node: Node) -> None:
    """TFLite's int8 add (eq. 7), with NumPy broadcasting; sub negates the rescaled second operand."""
    sub = str(node.target).startswith("aten.sub")
    a, b, y, amin, amax = _binary_io(ctx, node, "sub" if sub else "add")
    at, bt = ctx.tensor(a), ctx.tensor(b)
    sy = ctx.tensor(y).scale
    twice_max = 2.0 * max(at.scale, bt.scale)
    am, ash = quantize_multiplier(at.scale / twice_max)
    bm, bsh = quantize_multiplier(bt.scale / twice_max)
    om, osh = quantize_multiplier(twice_max / ((1 << ADD_LEFT_SHIFT) * sy))
    opcode = OpCode.SUB if sub else OpCode.ADD
    ctx.add_op(opcode, node, [a, b], [y], [ADD_LEFT_SHIFT, am, ash, bm, bsh, om, osh, amin, amax])


@register("aten.mul.Tensor")
def lower_mul(ctx: LoweringContext, node: Node) -> None:
    """TFLite's int8 mul (docs/quantization.md (12)), with NumPy broadcasting (SE blocks: x · gate[N, C, 1, 1])."""
    a, b, y, amin, amax = _binary_io(ctx, node, "mul")
    real = ctx.tensor(a).scale * ctx.tensor(b).scale / ctx.tensor(y).scale
    om, osh = quantize_multiplier(real)
    ctx.add_op(OpCode.MUL, node, [a, b], [y], [om, osh, amin, amax])


@register(
    "aten.relu.default",
    "aten.relu_.default",
    "aten.relu6.default",
    "aten.hardtanh.default",
    "aten.hardtanh_.default",
)
def lower_activation(ctx: LoweringContext, node: Node) -> None:
    """An activation not fused into its producer: a clamp between tensors that share scale and zero point."""
    x = ctx.input(node.args[0])
    xt = ctx.tensor(x)
    y, _, _ = ctx.new_output(node, xt.shape, xt.layout)
    yt = ctx.tensor(y)
    if (yt.scale, yt.zero_point) != (xt.scale, xt.zero_point):
        raise EdgebuildError(f"{node.name}: activation input and output must share quantization parameters")
    kind, (lo, hi) = activation_of(node)
    amin, amax = activation_bounds(kind, yt.scale, yt.zero_point, lo, hi)
    ctx.add_op(OpCode.CLAMP, node, [x], [y], [amin, amax])


@register("aten.dropout.default", "aten.clone.default", "aten.contiguous.default", "aten.alias.default")
def lower_identity(ctx: LoweringContext, node: Node) -> None:
    if node.target.__name__.startswith("dropout") and len(node.args) > 2 and node.args[2]:  # type: ignore[union-attr]
        raise EdgebuildError(f"{node.name}: dropout in training mode; call model.eval() before exporting")
    ctx.alias_output(node, ctx.input(node.args[0]))
