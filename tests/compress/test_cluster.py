"""Weight sharing: clustering round-trips (every weight is its centroid, zeros stay zero), centroid fine-tuning keeps
the sharing, and the int8 path keeps at most 2^bits values per layer, which Huffman coding then shrinks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from edgebuild import _native
from edgebuild.compress.cluster import cluster_weights, finetune_centroids, kmeans_1d
from edgebuild.errors import EdgebuildError
from edgebuild.lower import lower_graph
from edgebuild.plan import plan_arena
from edgebuild.quantize import quantize_model
from edgebuild.serialize import Section, artifact_bytes, section_sizes


def mlp() -> nn.Module:
    torch.manual_seed(0)
    m = nn.Sequential(nn.Flatten(), nn.Linear(64, 96), nn.ReLU(), nn.Linear(96, 10))
    with torch.no_grad():  # a pruned first layer: 70% zeros
        w = m[1].weight
        w[w.abs() < w.abs().flatten().kthvalue(int(0.7 * w.numel())).values] = 0
    return m.eval()


@pytest.mark.parametrize("bits", [2, 3, 5, 8])
def test_clustering_round_trip(bits: int) -> None:
    m = mlp()
    before = {n: p.detach().clone() for n, p in m.named_parameters()}
    books = cluster_weights(m, bits)
    assert set(books) == {"1.weight", "3.weight"}
    for name, p in m.named_parameters():
        if name not in books:
            assert torch.equal(p, before[name])  # biases untouched
            continue
        b = books[name]
        assert torch.equal(p.detach(), b.weight())  # the layer is exactly its codebook
        assert torch.equal(p.detach() == 0, before[name] == 0)  # pruned weights stay zero, no new zeros
        assert len(b.centroids) <= 2**bits
        assert len(torch.unique(p[p != 0])) <= 2**bits
        # Each weight went to its nearest centroid (k-means' fixed point) and the error is below the spacing.
        w = before[name][b.mask]
        nearest = (w[:, None] - b.centroids[None, :]).abs().argmin(1)
        assert torch.equal(b.centroids[nearest], b.centroids[b.index[b.mask]])
        assert (w - b.centroids[b.index[b.mask]]).abs().max() <= (w.max() - w.min()) / 2**bits


def test_fewer_distinct_values_than_clusters_are_kept_exactly() -> None:
    values = np.array([-0.5, 0.25, 0.25, 1.0, -0.5], np.float32)
    centroids, labels = kmeans_1d(values, 16)
    assert np.array_equal(centroids[labels], values)


def test_linear_initialisation_keeps_the_extremes() -> None:
    # Density init would spend every centroid on the bulk; linear init (the paper's choice) keeps a centroid near
    # the rare large weight.
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(0, 0.01, 5000), [1.0]]).astype(np.float32)
    centroids, _ = kmeans_1d(values, 8)
    assert np.abs(centroids - 1.0).min() < 0.05


def test_bits_out_of_range_is_an_error() -> None:
    with pytest.raises(EdgebuildError, match="2..8"):
        cluster_weights(mlp(), 9)


def test_centroid_finetuning_keeps_sharing_and_lowers_the_loss() -> None:
    m = mlp()
    x = torch.rand(64, 1, 8, 8)
    y = torch.randint(0, 10, (64,))
    books = cluster_weights(m, 3)
    zeros = m[1].weight.detach() == 0

    def loss() -> float:
        with torch.no_grad():
            return float(F.cross_entropy(m(x), y))

    before = loss()
    finetune_centroids(
        m, books, lambda: [((x,), y)], lambda o, _i, t: F.cross_entropy(o, t), epochs=30, lr=1e-2
    )
    assert loss() < before
    for name, b in books.items():
        p = dict(m.named_parameters())[name].detach()
        assert torch.equal(p, b.weight()) and len(torch.unique(p[p != 0])) <= 8
    assert torch.equal(m[1].weight.detach() == 0, zeros)


def test_int8_weights_keep_the_sharing_and_huffman_shrinks_them() -> None:
    m = mlp()
    cluster_weights(m, 4)
    calib = [torch.rand(1, 1, 8, 8) for _ in range(8)]
    gm = torch.export.export(m, (calib[0],)).module()
    program = lower_graph(quantize_model(gm, [(c,) for c in calib], shared_weight_scale=True), "mlp")
    plan_arena(program)
    for t in program.tensors:
        if t.data is not None and t.dtype.name == "INT8":
            assert len(np.unique(t.data)) <= 16 + 1  # 16 shared values (and the pruned zeros)
    plain, coded = artifact_bytes(program), artifact_bytes(program, huffman=True)
    # ~6 bits per kept weight of the pruned layer, 4 per weight of the other, int32 biases barely compress
    assert section_sizes(coded)[Section.CODED_CONSTANTS] < section_sizes(plain)[Section.CONSTANTS] / 2
    x = [np.random.default_rng(0).random((1, 1, 8, 8), dtype=np.float32)]
    a = np.asarray(_native.Model.from_bytes(plain).run(x)[0])
    b = np.asarray(_native.Model.from_bytes(coded).run(x)[0])
    assert a.tobytes() == b.tobytes()
