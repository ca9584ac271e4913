"""DEPTHWISE_CONV2D's load rules (kernels/runtime/ops/depthwise_conv2d.cc): each a one-line EB_ERR_FORMAT naming
the op, and a well-formed file that loads. Numbers are in the ISA sweep (isa_cases.py) and tests/lower/."""

from __future__ import annotations

import numpy as np
import pytest

from edgebuild import _native
from edgebuild.ir import DType, Layout, Op, OpCode, Program, Tensor
from edgebuild.plan import plan_arena
from edgebuild.qmath import f32_bits, inv_scale_f32
from edgebuild.serialize import artifact_bytes

WINDOW = [1, 1, 1, 1, 1, 1, 1, 1]  # stride 1, padding 1, dilation 1


def program(
    weight_shape: tuple[int, ...] = (4, 3, 3, 1), oc: int = 4, params: list[int] | None = None
) -> bytes:
    """x f32 [1,2,6,6] -> QUANTIZE (NCHW->NHWC) -> DEPTHWISE_CONV2D (C = 2) -> DEQUANTIZE (->NCHW)."""
    rng = np.random.default_rng(0)
    p = Program()
    x = p.add_tensor(Tensor("x", DType.FLOAT32, (1, 2, 6, 6)))
    xq = p.add_tensor(Tensor("x.q", DType.INT8, (1, 6, 6, 2), 0.05, -3, Layout.NHWC))
    w = p.add_constant("dw.weight", rng.integers(-127, 128, weight_shape), DType.INT8)
    b = p.add_constant("dw.bias", rng.integers(-500, 500, oc), DType.INT32)
    m = p.add_constant("dw.mult", rng.integers(2**30, 2**31, oc), DType.INT32)
    s = p.add_constant("dw.shift", np.full(oc, -7), DType.INT32)
    c = p.add_tensor(Tensor("dw", DType.INT8, (1, 6, 6, oc), 0.1, 5, Layout.NHWC))
    y = p.add_tensor(Tensor("y", DType.FLOAT32, (1, oc, 6, 6)))
    p.add_op(Op(OpCode.QUANTIZE, "quantize", [x], [xq], [1, f32_bits(inv_scale_f32(0.05))]))
    p.add_op(Op(OpCode.DEPTHWISE_CONV2D, "dw1", [xq, w, b, m, s], [c], params or WINDOW + [-128, 127]))
    p.add_op(Op(OpCode.DEQUANTIZE, "dequantize", [c], [y], [1]))
    p.inputs, p.outputs = [x], [y]
    plan_arena(p, reuse=False)
    return artifact_bytes(p)


def load_error(data: bytes) -> str:
    with pytest.raises(_native.LoadError) as e:
        _native.Model.from_bytes(data)
    return str(e.value)


def test_loads_and_runs() -> None:
    m = _native.Model.from_bytes(program())
    assert m.op_info(1)["type"] == "DEPTHWISE_CONV2D"
    y = np.asarray(m.run([np.ones((1, 2, 6, 6), np.float32)])[0])
    assert y.shape == (1, 4, 6, 6)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (
            {"weight_shape": (4, 3, 3, 2)},
            "weight dims [4,3,3,2]: a depthwise weight is [OC, KH, KW, 1]",
        ),
        (
            {"weight_shape": (3, 3, 3, 1), "oc": 3},
            "output channels 3 are not a multiple of input channels 2",
        ),
        (
            {"params": [1, 1, 1, 1, 1, 1, 1, 1, 2, -128, 127]},  # CONV2D's groups left in: 11 params
            "has 11 params, expected 10",
        ),
        (
            {"params": [0, 1, 1, 1, 1, 1, 1, 1, -128, 127]},
            "strides (0, 1) must be >= 1",
        ),
        (
            {"params": [1, 1, 0, 0, 0, 0, 1, 1, -128, 127]},  # no padding: 4x4 output, not 6x6
            "output dims [1,6,6,4] but input [1,6,6,2], kernel 3x3",
        ),
    ],
)
def test_load_errors(kwargs: dict, message: str) -> None:
    err = load_error(program(**kwargs))
    assert err.startswith("EB_ERR_FORMAT: op 1 (DEPTHWISE_CONV2D 'dw1'): "), err
    assert message in err and "\n" not in err, err
