"""distill: knowledge distillation from the original model (the teacher), for both stages of compress/pipeline.py.

- `distill_module` (module stage, `--distill`): recovery of a pruned model. The student is exported and prepared for
  quantization-aware training with PT2E (`prepare_qat_pt2e` and edgebuild's own quantizer, so it trains through
  exactly the fake quantization the int8 build applies), then trained on
      loss = (1 − α) · T² · KL(softmax(teacher / T) ‖ softmax(student / T)) + α · CE(student, labels)
  (Hinton et al.; α = 0 without labels). Pruned weights stay exactly zero: the masks are reapplied after every
  optimizer step. The trained weights (and BatchNorm statistics) are copied back into the eager student, which the
  build then captures and quantizes as usual (the weight fake-quantizer and the build's weight quantizer are the
  same per-channel min/max, so the weights are quantized as they were trained). Deterministic: a seeded generator
  orders the batches, the student's initial state is the pruned model, and training runs on one thread (CPU
  reduction order then does not depend on the machine).
- `distill_graph` (graph stage, `--finetune-epochs`): fine-tuning of the captured graph after low-rank / weight
  sharing on the unlabelled calibration samples: mean squared error of the outputs (the logits). A captured graph
  has static batch-1 shapes, so each step is one sample; with codebooks the shared values are what trains
  (cluster.finetune_centroids).

Two loops, not one: the first trains an eager module in batches through fake quantization, the second a batch-1
graph's codebooks; each gives the bundles it always gave.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .. import progress
from .._torchao import pt2e
from ..errors import EdgebuildError
from .cluster import Codebook, finetune_centroids


@dataclass
class DistillOptions:
    epochs: int = 10
    lr: float = 1e-3
    batch_size: int = 32
    temperature: float = 4.0
    alpha: float = 0.5  # weight of the label loss when labels exist
    teacher_batch: int = 256  # samples per teacher forward (1 for a torch.export archive: its batch is fixed)
    seed: int = 0
    # Gradual pruning (Zhu & Gupta 2017): the student starts dense and its sparsity follows
    # s_t = s · (1 − (1 − t / T)³) over the first `gradual_fraction` of the steps, masks recomputed by magnitude
    # every `gradual_every` steps; then the masks are fixed and training goes on.
    gradual: Any = None  # a PruneSpec, or None: the student arrives pruned and `masks` are fixed
    gradual_fraction: float = 0.6
    gradual_every: int = 10


@dataclass
class DistillResult:
    losses: list[float] = field(default_factory=list)  # mean loss per epoch
    steps: int = 0
    samples: int = 0
    used_labels: bool = False
    masks: dict[str, torch.Tensor] = field(
        default_factory=dict
    )  # the final masks (gradual pruning sets them)


def distill_module(
    student: nn.Module,
    teacher: nn.Module,
    inputs: torch.Tensor,
    labels: torch.Tensor | None,
    masks: dict[str, torch.Tensor],
    opts: DistillOptions,
) -> DistillResult:
    """Fine-tunes `student` in place (its parameters and buffers). inputs: [N, ...] one model input; labels: [N]
    class indices or None."""
    from ..quantize import EdgebuildQuantizer

    n = int(inputs.shape[0])
    if n == 0:
        raise EdgebuildError("distillation data is empty")
    bs = max(1, min(opts.batch_size, n))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(opts.seed)
        teacher = copy.deepcopy(teacher).eval()
        with torch.no_grad():
            step = opts.teacher_batch
            soft = torch.cat([teacher(inputs[i : i + step]) for i in range(0, n, step)])
        example = (inputs[:bs].clone(),)
        gm = torch.export.export(copy.deepcopy(student).train(), example, strict=False).module()
        prepared = pt2e.prepare_qat_pt2e(gm, EdgebuildQuantizer())
        pt2e.move_exported_model_to_train(prepared)
        params = dict(prepared.named_parameters())
        live = {k: m for k, m in masks.items() if k in params}
        if masks and not live:
            raise EdgebuildError("distillation: none of the pruning masks matches a parameter of the student")
        ptargets: list[Any] = []
        if opts.gradual is not None:
            from .prune.magnitude import Target, live_targets

            eager, _ = live_targets(student, opts.gradual)
            ptargets = [Target(t.name, params[t.name], t.kind) for t in eager if t.name in params]
            if len(ptargets) != len(eager):
                raise EdgebuildError(
                    "gradual pruning: the trained graph's parameters do not match the model's"
                )
        opt = torch.optim.Adam(prepared.parameters(), lr=opts.lr)
        steps_total = opts.epochs * max(1, n // bs)
        prune_steps = max(1, int(opts.gradual_fraction * steps_total))
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps_total)  # lr → 0 over the run
        gen = torch.Generator().manual_seed(opts.seed)
        result = DistillResult(samples=n, used_labels=labels is not None)
        T = opts.temperature
        with progress.task("distilling", total=steps_total) as update:
            for epoch in range(opts.epochs):
                order = torch.randperm(n, generator=gen)
                total, count = 0.0, 0
                for b0 in range(0, n - bs + 1, bs):  # fixed batch: the exported graph has static shapes
                    idx = order[b0 : b0 + bs]
                    t = result.steps
                    if ptargets and t <= prune_steps and (t % opts.gradual_every == 0 or t == prune_steps):
                        from .prune.magnitude import apply_masks

                        fraction = 1.0 - (1.0 - t / prune_steps) ** 3
                        with torch.no_grad():
                            live = apply_masks(ptargets, opts.gradual, fraction)
                    out = prepared(inputs[idx])
                    kd = F.kl_div(F.log_softmax(out / T, 1), F.log_softmax(soft[idx] / T, 1), log_target=True,
                                  reduction="batchmean") * (T * T)  # fmt: skip
                    loss = kd
                    if labels is not None:
                        loss = (1 - opts.alpha) * kd + opts.alpha * F.cross_entropy(out, labels[idx])
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    sched.step()
                    with torch.no_grad():
                        for k, m in live.items():
                            params[k].mul_(m.to(params[k].dtype))
                    total += float(loss.detach()) * len(idx)
                    count += len(idx)
                    result.steps += 1
                    update(1, f"distilling epoch {epoch + 1}/{opts.epochs} loss {total / count:.4f}")
                result.losses.append(total / max(count, 1))
        pt2e.move_exported_model_to_eval(prepared)
        # Copy trained parameters and BatchNorm statistics back by name (fake-quant modules have no eager twin).
        trained = prepared.state_dict()
        own = student.state_dict()
        copied = {k: v for k, v in trained.items() if k in own and own[k].shape == v.shape}
        if not any(k in copied for k in own if own[k].is_floating_point()):
            raise EdgebuildError(
                "distillation: the trained graph's parameters do not map back onto the model"
            )
        student.load_state_dict(copied, strict=False)
        student.eval()
        result.masks = {k: m.detach().clone() for k, m in live.items()}
        return result
    finally:
        torch.set_num_threads(threads)


def distill_graph(
    student: nn.Module,
    teacher: nn.Module,
    samples: list[tuple[torch.Tensor, ...]],
    epochs: int,
    books: dict[str, Codebook] | None = None,
    lr: float = 1e-4,
    seed: int = 0,
) -> None:
    """Train `student` to reproduce `teacher`'s outputs on `samples` (in place). With codebooks, the shared values
    are what trains (cluster.finetune_centroids); pruned (zero) weights stay zero either way."""
    if epochs <= 0 or not samples:
        return
    with torch.no_grad():
        targets = [_first(teacher(*s)) for s in samples]
    gen = torch.Generator().manual_seed(seed)

    def batches() -> Iterator[tuple[tuple[torch.Tensor, ...], torch.Tensor | None]]:
        for i in torch.randperm(len(samples), generator=gen).tolist():
            yield samples[i], targets[i]
            advance()  # the step on this sample is done when the next is asked for

    def loss(
        out: torch.Tensor, _inputs: tuple[torch.Tensor, ...], target: torch.Tensor | None
    ) -> torch.Tensor:
        assert target is not None
        return torch.nn.functional.mse_loss(out, target)

    with progress.task("fine-tuning the compressed graph", total=epochs * len(samples)) as advance:
        finetune_centroids(student, books or {}, batches, loss, epochs=epochs, lr=lr)


def _first(out: object) -> torch.Tensor:
    return out if isinstance(out, torch.Tensor) else out[0]  # type: ignore[index]
