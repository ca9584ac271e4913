"""Structured channel pruning with Torch-Pruning: output channels are physically removed, and its dependency graph
keeps the model valid across residual adds, concatenations and depthwise groups (a removed channel is removed from
every layer coupled to it)."""

from __future__ import annotations

import torch
from torch import nn

from ...errors import EdgebuildError


def prune_channels(
    model: nn.Module,
    ratio: float,
    example_inputs: tuple[torch.Tensor, ...],
    *,
    round_to: int = 4,
    ignored: list[nn.Module] | None = None,
) -> nn.Module:
    """Removes the fraction `ratio` of channels of every prunable group by L2 magnitude (Torch-Pruning's
    MagnitudePruner), in place; returns the model. The classifier (the last linear layer) keeps its outputs.
    `round_to` keeps channel counts multiples of 4, which the sparse and dense kernels tile best."""
    try:
        import torch_pruning as tp
    except ImportError as e:  # pragma: no cover - a declared dependency
        raise EdgebuildError(f"channel pruning needs torch-pruning ({e}); reinstall edgebuild") from e
    if not 0.0 <= ratio < 1.0:
        raise EdgebuildError(f"channel pruning ratio {ratio} must be in [0, 1)")
    if isinstance(model, torch.fx.GraphModule):
        raise EdgebuildError(
            "--prune channel: needs the model as Python code (a state_dict with --model-class, or a pickled module "
            "with --trust-model): channels cannot be removed from a torch.export or TorchScript graph"
        )
    ignored = list(ignored or [])
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if linears and linears[-1] not in ignored:
        ignored.append(linears[-1])
    model.eval()
    pruner = tp.pruner.MagnitudePruner(
        model,
        example_inputs,
        importance=tp.importance.MagnitudeImportance(p=2),
        pruning_ratio=ratio,
        ignored_layers=ignored,
        round_to=round_to,
    )
    pruner.step()
    return model
