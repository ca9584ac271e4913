"""Weight sharing (Deep Compression stage 2, Han et al. 2015 §3): per-layer k-means of the weights.

Each conv / linear weight tensor is clustered into 2^bits shared values. The non-zero weights are clustered (a pruned
weight stays exactly zero, so pruning and sharing compose); centroids start evenly spaced between the layer's
minimum and maximum weight (the paper's linear initialisation, which keeps the rare large weights represented), then
scikit-learn's k-means refines them. Fine-tuning trains the centroids, not the weights: a centroid's gradient is the
sum of the gradients of the weights assigned to it (the paper's Fig. 3), so the weights keep taking only shared
values.

The kernel path: the shared values become int8 weights with one scale per layer (quantize.py's shared-scale
observer), so a layer's int8 weights take at most 2^bits distinct values, which Huffman coding then stores in about
`bits` bits or less each (CODED_CONSTANTS); they are decoded to int8 at load and run by the ordinary int8 kernels.
A look-up-table kernel (gathering centroids per weight) was not built: on the int8 path it would replace one vector
load per 64 weights by a gather per weight, and the decoded int8 weights cost the same memory at run time as any
int8 model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .. import progress
from ..errors import EdgebuildError
from .options import MAX_BITS, MIN_BITS


@dataclass
class Codebook:
    """One layer's sharing: weight = centroids[index] where mask, else 0."""

    name: str
    centroids: torch.Tensor  # [k] float32
    index: torch.Tensor  # int64, the weight's shape
    mask: torch.Tensor  # bool, the weight's shape: weights that were non-zero

    def weight(self) -> torch.Tensor:
        return torch.where(self.mask, self.centroids[self.index], torch.zeros(()))

    @property
    def bits(self) -> int:
        return max(1, int(np.ceil(np.log2(len(self.centroids)))))


def shared_weights(module: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """The conv / linear weights of a module or captured graph: parameters of rank >= 2."""
    return [(n, p) for n, p in module.named_parameters() if p.dim() >= 2]


def kmeans_1d(values: np.ndarray, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(centroids [k'], labels) of 1-D k-means with linear initialisation; k' <= k when there are fewer distinct
    values than clusters."""
    from sklearn.cluster import KMeans

    distinct = np.unique(values)
    if len(distinct) <= k:
        return distinct.astype(np.float32), np.searchsorted(distinct, values)
    init = np.linspace(values.min(), values.max(), k, dtype=np.float64).reshape(-1, 1)
    km = KMeans(n_clusters=k, init=init, n_init=1, max_iter=100, random_state=seed)
    labels = km.fit_predict(values.astype(np.float64).reshape(-1, 1))
    return km.cluster_centers_.ravel().astype(np.float32), labels


def cluster_weights(module: nn.Module, bits: int | dict[str, int]) -> dict[str, Codebook]:
    """Cluster every conv / linear weight in place (bits per layer, or one width for all); returns the codebooks.
    A layer named with 0 bits in a dict is left alone."""
    books: dict[str, Codebook] = {}
    layers = shared_weights(module)
    with progress.task("weight sharing (k-means)", total=len(layers)) as advance:
        for name, p in layers:
            b = bits.get(name, 0) if isinstance(bits, dict) else bits
            book = _cluster_one(name, p, b) if b else None
            if book is not None:
                books[name] = book
            advance()
    return books


def _cluster_one(name: str, p: nn.Parameter, b: int) -> Codebook | None:
    """One layer's weights clustered in place to 2^b shared values; None when all of them are zero."""
    if not MIN_BITS <= b <= MAX_BITS:
        raise EdgebuildError(f"weight sharing: {b} bits for {name}; use {MIN_BITS}..{MAX_BITS}")
    w = p.detach().cpu().numpy()
    mask = w != 0
    if not mask.any():
        return None
    centroids, labels = kmeans_1d(w[mask], 2**b)
    index = np.zeros(w.shape, dtype=np.int64)
    index[mask] = labels
    book = Codebook(name, torch.from_numpy(centroids), torch.from_numpy(index), torch.from_numpy(mask))
    with torch.no_grad():
        p.copy_(book.weight())
    return book


def finetune_centroids(
    module: nn.Module,
    books: dict[str, Codebook],
    batches: Callable[[], Iterable[tuple[tuple[torch.Tensor, ...], torch.Tensor | None]]],
    loss_fn: Callable[[torch.Tensor, tuple[torch.Tensor, ...], torch.Tensor | None], torch.Tensor],
    epochs: int = 1,
    lr: float = 1e-4,
) -> None:
    """Train the shared values: each step, the gradient of every centroid is the sum of its weights' gradients.
    Other parameters (biases, unclustered layers) train normally. `batches()` yields (inputs, target or None);
    `loss_fn(output, inputs, target)` gives the loss (cross-entropy with labels, or distillation)."""
    params = dict(module.named_parameters())
    centroids = {n: nn.Parameter(b.centroids.clone()) for n, b in books.items()}
    others = [p for n, p in params.items() if n not in books and p.requires_grad]
    # Pruned weights of unclustered layers stay pruned.
    zeros = {n: p.detach() == 0 for n, p in params.items() if n not in books and p.dim() >= 2}
    if not centroids and not others:
        return  # nothing trainable (a graph whose weights are all buffers or constants)
    opt = torch.optim.Adam([*centroids.values(), *others], lr=lr)
    for _ in range(epochs):
        for inputs, target in batches():
            for n, b in books.items():
                with torch.no_grad():
                    params[n].copy_(torch.where(b.mask, centroids[n][b.index], torch.zeros(())))
            opt.zero_grad()
            out = module(*inputs)
            loss = loss_fn(out if isinstance(out, torch.Tensor) else out[0], inputs, target)
            loss.backward()
            for n, b in books.items():
                g = params[n].grad
                assert g is not None
                grad = torch.zeros_like(centroids[n])
                grad.index_add_(0, b.index[b.mask], g[b.mask])  # the paper's grouped gradient
                centroids[n].grad = grad
                params[n].grad = None
            opt.step()
            with torch.no_grad():
                for n, z in zeros.items():
                    params[n].masked_fill_(z, 0.0)
    for n, b in books.items():
        b.centroids = centroids[n].detach().clone()
        with torch.no_grad():
            params[n].copy_(b.weight())
