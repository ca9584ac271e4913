"""Tier 1 of STYLE.md's two tiers: each reference kernel (run through writer -> C++ loader -> executor) against the
NumPy int64 oracle, exactly, over random shapes, zero points, multipliers and clamps (Hypothesis).

Each program is QUANTIZE -> op -> DEQUANTIZE with unit scales, so integer-valued float inputs arrive as exactly
the int8 codes the test chose, and the float outputs are exactly `q_y - zp_y`.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from edgebuild.ir import DType, Layout, Op, OpCode, Program, Tensor
from edgebuild.qmath import f32_bits, quantize_multiplier
from tests.helpers import native, run_native
from tests.kernels.ukernels.oracle import mbqm, rdbpot, run_program, srdhm

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

zero_points = st.integers(-128, 127)
# Real multipliers of conv/fc layers are usually in (1e-5, 1); larger ones occur for near-constant outputs.
multipliers = st.floats(1e-5, 4.0, allow_nan=False, allow_infinity=False)


def act_range(draw: st.DrawFn) -> tuple[int, int]:
    lo = draw(st.integers(-128, 127))
    hi = draw(st.integers(lo, 127))
    return draw(st.sampled_from([(-128, 127), (lo, hi)]))


def int8_input(
    prog: Program, shape: tuple[int, ...], zp: int, layout: Layout = Layout.PLAIN
) -> tuple[int, int]:
    """A float graph input and the int8 tensor QUANTIZE makes of it: scale 1, zero point zp."""
    x = prog.add_tensor(Tensor(f"x{len(prog.inputs)}", DType.FLOAT32, shape))
    prog.inputs.append(x)
    q = prog.add_tensor(Tensor(f"q{len(prog.inputs)}", DType.INT8, shape, 1.0, zp, layout))
    prog.add_op(Op(OpCode.QUANTIZE, f"quantize{x}", [x], [q], [0, f32_bits(np.float32(1.0))]))
    return x, q


def float_output(prog: Program, q: int) -> None:
    t = prog.tensors[q]
    y = prog.add_tensor(Tensor("y", DType.FLOAT32, t.shape))
    prog.add_op(Op(OpCode.DEQUANTIZE, "dequantize", [q], [y], [0]))
    prog.outputs.append(y)


def codes(rng: np.random.Generator, shape: tuple[int, ...], zp: int) -> np.ndarray:
    """Float inputs that quantize (scale 1, zero point zp) to uniformly random int8 codes."""
    return (rng.integers(-128, 128, size=shape) - zp).astype(np.float32)


def check(prog: Program, inputs: list[np.ndarray]) -> None:
    want = run_program(prog, inputs)
    got = run_native(prog, inputs)
    for w, g in zip(want, got):
        assert g.shape == w.shape
        np.testing.assert_array_equal(g, w)


def requant_params(draw: st.DrawFn, n: int) -> tuple[np.ndarray, np.ndarray]:
    ms = [quantize_multiplier(draw(multipliers)) for _ in range(n)]
    return np.array([m for m, _ in ms], np.int32), np.array([e for _, e in ms], np.int32)


@st.composite
def conv_case(draw: st.DrawFn) -> tuple[Program, list[np.ndarray]]:
    groups = draw(st.integers(1, 4))
    cg = draw(st.integers(1, 4))
    depthwise = draw(st.booleans())
    ocg = 1 if depthwise else draw(st.integers(1, 4))
    c, oc = groups * cg, groups * ocg
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    pt, pl, pb, pr = (draw(st.integers(0, 2)) for _ in range(4))
    h = draw(st.integers(max(1, dh * (kh - 1) + 1 - pt - pb), 12))
    w = draw(st.integers(max(1, dw * (kw - 1) + 1 - pl - pr), 12))
    n = draw(st.integers(1, 2))
    oh = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1
    ow = (w + pl + pr - dw * (kw - 1) - 1) // sw + 1
    zx, zy = draw(zero_points), draw(zero_points)
    amin, amax = act_range(draw)
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)

    prog = Program()
    _, q = int8_input(prog, (n, h, w, c), zx, Layout.NHWC)
    wt = prog.add_constant("w", rng.integers(-127, 128, size=(oc, kh, kw, cg)), DType.INT8)
    bias = (
        prog.add_constant("b", rng.integers(-(2**16), 2**16, size=oc), DType.INT32)
        if draw(st.booleans())
        else -1
    )
    mult, shift = requant_params(draw, oc)
    m_id, s_id = prog.add_constant("m", mult, DType.INT32), prog.add_constant("s", shift, DType.INT32)
    y = prog.add_tensor(Tensor("conv", DType.INT8, (n, oh, ow, oc), 1.0, zy, Layout.NHWC))
    prog.add_op(
        Op(
            OpCode.CONV2D,
            "conv",
            [q, wt, bias, m_id, s_id],
            [y],
            [sh, sw, pt, pl, pb, pr, dh, dw, groups, amin, amax],
        )
    )
    float_output(prog, y)
    return prog, [codes(rng, (n, h, w, c), zx)]


@given(conv_case())
@SETTINGS
def test_conv2d(case: tuple[Program, list[np.ndarray]]) -> None:
    check(*case)


@st.composite
def fc_case(draw: st.DrawFn) -> tuple[Program, list[np.ndarray]]:
    m, k, n = draw(st.integers(1, 5)), draw(st.integers(1, 70)), draw(st.integers(1, 40))
    zx, zy = draw(zero_points), draw(zero_points)
    amin, amax = act_range(draw)
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    prog = Program()
    _, q = int8_input(prog, (m, k), zx)
    wt = prog.add_constant("w", rng.integers(-127, 128, size=(n, k)), DType.INT8)
    bias = (
        prog.add_constant("b", rng.integers(-(2**16), 2**16, size=n), DType.INT32)
        if draw(st.booleans())
        else -1
    )
    mult, shift = requant_params(draw, n)
    m_id, s_id = prog.add_constant("m", mult, DType.INT32), prog.add_constant("s", shift, DType.INT32)
    y = prog.add_tensor(Tensor("fc", DType.INT8, (m, n), 1.0, zy))
    prog.add_op(Op(OpCode.FULLY_CONNECTED, "fc", [q, wt, bias, m_id, s_id], [y], [amin, amax]))
    float_output(prog, y)
    return prog, [codes(rng, (m, k), zx)]


@given(fc_case())
@SETTINGS
def test_fully_connected(case: tuple[Program, list[np.ndarray]]) -> None:
    check(*case)


@st.composite
def add_case(draw: st.DrawFn) -> tuple[Program, list[np.ndarray]]:
    shape = tuple(draw(st.lists(st.integers(1, 6), min_size=1, max_size=4)))
    za, zb, zy = draw(zero_points), draw(zero_points), draw(zero_points)
    sa, sb, sy = (draw(st.floats(1e-3, 1.0)) for _ in range(3))
    amin, amax = act_range(draw)
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    prog = Program()
    _, a = int8_input(prog, shape, za)
    _, b = int8_input(prog, shape, zb)
    twice = 2 * max(sa, sb)
    (am, ae), (bm, be) = quantize_multiplier(sa / twice), quantize_multiplier(sb / twice)
    om, oe = quantize_multiplier(twice / ((1 << 20) * sy))
    y = prog.add_tensor(Tensor("add", DType.INT8, shape, 1.0, zy))
    prog.add_op(Op(OpCode.ADD, "add", [a, b], [y], [20, am, ae, bm, be, om, oe, amin, amax]))
    float_output(prog, y)
    return prog, [codes(rng, shape, za), codes(rng, shape, zb)]


@given(add_case())
@SETTINGS
def test_add(case: tuple[Program, list[np.ndarray]]) -> None:
    check(*case)


@st.composite
def pool_case(draw: st.DrawFn) -> tuple[Program, list[np.ndarray]]:
    is_max = draw(st.booleans())
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))  # PyTorch: pad <= kernel / 2
    dh, dw = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if is_max else (1, 1)
    h = draw(st.integers(max(1, dh * (kh - 1) + 1 - 2 * ph), 10))
    w = draw(st.integers(max(1, dw * (kw - 1) + 1 - 2 * pw), 10))
    c, n = draw(st.integers(1, 5)), draw(st.integers(1, 2))
    ceil = draw(st.booleans())

    def out(size: int, k: int, s: int, p: int, d: int) -> int:
        span = size + 2 * p - d * (k - 1) - 1
        o = (-(-span // s) if ceil else span // s) + 1
        if (
            ceil and (o - 1) * s >= size + p
        ):  # PyTorch: the last window must start inside the input or left pad
            o -= 1
        return o

    oh, ow = out(h, kh, sh, ph, dh), out(w, kw, sw, pw, dw)

    def covered(size: int, o_size: int, k: int, s: int, p: int, d: int) -> bool:
        return all(any(0 <= o * s - p + t * d < size for t in range(k)) for o in range(o_size))

    # A window with no tap inside the input has no value (PyTorch gives -inf); the loader rejects such a
    # pooling (test_pool_window_outside_input_rejected), so it is no case for the kernels.
    assume(covered(h, oh, kh, sh, ph, dh) and covered(w, ow, kw, sw, pw, dw))
    z = draw(zero_points)
    amin, amax = act_range(draw)
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    prog = Program()
    _, q = int8_input(prog, (n, h, w, c), z, Layout.NHWC)
    y = prog.add_tensor(Tensor("pool", DType.INT8, (n, oh, ow, c), 1.0, z, Layout.NHWC))
    if is_max:
        prog.add_op(Op(OpCode.MAX_POOL2D, "pool", [q], [y], [kh, kw, sh, sw, ph, pw, dh, dw, amin, amax]))
    else:
        include = int(draw(st.booleans()))
        prog.add_op(Op(OpCode.AVG_POOL2D, "pool", [q], [y], [kh, kw, sh, sw, ph, pw, include, amin, amax]))
    float_output(prog, y)
    return prog, [codes(rng, (n, h, w, c), z)]


@given(pool_case())
@SETTINGS
def test_pooling(case: tuple[Program, list[np.ndarray]]) -> None:
    check(*case)


def test_pool_window_outside_input_rejected() -> None:
    """kernel 1x2, dilation 2, padding 1 on a width-1 input: both taps of the only window are padding."""
    from edgebuild._native import LoadError

    prog = Program()
    _, q = int8_input(prog, (1, 1, 1, 1), 0, Layout.NHWC)
    y = prog.add_tensor(Tensor("pool", DType.INT8, (1, 1, 1, 1), 1.0, 0, Layout.NHWC))
    prog.add_op(Op(OpCode.MAX_POOL2D, "pool", [q], [y], [1, 2, 1, 1, 0, 1, 1, 2, -128, 127]))
    float_output(prog, y)
    with pytest.raises(LoadError, match="no tap of its window lies inside the input width"):
        run_native(prog, [np.zeros((1, 1, 1, 1), np.float32)])


@st.composite
def move_case(draw: st.DrawFn) -> tuple[Program, list[np.ndarray]]:
    """concat (with and without requantization), transpose, reshape, clamp."""
    rank = draw(st.integers(1, 4))
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=rank, max_size=rank)))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    kind = draw(st.sampled_from(["concat", "transpose", "reshape", "clamp"]))
    zy = draw(zero_points)
    prog = Program()
    if kind == "concat":
        axis = draw(st.integers(0, rank - 1))
        ins, params, arrays = [], [axis], []
        total = 0
        for _ in range(draw(st.integers(1, 4))):
            s = list(shape)
            s[axis] = draw(st.integers(1, 4))
            total += s[axis]
            same = draw(st.booleans())
            z = zy if same else draw(zero_points)
            _, q = int8_input(prog, tuple(s), z)
            ins.append(q)
            params += [0, 0] if same else list(quantize_multiplier(draw(st.floats(0.05, 3.0))))
            arrays.append(codes(rng, tuple(s), z))
        out = list(shape)
        out[axis] = total
        y = prog.add_tensor(Tensor("cat", DType.INT8, tuple(out), 1.0, zy))
        prog.add_op(Op(OpCode.CONCAT, "cat", ins, [y], params))
    else:
        _, q = int8_input(prog, shape, zy)
        arrays = [codes(rng, shape, zy)]
        if kind == "transpose":
            perm = draw(st.permutations(list(range(rank))))
            y = prog.add_tensor(Tensor("t", DType.INT8, tuple(shape[p] for p in perm), 1.0, zy))
            prog.add_op(Op(OpCode.TRANSPOSE, "t", [q], [y], list(perm)))
        elif kind == "reshape":
            y = prog.add_tensor(Tensor("r", DType.INT8, (int(np.prod(shape)),), 1.0, zy))
            prog.add_op(Op(OpCode.RESHAPE, "r", [q], [y], []))
        else:
            lo, hi = act_range(draw)
            y = prog.add_tensor(Tensor("c", DType.INT8, shape, 1.0, zy))
            prog.add_op(Op(OpCode.CLAMP, "c", [q], [y], [lo, hi]))
    float_output(prog, y)
    return prog, arrays


@given(move_case())
@SETTINGS
def test_data_movement(case: tuple[Program, list[np.ndarray]]) -> None:
    check(*case)


def test_concat_rows_of_64_bytes() -> None:
    """Channel concat with rows of 64 and 128 bytes (the in-line 64-byte copy) beside a requantized and a 32-byte
    input (the reference path), as SqueezeNet's fire modules join their expand convolutions."""
    rng = np.random.default_rng(7)
    prog = Program()
    ins, arrays, params = [], [], [3]
    for c, same in ((64, True), (128, True), (32, True), (64, False)):
        _, q = int8_input(prog, (2, 3, 5, c), -5 if same else 9)
        ins.append(q)
        arrays.append(codes(rng, (2, 3, 5, c), -5 if same else 9))
        params += [0, 0] if same else list(quantize_multiplier(0.75))
    y = prog.add_tensor(Tensor("cat", DType.INT8, (2, 3, 5, 288), 1.0, -5))
    prog.add_op(Op(OpCode.CONCAT, "cat", ins, [y], params))
    float_output(prog, y)
    check(prog, arrays)


@given(
    x=st.lists(st.floats(-1e6, 1e6, allow_nan=False, width=32), min_size=1, max_size=64),
    scale=st.floats(1e-4, 10.0),
    zp=zero_points,
)
@SETTINGS
def test_quantize_matches_pytorch(x: list[float], scale: float, zp: int) -> None:
    """Eq. (1) in C++ equals PyTorch's quantize_per_tensor bit for bit, including ties and saturation."""
    import torch

    from edgebuild import _torchao  # noqa: F401  registers quantized_decomposed

    scale = float(np.float32(scale))
    xs = np.array(x, np.float32)
    prog = Program()
    xin = prog.add_tensor(Tensor("x", DType.FLOAT32, xs.shape))
    prog.inputs.append(xin)
    q = prog.add_tensor(Tensor("q", DType.INT8, xs.shape, scale, zp))
    prog.add_op(Op(OpCode.QUANTIZE, "q", [xin], [q], [0, f32_bits(np.float32(1.0 / scale))]))
    float_output(prog, q)
    got = run_native(prog, [xs])[0]
    ref_q = torch.ops.quantized_decomposed.quantize_per_tensor(
        torch.from_numpy(xs), scale, zp, -128, 127, torch.int8
    )
    ref = torch.ops.quantized_decomposed.dequantize_per_tensor(
        ref_q, scale, zp, -128, 127, torch.int8
    ).numpy()
    np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("k", [1, 255, 4096, 65_000])
def test_accumulator_extremes(k: int) -> None:
    """All inputs at -128 with zero point 127 (|x - zp| = 255) and weights at ±127: the int32 accumulator's worst
    case at the largest K the lowering allows, and multipliers at both ends of their range."""
    prog = Program()
    _, q = int8_input(prog, (1, k), 127)
    w = np.full((4, k), 127, np.int64)
    w[1] = -127
    w[2, ::2] = -127
    wt = prog.add_constant("w", w, DType.INT8)
    mults = [quantize_multiplier(r) for r in (1e-9 * 2**20, 0.5, 0.999999, 3.9)]
    m_id = prog.add_constant("m", [m for m, _ in mults], DType.INT32)
    s_id = prog.add_constant("s", [e for _, e in mults], DType.INT32)
    b = prog.add_constant("b", [2**20, -(2**20), 0, 1], DType.INT32)
    y = prog.add_tensor(Tensor("fc", DType.INT8, (1, 4), 1.0, -3))
    prog.add_op(Op(OpCode.FULLY_CONNECTED, "fc", [q, wt, b, m_id, s_id], [y], [-128, 127]))
    float_output(prog, y)
    check(prog, [np.full((1, k), -128 - 127, np.float32)])


def test_oracle_rounding_known_values() -> None:
    """Eqs. (4a), (4b), (5) on hand-checked values. SRDHM's nudge sends ties up (1.5 -> 2, -1.5 -> -1, as gemmlowp);
    RDBPOT sends them away from zero (2.5 -> 3, -2.5 -> -3); the one saturating case of SRDHM."""
    half = 1 << 30  # m = 2^30 with e = 0 is the multiplier 0.5
    assert srdhm(np.array([3, -3, 5, -5]), half).tolist() == [2, -1, 3, -2]
    assert rdbpot(np.array([5, -5, 4, -4, 6, -7]), 1).tolist() == [3, -3, 2, -2, 3, -4]
    assert srdhm(np.array([-(2**31)]), -(2**31)).tolist() == [2**31 - 1]
    assert mbqm(np.array([7, -7]), half, -1).tolist() == [2, -2]  # 7 * 0.25 = 1.75


def test_oracle_tier_loads_the_reference_path() -> None:
    """conftest.py forces EDGEBUILD_ISA=ref: the models above ran the ref.cc kernels, not this machine's best ISA."""
    prog = Program()
    _, q = int8_input(prog, (1, 8), 3)
    float_output(prog, q)
    assert native(prog).isa == "ref"
