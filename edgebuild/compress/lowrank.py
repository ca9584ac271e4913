"""Low-rank factorization of linear and conv layers (truncated SVD) on the captured graph.

A linear layer y = W x + b with W [out, in] becomes y = B (A x) + b with A = V_r^T [r, in] and B = U_r S_r [out, r]
(the best rank-r approximation, Eckart–Young). A conv with weight [OC, C, KH, KW] (groups 1) is the same matrix
[OC, C·KH·KW]: it becomes a KH×KW conv with r output channels (A, same stride / padding / dilation, no bias) then a
1×1 conv to OC channels (B, with the bias). Both halves are ordinary linear / conv ops, so they quantize and run on
the existing int8 kernels.

The rank r keeps a fraction `energy` of the squared singular values (Σ_{i<r} s_i² ≥ energy · Σ s_i²), or meets a
size target (`size` = fraction of the layer's parameters to keep). A layer is factorized only when the two halves
hold fewer parameters than the original. Fine-tuning / distillation from the original model is
edgebuild/compress/distill.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.fx import GraphModule, Node

from ..errors import EdgebuildError

A = torch.ops.aten


@dataclass
class Factorized:
    layer: str  # the weight's parameter name
    shape: tuple[int, ...]
    rank: int
    full_rank: int
    params_before: int
    params_after: int
    energy: float  # fraction of squared singular values kept


def choose_rank(s: torch.Tensor, rows: int, cols: int, energy: float | None, size: float | None) -> int:
    """Smallest rank meeting `energy`, or the largest whose factors hold at most `size` × rows × cols parameters."""
    if energy is not None:
        if not 0.0 < energy <= 1.0:
            raise EdgebuildError(f"low-rank energy {energy} must be in (0, 1]")
        cum = torch.cumsum(s.double() ** 2, 0)
        return int(torch.searchsorted(cum, energy * cum[-1] * (1 - 1e-12)).item()) + 1
    if size is None or not 0.0 < size <= 1.0:
        raise EdgebuildError("low-rank needs an energy fraction in (0, 1] or a size fraction in (0, 1]")
    return max(1, int(size * rows * cols / (rows + cols)))


def factorize_matrix(w: torch.Tensor, rank: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(A [r, cols], B [rows, r]) with B @ A the best rank-r approximation of w [rows, cols]."""
    u, s, vh = torch.linalg.svd(w.double(), full_matrices=False)
    return vh[:rank].float().contiguous(), (u[:, :rank] * s[:rank]).float().contiguous()


def _param(gm: GraphModule, node: object) -> tuple[str, torch.Tensor] | None:
    if isinstance(node, Node) and node.op == "get_attr":
        t = gm
        for part in str(node.target).split("."):
            t = getattr(t, part)
        if isinstance(t, torch.Tensor):
            return str(node.target), t
    return None


def factorize_graph(
    gm: GraphModule,
    example: tuple[torch.Tensor, ...],
    energy: float | None = None,
    size: float | None = None,
    layers: set[str] | None = None,
) -> tuple[GraphModule, list[Factorized]]:
    """A new graph where every linear / conv2d (groups 1) weight, or those named in `layers`, is factorized when that
    saves parameters. Re-exported from the rewritten graph, so every node carries shapes again."""
    done: list[Factorized] = []
    count = 0
    for node in list(gm.graph.nodes):
        if node.op != "call_function" or node.target not in (A.linear.default, A.conv2d.default):
            continue
        found = _param(gm, node.args[1])
        if found is None:
            continue
        name, w = found
        if layers is not None and name not in layers:
            continue
        conv = node.target == A.conv2d.default
        groups = node.args[6] if conv and len(node.args) > 6 else 1
        if groups != 1:
            continue
        rows, cols = w.shape[0], int(w[0].numel())
        mat = w.detach().reshape(rows, cols)
        s = torch.linalg.svdvals(mat.double())
        r = min(choose_rank(s, rows, cols, energy, size), len(s))
        if r * (rows + cols) >= rows * cols:
            continue
        a, b = factorize_matrix(mat, r)
        kept = float((s[:r] ** 2).sum() / (s**2).sum()) if s.abs().sum() > 0 else 1.0
        an, bn = f"lowrank{count}_a", f"lowrank{count}_b"
        count += 1
        if conv:
            a = a.reshape(r, *w.shape[1:])
            b = b.reshape(rows, r, 1, 1)
        gm.register_parameter(an, nn.Parameter(a))
        gm.register_parameter(bn, nn.Parameter(b))
        x = node.args[0]
        bias = node.args[2] if len(node.args) > 2 else None
        with gm.graph.inserting_before(node):
            a_node = gm.graph.get_attr(an)
            b_node = gm.graph.get_attr(bn)
            if conv:
                stride, padding, dilation = (list(node.args[i]) if len(node.args) > i else d
                                             for i, d in ((3, [1, 1]), (4, [0, 0]), (5, [1, 1])))  # fmt: skip
                h = gm.graph.call_function(A.conv2d.default, (x, a_node, None, stride, padding, dilation, 1))
                node.args = (h, b_node, bias, [1, 1], [0, 0], [1, 1], 1)
            else:
                h = gm.graph.call_function(A.linear.default, (x, a_node))
                node.args = (h, b_node, bias)
        done.append(Factorized(name, tuple(w.shape), r, len(s), rows * cols, r * (rows + cols), kept))
    if not done:
        return gm, done
    gm.graph.eliminate_dead_code()
    gm.delete_all_unused_submodules()
    gm.recompile()
    for f in done:  # the original weights are unused now: drop them so their bytes are not counted
        _drop(gm, f.layer)
    try:
        return torch.export.export(gm, example, strict=False).module(), done
    except Exception as e:  # pragma: no cover - a graph that exported once re-exports
        raise EdgebuildError(f"low-rank: re-capturing the factorized graph failed: {e}") from e


def _drop(gm: GraphModule, name: str) -> None:
    if any(n.op == "get_attr" and n.target == name for n in gm.graph.nodes):
        return
    owner: nn.Module | None = gm
    *path, leaf = name.split(".")
    for part in path:
        owner = getattr(owner, part, None)
        if owner is None:  # the whole submodule went with delete_all_unused_submodules
            return
    if owner is not None and leaf in owner._parameters:
        del owner._parameters[leaf]
