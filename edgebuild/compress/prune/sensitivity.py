"""Layer sensitivity scan: how much each layer alone, pruned to each candidate sparsity, changes the model's outputs
on calibration data; then per-layer sparsities that reach a parameter budget at the least total sensitivity."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from ... import progress
from .magnitude import PruneSpec, _fits, find_targets, prune

LEVELS = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95)


@dataclass
class Sensitivity:
    layers: dict[
        str, dict[float, float]
    ]  # layer -> sparsity -> mean KL(original || pruned) of the softmax outputs
    sizes: dict[str, int]
    chosen: dict[str, float]
    achieved: float  # parameter-weighted sparsity of the chosen levels


def _kl(ref: list[torch.Tensor], got: list[torch.Tensor]) -> float:
    total = 0.0
    for r, g in zip(ref, got):
        p = torch.log_softmax(r.flatten(1).double(), dim=1)
        q = torch.log_softmax(g.flatten(1).double(), dim=1)
        total += float(torch.sum(p.exp() * (p - q), dim=1).mean())
    return total / max(len(ref), 1)


def sensitivity_scan(
    model: nn.Module, samples: list[tuple[torch.Tensor, ...]], spec: PruneSpec, budget: float,
    levels: tuple[float, ...] = LEVELS,
) -> Sensitivity:  # fmt: skip
    """Scans every prunable layer at `levels` (method and block of `spec`), then greedily raises the sparsity of the
    layer with the least sensitivity per pruned parameter until the prunable parameters reach `budget` sparsity."""
    with torch.no_grad():
        ref = [model(*s) for s in samples]
    targets = find_targets(model)
    if spec.keep_classifier and targets and targets[-1].kind == "linear":
        targets = targets[:-1]
    targets = [t for t in targets if not _fits(t, spec)]  # layers the method cannot tile stay dense
    names = [t.name for t in targets]
    sizes = {t.name: t.param.numel() for t in targets}
    layers: dict[str, dict[float, float]] = {}
    with progress.task("pruning sensitivity scan", total=len(names) * (len(levels) - 1)) as advance:
        for name in names:
            layers[name] = {0.0: 0.0}
            for level in levels[1:]:
                trial = copy.deepcopy(model)
                per_layer = {n: 0.0 for n in names} | {name: level}
                one = PruneSpec(
                    spec.method, 0.0, spec.block, spec.nm, "layer", per_layer, spec.keep_classifier
                )
                prune(trial, one)
                with torch.no_grad():
                    layers[name][level] = _kl(ref, [trial(*s) for s in samples])
                advance()
    chosen = {n: 0.0 for n in names}
    total = sum(sizes.values())

    def achieved() -> float:
        return sum(chosen[n] * sizes[n] for n in names) / total

    while achieved() < budget:
        best, best_cost = None, float("inf")
        for n in names:
            i = levels.index(chosen[n])
            if i + 1 >= len(levels):
                continue
            nxt = levels[i + 1]
            cost = (layers[n][nxt] - layers[n][chosen[n]]) / ((nxt - chosen[n]) * sizes[n])
            if cost < best_cost:
                best, best_cost = n, cost
        if best is None:
            break
        chosen[best] = levels[levels.index(chosen[best]) + 1]
    return Sensitivity(layers, sizes, chosen, achieved())
