"""upsample_nearest2d.vec / upsample_bilinear2d.vec (F.interpolate) through edgebuild's capture, float, against
PyTorch eager over random sizes, scale factors (integer and fractional) and align_corners.

Bound: the row / column tables are PyTorch's (float32 source index and weight, lower/ops/resize.py), so nearest
copies the same pixels (exact) and bilinear mixes the same four with the same weights; the mix is computed in a
different order than PyTorch's float32 lerps, within a few ulp of values ~N(0, 1): atol 1e-6."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch import nn

from tests.helpers import run_native
from tests.lower.conv_helpers import decomposed


class Up(nn.Module):
    def __init__(self, kw: dict) -> None:
        super().__init__()
        self.kw = kw

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, **self.kw)


@settings(max_examples=12, deadline=None)
@given(
    st.integers(1, 7),
    st.integers(1, 7),
    st.sampled_from(["nearest", "bilinear"]),
    st.one_of(
        st.tuples(st.integers(1, 12), st.integers(1, 12)).map(lambda s: {"size": s}),
        st.sampled_from([1.5, 2.0, 3.0, 0.5, 1.75]).map(lambda f: {"scale_factor": f}),
    ),
    st.booleans(),
)
def test_upsample_float_matches_eager(h: int, w: int, mode: str, how: dict, align: bool) -> None:
    from edgebuild.lower import lower_graph
    from edgebuild.quantize import quantize_model

    factor = how.get("scale_factor", 1.0)
    assume(int(h * factor) >= 1 and int(w * factor) >= 1)  # torch refuses an empty output
    kw = dict(how, mode=mode) | ({"align_corners": align} if mode == "bilinear" else {})
    m = Up(kw).eval()
    x = torch.randn(1, 2, h, w, generator=torch.Generator().manual_seed(h * 9 + w))
    names = tuple(n.name for n in decomposed(m, (x,)).graph.nodes if n.op == "call_function")
    prog = lower_graph(
        quantize_model(decomposed(m, (x,)), [(x,)], float_layers=names), "m", float_layers=names
    )
    assert prog.op_counts().get("RESIZE") == 1, prog.op_counts()
    (got,) = run_native(prog, [x.numpy()])
    want = m(x).numpy()
    if mode == "nearest":
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, atol=1e-6, rtol=1e-6)
