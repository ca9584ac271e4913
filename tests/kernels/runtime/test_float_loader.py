"""The loader's rules for the float forms and ops 40-43 (docs/artifact.md "Float fallback"): a malformed op is a
load error naming the op and the rule, never a crash."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from edgebuild.ir import DType, Layout, Op, OpCode, Program, Tensor
from edgebuild.lower import f32_bits_of
from tests.helpers import native

INF, NINF, NAN = f32_bits_of(math.inf), f32_bits_of(-math.inf), f32_bits_of(math.nan)


def prog_with(build) -> Program:
    prog = Program()
    x = prog.add_tensor(Tensor("x", DType.FLOAT32, (2, 8)))
    prog.inputs.append(x)
    y = prog.add_tensor(Tensor("y", DType.FLOAT32, (2, 8)))
    prog.outputs.append(y)
    build(prog, x, y)
    return prog


def fc(prog: Program, x: int, y: int, *, w_dtype=DType.FLOAT32, bounds=(NINF, INF), bias_n=8) -> None:
    w = prog.add_constant("w", np.ones((8, 8)), w_dtype)
    b = prog.add_constant("b", np.ones(bias_n), DType.FLOAT32)
    prog.add_op(Op(OpCode.FULLY_CONNECTED, "fc", [x, w, b], [y], list(bounds)))


CASES = [
    ("a good float FC loads", lambda p, x, y: fc(p, x, y), None),
    (
        "int8 weights in a float FC",
        lambda p, x, y: fc(p, x, y, w_dtype=DType.INT8),
        "weight ('w') is int8, expected float32",
    ),
    ("NaN bound", lambda p, x, y: fc(p, x, y, bounds=(NAN, INF)), "no NaN"),
    ("lo > hi", lambda p, x, y: fc(p, x, y, bounds=(INF, NINF)), "lo <= hi"),
    ("bias size", lambda p, x, y: fc(p, x, y, bias_n=7), "has 7 entries, expected 8"),
    (
        "float FC with the int8 arity",
        lambda p, x, y: p.add_op(Op(OpCode.FULLY_CONNECTED, "fc", [x, x, -1, x, x], [y], [NINF, INF])),
        "has 5 inputs, expected 3",
    ),
    (
        "softmax of int8 input",
        lambda p, x, y: p.add_op(
            Op(OpCode.SOFTMAX, "s", [p.add_tensor(Tensor("q", DType.INT8, (2, 8), 1.0, 0))], [y], [])
        ),
        "input ('q') is int8, expected float32",
    ),
    (
        "layer_norm gamma size",
        lambda p, x, y: p.add_op(
            Op(OpCode.LAYER_NORM, "ln", [x, p.add_constant("g", np.ones(4), DType.FLOAT32), -1], [y], [0])
        ),
        "gamma ('g') has 4 entries, expected 8",
    ),
    (
        "layer_norm negative eps",
        lambda p, x, y: p.add_op(Op(OpCode.LAYER_NORM, "ln", [x, -1, -1], [y], [f32_bits_of(-1.0)])),
        "eps -1 must be finite and >= 0",
    ),
    (
        "embedding with float ids",
        lambda p, x, y: p.add_op(
            Op(OpCode.EMBEDDING, "e", [p.add_constant("t", np.ones((4, 8)), DType.FLOAT32), x], [y], [])
        ),
        "ids ('x') is float32, expected int32",
    ),
    (
        "bmm shapes",
        lambda p, x, y: p.add_op(Op(OpCode.BATCH_MATMUL, "b", [x, x], [y], [0, f32_bits_of(1.0)])),
        "do not multiply",
    ),
    (
        "layer_norm has no int8 form",
        lambda p, x, y: p.add_op(
            Op(
                OpCode.LAYER_NORM,
                "ln",
                [x, -1, -1],
                [p.add_tensor(Tensor("q", DType.INT8, (2, 8), 1.0, 0))],
                [0],
            )
        ),
        "has no int8 form",
    ),
    (
        "int8 softmax of a float input",
        lambda p, x, y: p.add_op(
            Op(
                OpCode.SOFTMAX,
                "s",
                [x],
                [p.add_tensor(Tensor("q", DType.INT8, (2, 8), 1 / 256, -128))],
                [1 << 30, 20, -100],
            )
        ),
        "input ('x') is float32, expected int8",
    ),
]


@pytest.mark.parametrize("what, build, error", CASES, ids=[c[0] for c in CASES])
def test_float_form_rules(what: str, build, error: str | None) -> None:
    prog = prog_with(build)
    if error is None:
        native(prog)
        return
    with pytest.raises(Exception, match=re.escape(error)):
        native(prog)


def test_int32_graph_input_needs_int_data_and_float_input_needs_float() -> None:
    prog = Program()
    ids = prog.add_tensor(Tensor("ids", DType.INT32, (1, 3)))
    prog.inputs.append(ids)
    table = prog.add_constant("t", np.arange(12).reshape(4, 3), DType.FLOAT32)
    y = prog.add_tensor(Tensor("y", DType.FLOAT32, (1, 3, 3), layout=Layout.PLAIN))
    prog.outputs.append(y)
    prog.add_op(Op(OpCode.EMBEDDING, "e", [table, ids], [y], []))
    m = native(prog)
    np.testing.assert_array_equal(np.asarray(m.run([np.array([[3, 0, 1]])])[0])[0, 0], [9, 10, 11])
    with pytest.raises(Exception, match="outside the 4 rows"):
        m.run([np.array([[3, -1, 1]])])
