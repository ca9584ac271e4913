"""Float fallback kernels (kernels/ukernels/f32-*/ref.cc, run through writer -> C++ loader -> executor) against the
float64 NumPy oracle (tests/kernels/ukernels/oracle.py), over random shapes and parameters (Hypothesis).

Tolerance: the kernels accumulate in double and round each output once, so they sit within a few float32 ULPs of the
float64 oracle: |got − want| <= 1e-6 · max(1, max |want|) (about 8 ULPs at the largest output; softmax and
layer_norm also round intermediate values to float32). A wrong index, a missed tap or a wrong scale is off by
orders of magnitude more.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgebuild.ir import DType, Layout, Op, OpCode, Program, Tensor, UnaryFunc
from edgebuild.lower import f32_bits_of
from tests.helpers import native
from tests.kernels.ukernels.oracle import run_program

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
INF = f32_bits_of(math.inf)
NINF = f32_bits_of(-math.inf)


def f_input(prog: Program, shape: tuple[int, ...], layout: Layout = Layout.PLAIN) -> int:
    t = prog.add_tensor(Tensor(f"x{len(prog.inputs)}", DType.FLOAT32, shape, layout=layout))
    prog.inputs.append(t)
    return t


def f_output(prog: Program, shape: tuple[int, ...], layout: Layout = Layout.PLAIN) -> int:
    t = prog.add_tensor(Tensor("y", DType.FLOAT32, shape, layout=layout))
    prog.outputs.append(t)
    return t


def check(prog: Program, inputs: list[np.ndarray]) -> None:
    want = run_program(prog, inputs)
    got = [np.asarray(o) for o in native(prog).run(inputs)]
    for w, g in zip(want, got):
        assert g.shape == w.shape and g.dtype == np.float32
        tol = 1e-6 * max(1.0, float(np.abs(w).max()))
        np.testing.assert_allclose(g, w, rtol=0, atol=tol)


def bounds(draw: st.DrawFn) -> list[int]:
    return draw(
        st.sampled_from([[NINF, INF], [f32_bits_of(0.0), INF], [f32_bits_of(-1.0), f32_bits_of(1.0)]])
    )


@st.composite
def conv_case(draw: st.DrawFn) -> tuple[Program, list[np.ndarray]]:
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    g = draw(st.sampled_from([1, 1, 2, 3]))
    cg, og = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sh, sw, dh, dw = (draw(st.integers(1, 2)) for _ in range(4))
    pt, pl, pb, pr = (draw(st.integers(0, 2)) for _ in range(4))
    h = draw(st.integers(max(1, dh * (kh - 1) + 1 - pt - pb), 8))
    w = draw(st.integers(max(1, dw * (kw - 1) + 1 - pl - pr), 8))
    oh, ow = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1, (w + pl + pr - dw * (kw - 1) - 1) // sw + 1
    prog = Program()
    x = f_input(prog, (1, h, w, g * cg), Layout.NHWC)
    wt = prog.add_constant("w", rng.standard_normal((g * og, kh, kw, cg)), DType.FLOAT32)
    b = prog.add_constant("b", rng.standard_normal(g * og), DType.FLOAT32) if draw(st.booleans()) else -1
    y = f_output(prog, (1, oh, ow, g * og), Layout.NHWC)
    prog.add_op(
        Op(OpCode.CONV2D, "conv", [x, wt, b], [y], [sh, sw, pt, pl, pb, pr, dh, dw, g, *bounds(draw)])
    )
    return prog, [rng.standard_normal((1, h, w, g * cg)).astype(np.float32)]


@given(conv_case())
@SETTINGS
def test_conv2d_f32(case: tuple[Program, list[np.ndarray]]) -> None:
    check(*case)


@st.composite
def dense_case(draw: st.DrawFn) -> tuple[Program, list[np.ndarray]]:
    """FULLY_CONNECTED, ADD, CLAMP, BATCH_MATMUL, SOFTMAX, LAYER_NORM on random 2..4-D shapes."""
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    kind = draw(st.sampled_from(["fc", "add", "clamp", "bmm", "softmax", "layer_norm"]))
    lead = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=2)))
    m, k, n = draw(st.integers(1, 9)), draw(st.integers(1, 70)), draw(st.integers(1, 9))
    prog = Program()
    scale = draw(st.sampled_from([1.0, 30.0]))  # large logits: softmax must subtract the max
    if kind == "fc":
        x = f_input(prog, (*lead, k))
        w = prog.add_constant("w", rng.standard_normal((n, k)), DType.FLOAT32)
        b = prog.add_constant("b", rng.standard_normal(n), DType.FLOAT32) if draw(st.booleans()) else -1
        y = f_output(prog, (*lead, n))
        prog.add_op(Op(OpCode.FULLY_CONNECTED, "fc", [x, w, b], [y], bounds(draw)))
        shapes = [(*lead, k)]
    elif kind in ("add", "clamp"):
        shape = (*lead, k)
        ins = [f_input(prog, shape) for _ in range(2 if kind == "add" else 1)]
        y = f_output(prog, shape)
        prog.add_op(Op(OpCode.ADD if kind == "add" else OpCode.CLAMP, kind, ins, [y], bounds(draw)))
        shapes = [shape] * len(ins)
    elif kind == "bmm":
        tr = draw(st.integers(0, 1))
        a = f_input(prog, (*lead, m, k))
        b = f_input(prog, (*lead, n, k) if tr else (*lead, k, n))
        y = f_output(prog, (*lead, m, n))
        alpha = draw(st.sampled_from([1.0, 0.125, -2.5]))
        prog.add_op(Op(OpCode.BATCH_MATMUL, "bmm", [a, b], [y], [tr, f32_bits_of(alpha)]))
        shapes = [(*lead, m, k), (*lead, n, k) if tr else (*lead, k, n)]
    elif kind == "softmax":
        x = f_input(prog, (*lead, k))
        y = f_output(prog, (*lead, k))
        prog.add_op(Op(OpCode.SOFTMAX, "softmax", [x], [y], []))
        shapes = [(*lead, k)]
    else:
        x = f_input(prog, (*lead, k))
        g = prog.add_constant("g", rng.standard_normal(k), DType.FLOAT32) if draw(st.booleans()) else -1
        b = prog.add_constant("b", rng.standard_normal(k), DType.FLOAT32) if draw(st.booleans()) else -1
        y = f_output(prog, (*lead, k))
        eps = draw(st.sampled_from([1e-12, 1e-5, 0.1]))
        prog.add_op(Op(OpCode.LAYER_NORM, "ln", [x, g, b], [y], [f32_bits_of(eps)]))
        shapes = [(*lead, k)]
    return prog, [(rng.standard_normal(s) * scale).astype(np.float32) for s in shapes]


@given(dense_case())
@SETTINGS
def test_dense_f32(case: tuple[Program, list[np.ndarray]]) -> None:
    check(*case)


@st.composite
def pool_concat_case(draw: st.DrawFn) -> tuple[Program, list[np.ndarray]]:
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    h, w, c = draw(st.integers(1, 7)), draw(st.integers(1, 7)), draw(st.integers(1, 5))
    prog = Program()
    if draw(st.booleans()):  # concat along a random axis of NHWC tensors
        axis = draw(st.integers(0, 3))
        parts = [draw(st.integers(1, 3)) for _ in range(draw(st.integers(1, 3)))]
        shapes = []
        for d in parts:
            s = [1, h, w, c]
            s[axis] = d
            shapes.append(tuple(s))
        ins = [f_input(prog, s, Layout.NHWC) for s in shapes]
        out = list(shapes[0])
        out[axis] = sum(parts)
        y = f_output(prog, tuple(out), Layout.NHWC)
        prog.add_op(Op(OpCode.CONCAT, "cat", ins, [y], [axis]))
        return prog, [rng.standard_normal(s).astype(np.float32) for s in shapes]
    kh, kw = draw(st.integers(1, min(h, 3))), draw(st.integers(1, min(w, 3)))
    sh, sw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    x = f_input(prog, (1, h, w, c), Layout.NHWC)
    y = f_output(prog, (1, oh, ow, c), Layout.NHWC)
    if draw(st.booleans()):
        prog.add_op(Op(OpCode.MAX_POOL2D, "max", [x], [y], [kh, kw, sh, sw, ph, pw, 1, 1, *bounds(draw)]))
    else:
        include = draw(st.integers(0, 1))
        prog.add_op(Op(OpCode.AVG_POOL2D, "avg", [x], [y], [kh, kw, sh, sw, ph, pw, include, *bounds(draw)]))
    return prog, [rng.standard_normal((1, h, w, c)).astype(np.float32)]


@given(pool_concat_case())
@SETTINGS
def test_pool_concat_f32(case: tuple[Program, list[np.ndarray]]) -> None:
    check(*case)


def embedding_program(vocab: int, dim: int, seq: int) -> Program:
    prog = Program()
    ids = prog.add_tensor(Tensor("ids", DType.INT32, (1, seq)))
    prog.inputs.append(ids)
    table = prog.add_constant("table", np.arange(vocab * dim).reshape(vocab, dim) * 0.5, DType.FLOAT32)
    y = f_output(prog, (1, seq, dim))
    prog.add_op(Op(OpCode.EMBEDDING, "emb", [table, ids], [y], []))
    return prog


def test_embedding_gathers_rows_of_int_ids() -> None:
    prog = embedding_program(10, 3, 5)
    ids = np.array([[0, 9, 3, 3, 7]], np.int64)  # int64 as a tokenizer gives them: narrowed to int32
    got = np.asarray(native(prog).run([ids])[0])
    np.testing.assert_array_equal(got, run_program(prog, [ids])[0])
    assert got[0, 1, 0] == 9 * 3 * 0.5


def test_embedding_rejects_out_of_range_ids() -> None:
    m = native(embedding_program(10, 3, 2))
    with pytest.raises(Exception, match="element 1 is 10, outside the 10 rows of embedding table 'table'"):
        m.run([np.array([[1, 10]], np.int32)])
    with pytest.raises(Exception, match="integer ids"):
        m.run([np.zeros((1, 2), np.float32)])


def test_exp_is_accurate_and_saturates() -> None:
    """SOFTMAX over two logits is exp(d) / (1 + exp(d)): checks f32math.h's exp over its whole range."""
    prog = Program()
    x = f_input(prog, (200, 2))
    y = f_output(prog, (200, 2))
    prog.add_op(Op(OpCode.SOFTMAX, "s", [x], [y], []))
    d = np.linspace(-110.0, 0.0, 200)
    inp = np.stack([d, np.zeros_like(d)], axis=1).astype(np.float32)
    got = np.asarray(native(prog).run([inp])[0]).astype(np.float64)
    d32 = inp[:, 0].astype(np.float64)
    want = np.exp(d32) / (1.0 + np.exp(d32))
    np.testing.assert_allclose(got[:, 0], want, rtol=1e-6, atol=1e-45)
    assert got[0, 0] == 0.0 and got[-1, 0] == 0.5


def test_gelu_meets_its_documented_error_bound() -> None:
    """UNARY's float32 GELU (f32math.h eb_gelu_f32, the one template every path runs) against x·Φ(x) in double on
    every 4099th float32 in [−15, 10] (~5·10^5 inputs): within 5 ulp of the correctly rounded result where that is a
    normal float and 2·2^-149 where it is subnormal (docs/artifact.md "Float functions": the bounds
    scripts/f32math_ulp.cc measured over all 2^32 inputs), and the special values as documented."""
    bits = np.concatenate([np.arange(0, 0x41200001, 4099), np.arange(0x80000000, 0xC1700001, 4099)])
    x = bits.astype(np.uint32).view(np.float32)
    prog = Program()
    xi = f_input(prog, (len(x),))
    yi = f_output(prog, (len(x),))
    prog.add_op(Op(OpCode.UNARY, "gelu", [xi, -1], [yi], [int(UnaryFunc.GELU), 0]))
    got = np.asarray(native(prog).run([x])[0])
    erfc = np.vectorize(math.erfc)
    want = x.astype(np.float64) * 0.5 * erfc(-x.astype(np.float64) / math.sqrt(2.0))
    want32 = want.astype(np.float32)
    normal = np.abs(want32) >= np.float32(2.0**-126)

    # float32 -> position on the float line (the ulp distance of two floats is the difference)
    def ordinal(v: np.ndarray) -> np.ndarray:
        b = v.view(np.int32).astype(np.int64)
        return np.where(b < 0, -(b & 0x7FFFFFFF), b)

    dist = np.abs(ordinal(got) - ordinal(want32))
    assert dist[normal].max() <= 5, x[normal][np.argmax(dist[normal])]
    assert dist[~normal].max() <= 2  # subnormal steps are 2^-149 apart

    specials = np.array([-0.0, 0.0, np.inf, -np.inf, -20.0, 2.0**-149, -(2.0**-149), 100.0], np.float32)
    nans = np.array([0x7FC00000, 0xFFC01234, 0x7F800001, 0xFF812345], np.uint32).view(np.float32)
    prog = Program()
    xi = f_input(prog, (12,))
    yi = f_output(prog, (12,))
    prog.add_op(Op(OpCode.UNARY, "gelu", [xi, -1], [yi], [int(UnaryFunc.GELU), 0]))
    y = np.asarray(native(prog).run([np.concatenate([specials, nans])])[0]).view(np.uint32)
    want_bits = np.array(
        [0x80000000, 0, 0x7F800000, 0x7FC00000, 0x80000000, 1, 0x80000000, 0x42C80000], np.uint32
    )
    np.testing.assert_array_equal(y[:8], want_bits)
    np.testing.assert_array_equal(y[8:], nans.view(np.uint32) | 0x00400000)  # a NaN comes back quiet
