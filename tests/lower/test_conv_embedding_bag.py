"""nn.EmbeddingBag (sum / mean, constant offsets, per_sample_weights, padding_idx under sum), float,
against PyTorch eager, in the graph before decomposition (embedding_bag.padding_idx) and after (_embedding_bag).

Bound: a bag is a sum of at most 8 rows ~N(0, 1), summed in double by BATCH_MATMUL and rounded once, against
PyTorch's float32 sum: atol 1e-6 (mean: 1/count rounded to float32 first, still within 1e-6)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from edgebuild.lower import lower_graph
from edgebuild.quantize import quantize_model
from tests.helpers import native
from tests.lower.conv_helpers import decomposed


class Bags(nn.Module):
    def __init__(self, mode: str, offsets: list[int] | None, weights: bool, pad: int | None) -> None:
        super().__init__()
        self.bag = nn.EmbeddingBag(12, 5, mode=mode, padding_idx=pad)
        self.register_buffer("off", torch.tensor(offsets) if offsets is not None else None)
        self.register_buffer("psw", torch.rand(7) if weights else None)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.bag(ids, self.off, per_sample_weights=self.psw)


CASES = [
    ("sum", [0, 2, 2, 5], False, None, (7,)),
    ("mean", [0, 3, 4], False, None, (7,)),
    ("sum", [0, 1, 6], True, None, (7,)),
    ("sum", [0, 4], False, 3, (7,)),
]


@pytest.mark.parametrize("decompose", [False, True])
@pytest.mark.parametrize("case", CASES)
def test_embedding_bag_float(case: tuple, decompose: bool) -> None:
    mode, offsets, weights, pad, shape = case
    torch.manual_seed(0)
    m = Bags(mode, offsets, weights, pad).eval()
    ids = torch.randint(0, 12, shape, generator=torch.Generator().manual_seed(1))
    ids[..., 0] = 3  # the padding row, when there is one

    def gm():
        return decomposed(m, (ids,)) if decompose else torch.export.export(m, (ids,)).module()

    names = tuple(n.name for n in gm().graph.nodes if n.op == "call_function")
    prog = lower_graph(quantize_model(gm(), [(ids,)], float_layers=names), "m", float_layers=names)
    assert prog.op_counts().get("EMBEDDING") == 1 and prog.op_counts().get("BATCH_MATMUL") == 1, (
        prog.op_counts()
    )
    got = np.asarray(native(prog).run([ids.numpy()])[0])
    with torch.no_grad():
        np.testing.assert_allclose(got, m(ids).numpy(), atol=1e-6, rtol=1e-6)
