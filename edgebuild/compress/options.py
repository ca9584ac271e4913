"""The compression options of a build: one type for both stages of compress/pipeline.py (no torch import: the
CLI's cached-build path reads them)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import EdgebuildError

MIN_BITS, MAX_BITS = 2, 8  # k-means codebooks: 4 to 256 shared values per layer


@dataclass
class CompressOptions:
    # Module stage, on the loaded nn.Module before capture (module_stage.py, docs/sparsity.md)
    prune: str | None = None  # PruneSpec.parse text
    prune_scope: str = "layer"
    prune_sensitivity: bool = False
    prune_gradual: bool = False  # with --distill: prune during training (cubic schedule) instead of before it
    distill: bool = False
    train_data: Path | None = None
    epochs: int = 10
    lr: float = 1e-3
    batch_size: int = 32
    temperature: float = 4.0
    seed: int = 0
    # Graph stage, on the captured graph (graph_stage.py, budget.py, docs/compression.md)
    cluster_bits: int | None = None  # k-means weight sharing, 2^bits shared values per layer
    low_rank_energy: float | None = None  # SVD rank keeping this fraction of the squared singular values
    low_rank_size: float | None = None  # ... or this fraction of each layer's parameters
    finetune_epochs: int = 2  # distillation epochs over the calibration samples after low-rank / sharing
    huffman: bool = False  # entropy-code the constants (CODED_CONSTANTS), at serialization
    max_drop: float | None = None  # accuracy budget in points (budget.py): needs labelled --eval data

    @property
    def transforms_module(self) -> bool:
        """Pruning or distillation runs (such builds are not cached: the key does not cover the training data)."""
        return self.prune is not None or self.distill

    @property
    def transforms_graph(self) -> bool:
        return (
            self.cluster_bits is not None
            or self.low_rank_energy is not None
            or self.low_rank_size is not None
        )

    def as_dict(self) -> dict[str, Any]:
        """The options that shape the bundle, JSON-ready (report.json's compression.options)."""
        d = asdict(self)
        if self.train_data is not None:
            d["train_data"] = str(self.train_data)
        return d

    def key(self) -> str:
        """Canonical text of the options, for the build cache key."""
        return json.dumps(self.as_dict(), sort_keys=True)

    def check(self, activations: str = "static") -> None:
        """Refuse contradictory options. `activations` (the build's --activations): with "auto", --max-drop alone
        chooses static or dynamic activations per linear layer (budget.py), so it needs no compression option."""
        if self.cluster_bits is not None and not MIN_BITS <= self.cluster_bits <= MAX_BITS:
            raise EdgebuildError(
                f"--cluster-bits {self.cluster_bits}: weight sharing uses {MIN_BITS} to {MAX_BITS} bits per layer"
            )
        if self.low_rank_energy is not None and self.low_rank_size is not None:
            raise EdgebuildError("give --low-rank-energy or --low-rank-size, not both")
        for name, v in (("--low-rank-energy", self.low_rank_energy), ("--low-rank-size", self.low_rank_size)):
            if v is not None and not 0.0 < v <= 1.0:
                raise EdgebuildError(f"{name} {v}: must be a fraction in (0, 1]")
        if self.max_drop is not None and not self.transforms_graph and activations != "auto":
            raise EdgebuildError(
                f"--max-drop trades compression or dynamic activations for accuracy, and --activations "
                f"{activations} fixes them: give --cluster-bits or --low-rank-energy/-size, or --activations auto"
            )
        if self.finetune_epochs < 0:
            raise EdgebuildError(f"--finetune-epochs {self.finetune_epochs}: must be >= 0")
