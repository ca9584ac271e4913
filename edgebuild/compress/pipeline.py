"""pipeline: the compress stage of a build (DESIGN.md stage 3), one entry for both of its stages.

    loaded model ──module stage──► capture ──graph stage──────────────────► to_program (quantize -> lower)
                   pruning,                  low-rank, weight sharing,
                   distillation              fine-tuning; --max-drop repeats
                   (module_stage.py)         it per trial (graph_stage.py, budget.py)

The module stage works on the nn.Module (pruning and QAT distillation need the model's own parameters), so capture
happens here, between the two stages. The graph stage works on the captured graph of every model format. --max-drop
measures real int8 artifacts, so the caller's quantize -> lower (`to_program`) builds every trial's program and the
final one; Huffman coding (`opts.huffman`) happens when the build serializes the program. With no option set, this
is capture followed by `to_program`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch.fx import GraphModule

from ..calib import Dataset
from ..capture import capture
from ..errors import EdgebuildError
from ..ir import Program
from ..load import LoadedModel
from .options import CompressOptions

MAX_FINETUNE_SAMPLES = 512  # calibration samples the graph stage distils on

Log = Callable[[str], None]
# (float graph, extra float layers, shared-scale layers or False, dynamic linear layers or None for the build's
# --activations) -> the quantized, lowered program
ToProgram = Callable[[GraphModule, tuple[str, ...], "set[str] | bool", "tuple[str, ...] | None"], Program]


def _quiet(s: str) -> None:
    pass


@dataclass
class Compressed:
    float_gm: GraphModule  # the captured model the graph stage starts from (after pruning / distillation)
    teacher_gm: GraphModule | None  # the original model, captured, when the module stage changed it
    compressed_gm: GraphModule  # what was quantized
    program: Program
    report: (
        dict[str, Any] | None
    )  # report.json's compression sections (options, per stage); None: nothing ran
    budget: dict[str, Any] | None  # report.json's accuracy_budget (--max-drop)

    @property
    def original_gm(self) -> GraphModule:
        """The original float model: the reference of the size stages and of the --max-drop search."""
        return self.teacher_gm if self.teacher_gm is not None else self.float_gm


def compress(
    loaded: LoadedModel,
    calib: Dataset,
    eval_data: Dataset | None,
    opts: CompressOptions,
    to_program: ToProgram,
    log: Log = _quiet,
    warn: Log = _quiet,
    lap: Log = _quiet,
    activations: str = "static",
) -> Compressed:
    """Module stage -> capture -> graph stage (-> --max-drop search), then the program. `lap(stage)` marks the end
    of a timed stage for the build's timings. `activations` (the build's --activations): with "auto", the
    --max-drop search also chooses static or dynamic activations per linear layer (budget.py)."""
    from .budget import search_budget
    from .graph_stage import compress_graph
    from .module_stage import compress_module

    opts.check(activations)
    if opts.max_drop is not None and (eval_data is None or eval_data.labels is None):
        raise EdgebuildError(
            "--max-drop needs labelled evaluation data: pass --eval data.npz with arrays x and y"
        )
    example = calib.sample(0)
    module_report = None
    teacher_gm = None
    if opts.transforms_module:
        loaded, teacher, module_report = compress_module(loaded, calib, eval_data, opts, log)
        teacher_gm = capture(LoadedModel(loaded.path, loaded.format, module=teacher), example)
        lap("compress")
    float_gm = capture(loaded, example)
    lap("capture")
    samples: list[tuple[torch.Tensor, ...]] = []
    if opts.transforms_graph:
        if calib.random:
            warn(
                "compressing with RANDOM calibration data: distillation fits noise. Pass --calib samples.npz."
            )
        samples = [
            tuple(torch.from_numpy(x) for x in calib.sample(i))
            for i in range(min(calib.samples, MAX_FINETUNE_SAMPLES))
        ]

    def make(
        keep: frozenset[str] = frozenset(),
        floats: tuple[str, ...] = (),
        dynamic: tuple[str, ...] | None = None,
    ) -> tuple[GraphModule, dict[str, Any] | None, Program]:
        """The graph stage, leaving the weights in `keep` uncompressed, then the program with the layers in
        `floats` kept in float32 and those in `dynamic` quantized at run time (None: as --activations says)."""
        compressed = float_gm
        rep = None
        if opts.transforms_graph:
            log("compressing (low-rank / weight sharing / distillation from the original model)")
            compressed, rep = compress_graph(float_gm, samples, opts, keep)
            lap("compress")
        shared = set(rep["shared_layers"]) if rep else False
        return compressed, rep, to_program(compressed, floats, shared, dynamic)

    budget = None
    if opts.max_drop is not None:
        assert eval_data is not None
        reference = teacher_gm if teacher_gm is not None else float_gm
        compressed_gm, graph_report, program, budget = search_budget(
            make, reference, eval_data, opts, log, per_layer_dynamic=activations == "auto"
        )
    else:
        compressed_gm, graph_report, program = make()
    report = None
    if module_report is not None or graph_report is not None:
        report = {"options": opts.as_dict(), **(module_report or {}), **(graph_report or {})}
    return Compressed(float_gm, teacher_gm, compressed_gm, program, report, budget)
