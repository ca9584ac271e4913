"""The module stage of compress/pipeline.py, on the loaded model before capture: pruning, then recovery by
distillation.

    --prune block:0.9 [--prune-scope global] [--prune-sensitivity]   magnitude pruning (compress/prune/)
    --prune channel:0.3                                                channels removed (Torch-Pruning)
    --distill [--train-data train.npz] [--epochs 10] [--lr 1e-3] [--temperature 4] [--seed 0]

It works on an nn.Module (state_dict + --model-class, a pickled module) or a torch.export archive's module, and
returns the student the rest of the build captures, plus the teacher (the original) for the accuracy report and
the graph stage.
"""

from __future__ import annotations

import copy
from dataclasses import asdict
from typing import Any

import numpy as np
import torch

from ..calib import Dataset, load_dataset
from ..errors import EdgebuildError
from ..evaluate import float_top1
from ..load import LoadedModel
from .options import CompressOptions

Log = Any


def _module_of(loaded: LoadedModel, example: list[np.ndarray]) -> torch.nn.Module:
    """The model as a module whose parameters train: the module itself, or the graph of a torch.export archive or
    of TorchScript (captured at the calibration data's shapes, batch 1)."""
    if loaded.exported is not None:
        return loaded.exported.module()
    if isinstance(loaded.module, torch.jit.ScriptModule):
        from ..capture import capture

        return capture(loaded, example)
    if loaded.module is None:
        raise EdgebuildError("--prune / --distill: the model file holds no module")
    return loaded.module


def _fixed_batch(loaded: LoadedModel) -> bool:
    """A graph captured at batch 1 (torch.export archive, TorchScript): it trains one sample per step."""
    return loaded.exported is not None or isinstance(loaded.module, torch.jit.ScriptModule)


def compress_module(
    loaded: LoadedModel,
    calib: Dataset,
    eval_data: Dataset | None,
    opts: CompressOptions,
    log: Log,
) -> tuple[LoadedModel, torch.nn.Module, dict[str, Any]]:
    """(the student to build, the original model, its sections of report.json's `compression`)."""
    from .prune import PruneSpec, prune, prune_channels, sensitivity_scan, sparsity_of

    original = _module_of(loaded, calib.sample(0))
    teacher = copy.deepcopy(original).eval()
    student = copy.deepcopy(original).eval()
    report: dict[str, Any] = {}
    masks: dict[str, torch.Tensor] = {}
    example = tuple(torch.from_numpy(x) for x in calib.sample(0))
    acc_data = eval_data if eval_data is not None and eval_data.labels is not None else None
    if acc_data is not None:
        report["float_accuracy_original"] = float_top1(teacher, acc_data)
    if opts.prune is not None:
        spec = PruneSpec.parse(opts.prune, scope=opts.prune_scope)
        if spec.method == "channel":
            before = sum(p.numel() for p in student.parameters())
            prune_channels(student, spec.sparsity, example)
            after = sum(p.numel() for p in student.parameters())
            log(f"channel pruning: {before} -> {after} parameters")
            report["prune"] = {"method": "channel", "ratio": spec.sparsity, "params_before": before,
                               "params_after": after}  # fmt: skip
        else:
            if opts.prune_sensitivity:
                samples = [
                    tuple(torch.from_numpy(x) for x in calib.sample(i)) for i in range(min(16, calib.samples))
                ]
                log(f"sensitivity scan over {len(samples)} calibration samples")
                sens = sensitivity_scan(student, samples, spec, spec.sparsity)
                spec.per_layer = sens.chosen
                report["sensitivity"] = {
                    "kl_by_layer": {k: {str(s): v for s, v in d.items()} for k, d in sens.layers.items()},
                    "chosen": sens.chosen,
                    "achieved": sens.achieved,
                }
            if opts.prune_gradual and not opts.distill:
                raise EdgebuildError("--prune-gradual prunes during --distill: add --distill")
            gradual = spec if opts.prune_gradual else None
            if gradual is None:
                layers, masks = prune(student, spec)
            else:
                layers = sparsity_of(student)  # dense until distillation prunes it
            report["prune"] = {
                "gradual": gradual is not None,
                "method": spec.method,
                "sparsity": spec.sparsity,
                "scope": spec.scope,
                "block": list(spec.block) if spec.method == "block" else None,
                "nm": list(spec.nm) if spec.method == "nm" else None,
                "layers": [asdict(x) for x in layers],
            }
        if acc_data is not None and not opts.prune_gradual:  # gradual: still dense until distillation
            report["float_accuracy_pruned"] = float_top1(student, acc_data)
    gradual = None
    if opts.prune is not None and opts.prune_gradual:
        gradual = PruneSpec.parse(opts.prune, scope=opts.prune_scope)
        gradual.per_layer = report.get("sensitivity", {}).get("chosen", {})
    if opts.distill:
        from .distill import DistillOptions, distill_module

        if opts.train_data is not None:
            try:
                data = load_dataset(opts.train_data, 1, labelled=True)  # labels (y) are optional here
            except EdgebuildError as e:
                if "needs labels" not in str(e):
                    raise
                data = load_dataset(opts.train_data, 1)
            source = str(opts.train_data)
        else:
            data, source = calib, "calibration data"
        if len(data.inputs) != 1:
            raise EdgebuildError("--distill supports models with one input")
        x = torch.from_numpy(np.ascontiguousarray(data.inputs[0], dtype=np.float32))
        y = torch.from_numpy(np.asarray(data.labels)).long() if data.labels is not None else None
        batch, teacher_batch = opts.batch_size, 256
        if _fixed_batch(loaded):
            # an export archive's graph keeps the batch size it was exported with (1, checked above), a TorchScript
            # model's is captured at batch 1: the student's and the teacher's
            batch = teacher_batch = 1
            log(f"the model is a {loaded.format} graph with a fixed batch of 1: distilling one sample per step "
                "(slow; a state_dict with --model-class trains in batches)")  # fmt: skip
        log(
            f"distilling on {x.shape[0]} samples of {source} ({'with' if y is not None else 'without'} labels)"
        )
        res = distill_module(
            student, teacher, x, y, masks,
            DistillOptions(opts.epochs, opts.lr, batch, opts.temperature, seed=opts.seed,
                           gradual=gradual, teacher_batch=teacher_batch),
        )  # fmt: skip
        report["distill"] = {
            "data": source,
            "samples": res.samples,
            "labels": res.used_labels,
            "epochs": opts.epochs,
            "lr": opts.lr,
            "temperature": opts.temperature,
            "seed": opts.seed,
            "steps": res.steps,
            "loss_by_epoch": res.losses,
        }
        if masks or gradual is not None:
            block = gradual.block if gradual is not None and gradual.method == "block" else None
            report["prune"]["layers_after_distill"] = [asdict(x) for x in sparsity_of(student, block)]
        if acc_data is not None:
            report["float_accuracy_after_recovery"] = float_top1(student, acc_data)
    return LoadedModel(loaded.path, loaded.format, module=student), teacher, report
