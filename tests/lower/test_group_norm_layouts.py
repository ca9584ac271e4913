"""GroupNorm in every shape torch.export hands to native_group_norm (norm.lower_group_norm), in float through the real
build path against eager: after a convolution (an NHWC image; one group normalizes each sample in any order, so it
stays NHWC with no TRANSPOSE either side, PoolFormer's case), several groups and one group per channel, 3-D [N, C, L]
(wav2vec2's feature extractor), 2-D [N, C], 5-D, a batch of 2, with and without the affine parameters.
Bound: tests/lower/test_norm_float.py's |ours - torch| <= 8·n·u·(1 + |y|), n the normalized count."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from tests.helpers import run_native
from tests.lower.float_build import float_program

U = 2.0**-24


class ConvNorm(nn.Module):
    def __init__(self, c: int, groups: int, affine: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, c, 3, padding=1)
        self.norm = nn.GroupNorm(groups, c, affine=affine)
        if affine:
            with torch.no_grad():
                self.norm.weight.uniform_(0.5, 1.5)
                self.norm.bias.uniform_(-0.5, 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.conv(x))


class Norm(nn.Module):
    def __init__(self, c: int, groups: int) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(groups, c)
        with torch.no_grad():
            self.norm.weight.uniform_(0.5, 1.5)
            self.norm.bias.uniform_(-0.5, 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x)


def _check(m: nn.Module, x: torch.Tensor, normalized: int) -> list[str]:
    prog = float_program(m.eval(), (x,))
    (got,) = run_native(prog, [x.numpy()])
    with torch.no_grad():
        want = m(x).numpy()
    assert got.shape == want.shape
    assert np.all(np.abs(got - want) <= 8 * normalized * U * (1 + np.abs(want)) + 1e-6)
    return [op.opcode.name for op in prog.ops]


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("groups", [1, 2, 8])
@pytest.mark.parametrize("batch", [1, 2])
def test_group_norm_after_conv(groups: int, affine: bool, batch: int) -> None:
    c, h, w = 8, 5, 6
    x = 3 * torch.randn(batch, 3, h, w, generator=torch.Generator().manual_seed(groups))
    ops = _check(ConvNorm(c, groups, affine), x, (c // groups) * h * w)
    assert ops.count("LAYER_NORM") == 1 and ops.count("CONV2D") == 1, ops
    between = ops[ops.index("CONV2D") : ops.index("LAYER_NORM")]
    assert ("TRANSPOSE" in between) == (groups > 1), ops  # one group: the NHWC image as it is


@pytest.mark.parametrize(
    "shape,groups", [((1, 6, 10), 3), ((2, 6, 10), 6), ((1, 8), 4), ((3, 8), 1), ((1, 4, 3, 2, 5), 2)]
)
def test_group_norm_of_other_ranks(shape: tuple[int, ...], groups: int) -> None:
    x = 2 * torch.randn(shape, generator=torch.Generator().manual_seed(len(shape))) + 1
    n = int(np.prod(shape[1:])) // groups
    ops = _check(Norm(shape[1], groups), x, n)
    assert ops.count("LAYER_NORM") == 1 and "TRANSPOSE" not in ops, ops


def test_a_norm_behind_a_missing_op_lists_only_that_op(monkeypatch: pytest.MonkeyPatch) -> None:
    """native_group_norm returns (y, mean, rstd): when its input's op is missing, the norm and its getitem are
    blocked behind it and the build lists the missing op alone, not "getitem has no lowering"."""
    from edgebuild.lower.registry import FLOAT_LOWERINGS, LOWERINGS
    from edgebuild.lower.walker import UnsupportedOpsError

    for table in (LOWERINGS, FLOAT_LOWERINGS):
        monkeypatch.delitem(table, "aten.conv2d.default")
    with pytest.raises(UnsupportedOpsError) as e:
        float_program(ConvNorm(8, 1, True).eval(), (torch.randn(1, 3, 5, 6),))
    assert [u.name for u in e.value.ops] == ["aten.conv2d.default"], str(e.value)
    assert "getitem" not in str(e.value)
