"""compress: the optional float-model stage before quantization (DESIGN.md stage 3), one pipeline with one options
type and one report key (report.json's `compression`).

- options.py: `CompressOptions`, every compression option of a build (no torch import).
- pipeline.py: `compress`, the one entry: the module stage, capture, the graph stage, the --max-drop search.
- module_stage.py: pruning (prune/) and recovery by distillation, on the loaded nn.Module.
- graph_stage.py: low-rank factorization (lowrank.py), k-means weight sharing (cluster.py) and fine-tuning by
  distillation, on the captured graph.
- distill.py: the distillation loops of both stages.
- budget.py: the --max-drop accuracy budget.
- huffman.py: the CODED_CONSTANTS coding of the artifact's constants (serialize.py calls it).

docs/compression.md and docs/sparsity.md describe the options. The re-exports are lazy, so importing
`edgebuild.compress.options` (the CLI's cached-build path) does not import torch.
"""

from __future__ import annotations

from typing import Any

_LAZY = {"CompressOptions": "options", "Compressed": "pipeline", "compress": "pipeline"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
