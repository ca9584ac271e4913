"""The command line's arguments: one sub-parser per command (`edgebuild MODEL ...` is short for `build`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .ops import add_ops_arguments
from .profile import CPU_HELP, THREADS_HELP, add_profile_arguments

# = edgebuild/export/__init__.py FORMATS (the CLI imports no pipeline module before it runs a command)
EXPORT_FORMATS = ("tflite", "onnx")
COMMANDS = ("build", "run", "profile", "targets", "export", "ops")


def make_parser() -> argparse.ArgumentParser:
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
    b.add_argument(
        "--target", help="host (default), arm64, armv7, cortex-m4, cortex-m55 (see `edgebuild targets`)"
    )
    b.add_argument("--calib", type=Path,
                   help=".npz/.npy/.pt calibration samples (first dim = samples); several inputs: arrays named by "
                        "forward()'s arguments, or x0, x1, ... in their order; integer arrays for token-id inputs")  # fmt: skip
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
    b.add_argument("--cpu", help=CPU_HELP + "; recorded in the bundle for run and profile (default: the target "
                   "file's cpu)")  # fmt: skip
    b.add_argument("--lean", action="store_true",
                   help="a runner with only this model's ops (smaller; refuses models with other ops; static musl "
                        "on arm64/armv7 when installed, docs/footprint.md)")  # fmt: skip
    b.add_argument("--max-ram", metavar="BYTES",
                   help="microcontroller targets: fail when RAM (arena + static data + stack) exceeds this, e.g. "
                        "96KiB (besides the target's own budget)")  # fmt: skip
    b.add_argument("--max-flash", metavar="BYTES",
                   help="microcontroller targets: fail when flash (code + weights) exceeds this, e.g. 256KiB")  # fmt: skip
    b.add_argument("--float-layers", metavar="A,B",
                   help="keep these layers float32 (module paths such as encoder.0.attn, or graph node names)")  # fmt: skip
    b.add_argument("--activations", choices=("static", "dynamic", "auto"),
                   help="linear layers' activations: static int8 (calibrated), dynamic (quantized per row at run "
                        "time, int8 weights), auto (default: dynamic in transformers, static otherwise; per layer "
                        "with --max-drop)")  # fmt: skip
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
    r.add_argument("--threads", type=int, help=THREADS_HELP)
    r.add_argument("--cpu", help=CPU_HELP + " (default: the bundle's)")
    r.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)

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

    add_ops_arguments(sub.add_parser("ops", help="core ATen ops: int8 / float / missing (docs/ops.md)"))
    return p
