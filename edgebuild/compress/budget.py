"""Accuracy budget (`--max-drop X`): keep the most sensitive layers in higher precision until the compressed model's
accuracy is at most X points below the float model's, on the labelled --eval data.

Each layer climbs a ladder of precision: compressed (weight sharing / low-rank) -> plain int8 (per-channel weights)
-> float32 (the float fallback kernels, when the build has them). The search:

1. Measure the fully compressed model. Within budget: done.
2. Sensitivity: for every compressed layer, the drop with only that layer compressed, minus the drop of plain int8
   (Han et al.'s per-layer sensitivity analysis, Fig. 6 of the pruning paper, done for the whole compression).
3. Lift layers to plain int8, most sensitive first, re-measuring after each, until the budget holds.
4. Still over budget with every layer plain int8: if float fallback is available, lift layers to float in order of
   how much each alone recovers; otherwise, or when even that fails, the build fails naming the best drop reached.

Every number is a measurement of the real int8 artifact in the runtime, not an estimate: `search_budget` builds each
trial with the graph stage and the build's quantize -> lower, serializes it and runs it in the host extension.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import progress
from ..errors import EdgebuildError

if TYPE_CHECKING:
    import torch
    from torch.fx import GraphModule

    from ..calib import Dataset
    from ..ir import Program
    from .options import CompressOptions

    # (weights left uncompressed, layers kept in float) -> (compressed float model, graph-stage report, program)
    MakeProgram = Callable[
        [frozenset[str], tuple[str, ...]], tuple[GraphModule, dict[str, Any] | None, Program]
    ]


@dataclass(frozen=True)
class Config:
    uncompressed: frozenset[str] = frozenset()  # weights left out of sharing / low-rank (plain int8)
    floats: frozenset[str] = frozenset()  # layers run by the float fallback kernels


@dataclass
class Trial:
    config: Config
    drop: float  # accuracy points below the float model
    constants_bytes: int  # what the artifact stores for the constants (Huffman-coded when on)

    def as_dict(self) -> dict[str, Any]:
        return {
            "uncompressed": sorted(self.config.uncompressed),
            "float": sorted(self.config.floats),
            "accuracy_drop_points": round(self.drop, 4),
            "constants_bytes": self.constants_bytes,
        }


@dataclass
class BudgetResult:
    chosen: Trial
    trials: list[Trial] = field(default_factory=list)
    sensitivity: dict[str, float] = field(default_factory=dict)
    float_sensitivity: dict[str, float] = field(default_factory=dict)

    def report(self, max_drop: float, fully: Trial) -> dict[str, Any]:
        return {
            "max_drop_points": max_drop,
            "metric": "top-1 accuracy on the --eval data, float model minus int8 artifact",
            "sensitivity_points": {k: round(v, 4) for k, v in self.sensitivity.items()},
            "float_sensitivity_points": {k: round(v, 4) for k, v in self.float_sensitivity.items()},
            "chosen": self.chosen.as_dict(),
            "size_cost_bytes": self.chosen.constants_bytes - fully.constants_bytes,
            "latency_cost": (
                "none from uncompressed layers (the same int8 kernels run; shared weights are decoded at load); "
                "float layers run fp32 reference kernels: see `edgebuild profile`"
            ),
            "trials": [t.as_dict() for t in self.trials],
        }


def meet_budget(
    evaluate: Callable[[Config], Trial],
    layers: list[str],
    max_drop: float,
    float_layers: list[str] | None,
    log: Callable[[str], None] = lambda s: None,
) -> BudgetResult:
    """The cheapest configuration found whose drop is <= max_drop (see the module docstring), or EdgebuildError.
    `float_layers`: layers that may run in float, or None when this build has no float fallback."""
    trials: list[Trial] = []
    with progress.task("accuracy budget: trial 1") as advance:

        def run(cfg: Config) -> Trial:
            t = evaluate(cfg)
            trials.append(t)
            log(
                f"accuracy budget: {len(cfg.uncompressed)} uncompressed, {len(cfg.floats)} float -> drop {t.drop:.2f}"
            )
            advance(1, f"accuracy budget: trial {len(trials) + 1}, last drop {t.drop:.2f} points")
            return t

        return _search(run, layers, max_drop, float_layers, trials)


def _search(
    run: Callable[[Config], Trial],
    layers: list[str],
    max_drop: float,
    float_layers: list[str] | None,
    trials: list[Trial],
) -> BudgetResult:
    """meet_budget's ladder, each rung measured by `run` (which records it in `trials`)."""
    full = run(Config())
    if full.drop <= max_drop:
        return BudgetResult(full, trials)
    everything = frozenset(layers)
    plain = run(Config(uncompressed=everything))
    sens = {layer: run(Config(uncompressed=everything - {layer})).drop - plain.drop for layer in layers}
    order = sorted(layers, key=lambda layer: (-sens[layer], layer))
    lifted: set[str] = set()
    for layer in order[:-1]:  # lifting them all is `plain`, measured already
        lifted.add(layer)
        t = run(Config(uncompressed=frozenset(lifted)))
        if t.drop <= max_drop:
            return BudgetResult(t, trials, sens)
    if plain.drop <= max_drop:
        return BudgetResult(plain, trials, sens)
    if not float_layers:
        raise EdgebuildError(
            f"--max-drop {max_drop}: no configuration meets the budget; the best is plain int8 with every layer "
            f"uncompressed at {plain.drop:.2f} points below float, and this build has no float fallback to keep "
            "layers in float. Raise --max-drop, calibrate with more representative --calib data, or compress less."
        )
    fsens = {
        layer: plain.drop - run(Config(uncompressed=everything, floats=frozenset({layer}))).drop
        for layer in float_layers
    }
    floats: set[str] = set()
    best = plain
    for layer in sorted(float_layers, key=lambda layer: (-fsens[layer], layer)):
        floats.add(layer)
        t = run(Config(uncompressed=everything, floats=frozenset(floats)))
        best = t if t.drop < best.drop else best
        if t.drop <= max_drop:
            return BudgetResult(t, trials, sens, fsens)
    raise EdgebuildError(
        f"--max-drop {max_drop}: no configuration meets the budget, even with every layer in float "
        f"(best: {best.drop:.2f} points below float). Raise --max-drop or check the --eval data."
    )


def _module_of(weight: str) -> str:
    """ "encoder.0.fc.weight" -> "encoder.0.fc": the module path float_layers names."""
    return weight.rsplit(".", 1)[0]


def search_budget(
    make: MakeProgram,
    reference: torch.nn.Module,
    eval_data: Dataset,
    opts: CompressOptions,
    log: Callable[[str], None],
) -> tuple[GraphModule, dict[str, Any] | None, Program, dict[str, Any]]:
    """--max-drop: `meet_budget` with every trial a real artifact measured by the runtime against the float
    `reference` on the labelled `eval_data`. Returns the chosen trial's (model, report, program) and report.json's
    `accuracy_budget`."""
    from ..capture import run_float
    from ..evaluate import native_model, top1
    from ..plan import plan_arena
    from ..serialize import Section, artifact_bytes, section_sizes
    from .graph_stage import compressible_layers

    assert opts.max_drop is not None
    float_acc = top1(lambda s: run_float(reference, s)[0], eval_data)
    built: dict[Config, tuple[GraphModule, dict[str, Any] | None, Program]] = {}

    def evaluate(cfg: Config) -> Trial:
        # A float layer keeps its original weights: it is left out of compression as well.
        floats = tuple(sorted(_module_of(w) for w in cfg.floats))
        compressed, rep, program = make(cfg.uncompressed | cfg.floats, floats)
        plan_arena(program)
        data = artifact_bytes(program, huffman=opts.huffman)
        native = native_model(data)
        acc = top1(lambda s: native.run(s)[0], eval_data)
        sizes = section_sizes(data)
        built[cfg] = (compressed, rep, program)
        return Trial(
            cfg, float_acc - acc, sizes.get(Section.CODED_CONSTANTS, sizes.get(Section.CONSTANTS, 0))
        )

    layers = compressible_layers(reference)
    # The ladder's last rung: float fallback kernels (lower/__init__.py), for layers that are modules of the model.
    result = meet_budget(evaluate, layers, opts.max_drop, [w for w in layers if "." in w], log)
    compressed, rep, program = built[result.chosen.config]
    return compressed, rep, program, result.report(opts.max_drop, result.trials[0])
