"""Issue 8's CNN ops (UNARY, ADD/SUB/MUL with broadcasting, PAD, SLICE, RESIZE): reference kernels against the NumPy
oracle (tests/kernels/ukernels/oracle.py), int8 exactly and float32 within a stated tolerance, over Hypothesis cases; and the
loader's rejection of malformed params, with the message that names the rule.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgebuild.ir import DType, Layout, Op, OpCode, Program, Tensor, UnaryFunc
from edgebuild.lower.ops.resize import linear_table, nearest_table, q16
from edgebuild.qmath import f32_bits, quantize_multiplier
from tests.helpers import native, run_native
from tests.kernels.ukernels.oracle import run_program
from tests.kernels.ukernels.test_ref_vs_oracle import (
    SETTINGS,
    act_range,
    check,
    codes,
    float_output,
    int8_input,
    zero_points,
)

# float32 kernels against the float64 oracle: the functions use expf / erff / tanhf (within a few ulp), so 1e-5
# relative (the float-fallback bound) with an absolute floor of 1e-6 for results near 0.
F32_RTOL, F32_ATOL = 1e-5, 1e-6


def float_io(prog: Program, shape: tuple[int, ...]) -> int:
    x = prog.add_tensor(Tensor(f"x{len(prog.inputs)}", DType.FLOAT32, shape))
    prog.inputs.append(x)
    return x


def float_out(prog: Program, shape: tuple[int, ...]) -> int:
    y = prog.add_tensor(Tensor(f"y{len(prog.outputs)}", DType.FLOAT32, shape))
    prog.outputs.append(y)
    return y


@st.composite
def shapes(draw: st.DrawFn, min_rank: int = 1, max_rank: int = 5) -> tuple[int, ...]:
    rank = draw(st.integers(min_rank, max_rank))
    return tuple(draw(st.integers(1, 5)) for _ in range(rank))


def broadcast_of(draw: st.DrawFn, shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(d if draw(st.booleans()) else 1 for d in shape)


# ---- UNARY ----


@st.composite
def lut_case(draw: st.DrawFn) -> tuple[Program, list[np.ndarray]]:
    shape = draw(shapes())
    per_channel = draw(st.booleans())
    tables = shape[-1] if per_channel else 1
    zx, zy = draw(zero_points), draw(zero_points)
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    prog = Program()
    _, q = int8_input(prog, shape, zx)
    t = prog.add_constant("table", rng.integers(-128, 128, size=(tables, 256)), DType.INT8)
    y = prog.add_tensor(Tensor("lut", DType.INT8, shape, 1.0, zy))
    func = draw(st.sampled_from(list(UnaryFunc)))
    prog.add_op(Op(OpCode.UNARY, "lut", [q, t], [y], [int(func), 0]))
    float_output(prog, y)
    return prog, [codes(rng, shape, zx)]


@given(lut_case())
@SETTINGS
def test_unary_int8_table(case: tuple[Program, list[np.ndarray]]) -> None:
    check(*case)


@given(st.sampled_from(list(UnaryFunc)), shapes(), st.integers(0, 2**31), st.floats(-0.5, 0.5, width=32))
@SETTINGS
def test_unary_f32(func: UnaryFunc, shape: tuple[int, ...], seed: int, alpha: float) -> None:
    rng = np.random.default_rng(seed)
    prog = Program()
    x = float_io(prog, shape)
    y = float_out(prog, shape)
    slope = -1
    if func == UnaryFunc.PRELU:
        n = shape[-1] if rng.integers(2) else 1
        slope = prog.add_constant("slope", rng.uniform(-1, 1, size=n), DType.FLOAT32)
    prog.add_op(Op(OpCode.UNARY, "f", [x, slope], [y], [int(func), f32_bits(np.float32(alpha))]))
    v = (rng.standard_normal(shape) * 4).astype(np.float32)
    np.testing.assert_allclose(run_native(prog, [v])[0], run_program(prog, [v])[0], F32_RTOL, F32_ATOL)


# ---- ADD / SUB / MUL ----


@st.composite
def binary_case(draw: st.DrawFn) -> tuple[Program, list[np.ndarray]]:
    out = draw(shapes(max_rank=6))
    sa, sb = broadcast_of(draw, out), broadcast_of(draw, out)
    opcode = draw(st.sampled_from([OpCode.ADD, OpCode.SUB, OpCode.MUL]))
    za, zb, zy = draw(zero_points), draw(zero_points), draw(zero_points)
    amin, amax = act_range(draw)
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    prog = Program()
    _, a = int8_input(prog, sa, za)
    _, b = int8_input(prog, sb, zb)
    # out dims: the broadcast of a and b (a dim of the draw where both operands are 1 stays 1)
    ys = tuple(max(p, q) for p, q in zip(sa, sb))
    y = prog.add_tensor(Tensor("y8", DType.INT8, ys, 1.0, zy))
    if opcode == OpCode.MUL:
        params = [*quantize_multiplier(draw(st.floats(1e-4, 0.1))), amin, amax]
    else:
        ma, mb = (quantize_multiplier(draw(st.floats(0.05, 0.5))) for _ in range(2))
        params = [20, *ma, *mb, *quantize_multiplier(draw(st.floats(0.01, 4.0)) / (1 << 20)), amin, amax]
    prog.add_op(Op(opcode, "bin", [a, b], [y], params))
    float_output(prog, y)
    return prog, [codes(rng, sa, za), codes(rng, sb, zb)]


@given(binary_case())
@SETTINGS
def test_binary_int8_broadcast(case: tuple[Program, list[np.ndarray]]) -> None:
    check(*case)


@given(st.sampled_from([OpCode.ADD, OpCode.SUB, OpCode.MUL]), shapes(max_rank=6), st.data())
@SETTINGS
def test_binary_f32_broadcast(opcode: OpCode, out: tuple[int, ...], data: st.DataObject) -> None:
    sa = tuple(d if data.draw(st.booleans()) else 1 for d in out)
    sb = tuple(d if data.draw(st.booleans()) else 1 for d in out)
    ys = tuple(max(p, q) for p, q in zip(sa, sb))
    prog = Program()
    a, b = float_io(prog, sa), float_io(prog, sb)
    y = float_out(prog, ys)
    lo, hi = data.draw(st.sampled_from([(-np.inf, np.inf), (-0.5, 0.7)]))
    prog.add_op(Op(opcode, "bin", [a, b], [y], [f32_bits(np.float32(lo)), f32_bits(np.float32(hi))]))
    rng = np.random.default_rng(len(out))
    va, vb = rng.standard_normal(sa).astype(np.float32), rng.standard_normal(sb).astype(np.float32)
    # the oracle adds in float64 and rounds once: the same float32 result as the kernel's single float32 operation
    np.testing.assert_array_equal(run_native(prog, [va, vb])[0], run_program(prog, [va, vb])[0])


# ---- PAD / SLICE (int8 and float32: the same byte movers) ----


@st.composite
def pad_case(draw: st.DrawFn) -> tuple[Program, list[np.ndarray], bool]:
    shape = draw(shapes())
    before = [draw(st.integers(0, 3)) for _ in shape]
    after = [draw(st.integers(0, 3)) for _ in shape]
    out = tuple(d + b + a for d, b, a in zip(shape, before, after))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    is_float = draw(st.booleans())
    prog = Program()
    if is_float:
        x = float_io(prog, shape)
        y = float_out(prog, out)
        value = f32_bits(np.float32(draw(st.floats(-10, 10, width=32))))
        inputs = [rng.standard_normal(shape).astype(np.float32)]
    else:
        z = draw(zero_points)
        _, x = int8_input(prog, shape, z)
        y = prog.add_tensor(Tensor("p", DType.INT8, out, 1.0, z))
        value = draw(st.integers(-128, 127))
        inputs = [codes(rng, shape, z)]
    prog.add_op(Op(OpCode.PAD, "pad", [x], [y], before + after + [value]))
    if not is_float:
        float_output(prog, y)
    return prog, inputs, is_float


@given(pad_case())
@SETTINGS
def test_pad(case: tuple[Program, list[np.ndarray], bool]) -> None:
    prog, inputs, _ = case
    np.testing.assert_array_equal(run_native(prog, inputs)[0], run_program(prog, inputs)[0])


@pytest.mark.parametrize("rank", range(1, 7))
@pytest.mark.parametrize("is_float", [False, True])
def test_pad_runs(rank: int, is_float: bool) -> None:
    """The kernel merges the trailing unpadded dims into one run: pad every subset of dims (the innermost padded dim
    anywhere, unpadded dims between padded ones), element sizes 1 (memset) and 4 (a float whose bytes differ: the
    pattern fill), against the oracle."""
    rng = np.random.default_rng(rank)
    shape = tuple(int(d) for d in rng.integers(1, 4, rank))
    for mask in range(1 << rank):
        before = [int(rng.integers(1, 3)) if mask >> d & 1 else 0 for d in range(rank)]
        after = [int(rng.integers(0, 3)) if mask >> d & 1 else 0 for d in range(rank)]
        out = tuple(d + b + a for d, b, a in zip(shape, before, after))
        prog = Program()
        if is_float:
            x = float_io(prog, shape)
            y = float_out(prog, out)
            value = f32_bits(np.float32(1.7))
            inputs = [rng.standard_normal(shape).astype(np.float32)]
        else:
            _, x = int8_input(prog, shape, 3)
            y = prog.add_tensor(Tensor("p", DType.INT8, out, 1.0, 3))
            value = -7
            inputs = [codes(rng, shape, 3)]
        prog.add_op(Op(OpCode.PAD, "pad", [x], [y], before + after + [value]))
        if not is_float:
            float_output(prog, y)
        np.testing.assert_array_equal(
            run_native(prog, inputs)[0], run_program(prog, inputs)[0], err_msg=f"{mask=}"
        )


@st.composite
def slice_case(draw: st.DrawFn) -> tuple[Program, list[np.ndarray]]:
    shape = draw(shapes(max_rank=6))
    starts, steps, out = [], [], []
    for d in shape:
        start = draw(st.integers(0, d - 1))
        step = draw(st.integers(1, 3))
        starts.append(start)
        steps.append(step)
        out.append(draw(st.integers(1, (d - 1 - start) // step + 1)))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    prog = Program()
    if draw(st.booleans()):
        x = float_io(prog, shape)
        y = float_out(prog, tuple(out))
        inputs = [rng.standard_normal(shape).astype(np.float32)]
        prog.add_op(Op(OpCode.SLICE, "slice", [x], [y], starts + steps))
    else:
        z = draw(zero_points)
        _, x = int8_input(prog, shape, z)
        y = prog.add_tensor(Tensor("s", DType.INT8, tuple(out), 1.0, z))
        inputs = [codes(rng, shape, z)]
        prog.add_op(Op(OpCode.SLICE, "slice", [x], [y], starts + steps))
        float_output(prog, y)
    return prog, inputs


@given(slice_case())
@SETTINGS
def test_slice(case: tuple[Program, list[np.ndarray]]) -> None:
    prog, inputs = case
    np.testing.assert_array_equal(run_native(prog, inputs)[0], run_program(prog, inputs)[0])


# ---- RESIZE ----


@st.composite
def resize_case(draw: st.DrawFn) -> tuple[Program, list[np.ndarray], bool]:
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 5))
    ih, iw, oh, ow = (draw(st.integers(1, 7)) for _ in range(4))
    bilinear = draw(st.booleans())
    align = bilinear and draw(st.booleans())
    factor = draw(st.sampled_from([None, 2.0, 3.0, 0.5]))
    if bilinear:
        ht, wt = linear_table(ih, oh, align, factor), linear_table(iw, ow, align, factor)
    else:
        ht, wt = (
            nearest_table(ih, oh, factor).astype(np.float32),
            nearest_table(iw, ow, factor).astype(np.float32),
        )
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    is_float = draw(st.booleans())
    prog = Program()
    if is_float:
        x = float_io(prog, (n, ih, iw, c))
        y = float_out(prog, (n, oh, ow, c))
        h_id, w_id = prog.add_constant("h", ht, DType.FLOAT32), prog.add_constant("w", wt, DType.FLOAT32)
        inputs = [rng.standard_normal((n, ih, iw, c)).astype(np.float32)]
    else:
        z = draw(zero_points)
        _, x = int8_input(prog, (n, ih, iw, c), z, Layout.NHWC)
        y = prog.add_tensor(Tensor("r", DType.INT8, (n, oh, ow, c), 1.0, z, Layout.NHWC))
        h_id, w_id = (
            prog.add_constant("h", q16(ht), DType.INT32),
            prog.add_constant("w", q16(wt), DType.INT32),
        )
        inputs = [codes(rng, (n, ih, iw, c), z)]
    prog.add_op(Op(OpCode.RESIZE, "resize", [x, h_id, w_id], [y], [int(bilinear), int(align)]))
    if not is_float:
        float_output(prog, y)
    return prog, inputs, is_float


@given(resize_case())
@SETTINGS
def test_resize(case: tuple[Program, list[np.ndarray], bool]) -> None:
    prog, inputs, is_float = case
    got, want = run_native(prog, inputs)[0], run_program(prog, inputs)[0]
    if is_float:  # float32 kernel vs the float64 oracle: a few roundings of values of magnitude ~4
        np.testing.assert_allclose(got, want, F32_RTOL, F32_ATOL)
    else:
        np.testing.assert_array_equal(got, want)


# ---- the loader rejects what the kernels cannot run ----


def _unary_prog(table_shape: tuple[int, int], func: int = 0) -> Program:
    prog = Program()
    _, q = int8_input(prog, (2, 3), 0)
    t = prog.add_constant("table", np.zeros(table_shape), DType.INT8)
    y = prog.add_tensor(Tensor("y8", DType.INT8, (2, 3), 1.0, 0))
    prog.add_op(Op(OpCode.UNARY, "u", [q, t], [y], [func, 0]))
    float_output(prog, y)
    return prog


def _binary_prog(sa: tuple[int, ...], sb: tuple[int, ...], ys: tuple[int, ...]) -> Program:
    prog = Program()
    _, a = int8_input(prog, sa, 0)
    _, b = int8_input(prog, sb, 0)
    y = prog.add_tensor(Tensor("y8", DType.INT8, ys, 1.0, 0))
    prog.add_op(Op(OpCode.MUL, "m", [a, b], [y], [1 << 30, -3, -128, 127]))
    float_output(prog, y)
    return prog


def _mover(opcode: OpCode, shape: tuple[int, ...], out: tuple[int, ...], params: list[int]) -> Program:
    prog = Program()
    _, q = int8_input(prog, shape, 0)
    y = prog.add_tensor(Tensor("y8", DType.INT8, out, 1.0, 0))
    prog.add_op(Op(opcode, "mv", [q], [y], params))
    float_output(prog, y)
    return prog


def _resize_prog(row: list[int]) -> Program:
    prog = Program()
    _, q = int8_input(prog, (1, 2, 2, 1), 0, Layout.NHWC)
    h = prog.add_constant("h", np.array([row, [0, 1, 0]]), DType.INT32)
    w = prog.add_constant("w", np.array([[0, 0, 0], [1, 1, 0]]), DType.INT32)
    y = prog.add_tensor(Tensor("y8", DType.INT8, (1, 2, 2, 1), 1.0, 0, Layout.NHWC))
    prog.add_op(Op(OpCode.RESIZE, "r", [q, h, w], [y], [1, 0]))
    float_output(prog, y)
    return prog


@pytest.mark.parametrize(
    "prog,message",
    [
        (_unary_prog((1, 255)), "expected [T, 256]"),
        (_unary_prog((2, 256)), "expected 1 or the 3 channels"),
        (_unary_prog((1, 256), func=99), "function 99 outside"),
        (_binary_prog((2, 3), (3, 3), (2, 3)), "do not broadcast"),
        (_binary_prog((2, 3), (3,), (2, 3)), "rank"),
        (_mover(OpCode.PAD, (2, 3), (3, 3), [1, 0, 1, 0, 0]), "dim 0: input 2 padded by (1, 1)"),
        (_mover(OpCode.PAD, (2, 3), (2, 3), [0, 0, 0, 0, 300]), "pad value 300"),
        (_mover(OpCode.SLICE, (4, 3), (2, 3), [3, 0, 1, 1]), "reads outside input size 4"),
        (_mover(OpCode.SLICE, (4, 3), (2, 3), [0, 0, 0, 1]), "step"),
        (_resize_prog([0, 2, 0]), "reads outside input size 2"),
        (_resize_prog([0, 1, 65537]), "weight outside"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_loader_rejects(prog: Program, message: str) -> None:
    with pytest.raises(Exception) as e:
        native(prog)
    assert message in str(e.value), str(e.value)


@given(shapes(min_rank=1, max_rank=6), st.data())
@SETTINGS
def test_transpose_f32(shape: tuple[int, ...], data: st.DataObject) -> None:
    """xx-transpose on 4-byte elements (the row-loop rewrite): float TRANSPOSE equals NumPy's, any rank."""
    perm = data.draw(st.permutations(list(range(len(shape)))))
    prog = Program()
    x = float_io(prog, shape)
    y = float_out(prog, tuple(shape[p] for p in perm))
    prog.add_op(Op(OpCode.TRANSPOSE, "t", [x], [y], list(perm)))
    v = np.random.default_rng(len(shape)).standard_normal(shape).astype(np.float32)
    np.testing.assert_array_equal(run_native(prog, [v])[0], np.ascontiguousarray(v.transpose(perm)))
