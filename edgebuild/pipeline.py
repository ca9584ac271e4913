"""build: the whole pipeline, model.pt -> build/<model>-<target>/ (model.ebm, edgebuild-run, report.json).

This module only sequences the stages (DESIGN.md "The pipeline"), each its own module:

    load (load.py; data: calib.py) -> capture + compress (compress/pipeline.py) -> quantize (quantize.py) ->
    lower (lower/) -> sparse kernels (sparse.py) -> plan (plan.py) -> serialize (serialize.py) -> compile the runner
    (compile.py) -> accuracy on the host extension and one smoke run on the target (evaluate.py) -> report (report/)

The bundle is staged in a sibling folder and renamed into place at the end, so a failed build never leaves a
half-written bundle.
"""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.fx import GraphModule

from . import __version__
from .bundle import ARTIFACT, REPORT, RUNNER
from .calib import source_data
from .compress.options import CompressOptions
from .compress.pipeline import compress
from .errors import EdgebuildError
from .evaluate import accuracy_section, native_model, smoke_test
from .ir import Program
from .load import LoadedModel, load_model
from .lower import lower_graph
from .mcu.firmware import FIRMWARE
from .paths import default_out
from .plan import ArenaPlan, plan_arena
from .quantize import quantize_model
from .serialize import artifact_bytes
from .targets import Target, describe_missing, load_target

__all__ = ["ARTIFACT", "REPORT", "RUNNER", "BuildOptions", "BuildResult", "build", "native_model"]


@dataclass
class BuildOptions:
    # A model file, or a model held in memory (edgebuild/api.py: its `path` names a file identifying its program)
    model: Path | LoadedModel
    target: str = "host"
    calib: Any = None  # a .npz/.npy/.pt path, or data held in memory (calib.read_data)
    input_shape: str | None = None
    out: Path | None = None
    eval: Any = None  # as calib, with labels
    model_class: str | None = None
    trust_model: bool = False
    smoke: bool = True
    cache: bool = False  # reuse/record finished bundles (edgebuild/cache.py); the CLI turns it on
    cache_dir: Path | None = None  # default: cache_root()/bundles
    # Layers kept in float32 (module paths like "encoder.0.attn" or graph node names): lower/__init__.py
    float_layers: tuple[str, ...] = ()
    # pruning / distillation, low-rank / weight sharing / Huffman / --max-drop (compress/)
    compress: CompressOptions = field(default_factory=CompressOptions)
    # Dense-or-sparse kernels per layer: auto (cost model), always, never (edgebuild/sparse.py)
    sparse: str = "auto"
    sparse_block: tuple[int, int] | None = None  # block-CSR block; default: the --prune block, else 16x4
    lean: bool = False  # a runner with only this model's ops (compile.py; docs/footprint.md)
    # Linear layers' activations: static (PT2E per-tensor int8), dynamic (DYNAMIC_FULLY_CONNECTED: per row at run
    # time), auto (dynamic in transformers, static otherwise; per layer under --max-drop): quantize.py
    activations: str = "auto"
    # Microcontroller targets: gates on the firmware's RAM (arena + static data + stack) and flash (code + weights),
    # in bytes, beside the target file's budgets (edgebuild/mcu/build.py)
    max_ram: int | None = None
    max_flash: int | None = None


@dataclass
class BuildResult:
    out: Path
    report: dict[str, Any]
    program: Program
    plan: ArenaPlan
    timings: dict[str, float] = field(default_factory=dict)


Log = Callable[[str], None]


def build(opts: BuildOptions, log: Log = lambda s: None, warn: Log = lambda s: None) -> BuildResult:
    """The whole pipeline; with `opts.cache`, a verified copy of an identical earlier build when there is one."""
    if (
        not opts.cache
        or not _from_files(opts)
        or load_target(
            opts.target
        ).is_mcu  # firmware is not cached whole (its kernel objects are: mcu/firmware.py)
        or opts.compress.transforms_module
        or opts.sparse != "auto"
        or opts.sparse_block is not None
    ):
        # pruned / distilled builds are not cached: the key covers neither these options nor the training data
        return _build(opts, log, warn, None)
    from .cache import BundleCache, Request

    target = _target(opts)
    cache = BundleCache.for_request(Request.from_options(opts), opts.cache_dir)
    if cache is None:
        return _build(opts, log, warn, None)
    assert isinstance(opts.model, Path)  # _from_files
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

    target = _target(opts)
    from .mcu.build import check_gates, check_options

    check_gates(opts.max_ram, opts.max_flash, target)
    if target.is_mcu:  # what cannot apply to firmware is refused before any work; the rest works as elsewhere
        comp = opts.compress
        check_options(
            target,
            huffman=bool(comp.huffman),
            sparse=opts.sparse,
            activations=opts.activations,
            max_drop_alone=comp.max_drop is not None and not comp.transforms_graph,
        )
        # dense kernels only, static activations (auto would pick dynamic for a transformer's linear layers)
        opts = copy.copy(opts)
        opts.sparse = "never"
        opts.activations = "static" if opts.activations == "auto" else opts.activations
    if isinstance(opts.model, LoadedModel):
        loaded = opts.model
    else:
        loaded = load_model(
            opts.model,
            model_class=opts.model_class,
            trust_model=opts.trust_model,
            input_shape=opts.input_shape,
            calib=opts.calib,
        )
    for note in loaded.notes:
        warn(note)
    calib, eval_data = source_data(loaded, opts.calib, opts.eval, opts.input_shape, warn)
    lap("load")

    def to_program(
        gm: GraphModule,
        floats: tuple[str, ...],
        shared: set[str] | bool,
        dynamic: tuple[str, ...] | None = None,
    ) -> Program:
        """quantize -> lower, the layers in `floats` (with opts.float_layers) kept in float32; `shared`: the
        weight-shared layers, which get one weight scale each; `dynamic`: the linear layers quantized at run time
        (the --max-drop search's choice), or None for what opts.activations picks."""
        float_layers = tuple(opts.float_layers) + floats
        log(f"quantizing with {calib.samples} calibration sample(s)")
        qgm = quantize_model(
            _copy_graph(gm),  # PT2E rewrites its argument; a copy is ~10x cheaper than exporting again
            (tuple(torch.from_numpy(x) for x in calib.sample(i)) for i in range(calib.samples)),
            float_layers=float_layers,
            shared_weight_scale=shared,
            activations=opts.activations if dynamic is None else "static",
            dynamic_layers=dynamic or (),
        )
        lap("quantize")
        prog = lower_graph(qgm, name=loaded.path.stem, float_layers=float_layers)
        lap("lower")
        return prog

    # capture happens inside compress: pruning and distillation work on the module, before it
    compressed = compress(
        loaded, calib, eval_data, opts.compress, to_program, log, warn, lap, activations=opts.activations
    )
    program = compressed.program
    sparse_report = _choose_sparse(program, target.name, opts)
    plan = plan_arena(program)
    program.metadata.update(
        {"target": target.name, "edgebuild_version": __version__, "activations": opts.activations}
    )
    data = artifact_bytes(program, huffman=opts.compress.huffman)
    lap("plan+serialize")

    runner_path = None
    if not target.is_mcu:  # a microcontroller gets firmware instead, built in the stage below
        runner_path = _build_runner(
            target, log, {op.opcode.name for op in program.ops} if opts.lean else None
        )
        lap("compile")

    out = opts.out or default_out(loaded.path, target.name)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        (stage / ARTIFACT).write_bytes(data)
        if runner_path is not None:
            shutil.copy2(runner_path, stage / RUNNER)
            os.chmod(stage / RUNNER, 0o755)

        native = native_model(data)
        smoke = None
        mcu_section = None
        if target.is_mcu:
            from .mcu.build import build_mcu

            sample = (eval_data or calib).sample(0) if opts.smoke else None
            mcu_section, smoke = build_mcu(
                target,
                program,
                stage,
                native,
                sample,
                model_name=loaded.path.stem,
                max_ram=opts.max_ram,
                max_flash=opts.max_flash,
                log=log,
            )
            lap("firmware + smoke run" if opts.smoke else "firmware")
        acc = accuracy_section(compressed, native, calib, eval_data)
        lap("accuracy")
        if opts.smoke and not target.is_mcu:
            sample = (eval_data or calib).sample(0)
            smoke = smoke_test(target, stage / RUNNER, stage / ARTIFACT, native, sample)
            lap("smoke run")

        from .report import make_report, write_build_html, write_json

        report = make_report(
            loaded.path,
            loaded.format,
            target,
            program,
            plan,
            data,
            ARTIFACT,
            stage / (FIRMWARE if target.is_mcu else RUNNER),
            compressed,
            acc,
            smoke,
            sparse_report,
        )
        if mcu_section is not None:
            report["mcu"] = mcu_section
        write_json(stage / REPORT, report)
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


def _from_files(opts: BuildOptions) -> bool:
    """The model and its data are files: what the cache keys (a model or data held in memory is not cached)."""
    return isinstance(opts.model, Path) and all(
        d is None or isinstance(d, Path) for d in (opts.calib, opts.eval)
    )


def _target(opts: BuildOptions) -> Target:
    target = load_target(opts.target)
    missing = target.missing(run=opts.smoke)
    if missing:
        raise EdgebuildError(f"cannot build for {target.name}: {describe_missing(missing)}")
    return target


def _copy_graph(gm: GraphModule) -> GraphModule:
    with warnings.catch_warnings():  # torch's own pytree deprecation notice, raised while copying the graph
        warnings.simplefilter("ignore", FutureWarning)
        return copy.deepcopy(gm)


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


def _build_runner(target: Target, log: Log, ops: set[str] | None = None) -> Path:
    from .compile import build_runner, lean_ops

    log(f"compiling edgebuild-run for {target.name} (cached after the first build)")
    return build_runner(target, ops=None if ops is None else lean_ops(ops))


def _replace_dir(stage: Path, out: Path) -> None:
    """Move the finished bundle into place; an old bundle is removed only once the new one is complete (safe when
    two builds write the same `out` at once: see cache._replace_dir)."""
    from .cache import _replace_dir as replace

    stage.chmod(0o755)  # mkdtemp made it private; a bundle is meant to be copied to devices and shared
    replace(stage, out)
