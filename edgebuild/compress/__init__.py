"""compress: the optional float-model stages before quantization, and the entropy coding of the artifact.

- prune_stage.py (issue 5): pruning and distillation on the loaded module, before capture (`CompressOptions`,
  `compress_model`, re-exported here: `from edgebuild.compress import CompressOptions`).
- options.py, pipeline.py, lowrank.py, cluster.py, distill.py, budget.py (issue 7): low-rank factorization, k-means
  weight sharing and distillation on the captured graph, and the --max-drop accuracy budget
  (`GraphCompressOptions`).
- huffman.py: the CODED_CONSTANTS coding of the artifact's constants.

docs/compression.md and docs/sparsity.md describe the options. The re-exports are lazy, so importing
`edgebuild.compress.options` (the CLI's cached-build path) does not import torch.
"""

from __future__ import annotations

from typing import Any

_LAZY = {"CompressOptions": "prune_stage", "compress_model": "prune_stage", "top1": "prune_stage"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
