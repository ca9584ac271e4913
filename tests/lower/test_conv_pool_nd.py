"""Pooling on core ATen's forms: max_pool2d_with_indices (values), max_pool3d_with_indices and avg_pool3d (separable,
on MAX_POOL2D / AVG_POOL2D), _adaptive_avg_pool2d / _adaptive_avg_pool3d with any output size (uneven windows: a
constant averaging matrix per axis, FULLY_CONNECTED), against PyTorch eager (float) and PT2E (int8).

Bounds. Float: max is exact; an average is a sum of at most 27 terms in double then one (pool kernels) or two
(separable passes / averaging matrices, 1/count rounded to float32) float32 roundings: within a few ulp of values
~N(0, 1), atol 1e-6. Int8: max commutes with quantization, so the output equals PT2E's bit for bit; averages are
rounded once per pass, within 1 LSB of PT2E's single rounding (pool_nd.py).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch import nn

from tests.helpers import run_native
from tests.lower.conv_helpers import float_program_decomposed, int8_program_decomposed
from tests.models import calibration


class Pool(nn.Module):
    def __init__(self, fn) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)


@st.composite
def pool3d_case(draw: st.DrawFn):  # -> (module, shape, kind)
    kind = draw(st.sampled_from(["max", "avg"]))
    k = tuple(draw(st.integers(1, 3)) for _ in range(3))
    s = tuple(draw(st.integers(1, 3)) for _ in range(3))
    p = tuple(draw(st.integers(0, ki // 2)) for ki in k)
    dil = tuple(draw(st.integers(1, 2)) for _ in range(3)) if kind == "max" else (1, 1, 1)
    shape = (1, draw(st.integers(1, 3)), *(draw(st.integers(1, 7)) for _ in range(3)))
    assume(all(n >= di * (ki - 1) + 1 for n, di, ki in zip(shape[2:], dil, k)))
    if kind == "max":
        return Pool(lambda x: F.max_pool3d(x, k, s, p, dil)), shape, kind
    include = draw(st.booleans())
    return Pool(lambda x: F.avg_pool3d(x, k, s, p, count_include_pad=include)), shape, kind


def _float_check(m: nn.Module, shape: tuple[int, ...], atol: float = 1e-6) -> dict[str, int]:
    x = torch.randn(shape, generator=torch.Generator().manual_seed(sum(shape)))
    prog = float_program_decomposed(m, (x,))
    (got,) = run_native(prog, [x.numpy()])
    np.testing.assert_allclose(got, m(x).numpy(), atol=atol, rtol=1e-6)
    return prog.op_counts()


@settings(max_examples=10, deadline=None)
@given(pool3d_case())
def test_pool3d_float(case) -> None:
    m, shape, kind = case
    counts = _float_check(m, shape)
    assert counts.get("MAX_POOL2D" if kind == "max" else "AVG_POOL2D") == 2, counts


@settings(max_examples=10, deadline=None)
@given(st.integers(1, 9), st.integers(1, 9), st.integers(1, 5), st.integers(1, 5), st.booleans())
def test_adaptive_avg_pool_any_size_float(h: int, w: int, oh: int, ow: int, three_d: bool) -> None:
    if three_d:
        _float_check(Pool(lambda x: F.adaptive_avg_pool3d(x, (oh, ow, 2))), (1, 2, 3, h, w))
    else:
        _float_check(Pool(lambda x: F.adaptive_avg_pool2d(x, (oh, ow))), (1, 3, h, w))


def test_max_pool2d_with_indices_values_float() -> None:
    counts = _float_check(Pool(lambda x: F.max_pool2d(x, 3, 2, 1, return_indices=True)[0]), (1, 3, 9, 8))
    assert counts.get("MAX_POOL2D") == 1, counts


def test_pool3d_and_with_indices_int8_against_pt2e() -> None:
    cases = [
        (Pool(lambda x: F.max_pool3d(x, (2, 3, 3), (1, 2, 2), (1, 1, 0))), (1, 2, 4, 7, 6), 0),
        (Pool(lambda x: F.avg_pool3d(x, 3, 2, 1, count_include_pad=False)), (1, 3, 5, 6, 7), 1),
        (Pool(lambda x: F.avg_pool3d(x, (2, 2, 3), 1)), (1, 2, 3, 4, 5), 1),
        (Pool(lambda x: F.max_pool2d(x, 3, 2, 1, return_indices=True)[0]), (1, 3, 9, 8), 0),
    ]
    for m, shape, lsb in cases:
        qgm, prog = int8_program_decomposed(m, calibration(shape, 8))
        assert not prog.metadata.get("float_ops"), prog.metadata.get("float_ops")
        q = next(n for n in qgm.graph.nodes if "quantize_per_tensor" in str(n.target))
        scale = float(q.args[1])
        for seed in (1, 2):
            x = calibration(shape, 1, seed=seed)[0]
            (got,) = run_native(prog, [x.numpy()])
            want = qgm(x).detach().numpy()
            assert np.abs(got - want).max() <= lsb * scale * 1.0001 + 1e-7, (
                m,
                np.abs(got - want).max() / scale,
            )
