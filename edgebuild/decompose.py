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


def _cdist(x1: torch.Tensor, x2: torch.Tensor, p: float, compute_mode: int | None = None) -> torch.Tensor:
    """torch.cdist as elementwise ops and a reduction (torch's own kernel has no core decomposition)."""
    d = x1.unsqueeze(-2) - x2.unsqueeze(-3)  # [..., P, R, M]
    if p == 0:
        return (d != 0).sum(-1).to(x1.dtype)
    if p == float("inf"):
        return d.abs().amax(-1)
    if p == 1:
        return d.abs().sum(-1)
    if p == 2:
        return (d * d).sum(-1).sqrt()
    return d.abs().pow(p).sum(-1).pow(1.0 / p)


def _pdist(x: torch.Tensor, p: float = 2.0) -> torch.Tensor:
    """torch.pdist: the distances of rows i < j in row-major order, row i against the rows after it (static N)."""
    rows = [_cdist(x[i : i + 1], x[i + 1 :], p).reshape(-1) for i in range(x.shape[0] - 1)]
    return torch.cat(rows) if rows else x.new_zeros((0,))


def _vector_norm(
    x: torch.Tensor,
    ord: float = 2.0,
    dim: list[int] | int | None = None,
    keepdim: bool = False,
    *,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """torch.linalg.vector_norm (ConvNeXt-V2's global response norm) as elementwise ops and a reduction."""
    dims = list(range(x.dim())) if dim is None else ([dim] if isinstance(dim, int) else list(dim))
    if dtype is not None:
        x = x.to(dtype)
    if ord == float("inf"):
        return x.abs().amax(dims, keepdim)
    if ord == float("-inf"):
        return x.abs().amin(dims, keepdim)
    if ord == 0:
        return (x != 0).sum(dims, keepdim).to(x.dtype)
    if ord == 1:
        return x.abs().sum(dims, keepdim)
    if ord == 2:
        return (x * x).sum(dims, keepdim).sqrt()
    return x.abs().pow(ord).sum(dims, keepdim).pow(1.0 / ord)


# edgebuild's own decompositions of core ops torch leaves whole (docs/ops.md "decomposed").
DECOMPOSITIONS = {
    torch.ops.aten._cdist_forward.default: _cdist,
    torch.ops.aten._pdist_forward.default: _pdist,
    torch.ops.aten.linalg_vector_norm.default: _vector_norm,
}


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
    table.update(DECOMPOSITIONS)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ep.run_decompositions(table)
    except Exception as e:  # torch's own failure: say which step, in one line
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise EdgebuildError(f"decomposing the model into core ATen ops failed: {first}") from e
