"""Arithmetic of two operands (tensors or python numbers), float32 and int32: add, sub, mul, div (rounding modes),
pow, maximum, minimum, fmod, remainder, atan2, bitwise and/or/xor, and their .Scalar and in-place variants.

Float: a python-number operand of a float tensor becomes one UNARY scalar function (x + c, c - x, x * c, x / c,
c / x, x ** c, max/min(x, c)), bit-identical to torch (the scalar is rounded to float32 first, as torch does); every
other case is ELEMENTWISE on operands cast to torch's result dtype. `alpha` (add/sub) multiplies the second operand
first: torch fuses that product into the add (one rounding), edgebuild rounds twice, so alpha not in {1, -1} may
differ by 1 ulp.

int8: an op with one int8 tensor and a python number (x + 1.0, x * 0.5, 1 - x, x ** 2, ...) is a function of one
int8 tensor, so it is UNARY's 256-entry table computed by running the node's own ATen op on the 256 dequantized
codes (unary.lower_table): equal to PT2E's q/dq reference bit for bit.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import DType, Layout, OpCode, Tensor, UnaryFunc
from ...ir_ops import BinaryFunc, UnaryFloatParams
from ...ir_ops import f32_bits as f32_bits_of
from ..context import LoweringContext, NotQuantized, op_name
from ..registry import register, register_annotation, register_float
from .ewvalue import TensorId, elementwise, ir_dtype, new_value, node_dtype, value
from .unary import lower_table

if TYPE_CHECKING:
    from ...quantize import Annotator

B = BinaryFunc
# ATen op base name -> ELEMENTWISE function (div's rounding mode picks DIV_TRUNC / DIV_FLOOR)
BINARY = {
    "add": B.ADD,
    "sub": B.SUB,
    "rsub": B.SUB,
    "mul": B.MUL,
    "div": B.DIV,
    "floor_divide": B.DIV_FLOOR,
    "pow": B.POW,
    "maximum": B.MAXIMUM,
    "minimum": B.MINIMUM,
    "fmod": B.FMOD,
    "remainder": B.REMAINDER,
    "atan2": B.ATAN2,
    "bitwise_and": B.BITWISE_AND,
    "bitwise_or": B.BITWISE_OR,
    "bitwise_xor": B.BITWISE_XOR,
    "bitwise_left_shift": B.SHIFT_LEFT,
    "bitwise_right_shift": B.SHIFT_RIGHT,
}
# add / sub / mul of two tensors (and their in-place variants) are elementwise.py's, which sends the other cases here
NAMES = tuple(
    "aten." + n
    for n in [
        "add.Scalar",
        "add_.Scalar",
        "sub.Scalar",
        "sub_.Scalar",
        "rsub.Tensor",
        "rsub.Scalar",
        "mul.Scalar",
        "mul_.Scalar",
        "div.Tensor",
        "div.Scalar",
        "div.Tensor_mode",
        "div.Scalar_mode",
        "div_.Tensor",
        "div_.Scalar",
        "div_.Tensor_mode",
        "div_.Scalar_mode",
        "floor_divide.default",
        "floor_divide.Scalar",
        "pow.Tensor_Scalar",
        "pow.Tensor_Tensor",
        "pow.Scalar",
        "pow_.Scalar",
        "pow_.Tensor",
        "maximum.default",
        "minimum.default",
        "fmod.Tensor",
        "fmod.Scalar",
        "remainder.Tensor",
        "remainder.Scalar",
        "atan2.default",
        "bitwise_and.Tensor",
        "bitwise_and.Scalar",
        "bitwise_or.Tensor",
        "bitwise_or.Scalar",
        "bitwise_xor.Tensor",
        "bitwise_xor.Scalar",
        "bitwise_left_shift.Tensor",
        "bitwise_right_shift.Tensor",
        "__and__.Tensor",
        "__or__.Tensor",
        "__xor__.Tensor",
    ]
)
# (func, scalar on the right?) -> the UNARY scalar function of a float tensor
SCALAR_FUNCS = {
    (B.ADD, True): UnaryFunc.ADD_SCALAR,
    (B.ADD, False): UnaryFunc.ADD_SCALAR,
    (B.MUL, True): UnaryFunc.MUL_SCALAR,
    (B.MUL, False): UnaryFunc.MUL_SCALAR,
    (B.SUB, False): UnaryFunc.RSUB_SCALAR,
    (B.DIV, True): UnaryFunc.DIV_SCALAR,
    (B.DIV, False): UnaryFunc.RDIV_SCALAR,
    (B.POW, True): UnaryFunc.POW_SCALAR,
    (B.MAXIMUM, True): UnaryFunc.MAX_SCALAR,
    (B.MAXIMUM, False): UnaryFunc.MAX_SCALAR,
    (B.MINIMUM, True): UnaryFunc.MIN_SCALAR,
    (B.MINIMUM, False): UnaryFunc.MIN_SCALAR,
}


DUNDER = {"__and__": "bitwise_and", "__or__": "bitwise_or", "__xor__": "bitwise_xor"}


def base_name(node: Node) -> str:
    base = op_name(node).split(".")[1]
    return DUNDER.get(base, base.rstrip("_"))


def operands(node: Node) -> tuple[object, object, float, BinaryFunc]:
    """(a, b, alpha, func) of a binary node: rsub(x, c, alpha) = c - alpha·x swapped to sub, div's rounding mode
    resolved."""
    base = base_name(node)
    a = node.args[0]
    b = node.args[1] if len(node.args) > 1 else node.kwargs.get("other", node.kwargs.get("exponent"))
    has_alpha = base in ("add", "sub", "rsub")
    alpha = node.kwargs.get("alpha", node.args[2] if has_alpha and len(node.args) > 2 else 1)
    func = BINARY[base]
    mode = node.kwargs.get("rounding_mode", node.args[2] if base == "div" and len(node.args) > 2 else None)
    if base == "div" and mode is not None:
        func = {"trunc": B.DIV_TRUNC, "floor": B.DIV_FLOOR}[str(mode)]
    if not isinstance(alpha, (int, float)):
        raise EdgebuildError(f"{node.name}: alpha {alpha!r} is not a number")
    return a, b, float(alpha), func


def _number(arg: object) -> bool:
    return isinstance(arg, (int, float, bool)) and not isinstance(arg, TensorId)


@register_float(*NAMES)
def lower_arith(ctx: LoweringContext, node: Node) -> None:
    """Float32 / int32 arithmetic (module docstring): the operands in torch's result dtype, alpha applied to the
    second (rsub: the first) operand first."""
    a, b, alpha, func = operands(node)
    work = ir_dtype(node_dtype(node))  # torch's result dtype (true division and atan2 of integers: float)
    if base_name(node) == "rsub":  # rsub(x, c, alpha) = c - alpha·x
        a, b = b, (_scaled(ctx, node, a, alpha, work) if alpha != 1 else a)
        alpha = 1.0
    if func in (B.ADD, B.SUB) and alpha != 1:
        if alpha == -1:
            func = B.SUB if func == B.ADD else B.ADD
        elif _number(b):
            b = float(b) * alpha if work == DType.FLOAT32 else int(b) * int(alpha)  # type: ignore[arg-type, call-overload]
        else:
            b = _scaled(ctx, node, b, alpha, work)
    if work == DType.FLOAT32 and (_number(a) or _number(b)):  # a python number with a float tensor
        right = _number(b)
        scalar, tensor = (b, a) if right else (a, b)
        sfunc = SCALAR_FUNCS.get((func, right))
        if func == B.SUB and right:  # x - c == x + (-c) exactly
            sfunc, scalar = UnaryFunc.ADD_SCALAR, -float(scalar)  # type: ignore[arg-type]
        if (
            sfunc == UnaryFunc.MUL_SCALAR
            and isinstance(tensor, Node)
            and fold_scale(ctx, node, tensor, scalar)
        ):
            return
        if sfunc is not None and isinstance(tensor, Node):
            x = value(ctx, node, tensor, DType.FLOAT32, "x")
            y = new_value(ctx, node, DType.FLOAT32, ctx.tensor(x).shape)
            ctx.add_op(node, [x, -1], [y], UnaryFloatParams(func=sfunc, alpha=float(scalar)))  # type: ignore[arg-type]
            return
    if work == DType.FLOAT32 and func in INT_ONLY:
        raise EdgebuildError(f"{node.name}: {op_name(node)} of float tensors")
    ta = value(ctx, node, a, work, "a")
    tb = value(ctx, node, b, work, "b")
    elementwise(ctx, node, func, ta, tb)


def fold_scale(ctx: LoweringContext, node: Node, product: Node, scalar: object) -> bool:
    """`product · scalar` where the product is a float (or dynamic) BATCH_MATMUL with alpha 1 that nothing else reads
    (attention's scores · 1/√d): the scalar becomes the op's alpha and `node` aliases its output, so no pass over
    the scores is spent on the scale. False (nothing emitted) otherwise."""
    have = ctx.fvalues.get(product, {})
    tid = have.get(Layout.PLAIN)
    if len(product.users) != 1 or len(have) != 1 or tid is None or not math.isfinite(float(scalar)):  # type: ignore[arg-type]
        return False
    op = next((o for o in reversed(ctx.program.ops) if tid in o.outputs), None)
    one = f32_bits_of(1.0)
    if (
        op is None
        or op.opcode not in (OpCode.BATCH_MATMUL, OpCode.DYNAMIC_BATCH_MATMUL)
        or len(op.params) != 2
    ):
        return False
    if ctx.tensor(tid).dtype != DType.FLOAT32 or op.params[1] != one:
        return False
    op.params[1] = f32_bits_of(float(scalar))  # type: ignore[arg-type]  # BATCH_MATMUL (float) / DYNAMIC_…: alpha
    ctx.alias_float(node, tid)
    return True


INT_ONLY = (B.BITWISE_AND, B.BITWISE_OR, B.BITWISE_XOR, B.SHIFT_LEFT, B.SHIFT_RIGHT)


def _scaled(ctx: LoweringContext, node: Node, x: object, alpha: float, work: DType) -> int:
    """alpha · x as a tensor of `work` (ELEMENTWISE MUL by a constant)."""
    tx = value(ctx, node, x, work, "b")
    ta = value(ctx, node, alpha if work == DType.FLOAT32 else int(alpha), work, "alpha")
    out = ctx.program.add_tensor(Tensor(f"{node.name}.alpha", work, ctx.tensor(tx).shape))
    return TensorId(elementwise(ctx, node, B.MUL, tx, ta, out=out))


def _scalar_and_tensor(node: Node) -> Node | None:
    """The tensor operand of a binary op whose other operand is a python number (None otherwise)."""
    a, b, _alpha, _func = operands(node)
    if isinstance(a, Node) and _number(b):
        return a
    if isinstance(b, Node) and _number(a):
        return b
    return None


def _float_node(node: Node) -> bool:
    val = node.meta.get("val")
    return isinstance(val, torch.Tensor) and val.dtype == torch.float32


@register_annotation(
    *(n for n in NAMES if n not in ("aten.add.Tensor", "aten.sub.Tensor", "aten.mul.Tensor"))
)
def annotate_scalar_arith(q: Annotator, node: Node) -> None:
    """An op of one float tensor and a python number behind an int8 producer: a table (own output observer)."""
    annotate_scalar(q, node)


def annotate_scalar(q: Annotator, node: Node) -> bool:
    x = _scalar_and_tensor(node)
    if x is None or not _float_node(node) or not _float_node(x) or not q.int8_output(x):
        return False
    q.mark(node, {x: q.act}, q.act)
    return True


@register(*NAMES)
def lower_scalar_int8(ctx: LoweringContext, node: Node) -> None:
    """int8: one int8 tensor and a python number, as a 256-entry table (UNARY); anything else runs in float."""
    x = _scalar_and_tensor(node)
    if x is None:
        raise NotQuantized(f"{node.name}: two tensors")
    a, b, _alpha, func = operands(node)
    scalar = b if isinstance(a, Node) else a
    sfunc = SCALAR_FUNCS.get((func, isinstance(a, Node)), UnaryFunc.ADD_SCALAR)
    lower_table(ctx, node, x, sfunc, float(scalar))  # type: ignore[arg-type]
