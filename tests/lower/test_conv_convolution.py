"""conv1d, conv_transpose1d / conv_transpose2d (aten.convolution and the ops it stands for): CONV2D,
DEPTHWISE_CONV2D and TRANSPOSE_CONV2D in float and int8.

Bounds. Float: the kernels sum in double and round once, so each output is the exact sum rounded to float32 (±½ ulp);
PyTorch sums in float32 (oneDNN / im2col GEMM), with an error up to about K·ε·Σ|x·w| for K taps. With |x|, |w| ~ 1 and
K <= 200 taps that is < 1e-4 absolute, so we check atol 1e-4 + rtol 1e-5. Int8: each output is one rounding of the
requantized accumulator, which PT2E's reference (float conv of the dequantized int8 values, then quantize) rounds
once too, so the two differ by at most 1 LSB (the float conv's own rounding can cross a .5 boundary).
"""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch import nn

from tests.helpers import op_by_op, quantize_and_lower
from tests.lower.conv_helpers import run_float
from tests.models import calibration

ATOL, RTOL = 1e-4, 1e-5


class Seq(nn.Module):
    def __init__(self, *layers: nn.Module) -> None:
        super().__init__()
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


@st.composite
def conv1d_case(draw: st.DrawFn) -> tuple[nn.Module, tuple[int, ...]]:
    g = draw(st.sampled_from([1, 1, 2, 3]))
    c = g * draw(st.integers(1, 3))
    oc = g * draw(st.integers(1, 3))
    k = draw(st.integers(1, 5))
    d = draw(st.integers(1, 2))
    s = draw(st.integers(1, 3))
    p = draw(st.integers(0, k // 2 * d))
    length = draw(st.integers(d * (k - 1) + 1, 14))
    conv = nn.Conv1d(c, oc, k, stride=s, padding=p, dilation=d, groups=g, bias=draw(st.booleans()))
    return conv, (1, c, length)


@st.composite
def deconv_case(draw: st.DrawFn, two_d: bool) -> tuple[nn.Module, tuple[int, ...]]:
    g = draw(st.sampled_from([1, 1, 2]))
    c, oc = g * draw(st.integers(1, 3)), g * draw(st.integers(1, 3))
    kh, kw = (draw(st.integers(1, 4)), draw(st.integers(1, 4))) if two_d else (1, draw(st.integers(1, 4)))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    ph, pw = draw(st.integers(0, (kh - 1) * dh)), draw(st.integers(0, (kw - 1) * dw))
    oph = draw(st.integers(0, max(sh, dh) - 1))
    opw = draw(st.integers(0, max(sw, dw) - 1))
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    bias = draw(st.booleans())
    assume(
        (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph >= 0 and (w - 1) * sw - 2 * pw + dw * (kw - 1) + opw >= 0
    )
    if two_d:
        m = nn.ConvTranspose2d(c, oc, (kh, kw), (sh, sw), (ph, pw), (oph, opw), g, bias, (dh, dw))
        return m, (1, c, h, w)
    m = nn.ConvTranspose1d(c, oc, kw, sw, pw, opw, g, bias, dw)
    return m, (1, c, w)


def _check_float(m: nn.Module, shape: tuple[int, ...], opcode: str) -> None:
    torch.manual_seed(0)
    x = torch.randn(shape)
    prog, (got,) = run_float(m, (x,))
    assert prog.op_counts().get(opcode, 0) >= 1, prog.op_counts()
    np.testing.assert_allclose(got, m(x).detach().numpy(), atol=ATOL, rtol=RTOL)


@settings(max_examples=6, deadline=None)
@given(conv1d_case())
def test_conv1d_float_matches_eager(case: tuple[nn.Module, tuple[int, ...]]) -> None:
    m, shape = case
    with torch.no_grad():
        _check_float(
            m.eval(), shape, "CONV2D" if m.groups == 1 or m.in_channels != m.groups else "DEPTHWISE_CONV2D"
        )


@settings(max_examples=6, deadline=None)
@given(deconv_case(two_d=True))
def test_conv_transpose2d_float_matches_eager(case: tuple[nn.Module, tuple[int, ...]]) -> None:
    with torch.no_grad():
        _check_float(case[0].eval(), case[1], "TRANSPOSE_CONV2D")


@settings(max_examples=5, deadline=None)
@given(deconv_case(two_d=False))
def test_conv_transpose1d_float_matches_eager(case: tuple[nn.Module, tuple[int, ...]]) -> None:
    with torch.no_grad():
        _check_float(case[0].eval(), case[1], "TRANSPOSE_CONV2D")


def _int8_lsb(m: nn.Module, shape: tuple[int, ...], opcode: str) -> list[int]:
    torch.manual_seed(1)
    q = quantize_and_lower(Seq(m, nn.ReLU()), calibration(shape, 8))
    assert q.program.op_counts().get(opcode) == 1, q.program.op_counts()
    assert "DEQUANTIZE" in q.program.op_counts() and q.program.metadata.get("float_ops", []) == [], q.program
    x = calibration(shape, 1, seed=5)[0].numpy()
    return [c.max_lsb for c in op_by_op(q, x) if c.aten != "quantize"]


@settings(max_examples=5, deadline=None)
@given(conv1d_case())
def test_conv1d_int8_within_one_lsb_of_pt2e(case: tuple[nn.Module, tuple[int, ...]]) -> None:
    m, shape = case
    opcode = "DEPTHWISE_CONV2D" if m.groups > 1 and m.in_channels == m.groups else "CONV2D"
    lsb = _int8_lsb(m, shape, opcode)
    assert lsb and max(lsb) <= 1, lsb


@settings(max_examples=5, deadline=None)
@given(st.one_of(deconv_case(two_d=True), deconv_case(two_d=False)))
def test_conv_transpose_int8_within_one_lsb_of_pt2e(case: tuple[nn.Module, tuple[int, ...]]) -> None:
    m, shape = case
    if m.groups != 1:  # a grouped transposed convolution stays float (convolution.py)
        return
    lsb = _int8_lsb(m, shape, "TRANSPOSE_CONV2D")
    assert lsb and max(lsb) <= 1, lsb
