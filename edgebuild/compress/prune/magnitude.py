"""Magnitude pruning: unstructured, block (BR × BC along K) and N:M, per layer or global."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import torch
from torch import nn

from ...errors import EdgebuildError

A = torch.ops.aten
METHODS = ("unstructured", "block", "nm", "channel")


@dataclass
class PruneSpec:
    """What to prune. `sparsity` is the fraction of weights (unstructured, nm) or blocks (block) set to zero in each
    pruned layer, or across all of them with scope "global"; `per_layer` overrides it by layer name (the
    sensitivity scan fills it)."""

    method: str = "block"
    sparsity: float = 0.9
    block: tuple[int, int] = (16, 4)
    nm: tuple[int, int] = (2, 4)
    scope: str = "layer"
    per_layer: dict[str, float] = field(default_factory=dict)
    keep_classifier: bool = (
        True  # the last linear layer (the logits) stays dense, as Torch-Pruning's default does
    )

    @classmethod
    def parse(cls, text: str, *, scope: str = "layer", block: tuple[int, int] | None = None) -> PruneSpec:
        """`unstructured:0.8`, `block:0.9`, `block16x4:0.9`, `2:4` (N:M), `channel:0.3`."""
        t = text.strip().lower()
        if scope not in ("layer", "global"):
            raise EdgebuildError(f"--prune-scope {scope!r}: expected layer or global")
        m = re.fullmatch(r"(\d+):(\d+)", t)
        if m:
            n, mm = int(m.group(1)), int(m.group(2))
            if not 0 < n < mm:
                raise EdgebuildError(f"--prune {text}: N:M needs 0 < N < M")
            return cls("nm", 1 - n / mm, nm=(n, mm), scope=scope)
        m = re.fullmatch(r"(unstructured|block|channel)(?:(\d+)x(\d+))?:([0-9.]+)", t)
        if not m:
            raise EdgebuildError(
                f"--prune {text!r}: expected unstructured:S, block:S, blockRxC:S, channel:S (0 <= S < 1) or N:M"
            )
        method, s = m.group(1), float(m.group(4))
        if not 0.0 <= s < 1.0:
            raise EdgebuildError(f"--prune {text}: sparsity {s} must be in [0, 1)")
        blk = (int(m.group(2)), int(m.group(3))) if m.group(2) else (block or (16, 4))
        if method == "block" and min(blk) < 1:
            raise EdgebuildError(f"--prune {text}: block sides must be >= 1")
        if m.group(2) and method != "block":
            raise EdgebuildError(f"--prune {text}: only block pruning takes a block shape")
        return cls(method, s, block=blk if method == "block" else (1, 1), scope=scope)


@dataclass
class Target:
    """One prunable weight: a conv2d with one group or a linear."""

    name: str
    param: torch.Tensor  # an nn.Parameter
    kind: str  # conv or linear

    def matrix(self) -> torch.Tensor:
        """The weight as the runtime's [OC, K] matrix (a view permuted to k = (kh·KW + kw)·C + c)."""
        w = self.param.detach()
        return w.permute(0, 2, 3, 1).reshape(w.shape[0], -1) if w.dim() == 4 else w

    def set_mask(self, mask2d: torch.Tensor) -> torch.Tensor:
        """Zeroes the weights where mask2d (in matrix order) is False; returns the mask in the parameter's shape."""
        w = self.param
        if w.dim() == 4:
            oc, c, kh, kw = w.shape
            mask = mask2d.reshape(oc, kh, kw, c).permute(0, 3, 1, 2).contiguous()
        else:
            mask = mask2d
        with torch.no_grad():
            w.mul_(mask.to(w.dtype))
        return mask


@dataclass
class LayerSparsity:
    name: str
    shape: list[int]
    sparsity: float  # fraction of zero weights
    block_sparsity: float | None  # fraction of all-zero blocks, for block pruning
    skipped: str = ""


def find_targets(model: nn.Module) -> list[Target]:
    """conv2d (groups = 1) and linear weights, from an eager module or a torch.export graph module."""
    params = dict(model.named_parameters())
    out: list[Target] = []
    graph = getattr(model, "graph", None)
    if isinstance(model, torch.fx.GraphModule) and graph is not None:
        for node in graph.nodes:
            if node.op != "call_function" or node.target not in (A.conv2d.default, A.linear.default):
                continue
            w = node.args[1]
            if not isinstance(w, torch.fx.Node) or w.op != "get_attr" or w.target not in params:
                continue
            if node.target == A.conv2d.default:
                groups = node.args[6] if len(node.args) > 6 else node.kwargs.get("groups", 1)
                if groups != 1:
                    continue
            out.append(
                Target(
                    str(w.target), params[str(w.target)], "conv" if params[w.target].dim() == 4 else "linear"
                )
            )
        return out
    for name, mod in model.named_modules():
        if isinstance(mod, nn.Conv2d) and mod.groups == 1:
            out.append(Target(f"{name}.weight", mod.weight, "conv"))
        elif isinstance(mod, nn.Linear):
            out.append(Target(f"{name}.weight", mod.weight, "linear"))
    return out


def _block_scores(m: torch.Tensor, block: tuple[int, int]) -> torch.Tensor:
    br, bc = block
    oc, k = m.shape
    return m.abs().reshape(oc // br, br, k // bc, bc).sum(dim=(1, 3)) / (br * bc)


def _expand(keep: torch.Tensor, block: tuple[int, int]) -> torch.Tensor:
    return keep.repeat_interleave(block[0], 0).repeat_interleave(block[1], 1)


def _threshold_keep(scores: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Keep all but the round(sparsity · n) smallest scores (ties broken by position: deterministic)."""
    flat = scores.flatten()
    n_zero = round(sparsity * flat.numel())
    keep = torch.ones(flat.numel(), dtype=torch.bool)
    if n_zero > 0:
        order = torch.argsort(flat, stable=True)
        keep[order[:n_zero]] = False
    return keep.reshape(scores.shape)


def _fits(t: Target, spec: PruneSpec) -> str:
    oc, k = t.matrix().shape
    if spec.method == "block" and (oc % spec.block[0] or k % spec.block[1]):
        return f"block {spec.block[0]}x{spec.block[1]} does not tile {oc}x{k}"
    if spec.method == "nm" and k % spec.nm[1]:
        return f"K = {k} is not a multiple of M = {spec.nm[1]}"
    return ""


def live_targets(model: nn.Module, spec: PruneSpec) -> tuple[list[Target], dict[str, str]]:
    """The layers `spec` prunes, and why each other prunable layer is left dense."""
    if spec.method == "channel":
        raise EdgebuildError(
            "channel pruning changes the model's shape: call prune_channels (or --prune channel:S)"
        )
    targets = find_targets(model)
    if not targets:
        raise EdgebuildError("nothing to prune: the model has no conv2d (one group) or linear weights")
    skipped = {t.name: _fits(t, spec) for t in targets}
    if spec.keep_classifier and targets[-1].kind == "linear":
        skipped[targets[-1].name] = "the classifier (last linear layer) is kept dense"
    return [t for t in targets if not skipped[t.name]], skipped


def apply_masks(live: list[Target], spec: PruneSpec, fraction: float = 1.0) -> dict[str, torch.Tensor]:
    """Zeroes the smallest weights (blocks) of each target in place, at `fraction` of the spec's sparsity (the
    gradual schedule of compress/distill.py; 1 = the target). Returns the masks in the parameters' shapes."""
    masks: dict[str, torch.Tensor] = {}
    if spec.method == "nm":
        n, m = spec.nm
        for t in live:
            mat = t.matrix()
            g = mat.abs().reshape(mat.shape[0], -1, m)
            order = torch.argsort(g, dim=2, descending=True, stable=True)
            keep = torch.zeros_like(g, dtype=torch.bool).scatter_(2, order[..., :n], True)
            masks[t.name] = t.set_mask(keep.reshape(mat.shape))
        return masks
    block = spec.block if spec.method == "block" else (1, 1)
    scores = {t.name: _block_scores(t.matrix(), block) for t in live}
    if spec.scope == "global" and not spec.per_layer:
        # Scores are divided by each layer's mean magnitude first: raw magnitudes differ by orders between
        # layers (fan-in scaled initialisations), and unnormalised global pruning empties whole layers.
        scores = {n: s / s.mean().clamp_min(1e-12) for n, s in scores.items()}
        allv = torch.cat([s.flatten() for s in scores.values()])
        keep_all = _threshold_keep(allv, spec.sparsity * fraction)
        i = 0
        for t in live:
            sc = scores[t.name]
            keep = keep_all[i : i + sc.numel()].reshape(sc.shape)
            i += sc.numel()
            masks[t.name] = t.set_mask(_expand(keep, block))
    else:
        for t in live:
            level = spec.per_layer.get(t.name, spec.sparsity) * fraction
            masks[t.name] = t.set_mask(_expand(_threshold_keep(scores[t.name], level), block))
    return masks


def prune(model: nn.Module, spec: PruneSpec) -> tuple[list[LayerSparsity], dict[str, torch.Tensor]]:
    """Zeroes weights of `model` in place by magnitude. Returns per-layer sparsity and the masks by parameter name.
    Layers the method cannot tile are left dense and reported with the reason."""
    live, skipped = live_targets(model, spec)
    masks = apply_masks(live, spec)
    return sparsity_of(model, spec.block if spec.method == "block" else None, skipped), masks


def sparsity_of(
    model: nn.Module, block: tuple[int, int] | None = None, skipped: dict[str, str] | None = None
) -> list[LayerSparsity]:
    out = []
    for t in find_targets(model):
        mat = t.matrix()
        bs = None
        if block is not None and mat.shape[0] % block[0] == 0 and mat.shape[1] % block[1] == 0:
            bs = float((_block_scores(mat, block) == 0).float().mean())
        out.append(
            LayerSparsity(
                t.name,
                list(t.param.shape),
                float((mat == 0).float().mean()),
                bs,
                (skipped or {}).get(t.name, ""),
            )
        )
    return out
