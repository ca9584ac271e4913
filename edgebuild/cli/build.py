"""`edgebuild build`: options from the recipe and the command line, a cached bundle when one matches, else the
Python API's build (edgebuild/api.py), which runs the pipeline (edgebuild/pipeline.py)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console

from .. import progress
from ..errors import EdgebuildError
from ..paths import default_out
from .export import export_bundle
from .parser import EXPORT_FORMATS


def _resolve_build_args(args: argparse.Namespace) -> None:
    """Fill args from the recipe (edgebuild.toml or --config) where the command line gave nothing, then defaults."""
    from ..compress.options import CompressOptions
    from ..recipe import PRUNE_DEFAULTS, find_recipe, load_recipe

    path = find_recipe(args.config)
    recipe = load_recipe(path) if path else {"build": {}, "compress": {}}
    b, c = recipe["build"], recipe["compress"]

    def pick(attr: str, key: str, default: object) -> None:
        if getattr(args, attr) is None:
            setattr(args, attr, b.get(key, default))

    for attr in ("model", "calib", "eval", "out", "input_shape", "model_class", "cache_dir"):
        pick(attr, attr, None)
    pick("float_layers", "float_layers", None)
    pick("target", "target", "host")
    pick("trust_model", "trust_model", False)
    pick("activations", "activations", "auto")
    if args.activations not in ("static", "dynamic", "auto"):
        raise EdgebuildError(
            f"{path}: [build] activations {args.activations!r} is not one of static, dynamic, auto"
        )
    pick("export", "export", [])
    if args.no_smoke is None:
        args.no_smoke = not b.get("smoke", True)
    if args.no_cache is None:
        args.no_cache = not b.get("cache", True)
    for fmt in args.export:
        if fmt not in EXPORT_FORMATS:
            raise EdgebuildError(f"{path}: [build] export {fmt!r} is not one of {', '.join(EXPORT_FORMATS)}")
    if args.model is None:
        raise EdgebuildError("no model: pass MODEL (edgebuild build model.pt) or set model in edgebuild.toml")
    for (
        key,
        default,
    ) in PRUNE_DEFAULTS.items():  # issue 5's options: the recipe applies where the CLI kept the default
        if key in c and getattr(args, key) == default:
            setattr(args, key, c[key])
    comp = CompressOptions(
        prune=args.prune,
        prune_scope=args.prune_scope,
        prune_sensitivity=args.prune_sensitivity,
        prune_gradual=args.prune_gradual,
        distill=args.distill,
        train_data=args.train_data,
        epochs=args.epochs,
        lr=args.lr,
        temperature=args.temperature,
        seed=args.seed,
    )
    for key in ("cluster_bits", "low_rank_energy", "low_rank_size", "finetune_epochs", "huffman", "max_drop"):
        cli = getattr(args, key)
        value = cli if cli is not None else c.get(key)
        if value is not None:
            setattr(comp, key, float(value) if key.startswith("low_rank") or key == "max_drop" else value)
    comp.check(args.activations)
    args.compress = comp
    args.recipe = str(path) if path else None


def _float_layers(args: argparse.Namespace) -> tuple[str, ...]:
    return tuple(n.strip() for n in (args.float_layers or "").split(",") if n.strip())


def _warm_build(args: argparse.Namespace, console: Console, err: Console) -> bool:
    """A cache hit, copied into place without importing torch or the pipeline (edgebuild/cache.py)."""
    from ..cache import BundleCache, Request
    from ..report import print_summary
    from ..targets import load_target

    req = Request(args.model, args.target, args.calib, args.eval, args.input_shape, args.model_class,
                  args.trust_model, not args.no_smoke, _float_layers(args), args.compress.key(), args.lean,
                  args.activations)  # fmt: skip
    target = load_target(args.target)
    if target.missing(run=req.smoke) or target.is_mcu:
        return False  # the full build names what is missing; firmware is not cached whole (mcu/firmware.py)
    cache = BundleCache.for_request(req, args.cache_dir)
    out = args.out or default_out(args.model, target.name)
    hit = cache.restore(out, log=lambda s: err.print(f"[dim]{s}[/dim]")) if cache else None
    if hit is None:
        return False
    for w in hit.warnings:
        err.print(f"[bold yellow]WARNING:[/bold yellow] [yellow]{w}[/yellow]")
    key = cache.key[:16] if cache else ""
    err.print(f"[dim]cached build {key}: inputs, options and toolchain unchanged[/dim]")
    print_summary(console, hit.out, hit.report, {})
    return True


def cmd_build(args: argparse.Namespace, console: Console, err: Console) -> int:
    from ..run import check_cpu

    _resolve_build_args(args)
    check_cpu(args.cpu)  # before the build: a misspelt core fails in a second, not after it
    if args.prune is not None or args.distill or args.sparse != "auto":
        args.no_cache = True  # the cache key does not cover compression options or training data
    if args.epochs < 1 or args.lr <= 0 or args.temperature <= 0:
        raise EdgebuildError("--epochs must be >= 1, --lr and --temperature > 0")
    if not args.no_cache and _warm_build(args, console, err):
        out = args.out or default_out(args.model, args.target)
        _record_cpu(out, args.cpu)
        export_bundle(out, args.export, console)
        return 0
    from ..api import build
    from ..report import print_summary
    from ..targets import load_target

    with progress.shown(err):  # bars on stderr when it is a terminal; stdout keeps the summary
        bundle = build(
            args.model,
            calib=args.calib,
            target=args.target,
            eval=args.eval,
            out=args.out or default_out(args.model, load_target(args.target).name),
            input_shape=args.input_shape,
            float_layers=_float_layers(args),
            model_class=args.model_class,
            trust_model=args.trust_model,
            smoke=not args.no_smoke,
            cache=not args.no_cache,
            cache_dir=args.cache_dir,
            sparse=args.sparse,
            compress=args.compress,
            lean=args.lean,
            activations=args.activations,
            cpu=args.cpu,
            max_ram=args.max_ram,
            max_flash=args.max_flash,
            log=lambda s: err.print(f"[dim]{s}[/dim]"),
            warn=lambda s: err.print(f"[bold yellow]WARNING:[/bold yellow] [yellow]{s}[/yellow]"),
        )
    print_summary(console, bundle.path, bundle.report, bundle.timings)
    export_bundle(bundle.path, args.export, console)
    return 0


def _record_cpu(out: Path, cpu: str | None) -> dict[str, Any]:
    """--cpu into the bundle's report (run and profile pass it to the runner); the report as it now is."""
    from ..bundle import read_report, record_cpu

    return record_cpu(out, cpu) if cpu is not None else read_report(out)
