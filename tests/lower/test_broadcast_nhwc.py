"""Broadcasting binary ops against images stored NHWC (elementwise.broadcast_operand): an operand of lower rank whose
non-1 axes keep their order is a RESHAPE ([C, 1, 1] layer scales, PoolFormer / ConvNeXt); one whose order differs
([C, H, W], [H, 1]) goes through TRANSPOSE; an NHWC operand of a 5-D result goes back to PyTorch's order. Float
through the real build path, and int8 (TRANSPOSE moves codes: the same values as PT2E's q/dq reference within 1 LSB
of the output)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from tests.helpers import quantize_and_lower, run_native
from tests.lower.float_build import float_program
from tests.models import calibration

C, H, W = 6, 5, 4


class ImageOp(nn.Module):
    """conv (an NHWC image) <op> a parameter of `shape`."""

    def __init__(self, op: str, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, C, 3, padding=1)
        self.p = nn.Parameter(torch.randn(shape) + 0.5)
        self.op = op

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return {"mul": y * self.p, "add": y + self.p, "sub": self.p - y}[self.op]


SHAPES = [(C, 1, 1), (C, H, W), (H, 1), (W,), (1, H, W), (C, 1, W), (2, 1, C, H, W)]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("op", ["mul", "add", "sub"])
def test_float_broadcast_against_nhwc(op: str, shape: tuple[int, ...]) -> None:
    m = ImageOp(op, shape).eval()
    x = torch.randn(1, 3, H, W, generator=torch.Generator().manual_seed(1))
    prog = float_program(m, (x,))
    counts = prog.op_counts()
    assert counts.get("CONV2D") == 1 and counts.get("ADD" if op == "add" else op.upper()) == 1, counts
    if shape in [(C, 1, 1), (H, 1), (W,), (1, H, W)]:  # the same byte order: a RESHAPE, no TRANSPOSE of it
        assert counts.get("TRANSPOSE") == 2, counts  # only the input's to NHWC and the output's back
    (got,) = run_native(prog, [x.numpy()])
    with torch.no_grad():
        want = m(x).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


class ImageTimesSlice(nn.Module):
    """conv(x) [1, C, H, W] (int8, NHWC) times x[0] as a 3-D [C, H, W] activation (int8, PyTorch's order)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(C, C, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) * x.reshape(C, H, W)


def test_int8_mul_with_transposed_operand() -> None:
    calib = calibration((1, C, H, W), n=8)
    q = quantize_and_lower(ImageTimesSlice(), calib)
    counts = q.program.op_counts()
    assert counts.get("MUL") == 1 and counts.get("TRANSPOSE", 0) >= 1, counts
    mul = next(op for op in q.program.ops if op.opcode.name == "MUL")
    assert q.program.form_of(mul) == "int8"
    x = calib[0].numpy()
    (got,) = run_native(q.program, [x])
    with torch.no_grad():
        want = q.qgm(torch.from_numpy(x))  # PT2E's q/dq reference
    want = want[0] if isinstance(want, (tuple, list)) else want
    lsb = q.program.tensors[mul.outputs[0]].scale
    np.testing.assert_allclose(got, want.numpy(), atol=1.01 * lsb, rtol=0)
