"""Capture's decomposition to core ATen (edgebuild/decompose.py) and build-time constant folding (edgebuild/fold.py)."""

from __future__ import annotations

import numpy as np
import torch

from edgebuild.capture import capture
from edgebuild.decompose import kept_ops
from edgebuild.fold import fold_constants
from edgebuild.load import LoadedModel


class MaskedPositions(torch.nn.Module):
    """Position ids, a causal mask and a ones_like: all constant at a static shape."""

    def __init__(self) -> None:
        super().__init__()
        self.pos = torch.nn.Embedding(8, 4)
        self.w = torch.nn.Parameter(torch.randn(4, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.shape[1]
        ids = torch.arange(s).unsqueeze(0)
        causal = torch.triu(torch.full((s, s), float("-inf")), diagonal=1)
        h = x + self.pos(ids)
        scores = h @ self.w.t() @ h.transpose(1, 2) + causal
        return (
            torch.softmax(scores, -1) * torch.ones_like(x[..., :1]) + torch.cumsum(ids, 1).float()[..., None]
        )


def _targets(gm: torch.fx.GraphModule) -> list[str]:
    return [str(n.target) for n in gm.graph.nodes if n.op == "call_function"]


def test_constant_subgraphs_are_folded_and_the_value_kept() -> None:
    torch.manual_seed(0)
    model = MaskedPositions().eval()
    x = np.random.default_rng(0).standard_normal((1, 6, 4)).astype(np.float32)
    gm = capture(LoadedModel(path=None, format="state_dict", module=model), [x])  # type: ignore[arg-type]
    ops = _targets(gm)
    for gone in ("aten.arange", "aten.triu", "aten.full", "aten.ones_like", "aten.cumsum", "aten.embedding"):
        assert not any(o.startswith(gone) for o in ops), (gone, ops)
    with torch.no_grad():
        want = model(torch.from_numpy(x))
        got = gm(torch.from_numpy(x))
    got = got[0] if isinstance(got, (tuple, list)) else got
    assert torch.equal(got, want)


def test_random_ops_are_not_folded() -> None:
    class Noisy(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + torch.randn(3)

    ep = torch.export.export(Noisy(), (torch.zeros(1, 3),))
    gm = ep.module()
    fold_constants(gm)
    assert any("randn" in t for t in _targets(gm))


def test_ops_without_a_lowering_are_decomposed_and_lowered_ones_kept() -> None:
    class Shuffle(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(4, 8, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.pixel_shuffle(self.conv(x), 2)

    x = np.zeros((1, 4, 3, 3), np.float32)
    gm = capture(LoadedModel(path=None, format="state_dict", module=Shuffle().eval()), [x])  # type: ignore[arg-type]
    ops = _targets(gm)
    assert "aten.conv2d.default" in ops and "aten.conv2d.default" in kept_ops()
    assert not any("pixel_shuffle" in o for o in ops), ops


class FullRotary(torch.nn.Module):
    """Phi-3's `cat([rotate(x[..., :d]), x[..., d:]])` with d the whole last axis: the second part is empty."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d = x.shape[-1]
        return torch.cat([torch.tanh(x[..., :d]) * 2, x[..., d:]], dim=-1) + torch.cat(
            [x[..., d:], x], dim=-1
        )


def test_empty_operands_of_cat_are_dropped_and_the_model_builds() -> None:
    from edgebuild.capture import graph_of
    from tests.helpers import quantize_and_lower, run_native
    from tests.lower.float_build import float_program

    x = torch.randn(1, 3, 8, generator=torch.Generator().manual_seed(0))
    gm = graph_of(torch.export.export(FullRotary(), (x,)))
    cats = [n for n in gm.graph.nodes if n.target is torch.ops.aten.cat.default]
    assert len(cats) == 2 and all(len(n.args[0]) == 1 for n in cats)
    assert not any(
        n.meta["val"].numel() == 0 for n in gm.graph.nodes if isinstance(n.meta.get("val"), torch.Tensor)
    )
    want = FullRotary()(x).numpy()
    (got,) = run_native(float_program(FullRotary(), (x,)), [x.numpy()])
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    q = quantize_and_lower(FullRotary(), [x, 2 * x])  # int8 as well
    assert not any(0 in t.shape for t in q.program.tensors)


class EmptySum(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + x[..., x.shape[-1] :].sum(-1, keepdim=True)


def test_an_empty_tensor_elsewhere_is_one_line_naming_its_op() -> None:
    import pytest

    from edgebuild.errors import EdgebuildError
    from tests.lower.float_build import float_program

    x = torch.randn(1, 3, 8)
    with pytest.raises(EdgebuildError) as e:
        float_program(EmptySum(), (x,))
    msg = str(e.value)
    assert (
        "\n" not in msg and "empty tensor" in msg and "aten.slice.Tensor" in msg and "test_fold.py" in msg
    ), msg
