"""col2im (F.fold) as a TRANSPOSE_CONV2D with one-hot weights, float, against PyTorch eager over random geometries.

Bound: each output is the sum of at most kh·kw overlapping patch entries; ours is summed in double and rounded
once (±½ ulp), PyTorch's in float32 in another order: atol 1e-6 for entries ~N(0, 1) and <= 9 terms."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch import nn

from tests.lower.conv_helpers import run_float


class Fold(nn.Module):
    def __init__(self, size: tuple[int, int], k: tuple[int, int], d: int, p: int, s: int) -> None:
        super().__init__()
        self.args = (size, k, d, p, s)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size, k, d, p, s = self.args
        return F.fold(x, size, k, dilation=d, padding=p, stride=s)


@settings(max_examples=10, deadline=None)
@given(
    st.integers(1, 3),
    st.integers(1, 8),
    st.integers(1, 8),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(1, 2),
    st.integers(0, 1),
    st.integers(1, 3),
)
def test_fold_float_matches_eager(c: int, h: int, w: int, kh: int, kw: int, d: int, p: int, s: int) -> None:
    lh, lw = (h + 2 * p - d * (kh - 1) - 1) // s + 1, (w + 2 * p - d * (kw - 1) - 1) // s + 1
    assume(h + 2 * p >= d * (kh - 1) + 1 and w + 2 * p >= d * (kw - 1) + 1 and lh >= 1 and lw >= 1)
    assume(p < kh and p < kw)
    x = torch.randn(1, c * kh * kw, lh * lw, generator=torch.Generator().manual_seed(h * 10 + w))
    m = Fold((h, w), (kh, kw), d, p, s)
    prog, (got,) = run_float(m, (x,))
    assert prog.op_counts().get("TRANSPOSE_CONV2D") == 1, prog.op_counts()
    np.testing.assert_allclose(got, m(x).numpy(), atol=1e-6, rtol=1e-6)
