"""python -m bench.arm_peers: edgebuild next to LiteRT (XNNPACK and builtin kernels) and ONNX Runtime, instructions
per invoke on emulated ARM cores, per op category, and output agreement in LSB. See bench/arm_peers/__init__.py.

    python -m bench.arm_peers [--models mobilenet_v2 resnet18 squeezenet shufflenet_v2] [--cores a53 a76 max]
                              [--no-cross-check] [--rebuild]
    python -m bench.arm_peers --models minilm --cores a76 [--seq 32 128]    # all-MiniLM-L6-v2 vs ONNX Runtime

minilm (issue 19) is measured by bench/arm_peers/minilm.py: edgebuild vs ONNX Runtime only (int8 quantize_dynamic
and fp32), its own tables.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from typing import Any

import numpy as np

from .engines import CATEGORIES, ENGINES, litert_library, run_engine, write_ranges
from .models import DEFAULT_MODELS, LABELS, MODELS, prepare
from .rootfs import build_rootfs, cache_dir

# short name: (qemu -cpu, the edgebuild path forced on that core, what the core stands for)
CORES = {
    "a53": ("cortex-a53", "neon"),
    "a76": ("cortex-a76", "neondot"),
    "max": ("max,sme=off", "i8mm"),
}
ENGINE_LABELS = {
    "litert-xnnpack": "LiteRT + XNNPACK",
    "litert-builtin": "LiteRT builtin (ruy)",
    "ort": "ONNX Runtime",
}
SPREAD_MIN = 0.05  # the float output must vary with the input before any agreement figure is reported


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def edgebuild_categories(blob: bytes, counts: dict[str, Any]) -> dict[str, int]:
    from edgebuild.ir import OpCode
    from edgebuild.serialize import read_artifact

    cat = dict.fromkeys(CATEGORIES, 0)
    for op, n in zip(read_artifact(blob).ops, counts["per_op"]):
        code = OpCode(op.opcode).name
        if code in ("CONV2D", "FULLY_CONNECTED", "SPARSE_CONV2D", "SPARSE_FULLY_CONNECTED"):
            cat["conv+FC"] += n
        elif code == "DEPTHWISE_CONV2D":
            cat["depthwise"] += n
        elif code == "ADD":
            cat["ADD"] += n
        else:
            cat["other"] += n
    cat["other"] += counts["per_invoke"] - counts["ops_sum"]  # the executor's own instructions
    return cat


def agreement(ours: np.ndarray, theirs: np.ndarray) -> str:
    a, b = ours.astype(np.int32).ravel(), np.asarray(theirs).astype(np.int32).ravel()
    top1 = "same top-1" if a.argmax() == b.argmax() else "**top-1 differs**"
    return f"{int(np.abs(a - b).max())} LSB, {top1}"


def reference_agreement(prep: Any) -> str:
    """edgebuild (host extension) against LiteRT's reference kernels on the host, the same .tflite and input: the
    check that the bench's plumbing (input on the int8 grid, output requantized back to int8) is exact."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    from edgebuild import _native

    y = np.asarray(_native.Model.from_bytes(prep.blob).run([prep.x])[0])
    ours = np.clip(np.round(y / prep.out_scale) + prep.out_zero_point, -128, 127).astype(np.int8)
    it = Interpreter(
        model_path=str(prep.tflite), num_threads=1, experimental_op_resolver_type=OpResolverType.BUILTIN_REF
    )
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], prep.q)
    it.invoke()
    return agreement(ours, it.get_tensor(it.get_output_details()[0]["index"]))


def m(n: float) -> str:
    return f"{n / 1e6:.1f} M"


def main(argv: list[str] | None = None) -> int:
    from bench.arm_insns import arm_instruction_counts
    from edgebuild.profile import build_insn_plugin
    from tests.cnn_models import output_spread

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS), choices=[*MODELS, "minilm"])
    p.add_argument(
        "--seq",
        type=int,
        nargs="+",
        default=[32],
        help="minilm's sequence lengths (seq 128 costs ~4x seq 32)",
    )
    p.add_argument(
        "--full",
        action="store_true",
        help="minilm: inputs without padding (every token real; the default pads one sentence to seq)",
    )
    p.add_argument("--cores", nargs="+", default=list(CORES), choices=list(CORES))
    p.add_argument("--engines", nargs="+", default=list(ENGINES), choices=list(ENGINES))
    p.add_argument(
        "--no-cross-check", action="store_true", help="skip the (11 − 1 invokes)/10 whole-process check"
    )
    p.add_argument(
        "--rebuild", action="store_true", help="delete the cached rootfs and models first (a cold run)"
    )
    args = p.parse_args(argv)

    t_start = time.perf_counter()
    cache = cache_dir()
    if args.rebuild and cache.exists():
        shutil.rmtree(cache)
    cold = not any(cache.glob("rootfs-*/.complete"))
    root = build_rootfs(log)
    t_rootfs = time.perf_counter() - t_start
    plugin = build_insn_plugin()
    ranges = cache / "litert-ranges.txt"
    per_cat = write_ranges(litert_library(root), ranges)
    log(f"LiteRT functions per category (by symbol): {per_cat}")

    rows: list[dict[str, Any]] = []
    cross: list[str] = []
    notes: list[str] = []
    for name in [n for n in args.models if n in MODELS]:
        prep = prepare(name, cache, log)
        spread = output_spread(prep.model, prep.shape)
        varies = spread >= SPREAD_MIN
        ref = reference_agreement(prep) if varies else "n/a"
        notes.append(
            f"{LABELS[name]}: float output spread across inputs {spread:.3f}"
            + ("" if varies else f" < {SPREAD_MIN}: agreement not reported (the output ignores the input)")
            + f"; edgebuild vs LiteRT's reference kernels (BUILTIN_REF, on the host): {ref}"
        )
        for core in args.cores:
            cpu, isa = CORES[core]
            log(f"{name} on -cpu {cpu}: edgebuild ({isa})")
            eb = arm_instruction_counts(prep.blob, [prep.x], (("eb", "arm64", cpu, isa),), outputs=True)["eb"]
            y = eb["outputs"][0]
            ours = np.clip(np.round(y / prep.out_scale) + prep.out_zero_point, -128, 127).astype(np.int8)
            row: dict[str, Any] = {
                "model": name,
                "core": core,
                "edgebuild": eb["per_invoke"],
                "edgebuild_cat": edgebuild_categories(prep.blob, eb),
            }
            for engine in args.engines:
                log(f"{name} on -cpu {cpu}: {engine}")
                model_file = prep.onnx if engine == "ort" else prep.tflite
                r = run_engine(root, plugin, ranges, engine, model_file, prep.q, cpu)
                row[engine] = r["per_invoke"]
                row[f"{engine}_cat"] = r["categories"]
                row[f"{engine}_agree"] = agreement(ours, r["output"]) if varies else "n/a"
                row[f"{engine}_threads"] = r["threads"]
                if engine == "litert-xnnpack":
                    row["not_delegated"] = r["builtin_kernels"]
            rows.append(row)
            if not args.no_cross_check and not cross:
                for engine in args.engines:
                    model_file = prep.onnx if engine == "ort" else prep.tflite
                    log(f"{name} on -cpu {cpu}: {engine}, 1 and 11 invokes (cross-check)")
                    one = run_engine(root, plugin, ranges, engine, model_file, prep.q, cpu, invokes=1)
                    eleven = run_engine(root, plugin, ranges, engine, model_file, prep.q, cpu, invokes=11)
                    whole = (eleven["process_total"] - one["process_total"]) / 10
                    cross.append(
                        f"{LABELS[name]}, -cpu {cpu}, {ENGINE_LABELS[engine]}: between markers {m(row[engine])}, "
                        f"(11 invokes − 1 invoke)/10 of the whole process {m(whole)} "
                        f"({(whole / row[engine] - 1) * 100:+.2f}%)"
                    )
    minilm_lines: list[str] = []
    if "minilm" in args.models:
        from .minilm import run_minilm

        cores = {c: CORES[c] for c in args.cores}
        minilm_lines = run_minilm(
            args.seq, cores, root, plugin, ranges, not args.no_cross_check, log, args.full
        )
    elapsed = time.perf_counter() - t_start

    def engine_cell(row: dict[str, Any], engine: str) -> str:
        return m(row[engine]) if engine in row else "—"

    print(f"\n`{' '.join(['python -m bench.arm_peers', *(argv if argv is not None else sys.argv[1:])])}`")
    print(
        f"\n{'cold' if cold else 'warm'} run: {elapsed / 60:.1f} min in all, of which rootfs "
        f"{'built' if cold else 'found in the cache'} in {t_rootfs:.0f} s\n"
    )
    for line in minilm_lines:
        print(line)
    if not rows:
        return 0
    print("\nInstructions per invoke (1 thread; M = 10⁶):\n")
    print(
        "| model | `-cpu` | edgebuild (path) | "
        + " | ".join(ENGINE_LABELS[e] for e in args.engines)
        + " | edgebuild / XNNPACK |"
    )
    print("|---|---|---|" + "---|" * len(args.engines) + "---|")
    for row in rows:
        cpu, isa = CORES[row["core"]]
        ratio = f"{row['edgebuild'] / row['litert-xnnpack']:.2f}×" if "litert-xnnpack" in row else "—"
        print(
            f"| {LABELS[row['model']]} | {cpu} | {m(row['edgebuild'])} ({isa}) | "
            + " | ".join(engine_cell(row, e) for e in args.engines)
            + f" | {ratio} |"
        )
    print("\nPer op category, M instructions (conv+FC / depthwise / ADD / other):\n")
    litert = [e for e in args.engines if e.startswith("litert")]
    print("| model | `-cpu` | edgebuild | " + " | ".join(ENGINE_LABELS[e] for e in litert) + " |")
    print("|---|---|---|" + "---|" * len(litert))
    for row in rows:
        cells = [row["edgebuild_cat"]] + [row[f"{e}_cat"] for e in litert]
        print(
            f"| {LABELS[row['model']]} | {CORES[row['core']][0]} | "
            + " | ".join(" / ".join(f"{c[k] / 1e6:.1f}" for k in CATEGORIES) for c in cells)
            + " |"
        )
    print("\nOutput agreement, edgebuild's int8 output vs each engine's (max |Δ| in LSB, top-1):\n")
    print("| model | `-cpu` | " + " | ".join(ENGINE_LABELS[e] for e in args.engines) + " |")
    print("|---|---|" + "---|" * len(args.engines))
    for row in rows:
        print(
            f"| {LABELS[row['model']]} | {CORES[row['core']][0]} | "
            + " | ".join(row[f"{e}_agree"] for e in args.engines)
            + " |"
        )
    print()
    for note in notes:
        print(f"- {note}")
    if "litert-xnnpack" in args.engines:
        shares = {}
        for r in rows:  # the largest share per model, over the cores
            share = r["not_delegated"] / r["litert-xnnpack"]
            shares[r["model"]] = max(shares.get(r["model"], 0.0), share)
        print(
            "- share of the XNNPACK path's instructions in TFLite's builtin kernels (ops the delegate did not take; "
            "near 0%: XNNPACK ran the model whole): "
            + ", ".join(f"{LABELS[k]} {v * 100:.2f}%" for k, v in shares.items())
        )
    if "ort" in args.engines:
        threads = sorted({r["ort_threads"] for r in rows})
        print(f"- ONNX Runtime: threads that executed instructions during run(): {threads}")
    for line in cross:
        print(f"- cross-check: {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
