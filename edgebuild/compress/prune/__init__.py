"""prune: the compress stage's pruning (DESIGN.md stage 3), on the float model before quantization.

    from edgebuild.compress.prune import PruneSpec, prune
    report = prune(module, PruneSpec.parse("block:0.9"))         # magnitude, 16x4 blocks, per layer
    report = prune(module, PruneSpec.parse("unstructured:0.8", scope="global"))
    report = prune(module, PruneSpec.parse("2:4"))                # N:M along K
    model = prune_channels(module, 0.3, example_inputs)           # structured: channels removed (Torch-Pruning)

Weights are pruned in the order the runtime stores them: a conv weight [OC, C, KH, KW] is viewed as the matrix
[OC, KH·KW·C] of docs/artifact.md (k = (kh·KW + kw)·C + c), so a 1×4 block along K is four input channels of one tap,
exactly the slice the sparse kernels skip (edgebuild/sparse.py). Pruned weights are exact zeros in the module; the
masks are returned so fine-tuning can keep them zero (compress/distill.py).
"""

from __future__ import annotations

from .channels import prune_channels
from .magnitude import LayerSparsity, PruneSpec, Target, find_targets, prune, sparsity_of
from .sensitivity import sensitivity_scan

__all__ = [
    "LayerSparsity",
    "PruneSpec",
    "Target",
    "find_targets",
    "prune",
    "prune_channels",
    "sensitivity_scan",
    "sparsity_of",
]
