"""Fine-tuning a compressed float model from the original (the teacher) on unlabelled samples (knowledge
distillation, Hinton et al. 2015): the student is trained so its outputs match the teacher's. The build has
calibration samples, not labels, so it distils on them (mean squared error of the outputs, i.e. the logits).

A captured graph has static batch-1 shapes, so each step is one sample."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn

from .cluster import Codebook, finetune_centroids


def distill(
    student: nn.Module,
    teacher: nn.Module,
    samples: list[tuple[torch.Tensor, ...]],
    epochs: int,
    books: dict[str, Codebook] | None = None,
    lr: float = 1e-4,
    seed: int = 0,
) -> None:
    """Train `student` to reproduce `teacher`'s outputs on `samples` (in place). With codebooks, the shared values
    are what trains (cluster.finetune_centroids); pruned (zero) weights stay zero either way."""
    if epochs <= 0 or not samples:
        return
    with torch.no_grad():
        targets = [_first(teacher(*s)) for s in samples]
    gen = torch.Generator().manual_seed(seed)

    def batches() -> Iterator[tuple[tuple[torch.Tensor, ...], torch.Tensor | None]]:
        for i in torch.randperm(len(samples), generator=gen).tolist():
            yield samples[i], targets[i]

    def loss(
        out: torch.Tensor, _inputs: tuple[torch.Tensor, ...], target: torch.Tensor | None
    ) -> torch.Tensor:
        assert target is not None
        return torch.nn.functional.mse_loss(out, target)

    finetune_centroids(student, books or {}, batches, loss, epochs=epochs, lr=lr)


def _first(out: object) -> torch.Tensor:
    return out if isinstance(out, torch.Tensor) else out[0]  # type: ignore[index]
