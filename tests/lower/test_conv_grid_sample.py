"""GRID_SAMPLE (aten.grid_sampler_2d) in float against PyTorch eager, over random shapes, grids (inside and outside
[-1, 1]), modes, paddings and align_corners.

Bound: coordinates are computed as PyTorch's CPU kernel computes them (float32, same formulas), so both pick the
same pixels; bilinear weights and the 4-term sum are in double, rounded once, where PyTorch rounds each product and
sum in float32: |diff| <= ~4 ulp of max|x| — atol 1e-6 for inputs ~N(0, 1). Nearest copies a pixel: exact except
where the float32 coordinate is within an ulp of a .5 boundary (none in these grids: they are float32 values whose
unnormalized coordinate is computed identically)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from tests.lower.conv_helpers import run_float


class Sample(nn.Module):
    def __init__(self, mode: str, padding: str, align: bool) -> None:
        super().__init__()
        self.mode, self.padding, self.align = mode, padding, align

    def forward(self, x: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
        return F.grid_sample(x, grid, self.mode, self.padding, self.align)


@settings(max_examples=12, deadline=None)
@given(
    st.integers(1, 4),
    st.integers(1, 6),
    st.integers(1, 6),
    st.integers(1, 5),
    st.integers(1, 5),
    st.sampled_from(["bilinear", "nearest"]),
    st.sampled_from(["zeros", "border", "reflection"]),
    st.booleans(),
)
def test_grid_sample_float_matches_eager(
    c: int, h: int, w: int, oh: int, ow: int, mode: str, padding: str, align: bool
) -> None:
    g = torch.Generator().manual_seed(c * 7 + h * 3 + w)
    x = torch.randn(1, c, h, w, generator=g)
    grid = torch.rand(1, oh, ow, 2, generator=g) * 3.0 - 1.5  # a third of the points outside [-1, 1]
    m = Sample(mode, padding, align)
    prog, (got,) = run_float(m, (x, grid))
    assert prog.op_counts().get("GRID_SAMPLE") == 1, prog.op_counts()
    np.testing.assert_allclose(got, m(x, grid).numpy(), atol=1e-6, rtol=1e-6)
