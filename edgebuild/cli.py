"""edgebuild's command line: build (the default), run, profile, export, targets. Nothing imports this module.

Every expected failure is an EdgebuildError: one line on stderr, exit 1 (usage errors exit 2, as argparse does).
`--debug` shows the Python traceback instead.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from rich.console import Console

from .errors import EdgebuildError
from .paths import default_out

# = edgebuild/export/__init__.py FORMATS (cli.py imports no pipeline module before it runs a command)
EXPORT_FORMATS = ("tflite", "onnx")
COMMANDS = ("build", "run", "profile", "targets", "export")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="edgebuild",
        description="Build a trained PyTorch model into an int8 program for an ARM device, and run it.",
        epilog="`edgebuild MODEL ...` is short for `edgebuild build MODEL ...`.",
    )
    p.add_argument("--debug", action="store_true", help="show Python tracebacks for errors")
    sub = p.add_subparsers(dest="command")

    b = sub.add_parser("build", help="model.pt -> build/<model>-<target>/ (artifact, runner, report)")
    b.add_argument(
        "model",
        type=Path,
        nargs="?",
        help="torch.export archive, TorchScript, or state_dict (with --model-class); or `model` in the recipe",
    )
    b.add_argument(
        "--config", type=Path, help="recipe file (default: ./edgebuild.toml if present); CLI overrides it"
    )
    b.add_argument("--target", help="host (default), arm64, armv7 (see `edgebuild targets`)")
    b.add_argument("--calib", type=Path,
                   help=".npz/.npy/.pt calibration samples (first dim = samples); several inputs: arrays x0, x1, "
                        "... in the model's argument order; integer arrays for token-id inputs")  # fmt: skip
    b.add_argument(
        "--input-shape", help="e.g. 1,3,32,32: calibrate on random data (accuracy is then meaningless)"
    )
    b.add_argument(
        "--eval", type=Path, help=".npz with x and labels y: accuracy, macro P/R/F1, confusion, float vs int8"
    )
    b.add_argument("--out", type=Path, help="bundle folder (default build/<model>-<target>)")
    b.add_argument("--model-class", help="package.module:Class for a state_dict file")
    b.add_argument(
        "--trust-model",
        action="store_true",
        default=None,
        help="allow unpickling a whole pickled module (runs code from the file)",
    )
    b.add_argument("--no-smoke", action="store_true", default=None, help="skip the smoke run on the target")
    b.add_argument("--float-layers", metavar="A,B",
                   help="keep these layers float32 (module paths such as encoder.0.attn, or graph node names)")  # fmt: skip
    b.add_argument("--export", action="append", default=None, choices=EXPORT_FORMATS,
                   help="also write model.tflite / model.onnx into the bundle (repeatable)")  # fmt: skip
    b.add_argument(
        "--no-cache",
        action="store_true",
        default=None,
        help="build from scratch; do not read or record the cache",
    )
    c = b.add_argument_group("compression (docs/compression.md)")
    c.add_argument(
        "--cluster-bits", type=int, help="k-means weight sharing: 2^BITS shared values per layer (2..8)"
    )
    c.add_argument(
        "--low-rank-energy", type=float, help="SVD-factorize linear/conv layers keeping this energy"
    )
    c.add_argument("--low-rank-size", type=float, help="... or to this fraction of each layer's parameters")
    c.add_argument(
        "--finetune-epochs", type=int, help="distillation epochs on --calib after compressing (default 2)"
    )
    c.add_argument("--max-drop", type=float,
                   help="accuracy budget (points, needs --eval): keep the most sensitive layers less compressed")  # fmt: skip
    c.add_argument("--huffman", action=argparse.BooleanOptionalAction, default=None,
                   help="Huffman-code the constants in the artifact (decoded at load)")  # fmt: skip
    b.add_argument("--cache-dir", type=Path, help="build cache folder (default $EDGEBUILD_CACHE/bundles)")
    g = b.add_argument_group("pruning and recovery (compressed builds are not cached)")
    g.add_argument(
        "--prune",
        metavar="SPEC",
        help="unstructured:S, block:S, blockRxC:S (e.g. block16x4:0.9), N:M (e.g. 2:4), channel:S",
    )
    g.add_argument(
        "--prune-scope",
        choices=("layer", "global"),
        default="layer",
        help="the sparsity per layer, or over all prunable weights (magnitudes normalised per layer)",
    )
    g.add_argument(
        "--prune-sensitivity",
        action="store_true",
        help="pick per-layer sparsities from a sensitivity scan, meeting the --prune sparsity overall",
    )
    g.add_argument(
        "--prune-gradual",
        action="store_true",
        help="with --distill: reach the sparsity gradually while training (cubic schedule)",
    )
    g.add_argument(
        "--sparse",
        choices=("auto", "always", "never"),
        default="auto",
        help="sparse int8 kernels per layer: where the cost model predicts a gain (auto), always, never",
    )
    g.add_argument(
        "--distill",
        action="store_true",
        help="recover accuracy: QAT fine-tuning against the original model as teacher",
    )
    g.add_argument(
        "--train-data",
        type=Path,
        help=".npz with x (and optional labels y) for --distill (default: the calibration data)",
    )
    g.add_argument("--epochs", type=int, default=10, help="--distill epochs (default 10)")
    g.add_argument("--lr", type=float, default=1e-3, help="--distill learning rate (Adam, default 1e-3)")
    g.add_argument("--temperature", type=float, default=4.0, help="--distill softmax temperature (default 4)")
    g.add_argument("--seed", type=int, default=0, help="--distill seed (batch order; default 0)")
    b.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    r = sub.add_parser("run", help="run a bundle on its target (qemu for ARM bundles)")
    r.add_argument("bundle", type=Path)
    r.add_argument(
        "--input", action="append", type=Path, default=[], help=".npy input (once per model input)"
    )
    r.add_argument("--output", action="append", type=Path, default=[], help=".npy output file(s) to write")
    r.add_argument("--device", help="local or qemu (default: local for host bundles, qemu for ARM)")
    r.add_argument("--iterations", type=int, default=1)
    r.add_argument("--warmup", type=int, default=0)
    r.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    from .profile import add_profile_arguments

    add_profile_arguments(
        sub.add_parser("profile", help="per-op latency, memory and size of a bundle on a device")
    )

    x = sub.add_parser("export", help="a bundle's model as .tflite (LiteRT) or ONNX (QDQ)")
    x.add_argument("bundle", type=Path, help="bundle folder or .ebm file")
    x.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    x.add_argument("--out", type=Path, help="output file (default: model.<format> next to model.ebm)")
    x.add_argument("--io", choices=("float", "int8"), default="float",
                   help="graph inputs/outputs: float32 as edgebuild's (default) or the int8 tensors")  # fmt: skip
    x.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    t = sub.add_parser("targets", help="list targets and what this machine lacks to build for each")
    t.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return p


def _resolve_build_args(args: argparse.Namespace) -> None:
    """Fill args from the recipe (edgebuild.toml or --config) where the command line gave nothing, then defaults."""
    from .compress.options import CompressOptions
    from .recipe import PRUNE_DEFAULTS, find_recipe, load_recipe

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
    comp.check()
    args.compress = comp
    args.recipe = str(path) if path else None


def _float_layers(args: argparse.Namespace) -> tuple[str, ...]:
    return tuple(n.strip() for n in (args.float_layers or "").split(",") if n.strip())


def _warm_build(args: argparse.Namespace, console: Console, err: Console) -> bool:
    """A cache hit, copied into place without importing torch or the pipeline (edgebuild/cache.py)."""
    from .cache import BundleCache, Request
    from .report import print_summary
    from .targets import load_target

    req = Request(args.model, args.target, args.calib, args.eval, args.input_shape, args.model_class,
                  args.trust_model, not args.no_smoke, _float_layers(args), args.compress.key())  # fmt: skip
    target = load_target(args.target)
    if target.missing(run=req.smoke):
        return False  # the full build names what is missing
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
    _resolve_build_args(args)
    if args.prune is not None or args.distill or args.sparse != "auto":
        args.no_cache = True  # the cache key does not cover compression options or training data
    if args.epochs < 1 or args.lr <= 0 or args.temperature <= 0:
        raise EdgebuildError("--epochs must be >= 1, --lr and --temperature > 0")
    if not args.no_cache and _warm_build(args, console, err):
        _export_bundle(args.out or default_out(args.model, args.target), args.export, console)
        return 0
    from .build import BuildOptions, build
    from .report import print_summary

    opts = BuildOptions(
        model=args.model,
        target=args.target,
        calib=args.calib,
        input_shape=args.input_shape,
        out=args.out,
        eval=args.eval,
        model_class=args.model_class,
        trust_model=args.trust_model,
        smoke=not args.no_smoke,
        cache=not args.no_cache,
        cache_dir=args.cache_dir,
        float_layers=_float_layers(args),
        compress=replace(args.compress, progress=err.is_terminal),
        sparse=args.sparse,
    )
    result = build(
        opts,
        log=lambda s: err.print(f"[dim]{s}[/dim]"),
        warn=lambda s: err.print(f"[bold yellow]WARNING:[/bold yellow] [yellow]{s}[/yellow]"),
    )
    print_summary(console, result.out, result.report, result.timings)
    _export_bundle(result.out, args.export, console)
    return 0


def _export_bundle(bundle: Path, formats: list[str], console: Console) -> None:
    from .export import export_file

    for fmt in formats:
        console.print(f"exported {export_file(bundle, fmt, bundle / f'model.{fmt}')}")


def cmd_export(args: argparse.Namespace, console: Console, err: Console) -> int:
    from .export import export_file

    src = args.bundle.parent if args.bundle.suffix == ".ebm" else args.bundle
    out = args.out or src / f"model.{args.format}"
    console.print(f"exported {export_file(args.bundle, args.format, out, io=args.io)}")
    return 0


def _load_bundle(bundle: Path) -> dict:
    report = bundle / "report.json"
    if not (bundle / "model.ebm").is_file() or not report.is_file():
        raise EdgebuildError(
            f"{bundle} is not an edgebuild bundle (no model.ebm / report.json); build one with "
            "`edgebuild --target TARGET model.pt --out DIR`"
        )
    try:
        return json.loads(report.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise EdgebuildError(f"{report} is unreadable ({e}); rebuild the bundle") from e


def cmd_run(args: argparse.Namespace, console: Console, err: Console) -> int:
    from .run import device_for, run_runner
    from .targets import load_target

    report = _load_bundle(args.bundle)
    target = load_target(report["target"]["name"])
    expected = len(report["model"]["inputs"])
    if len(args.input) != expected:
        raise EdgebuildError(f"the model has {expected} input(s); pass --input x.npy {expected} time(s)")
    for x in args.input:
        if not x.is_file():
            raise EdgebuildError(f"input file not found: {x}")
    device = device_for(target, args.device)
    with tempfile.TemporaryDirectory(prefix="edgebuild-run-") as tmp:
        # Outputs are written next to the runner first, then moved: a failed run leaves no partial output file.
        staged = [Path(tmp) / f"output{i}.npy" for i in range(len(args.output))]
        doc = run_runner(
            target,
            args.bundle / "edgebuild-run",
            args.bundle / "model.ebm",
            list(args.input),
            staged,
            device=device,
            iterations=args.iterations,
            warmup=args.warmup,
        )
        for src, dst in zip(staged, args.output):
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(src, dst)
    lat = doc.get("latency_ms", {})
    note = " (under emulation: not device latency)" if target.needs_emulator else ""
    for o, path in zip(doc.get("outputs", []), args.output + [None] * len(doc.get("outputs", []))):
        console.print(
            f"{o['name']} {tuple(o['shape'])} fnv1a64={o['fnv1a64']}" + (f" -> {path}" if path else "")
        )
    if lat:
        console.print(
            f"latency median {lat.get('median', 0):.3f} ms over {lat.get('iterations')} run(s) on "
            f"{device.name}{note}"
        )
    return 0


def cmd_targets(args: argparse.Namespace, console: Console, err: Console) -> int:
    from rich.table import Table

    from .targets import describe_missing, list_targets

    t = Table(title="edgebuild targets")
    for col in ("target", "triple", "devices", "status on this machine"):
        t.add_column(col)
    for tg in list_targets():
        missing = tg.missing()
        status = (
            "[green]ready[/green]"
            if not missing
            else f"[yellow]missing: {describe_missing(missing)}[/yellow]"
        )
        t.add_row(tg.name, tg.triple, tg.description, status)
    console.print(t)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # `edgebuild [--debug] model.pt ...` means `edgebuild build model.pt ...`
    first = next((a for a in argv if a != "--debug"), None)
    if first is not None and first not in COMMANDS and not first.startswith("-"):
        argv.insert(argv.index(first), "build")
    elif first is not None and first.startswith("--") and first not in ("--help",) and "build" not in argv:
        argv.insert(0, "build")
    args = _parser().parse_args(argv)
    console = Console()
    err = Console(stderr=True)
    if args.command is None:
        _parser().print_help()
        return 2
    from .profile import cmd_profile

    handlers = {
        "build": cmd_build,
        "run": cmd_run,
        "profile": cmd_profile,
        "targets": cmd_targets,
        "export": cmd_export,
    }
    try:
        return handlers[args.command](args, console, err)
    except EdgebuildError as e:
        if args.debug:
            raise
        msg = str(e)
        print(f"edgebuild: error: {msg}", file=sys.stderr)
        return 1
    except OSError as e:  # a file we cannot read or write (permissions, disk full): the user's to fix
        if args.debug:
            raise
        where = f"{e.filename}: " if e.filename else ""
        print(f"edgebuild: error: {where}{e.strerror or e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("edgebuild: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
