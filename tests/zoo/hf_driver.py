"""Build one third-party model (tests/zoo/hf_models.py) the way a user would, and measure it.

    export (torch.export, batch 1) -> model.pt -> edgebuild.pipeline.build(target="host", calib=calib.npz) -> model.ebm
    -> the same artifact on the host extension and on the host, arm64 and armv7 runners (ARM under qemu-user)

The artifact is built ONCE (the bytes do not depend on the target: only the runner does) and run everywhere; the
outputs must be byte-identical. Accuracy: cosine similarity of edgebuild's output (int8 where the quantizer put
int8, float elsewhere) with the float PyTorch model's, over EVAL held-out samples flattened together, plus the
cosine of the input-dependent part (`cosine_dev`: both outputs minus the float outputs' mean over the samples), which
a constant offset cannot inflate. `sensitivity` (mean ‖f(a) − f(b)‖ / ‖f(a)‖ over pairs of samples) shows the
float output depends on the input at all.

Calibration data are keyed x0, x1, ... (the model's forward() order); EDGEBUILD_ZOO_CALIB_BY_NAME=1 keys them by
forward()'s argument names instead (input_ids, attention_mask, pixel_values, ...).
"""

from __future__ import annotations

import contextlib
import inspect
import io
import os
import re
import time
import traceback
import warnings
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from tests.zoo.hf_models import HF_ZOO, HFModel, instantiate

if TYPE_CHECKING:
    from edgebuild.pipeline import BuildResult

TARGETS = ("host", "arm64", "armv7")
CALIB = (
    4  # calibration samples (PT2E's HistogramObserver dominates the build time: ~0.2 s per sample per model)
)
EVAL = 4  # held-out samples for the accuracy figures
CROSS = 1  # of which run on every target's runner (a qemu run costs ~0.5 s)
MIN_COSINE = 0.99  # the starting bound; per-family exceptions are stated in test_hf_zoo.py
# --calib keyed by forward()'s argument names (input_ids, ...) instead of x0, x1, ...: on once that lands on main
CALIB_BY_NAME = bool(int(os.environ.get("EDGEBUILD_ZOO_CALIB_BY_NAME", "0")))
MIN_SENSITIVITY = 0.05  # below this the float output is (nearly) constant and agreement means nothing


@dataclass
class ZooResult:
    name: str
    family: str
    status: str = "ok"  # ok | build failed | traceback | target mismatch | low cosine | constant output
    error: str = ""  # first line of the failure (the whole message is in `message`)
    message: str = ""
    reasons: list[str] = field(default_factory=list)  # normalized failure reasons, for grouping
    float_ops: int | None = None  # ops left in float (report.json float_ops)
    float_op_types: dict[str, int] = field(default_factory=dict)
    ops: int | None = None
    cosine: float | None = None
    cosine_dev: float | None = None
    # when cosine is low (tests/zoo/hf_diagnose.py): the model built with every layer in float (--float-layers;
    # ~1: the int8 path is the cause), PT2E's own q/dq reference vs float (low: the quantizer's choice of what
    # is int8 loses it) and edgebuild vs that reference (low: an int8 lowering computes something else)
    cosine_all_float: float | None = None
    cosine_pt2e: float | None = None
    cosine_vs_pt2e: float | None = None
    sensitivity: float | None = None
    size: int | None = None  # artifact bytes
    build_s: float | None = None  # wall seconds of torch.export + edgebuild.build
    cpu_s: float | None = None  # this process's CPU seconds for the whole check (export, build, runs)
    identical: dict[str, bool] = field(default_factory=dict)  # target -> same bytes as the host extension

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    den = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / den) if den > 0 else float("nan")


def float_outputs(model: torch.nn.Module, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """The float model's output for each sample (batch 1)."""
    n = inputs[0].shape[0]
    with torch.no_grad():
        return [model(*(torch.from_numpy(x[i : i + 1]) for x in inputs)).numpy() for i in range(n)]


def sensitivity(outs: list[np.ndarray]) -> float:
    pairs = [(a, b) for i, a in enumerate(outs) for b in outs[i + 1 :]]
    return float(np.mean([np.linalg.norm(a - b) / max(np.linalg.norm(a), 1e-30) for a, b in pairs]))


_NOISE = [
    (re.compile(r"^[a-z_][a-z0-9_]*: "), ""),  # the node the message starts with: "add_3: ...", "linear: ..."
    (re.compile(r"\b[a-z_]+_\d+\b"), "<node>"),  # node names inside: dequantize_per_tensor_default_42
    (re.compile(r"\(\d+(, \d+)*,?\)"), "<shape>"),
    (re.compile(r"\b\d+\b(?!-D)"), "N"),
]


def reasons_of(exc: BaseException) -> list[str]:
    """Normalized failure reasons: one per missing op (UnsupportedOpsError), else the message's first line without
    node names, shapes and numbers (so the same cause on several models groups together)."""
    ops = getattr(exc, "ops", None)
    if ops:
        return [f"no lowering: {u.name}" + (f" ({u.reason})" if u.reason else "") for u in ops]
    line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    for pat, rep in _NOISE:
        line = pat.sub(rep, line)
    return [line[:160]]


def export_model(model: torch.nn.Module, inputs: list[np.ndarray], path: Path) -> None:
    example = tuple(torch.from_numpy(x[:1]) for x in inputs)
    torch.export.save(torch.export.export(model, example), path)


def save_calib(inputs: list[np.ndarray], path: Path, names: list[str] | None = None) -> None:
    """inputs keyed x0, x1, ... or, given `names` (forward()'s argument names), by those names."""
    keys = names or [f"x{i}" for i in range(len(inputs))]
    np.savez(path, **dict(zip(keys, inputs)))


def argument_names(model: torch.nn.Module, n: int) -> list[str]:
    """The first n parameter names of model.forward (input_ids, attention_mask, pixel_values, ...)."""
    return list(inspect.signature(model.forward).parameters)[:n]


def build_module(
    model: torch.nn.Module,
    calib: list[np.ndarray],
    tmp: Path,
    quiet: bool = True,
    by_name: bool = CALIB_BY_NAME,
    float_layers: tuple[str, ...] = (),
) -> BuildResult:
    """torch.export at batch 1 -> tmp/model.pt, calib -> tmp/calib.npz (keyed x0, x1, ..., or by forward()'s
    argument names with `by_name`) -> edgebuild.build for host into tmp/bundle (no smoke run: the caller runs the
    artifact on every target). Raises what build raises."""
    from edgebuild.pipeline import BuildOptions, build

    model_path, calib_path = tmp / "model.pt", tmp / "calib.npz"
    with (
        warnings.catch_warnings(),
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
    ):
        if quiet:
            warnings.simplefilter("ignore")
        export_model(model, calib, model_path)
        save_calib(calib, calib_path, argument_names(model, len(calib)) if by_name else None)
        opts = BuildOptions(
            model_path, "host", calib=calib_path, out=tmp / "bundle", smoke=False, float_layers=float_layers
        )
        return build(opts)


class KnownFailure(Exception):
    """A model fails the way its test's xfail mark says (the only exception those marks accept, so a model whose
    failure changed is reported as a failure, and one that builds XPASSes)."""


def build_expecting(
    model: torch.nn.Module, calib: list[np.ndarray], tmp: Path, known: str | None = None
) -> BuildResult:
    """build_module; an EdgebuildError whose message contains `known` becomes KnownFailure."""
    from edgebuild.errors import EdgebuildError

    try:
        return build_module(model, calib, tmp)
    except EdgebuildError as e:
        if known is not None and known in str(e):
            raise KnownFailure(str(e).strip().splitlines()[0]) from None
        raise


def run_on_targets(
    artifact: Path,
    samples: list[list[np.ndarray]],
    expected: list[list[bytes]],
    targets: Iterable[str],
    runner_for: Callable[[str], Path],
    tmp: Path,
) -> dict[str, bool]:
    from edgebuild.run import run_runner
    from edgebuild.targets import load_target

    same: dict[str, bool] = {}
    for t in targets:
        ok = True
        for k, (sample, want) in enumerate(zip(samples, expected)):
            ins = []
            for i, x in enumerate(sample):
                ins.append(tmp / f"{t}-s{k}-x{i}.npy")
                np.save(ins[-1], x)
            outs = [tmp / f"{t}-s{k}-y{j}.npy" for j in range(len(want))]
            doc = run_runner(load_target(t), runner_for(t), artifact, ins, outs)
            ok = ok and doc.get("status") == "ok" and [np.load(o).tobytes() for o in outs] == want
        same[t] = ok
    return same


def default_runner_for() -> Callable[[str], Path]:
    from edgebuild.compile import build_runner
    from edgebuild.targets import load_target

    built: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in built:
            built[name] = build_runner(load_target(name))
        return built[name]

    return get


def build_and_check(
    name: str,
    tmp: Path,
    targets: Iterable[str] = TARGETS,
    runner_for: Callable[[str], Path] | None = None,
    quiet: bool = True,
) -> ZooResult:
    """Export, build once for host, run on every target in `targets`; never raises for a model failure (the
    result's status / error / reasons say what happened)."""

    entry = HF_ZOO[name]
    res = ZooResult(name, entry.family)
    c0 = time.process_time()
    try:
        _check(entry, res, tmp, list(targets), runner_for, quiet)
    finally:
        res.cpu_s = time.process_time() - c0
    return res


def _check(
    entry: HFModel,
    res: ZooResult,
    tmp: Path,
    targets: list[str],
    runner_for: Callable[[str], Path] | None,
    quiet: bool,
) -> None:
    from edgebuild.errors import EdgebuildError
    from edgebuild.pipeline import native_model

    tmp.mkdir(parents=True, exist_ok=True)
    model = instantiate(entry)
    calib = entry.sample(np.random.default_rng(0), CALIB)
    held_out = entry.sample(np.random.default_rng(1), EVAL)
    ref = float_outputs(model, held_out)
    res.sensitivity = sensitivity(ref)

    t0 = time.perf_counter()
    try:
        result = build_module(model, calib, tmp, quiet)
    except EdgebuildError as e:
        res.status, res.message, res.reasons = "build failed", str(e), reasons_of(e)
        res.error = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if getattr(e, "ops", None):
            res.error = "; ".join(res.reasons)
        return
    except Exception as e:  # noqa: BLE001 - a raw traceback would reach the user: counted separately
        res.status = "traceback"
        res.message = "".join(traceback.format_exception(e))
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        res.error = f"{type(e).__name__}: {first}"[:300]
        res.reasons = [f"traceback {type(e).__name__}: " + reasons_of(e)[0]]
        return
    res.build_s = time.perf_counter() - t0

    artifact = result.out / "model.ebm"
    data = artifact.read_bytes()
    res.size = len(data)
    res.ops = len(result.program.ops)
    fops = result.report.get("float_ops") or []
    res.float_ops = len(fops)
    for f in fops:
        res.float_op_types[f["op"]] = res.float_op_types.get(f["op"], 0) + 1

    native = native_model(data)
    samples = [[x[i : i + 1] for x in held_out] for i in range(EVAL)]
    ours = [[np.asarray(o) for o in native.run([np.ascontiguousarray(x) for x in s])] for s in samples]
    got = np.stack([o[0] for o in ours])
    want = np.stack(ref)
    res.cosine = cosine(got, want)
    mean = want.mean(axis=0, keepdims=True)
    res.cosine_dev = cosine(got - mean, want - mean)

    if targets:
        res.identical = run_on_targets(
            artifact,
            samples[:CROSS],
            [[o.tobytes() for o in out] for out in ours[:CROSS]],
            targets,
            runner_for or default_runner_for(),
            tmp,
        )
    if not all(res.identical.values()):
        bad = [t for t, ok in res.identical.items() if not ok]
        res.status, res.error = (
            "target mismatch",
            f"outputs differ from the host extension on {', '.join(bad)}",
        )
        res.reasons = [res.error]
    elif res.sensitivity < MIN_SENSITIVITY:
        res.status, res.error = "constant output", f"float output sensitivity {res.sensitivity:.3g}"
        res.reasons = ["float output does not depend on the input"]
    elif not res.cosine >= MIN_COSINE:
        from tests.zoo.hf_diagnose import diagnose

        diagnose(res, model, calib, held_out, want, tmp / "diagnose", quiet)
