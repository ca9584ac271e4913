"""build: the whole pipeline, model.pt -> build/<model>-<target>/ (model.ebm, edgebuild-run, report.json).

load -> capture -> quantize (PT2E) -> lower -> plan -> serialize -> compile the runner -> measure accuracy on the
host extension -> one smoke run on the target (qemu for ARM) -> report. The bundle is staged in a sibling folder
and renamed into place at the end, so a failed build never leaves a half-written bundle.
"""

from __future__ import annotations

import copy
import hashlib
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import __version__
from .calib import Dataset, load_dataset, parse_shape, random_dataset
from .capture import capture, exported_input_shapes, exported_integer_inputs, run_float
from .compress import CompressOptions
from .compress.options import GraphCompressOptions
from .compress.pipeline import compress_graph
from .errors import EdgebuildError
from .ir import Program
from .load import load_model
from .lower import lower_graph
from .paths import default_out
from .plan import ArenaPlan, plan_arena
from .quantize import quantize_model
from .serialize import artifact_bytes
from .targets import Target, describe_missing, load_target

MAX_FINETUNE_SAMPLES = 512  # calibration samples the compress stage distils on
MAX_CALIB_COMPARE = 256  # calibration samples compared float vs int8: enough for stable figures, quick
ARTIFACT = "model.ebm"
RUNNER = "edgebuild-run"
REPORT = "report.json"


@dataclass
class BuildOptions:
    model: Path
    target: str = "host"
    calib: Path | None = None
    input_shape: str | None = None
    out: Path | None = None
    eval: Path | None = None
    model_class: str | None = None
    trust_model: bool = False
    smoke: bool = True
    cache: bool = False  # reuse/record finished bundles (edgebuild/cache.py); the CLI turns it on
    cache_dir: Path | None = None  # default: cache_root()/bundles
    # Layers kept in float32 (module paths like "encoder.0.attn" or graph node names): lower/__init__.py
    float_layers: tuple[str, ...] = ()
    # pruning / distillation on the module (compress/prune_stage.py)
    compress: CompressOptions = field(default_factory=CompressOptions)
    # Dense-or-sparse kernels per layer: auto (cost model), always, never (edgebuild/sparse.py)
    sparse: str = "auto"
    sparse_block: tuple[int, int] | None = None  # block-CSR block; default: the --prune block, else 16x4
    # low-rank / weight sharing / Huffman / --max-drop on the captured graph (compress/pipeline.py)
    graph_compress: GraphCompressOptions = field(default_factory=GraphCompressOptions)


@dataclass
class BuildResult:
    out: Path
    report: dict[str, Any]
    program: Program
    plan: ArenaPlan
    timings: dict[str, float] = field(default_factory=dict)


Log = Callable[[str], None]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def native_model(data: bytes) -> Any:
    try:
        from . import _native
    except ImportError as e:
        raise EdgebuildError(
            f"edgebuild's host extension is not built ({e}); reinstall: pip install -e ."
        ) from e
    return _native.Model.from_bytes(data)


def accuracy_report(float_gm: torch.nn.Module, native: Any, data: Dataset) -> dict[str, Any]:
    """Float model vs int8 artifact (host extension): every evaluation sample, or up to MAX_CALIB_COMPARE
    calibration samples."""
    n = data.samples if data.labels is not None else min(data.samples, MAX_CALIB_COMPARE)
    f_all, q_all = [], []
    f_pred: list[int] = []
    q_pred: list[int] = []
    top1_same = f_correct = q_correct = 0
    classify = True
    for i in range(n):
        sample = data.sample(i)
        f = run_float(float_gm, sample)
        q = [np.asarray(o) for o in native.run(sample)]
        f_all.append(np.concatenate([o.ravel() for o in f]))
        q_all.append(np.concatenate([o.ravel() for o in q]))
        classify = classify and f[0].ndim == 2 and f[0].shape[0] == 1 and f[0].shape[1] > 1
        if classify:
            fa, qa = int(f[0].argmax()), int(q[0].argmax())
            top1_same += fa == qa
            f_pred.append(fa)
            q_pred.append(qa)
            if data.labels is not None:
                label = int(data.labels[i])
                f_correct += fa == label
                q_correct += qa == label
    fv, qv = np.concatenate(f_all).astype(np.float64), np.concatenate(q_all).astype(np.float64)
    denom = np.linalg.norm(fv) * np.linalg.norm(qv)
    rep: dict[str, Any] = {
        "data": "random" if data.random else data.source,
        "samples": n,
        "max_abs_error": float(np.max(np.abs(fv - qv))),
        "cosine_similarity": float(fv @ qv / denom) if denom > 0 else 1.0,
    }
    if classify:
        rep["top1_agreement"] = top1_same / n
        if data.labels is not None:
            rep["float_accuracy"] = 100.0 * f_correct / n
            rep["int8_accuracy"] = 100.0 * q_correct / n
            rep["accuracy_drop_points"] = rep["float_accuracy"] - rep["int8_accuracy"]
            classes = int(f[0].shape[1])
            labels = [int(v) for v in data.labels[:n]]
            rep["metrics"] = {
                "float": classification_metrics(labels, f_pred, classes),
                "int8": classification_metrics(labels, q_pred, classes),
            }
    return rep


def classification_metrics(y_true: list[int], y_pred: list[int], classes: int) -> dict[str, Any]:
    """Accuracy (percent), macro precision / recall / F1 (percent; a class never predicted counts 0) and the
    confusion matrix (rows: true class, columns: predicted), by scikit-learn."""
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    labels = list(range(max(classes, max(y_true, default=0) + 1)))
    p, r, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average="macro", zero_division=0
    )
    return {
        "accuracy": 100.0 * float(accuracy_score(y_true, y_pred)),
        "macro_precision": 100.0 * float(p),
        "macro_recall": 100.0 * float(r),
        "macro_f1": 100.0 * float(f1),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def _copy_graph(gm: torch.fx.GraphModule) -> torch.fx.GraphModule:
    with warnings.catch_warnings():  # torch's own pytree deprecation notice, raised while copying the graph
        warnings.simplefilter("ignore", FutureWarning)
        return copy.deepcopy(gm)


def float_weight_bytes(gm: torch.nn.Module) -> int:
    return sum(t.numel() * t.element_size() for t in gm.state_dict().values() if t.is_floating_point())


def smoke_run(
    target: Target, bundle: Path, sample: list[np.ndarray], expected: list[np.ndarray]
) -> dict[str, Any]:
    """One run of the bundle's runner on the target (qemu for ARM), compared byte for byte with the host
    extension's outputs for the same input."""
    from .run import device_for, run_runner

    device = device_for(target)
    with tempfile.TemporaryDirectory(prefix="edgebuild-smoke-") as tmp:
        ins = []
        for i, x in enumerate(sample):
            ins.append(Path(tmp) / f"input{i}.npy")
            np.save(ins[-1], x)
        outs = [Path(tmp) / f"output{i}.npy" for i in range(len(expected))]
        doc = run_runner(target, bundle / RUNNER, bundle / ARTIFACT, ins, outs, device=device)
        got = [np.load(p) for p in outs]
    identical = all(
        g.dtype == e.dtype and g.shape == e.shape and g.tobytes() == e.tobytes()
        for g, e in zip(got, expected)
    )
    return {
        "device": device.name,
        "emulated": target.needs_emulator,
        "bit_identical_to_host": identical,
        "outputs": doc.get("outputs", []),
        "arena_bytes": doc.get("memory", {}).get("arena_bytes"),
        "tracked_bytes": doc.get("memory", {}).get("tracked_bytes"),
    }


def build(opts: BuildOptions, log: Log = lambda s: None, warn: Log = lambda s: None) -> BuildResult:
    """The whole pipeline; with `opts.cache`, a verified copy of an identical earlier build when there is one."""
    if not opts.cache or opts.compress.active or opts.sparse != "auto" or opts.sparse_block is not None:
        # compressed builds are not cached: the key covers neither these options nor the training data
        return _build(opts, log, warn, None)
    from .cache import BundleCache, Request

    target = load_target(opts.target)
    missing = target.missing(run=opts.smoke)
    if missing:
        raise EdgebuildError(f"cannot build for {target.name}: {describe_missing(missing)}")
    cache = BundleCache.for_request(Request.from_options(opts), opts.cache_dir)
    if cache is None:
        return _build(opts, log, warn, None)
    out = opts.out or default_out(opts.model, target.name)
    with cache.locked():  # a concurrent build of the same key waits here, then copies our entry
        hit = cache.restore(out, log)
        if hit is not None:
            for w in hit.warnings:
                warn(w)
            log(f"cached build {cache.key[:16]}: inputs, options and toolchain unchanged")
            data = (out / ARTIFACT).read_bytes()
            from .serialize import read_artifact

            program = read_artifact(data)
            return BuildResult(out, hit.report, program, plan_arena(program), {"cached": 0.0})
        return _build(opts, log, warn, cache)


def _build(opts: BuildOptions, log: Log, warn: Log, cache: Any) -> BuildResult:
    warnings: list[str] = []  # recorded with a cache entry, so a warm build repeats them
    if cache is not None:
        warn = _recording(warn, warnings)

    timings: dict[str, float] = {}
    t0 = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal t0
        now = time.perf_counter()
        timings[stage] = now - t0
        t0 = now

    target = load_target(opts.target)
    missing = target.missing(run=opts.smoke)
    if missing:
        raise EdgebuildError(f"cannot build for {target.name}: {describe_missing(missing)}")

    loaded = load_model(opts.model, model_class=opts.model_class, trust_model=opts.trust_model)
    fixed = exported_input_shapes(loaded)
    n_inputs = len(fixed) if fixed is not None else 1
    if opts.calib is not None:
        calib = load_dataset(opts.calib, n_inputs)
    elif exported_integer_inputs(loaded):
        raise EdgebuildError(
            f"the model has integer inputs {exported_integer_inputs(loaded)} (token ids): random calibration "
            "cannot make valid ids; pass --calib samples.npz with integer arrays x0, x1, ..."
        )
    elif opts.input_shape is not None:
        shape = parse_shape(opts.input_shape)
        if shape[0] != 1:
            raise EdgebuildError(f"--input-shape {opts.input_shape}: the batch dimension must be 1")
        if fixed is not None and [shape] != fixed:
            raise EdgebuildError(
                f"--input-shape {shape} differs from the exported model's input shape(s) {fixed}"
            )
        calib = random_dataset([shape])
        warn(
            "no --calib data: calibrating on RANDOM inputs. The int8 ranges will not fit real data and every "
            "accuracy figure below is meaningless. Pass --calib samples.npz for a real build."
        )
    elif fixed is not None:
        calib = random_dataset(fixed)
        warn(
            "no --calib data: calibrating on RANDOM inputs of the exported shape. Accuracy figures are "
            "meaningless. Pass --calib samples.npz for a real build."
        )
    else:
        raise EdgebuildError(
            "no calibration data: pass --calib samples.npz, or --input-shape 1,C,H,W for random "
            "(accuracy-free) calibration"
        )
    eval_data = load_dataset(opts.eval, n_inputs, labelled=True) if opts.eval else None
    lap("load")

    example = calib.sample(0)
    compress_report: dict[str, Any] | None = None
    teacher_gm = None
    if opts.compress.active:
        from .compress import compress_model

        loaded, teacher, compress_report = compress_model(loaded, calib, eval_data, opts.compress, log)
        teacher_gm = capture(type(loaded)(loaded.path, loaded.format, module=teacher), example)
        lap("compress")
    float_gm = capture(loaded, example)
    lap("capture")
    comp = opts.graph_compress
    comp.check()
    if comp.max_drop is not None and (eval_data is None or eval_data.labels is None):
        raise EdgebuildError(
            "--max-drop needs labelled evaluation data: pass --eval data.npz with arrays x and y"
        )
    samples: list[tuple[torch.Tensor, ...]] = []
    if comp.transforms_graph:
        if calib.random:
            warn(
                "compressing with RANDOM calibration data: distillation fits noise. Pass --calib samples.npz."
            )
        samples = [
            tuple(torch.from_numpy(x) for x in calib.sample(i))
            for i in range(min(calib.samples, MAX_FINETUNE_SAMPLES))
        ]

    def make(
        keep: frozenset[str] = frozenset(), floats: tuple[str, ...] = ()
    ) -> tuple[torch.nn.Module, dict[str, Any] | None, Program]:
        """compress (optional) -> quantize -> lower, leaving the weights in `keep` uncompressed and the layers in
        `floats` (with opts.float_layers) in float32."""
        compressed: torch.fx.GraphModule = float_gm
        rep = None
        if comp.transforms_graph:
            log("compressing (low-rank / weight sharing / distillation from the original model)")
            compressed, rep = compress_graph(float_gm, samples, comp, keep)
            lap("compress")
        float_layers = tuple(opts.float_layers) + floats
        log(f"quantizing with {calib.samples} calibration sample(s)")
        qgm = quantize_model(
            _copy_graph(
                compressed
            ),  # PT2E rewrites its argument; a copy is ~10x cheaper than exporting again
            (tuple(torch.from_numpy(x) for x in calib.sample(i)) for i in range(calib.samples)),
            float_layers=float_layers,
            shared_weight_scale=set(rep["shared_layers"]) if rep else False,
        )
        lap("quantize")
        prog = lower_graph(qgm, name=opts.model.stem, float_layers=float_layers)
        lap("lower")
        return compressed, rep, prog

    budget = None
    if comp.max_drop is not None:
        assert eval_data is not None
        reference = teacher_gm or float_gm
        compressed_gm, comp_report, program, budget = _meet_budget(make, reference, eval_data, comp, log)
    else:
        compressed_gm, comp_report, program = make()
    sparse_report = _choose_sparse(program, target.name, opts)
    plan = plan_arena(program)
    program.metadata.update({"target": target.name, "edgebuild_version": __version__})
    data = artifact_bytes(program, huffman=comp.huffman)
    lap("plan+serialize")

    runner_path = _build_runner(target, log)
    lap("compile")

    out = opts.out or default_out(opts.model, target.name)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        (stage / ARTIFACT).write_bytes(data)
        shutil.copy2(runner_path, stage / RUNNER)
        os.chmod(stage / RUNNER, 0o755)

        native = native_model(data)
        acc = accuracy_report(float_gm, native, eval_data or calib)
        if eval_data is None and calib.random:
            acc["meaningless"] = "random calibration data"
        if compress_report is not None and teacher_gm is not None:
            # The float figures above are the compressed model's; these compare with the original.
            acc["against_original_float"] = accuracy_report(teacher_gm, native, eval_data or calib)
        lap("accuracy")
        smoke = None
        if opts.smoke:
            sample = (eval_data or calib).sample(0)
            host_out = [np.asarray(o) for o in native.run(sample)]
            smoke = smoke_run(target, stage, sample, host_out)
            if not smoke["bit_identical_to_host"]:
                raise EdgebuildError(
                    f"the {target.name} runner's outputs differ from the host's for the same "
                    "input: this is an edgebuild bug, please report it"
                )
            lap("smoke run")

        report = make_report(
            opts,
            loaded.format,
            target,
            program,
            plan,
            data,
            stage / RUNNER,
            teacher_gm or float_gm,
            acc,
            smoke,
        )
        if compress_report is not None:
            report["compress"] = compress_report
        report["sparse"] = sparse_report
        report["compression"] = compression_report(
            teacher_gm or float_gm, compressed_gm, comp_report or compress_report, program, data
        )
        if budget is not None:
            report["accuracy_budget"] = budget
        from .report import write_build_html, write_json

        write_json(stage / "report.json", report)
        write_build_html(stage / "report.html", report)
        if cache is not None:
            try:
                cache.store(stage, warnings, timings)
            except OSError as e:  # a full or read-only cache must not fail a good build
                warn(f"could not record the build in the cache: {e}")
        _replace_dir(stage, out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return BuildResult(out, report, program, plan, timings)


def _top1(predict: Callable[[list[np.ndarray]], np.ndarray], data: Dataset) -> float:
    assert data.labels is not None
    hits = sum(
        int(np.asarray(predict(data.sample(i))).argmax()) == int(data.labels[i]) for i in range(data.samples)
    )
    return 100.0 * hits / data.samples


def _module_of(weight: str) -> str:
    """ "encoder.0.fc.weight" -> "encoder.0.fc": the module path float_layers names."""
    return weight.rsplit(".", 1)[0]


def _meet_budget(
    make: Callable[[frozenset[str], tuple[str, ...]], tuple[torch.nn.Module, dict[str, Any] | None, Program]],
    float_gm: torch.nn.Module,
    eval_data: Dataset,
    comp: GraphCompressOptions,
    log: Log,
) -> tuple[torch.nn.Module, dict[str, Any] | None, Program, dict[str, Any]]:
    """--max-drop: the search of compress/budget.py, each trial a real artifact measured by the runtime."""
    from .compress.budget import Config, Trial, meet_budget
    from .compress.pipeline import compressible_layers
    from .serialize import Section, section_sizes

    assert comp.max_drop is not None
    float_acc = _top1(lambda s: run_float(float_gm, s)[0], eval_data)
    built: dict[Config, tuple[torch.nn.Module, dict[str, Any] | None, Program]] = {}

    def evaluate(cfg: Config) -> Trial:
        # A float layer keeps its original weights: it is left out of compression as well.
        floats = tuple(sorted(_module_of(w) for w in cfg.floats))
        compressed, rep, program = make(cfg.uncompressed | cfg.floats, floats)
        plan_arena(program)
        data = artifact_bytes(program, huffman=comp.huffman)
        native = native_model(data)
        acc = _top1(lambda s: native.run(s)[0], eval_data)
        sizes = section_sizes(data)
        built[cfg] = (compressed, rep, program)
        return Trial(
            cfg, float_acc - acc, sizes.get(Section.CODED_CONSTANTS, sizes.get(Section.CONSTANTS, 0))
        )

    layers = compressible_layers(float_gm)
    # The ladder's last rung: float fallback kernels (lower/__init__.py), for layers that are modules of the model.
    result = meet_budget(evaluate, layers, comp.max_drop, [w for w in layers if "." in w], log)
    compressed, rep, program = built[result.chosen.config]
    return compressed, rep, program, result.report(comp.max_drop, result.trials[0])


def _choose_sparse(program: Program, target: str, opts: BuildOptions) -> dict[str, Any]:
    from .compress.prune import PruneSpec
    from .sparse import CostModel, choose_sparse, report_section

    block = opts.sparse_block
    if block is None and opts.compress.prune is not None:
        spec = PruneSpec.parse(opts.compress.prune)
        block = spec.block if spec.method == "block" else None
    block = block or (16, 4)
    costs = CostModel.load()
    return report_section(
        choose_sparse(program, target, block=block, mode=opts.sparse, costs=costs), costs, block
    )


def _recording(warn: Log, into: list[str]) -> Log:
    def record(s: str) -> None:
        into.append(s)
        warn(s)

    return record


def _build_runner(target: Target, log: Log) -> Path:
    from .compile import build_runner

    log(f"compiling edgebuild-run for {target.name} (cached after the first build)")
    return build_runner(target)


def _replace_dir(stage: Path, out: Path) -> None:
    """Move the finished bundle into place; an old bundle is removed only once the new one is complete (safe when
    two builds write the same `out` at once: see cache._replace_dir)."""
    from .cache import _replace_dir as replace

    stage.chmod(0o755)  # mkdtemp made it private; a bundle is meant to be copied to devices and shared
    replace(stage, out)


def compression_report(
    float_gm: torch.nn.Module,
    compressed_gm: torch.nn.Module,
    comp: dict[str, Any] | None,
    program: Program,
    data: bytes,
) -> dict[str, Any]:
    """Bytes after each stage, as in Deep Compression's tables: float32 -> compressed float (low-rank / pruned: its
    non-zero weights) -> int8 constants (quantized / clustered) -> Huffman-coded constants (when on)."""
    from .compress.pipeline import weight_stats
    from .serialize import Section, section_sizes

    fp32 = float_weight_bytes(float_gm)
    stages: list[dict[str, Any]] = [{"stage": "float32", "bytes": fp32}]
    if comp is not None:
        # The float32 values left after low-rank / weight sharing / BN folding, zero weights not counted (what a
        # sparse float format would hold; pruned models have many).
        ws = weight_stats(compressed_gm)
        nonzero = ws["float_values"] - ws["weights"] + ws["nonzero_weights"]
        stages.append({"stage": "compressed float32 (non-zero values)", "bytes": 4 * nonzero})
    stages.append({"stage": "int8 constants (quantized / clustered)", "bytes": program.weights_bytes()})
    sizes = section_sizes(data)
    if Section.CODED_CONSTANTS in sizes:
        stages.append({"stage": "Huffman-coded constants", "bytes": sizes[Section.CODED_CONSTANTS]})
    for st in stages:
        st["compression"] = round(fp32 / st["bytes"], 2) if st["bytes"] else None
    out: dict[str, Any] = {"stages": stages, "artifact_bytes": len(data)}
    if comp is not None:
        out["details"] = comp
    return out


def make_report(
    opts: BuildOptions,
    fmt: str,
    target: Target,
    program: Program,
    plan: ArenaPlan,
    data: bytes,
    runner: Path,
    float_gm: torch.nn.Module,
    acc: dict[str, Any],
    smoke: dict[str, Any] | None,
) -> dict[str, Any]:
    fp32 = float_weight_bytes(float_gm)
    int8 = program.weights_bytes()
    inputs = [program.tensors[i] for i in program.inputs]
    outputs = [program.tensors[i] for i in program.outputs]
    return {
        "schema": "edgebuild.report/1",
        "edgebuild_version": __version__,
        "model": {
            "name": opts.model.stem,
            "format": fmt,
            "sha256": _sha256(opts.model.read_bytes()),
            "inputs": [{"name": t.name, "shape": list(t.shape)} for t in inputs],
            "outputs": [{"name": t.name, "shape": list(t.shape)} for t in outputs],
        },
        "target": {"name": target.name, "triple": target.triple, "description": target.description},
        "artifact": {"file": ARTIFACT, "bytes": len(data), "sha256": _sha256(data)},
        "runner": {"file": RUNNER, "bytes": runner.stat().st_size, "static": target.static},
        "size": {
            "float32_weights_bytes": fp32,
            "int8_weights_bytes": int8,
            "compression": round(fp32 / int8, 3) if int8 else None,
        },
        "ops": program.op_counts(),
        # every op lowered to the float fallback, with why (lower/__init__.py) and its source line
        "float_ops": program.metadata.get("float_ops", []),
        "memory": {
            "arena_bytes": plan.arena_bytes,
            "arena_lower_bound_bytes": plan.lower_bound,
            "weights_bytes": int8,
        },
        "accuracy": acc,
        "smoke_run": smoke,
    }
