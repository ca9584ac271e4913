"""The graph stage of compress/pipeline.py, on the captured float graph (before quantization): low-rank
factorization, then weight sharing, then distillation from the original model. Huffman coding of the result happens
at serialization. Each method is optional and they compose; what each one bought is recorded for the report."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import torch
from torch.fx import GraphModule

from .._torchao import pt2e  # noqa: F401  (torchao's quiet import, before fold_batchnorm's)
from .cluster import cluster_weights, shared_weights
from .distill import distill_graph
from .lowrank import factorize_graph
from .options import CompressOptions


def _used(gm: torch.nn.Module) -> set[str] | None:
    """Names of the tensors a captured graph reads (get_attr), or None for a plain module (all of them)."""
    if not isinstance(gm, GraphModule):
        return None
    return {str(n.target) for n in gm.graph.nodes if n.op == "get_attr"}


def weight_stats(gm: torch.nn.Module) -> dict[str, int]:
    """Float tensors the model uses (parameters and buffers such as BatchNorm statistics) and its conv / linear
    weights, with how many of those are non-zero (what pruning, low-rank and BN folding change)."""
    used = _used(gm)
    tensors = {
        n: t for n, t in gm.state_dict().items() if t.is_floating_point() and (used is None or n in used)
    }
    weights = {n: p for n, p in shared_weights(gm) if used is None or n in used}
    numel = sum(t.numel() for t in tensors.values())
    nonzero = sum(int((p != 0).sum()) for p in weights.values())
    return {
        "float_values": int(numel),
        "float32_bytes": int(4 * numel),
        "weights": int(sum(p.numel() for p in weights.values())),
        "nonzero_weights": int(nonzero),
    }


def fold_batchnorm(gm: GraphModule) -> None:
    """Fold conv -> batch_norm pairs of a captured graph into the conv's weight and bias, in place (the fold PT2E's
    prepare does, done early)."""
    from torchao.quantization.pt2e.utils import _fuse_conv_bn_  # torchao is imported (quietly) by _torchao

    _fuse_conv_bn_(gm)


def compressible_layers(gm: torch.nn.Module) -> list[str]:
    """The weights low-rank and weight sharing act on (names as in the captured graph), in graph order."""
    used = _used(gm)
    return [n for n, _ in shared_weights(gm) if used is None or n in used]


def compress_graph(
    gm: GraphModule,
    samples: list[tuple[torch.Tensor, ...]],
    opts: CompressOptions,
    keep: frozenset[str] = frozenset(),
) -> tuple[GraphModule, dict[str, Any]]:
    """The compressed float graph (a new one; `gm` is the teacher and is not modified) and the report section.
    Weights named in `keep` are left uncompressed (the accuracy budget's plain-int8 rung)."""
    report: dict[str, Any] = {"original": weight_stats(gm)}
    if not opts.transforms_graph:
        return gm, report
    import copy
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        student = copy.deepcopy(gm)
    if opts.low_rank_energy is not None or opts.low_rank_size is not None:
        targets = set(compressible_layers(student)) - keep
        student, done = factorize_graph(
            student, samples[0], opts.low_rank_energy, opts.low_rank_size, targets
        )
        report["low_rank"] = [asdict(f) for f in done]
        report["after_low_rank"] = weight_stats(student)
    books = {}
    if opts.cluster_bits is not None:
        # Fold BatchNorm into the convs first (quantization would fold it later, scaling each output channel and so
        # giving each channel its own copy of the shared values).
        fold_batchnorm(student)
        bits = {n: 0 if n in keep else opts.cluster_bits for n in compressible_layers(student)}
        books = cluster_weights(student, bits)
        report["weight_sharing"] = {
            name: {
                "bits": opts.cluster_bits,
                "shared_values": len(b.centroids),
                "weights": int(b.mask.numel()),
            }
            for name, b in books.items()
        }
    distill_graph(student, gm, samples, opts.finetune_epochs, books)
    report["finetune"] = {
        "epochs": opts.finetune_epochs,
        "samples": len(samples),
        "method": "distillation (MSE)",
    }
    report["compressed"] = weight_stats(student)
    report["shared_layers"] = sorted(books)
    if keep:
        report["uncompressed_layers"] = sorted(keep)
    return student, report
