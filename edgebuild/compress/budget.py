"""Accuracy budget (`--max-drop X`): keep the most sensitive layers in higher precision until the compressed model's
accuracy is at most X points below the float model's, on the labelled --eval data.

Each layer climbs a ladder of precision: compressed (weight sharing / low-rank) -> plain int8 (per-channel weights,
static activations) -> dynamic activations (linear layers only, with `--activations auto`: DYNAMIC_FULLY_CONNECTED,
the input quantized per row at run time) -> float32 (the float fallback kernels, when the build has them). The search:

1. Measure the fully compressed model (with no compression option: plain int8). Within budget: done.
2. Sensitivity: for every compressed layer, the drop with only that layer compressed, minus the drop of plain int8
   (Han et al.'s per-layer sensitivity analysis, Fig. 6 of the pruning paper, done for the whole compression).
3. Lift layers to plain int8, most sensitive first, re-measuring after each, until the budget holds.
4. Still over budget with every layer plain int8 (`--activations auto`): move linear layers to dynamic activations
   in order of how much each alone recovers, re-measuring after each.
5. Still over budget: if float fallback is available, lift layers to float in order of how much each alone
   recovers (on top of step 4's all-dynamic configuration); otherwise, or when even that fails, the build fails
   naming the best drop reached.

Every number is a measurement of the real int8 artifact in the runtime, not an estimate: `search_budget` builds each
trial with the graph stage and the build's quantize -> lower, serializes it and runs it in the host extension.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .. import progress
from ..errors import EdgebuildError

if TYPE_CHECKING:
    import torch
    from torch.fx import GraphModule

    from ..calib import Dataset
    from ..ir import Program
    from .options import CompressOptions

    # (weights left uncompressed, layers kept in float, linear layers with dynamic activations or None for the
    # build's --activations) -> (compressed float model, graph-stage report, program)
    MakeProgram = Callable[
        [frozenset[str], tuple[str, ...], tuple[str, ...] | None],
        tuple[GraphModule, dict[str, Any] | None, Program],
    ]


@dataclass(frozen=True)
class Config:
    uncompressed: frozenset[str] = frozenset()  # weights left out of sharing / low-rank (plain int8)
    floats: frozenset[str] = frozenset()  # layers run by the float fallback kernels
    dynamic: frozenset[str] = frozenset()  # linear layers' weights whose input is quantized at run time


@dataclass
class Trial:
    config: Config
    drop: float  # accuracy points below the float model
    constants_bytes: int  # what the artifact stores for the constants (Huffman-coded when on)

    def as_dict(self) -> dict[str, Any]:
        return {
            "uncompressed": sorted(self.config.uncompressed),
            "float": sorted(self.config.floats),
            "dynamic": sorted(self.config.dynamic),
            "accuracy_drop_points": round(self.drop, 4)
            if math.isfinite(self.drop)
            else None,  # None: no build
            "constants_bytes": self.constants_bytes,
        }


@dataclass
class BudgetResult:
    chosen: Trial
    trials: list[Trial] = field(default_factory=list)
    sensitivity: dict[str, float] = field(default_factory=dict)
    float_sensitivity: dict[str, float] = field(default_factory=dict)
    dynamic_sensitivity: dict[str, float] = field(default_factory=dict)

    def report(self, max_drop: float, fully: Trial) -> dict[str, Any]:
        return {
            "max_drop_points": max_drop,
            "metric": "top-1 accuracy on the --eval data, float model minus int8 artifact",
            "sensitivity_points": _points(self.sensitivity),
            "float_sensitivity_points": _points(self.float_sensitivity),
            "dynamic_sensitivity_points": _points(self.dynamic_sensitivity),
            "chosen": self.chosen.as_dict(),
            "size_cost_bytes": self.chosen.constants_bytes - fully.constants_bytes,
            "latency_cost": (
                "none from uncompressed layers (the same int8 kernels run; shared weights are decoded at load); "
                "dynamic layers quantize their input per row at run time; float layers run fp32 kernels: see "
                "`edgebuild profile`"
            ),
            "trials": [t.as_dict() for t in self.trials],
        }


def _points(d: dict[str, float]) -> dict[str, float | None]:
    return {k: round(v, 4) if math.isfinite(v) else None for k, v in d.items()}


def meet_budget(
    evaluate: Callable[[Config], Trial],
    layers: list[str],
    max_drop: float,
    float_layers: list[str] | None,
    log: Callable[[str], None] = lambda s: None,
    dynamic_layers: list[str] | None = None,
    compressing: bool = True,
) -> BudgetResult:
    """The cheapest configuration found whose drop is <= max_drop (see the module docstring), or EdgebuildError.
    `float_layers`: layers that may run in float, or None when this build has no float fallback;
    `dynamic_layers`: linear layers that may take dynamic activations (None: not searched); `compressing`: False
    when no compression option is set (the fully compressed model is plain int8: no compression rungs)."""
    trials: list[Trial] = []
    seen: dict[Config, Trial] = {}
    with progress.task("accuracy budget: trial 1") as advance:

        def run(cfg: Config) -> Trial:
            t = seen.get(cfg) or evaluate(cfg)  # a configuration met again is not built again (listed again)
            trials.append(t)
            seen[cfg] = t
            log(
                f"accuracy budget: {len(cfg.uncompressed)} uncompressed, {len(cfg.dynamic)} dynamic, "
                f"{len(cfg.floats)} float -> drop {t.drop:.2f}"
            )
            advance(1, f"accuracy budget: trial {len(trials) + 1}, last drop {t.drop:.2f} points")
            return t

        return _search(run, layers, max_drop, float_layers, trials, dynamic_layers, compressing)


def _search(
    run: Callable[[Config], Trial],
    layers: list[str],
    max_drop: float,
    float_layers: list[str] | None,
    trials: list[Trial],
    dynamic_layers: list[str] | None = None,
    compressing: bool = True,
) -> BudgetResult:
    """meet_budget's ladder, each rung measured by `run` (which records it in `trials`)."""
    full = run(Config())
    if full.drop <= max_drop:
        return BudgetResult(full, trials)
    everything = frozenset(layers) if compressing else frozenset()
    sens: dict[str, float] = {}
    plain = full
    if compressing:
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
    base = plain
    dsens: dict[str, float] = {}
    if dynamic_layers:
        dsens = {
            layer: _gain(plain.drop, run(Config(uncompressed=everything, dynamic=frozenset({layer}))).drop)
            for layer in dynamic_layers
        }
        dynamic: set[str] = set()
        for layer in sorted(dynamic_layers, key=lambda layer: (-dsens[layer], layer)):
            dynamic.add(layer)
            base = run(Config(uncompressed=everything, dynamic=frozenset(dynamic)))
            if base.drop <= max_drop:
                return BudgetResult(base, trials, sens, dynamic_sensitivity=dsens)
    what = "with every linear layer dynamic" if dynamic_layers else "plain int8 with every layer uncompressed"
    if not float_layers:
        raise EdgebuildError(
            f"--max-drop {max_drop}: no configuration meets the budget; the best is {what} at {base.drop:.2f} "
            "points below float, and this build has no float fallback to keep layers in float. Raise --max-drop, "
            "calibrate with more representative --calib data, or compress less."
        )
    fsens = {
        layer: _gain(base.drop, run(replace(base.config, floats=frozenset({layer}))).drop)
        for layer in float_layers
    }
    floats: set[str] = set()
    best = base
    for layer in sorted(float_layers, key=lambda layer: (-fsens[layer], layer)):
        floats.add(layer)
        t = run(replace(base.config, floats=frozenset(floats)))
        best = t if t.drop < best.drop else best
        if t.drop <= max_drop:
            return BudgetResult(t, trials, sens, fsens, dsens)
    raise EdgebuildError(
        f"--max-drop {max_drop}: no configuration meets the budget, even with every layer in float "
        f"(best: {best.drop:.2f} points below float). Raise --max-drop or check the --eval data."
    )


def _gain(before: float, after: float) -> float:
    """How many points a change recovered; 0 when neither trial built (inf - inf)."""
    d = before - after
    return 0.0 if math.isnan(d) else d


def linear_weights(gm: torch.nn.Module, layers: list[str]) -> list[str]:
    """The weights among `layers` that linear layers read (what dynamic activations can apply to), graph order;
    only those of submodules (a module path names them, as for float layers)."""
    from torch.fx import GraphModule

    from ..lower.ops.dynamic_fc import linear_parts

    if not isinstance(gm, GraphModule):
        return []
    out: list[str] = []
    for n in gm.graph.nodes:
        parts = linear_parts(n) if n.op == "call_function" else None
        w = parts[1] if parts is not None else None
        if w is not None and w.op == "get_attr" and str(w.target) in layers and "." in str(w.target):
            out.append(str(w.target))
    return list(dict.fromkeys(out))


def _module_of(weight: str) -> str:
    """ "encoder.0.fc.weight" -> "encoder.0.fc": the module path float_layers names."""
    return weight.rsplit(".", 1)[0]


def search_budget(
    make: MakeProgram,
    reference: torch.nn.Module,
    eval_data: Dataset,
    opts: CompressOptions,
    log: Callable[[str], None],
    per_layer_dynamic: bool = False,
) -> tuple[GraphModule, dict[str, Any] | None, Program, dict[str, Any]]:
    """--max-drop: `meet_budget` with every trial a real artifact measured by the runtime against the float
    `reference` on the labelled `eval_data`. Returns the chosen trial's (model, report, program) and report.json's
    `accuracy_budget`. `per_layer_dynamic` (--activations auto): trials choose static or dynamic activations per
    linear layer (all static first); otherwise every trial takes the build's --activations. A trial that does not
    build (a static int8 form a dynamic one avoids) counts as out of budget."""
    from ..capture import run_float
    from ..evaluate import native_model, top1
    from ..plan import plan_arena
    from ..serialize import Section, artifact_bytes, section_sizes
    from .graph_stage import compressible_layers

    assert opts.max_drop is not None
    float_acc = top1(lambda s: run_float(reference, s)[0], eval_data)
    built: dict[Config, tuple[GraphModule, dict[str, Any] | None, Program]] = {}
    failures: list[EdgebuildError] = []

    def evaluate(cfg: Config) -> Trial:
        # A float layer keeps its original weights: it is left out of compression as well.
        floats = tuple(sorted(_module_of(w) for w in cfg.floats))
        dynamic = tuple(sorted(_module_of(w) for w in cfg.dynamic)) if per_layer_dynamic else None
        try:
            compressed, rep, program = make(cfg.uncompressed | cfg.floats, floats, dynamic)
        except EdgebuildError as e:
            failures.append(e)
            log(f"accuracy budget: this trial does not build ({str(e).splitlines()[0]})")
            return Trial(cfg, math.inf, 0)
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
    linear = linear_weights(reference, layers) if per_layer_dynamic else None
    # The ladder's last rung: float fallback kernels (lower/__init__.py), for layers that are modules of the model.
    try:
        result = meet_budget(
            evaluate,
            layers,
            opts.max_drop,
            [w for w in layers if "." in w],
            log,
            linear,
            opts.transforms_graph,
        )
    except EdgebuildError:
        if failures and not built:  # no trial built at all: the build's own error says why
            raise failures[0] from None
        raise
    compressed, rep, program = built[result.chosen.config]
    return compressed, rep, program, result.report(opts.max_drop, result.trials[0])
