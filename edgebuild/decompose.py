"""Capture's decomposition: every op edgebuild has no lowering for is decomposed into PyTorch's core ATen opset.

torch.export leaves a model's graph in ATen ops as the model called them (`aten.linear`, `aten.group_norm`,
`aten.pixel_shuffle`, ...). edgebuild lowers some of those directly (a fused linear is one FULLY_CONNECTED; PT2E's
patterns match `aten.conv2d` and `aten.linear`), and for everything else it relies on the core ATen opset
(docs/ops.md): `run_decompositions` with torch's default table minus the ops edgebuild lowers or annotates itself.
So a model that calls an op nobody here wrote a lowering for still builds when torch decomposes it into ops we do.
"""

from __future__ import annotations

import warnings

import torch

from .errors import EdgebuildError

# Ops kept whole although edgebuild has no lowering of that name (none today: PT2E's conv + batch_norm folding
# matches the decomposed `_native_batch_norm_legit_no_training` as well as `batch_norm`).
KEPT_FOR_PT2E: frozenset[str] = frozenset()


def overload_name(op: torch._ops.OpOverload) -> str:
    """The key "aten.<name>.<overload>" that the lowering registries use (lower/registry.py)."""
    return f"aten.{op._schema.name.split('::')[-1]}.{op._overloadname}"


def kept_ops() -> frozenset[str]:
    """The ATen ops capture keeps whole: those with an edgebuild lowering or PT2E annotation, and KEPT_FOR_PT2E."""
    from .lower import ops  # noqa: F401  (registers the lowerings)
    from .lower.registry import ANNOTATIONS, FLOAT_LOWERINGS, LOWERINGS

    return frozenset(LOWERINGS) | frozenset(FLOAT_LOWERINGS) | frozenset(ANNOTATIONS) | KEPT_FOR_PT2E


def to_core_aten(ep: torch.export.ExportedProgram) -> torch.export.ExportedProgram:
    """`ep` with every op edgebuild does not lower or annotate decomposed into core ATen (torch's default table)."""
    keep = kept_ops()
    table = torch.export.default_decompositions()
    for op in list(table.keys()):
        if isinstance(op, torch._ops.OpOverload) and op.namespace == "aten" and overload_name(op) in keep:
            del table[op]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ep.run_decompositions(table)
    except Exception as e:  # torch's own failure: say which step, in one line
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise EdgebuildError(f"decomposing the model into core ATen ops failed: {first}") from e
