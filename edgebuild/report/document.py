"""report.json, the machine contract (schema edgebuild.report/2, docs/report.md): what the build assembles, and
the stable file it writes. Imports no torch (the CLI's cached-build path writes and reads reports)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__

if TYPE_CHECKING:
    import torch

    from ..compress.pipeline import Compressed
    from ..ir import Program
    from ..plan import ArenaPlan
    from ..targets import Target

SCHEMA = "edgebuild.report/2"


def write_json(path: Path, report: dict[str, Any]) -> None:
    """Stable bytes: sorted keys, no timestamps, so the same build gives the same file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def float_weight_bytes(gm: torch.nn.Module) -> int:
    return sum(t.numel() * t.element_size() for t in gm.state_dict().values() if t.is_floating_point())


def make_report(
    model: Path,
    fmt: str,
    target: Target,
    program: Program,
    plan: ArenaPlan,
    data: bytes,
    artifact_file: str,
    runner: Path,
    compressed: Compressed,
    acc: dict[str, Any],
    smoke: dict[str, Any] | None,
    sparse: dict[str, Any],
) -> dict[str, Any]:
    """The whole report.json; `runner` is the runner's path in the bundle."""
    fp32 = float_weight_bytes(compressed.original_gm)
    int8 = program.weights_bytes()
    inputs = [program.tensors[i] for i in program.inputs]
    outputs = [program.tensors[i] for i in program.outputs]
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "edgebuild_version": __version__,
        "model": {
            "name": model.stem,
            "format": fmt,
            "sha256": _sha256(model.read_bytes()),
            "inputs": [{"name": t.name, "shape": list(t.shape)} for t in inputs],
            "outputs": [{"name": t.name, "shape": list(t.shape)} for t in outputs],
        },
        # cpu: the core run and profile name to the runner by default (the target file's `cpu`, or --cpu)
        "target": {
            "name": target.name,
            "triple": target.triple,
            "description": target.description,
            "cpu": target.cpu,
        },
        "toolchain": toolchain(target),
        "artifact": {"file": artifact_file, "bytes": len(data), "sha256": _sha256(data)},
        "runner": {"file": runner.name, "bytes": runner.stat().st_size, "static": target.static},
        "size": {
            "float32_weights_bytes": fp32,
            "int8_weights_bytes": int8,
            "compression": round(fp32 / int8, 3) if int8 else None,
            "by_layer": layer_sizes(program),
            "artifact_sections": _artifact_sections(data),
        },
        "ops": program.op_counts(),
        # every op lowered to the float fallback, with why (lower/__init__.py) and its source line
        "float_ops": program.metadata.get("float_ops", []),
        "activations": activations_section(program),
        "memory": {
            "arena_bytes": plan.arena_bytes,
            "arena_lower_bound_bytes": plan.lower_bound,
            "weights_bytes": int8,
        },
        "accuracy": acc,
        "smoke_run": smoke,
        "sparse": sparse,
        "compression": compression_report(compressed, program, data),
    }
    if compressed.budget is not None:
        report["accuracy_budget"] = compressed.budget
    from ..footprint import footprint_section

    # the runtime library and the runner, stripped (docs/footprint.md)
    report["footprint"] = footprint_section(runner)
    return report


def activations_section(program: Program) -> dict[str, Any]:
    """--activations and what it chose: `mode` (static / dynamic / auto), `dynamic_ops` (the linear layers lowered
    to DYNAMIC_FULLY_CONNECTED: node, layer, op, source) and `dynamic_layers` (their module paths, in order)."""
    ops = program.metadata.get("dynamic_ops", [])
    return {
        "mode": program.metadata.get("activations", "static"),
        "dynamic_layers": list(dict.fromkeys(e["layer"] for e in ops)),
        "dynamic_ops": ops,
    }


def layer_sizes(program: Program) -> list[dict[str, Any]]:
    """The artifact's constants (weights, biases, codebooks, sparse indices) by the op that reads them, largest
    first: `op` (node name), `type` (opcode), `aten`, `bytes`, `tensors`. A constant read by several ops counts for
    the first; constants no op reads (none today) go to a row with `op` null, so the bytes sum to weights_bytes."""
    seen: set[int] = set()
    rows: list[dict[str, Any]] = []
    for op in program.ops:
        own = [i for i in op.inputs if i >= 0 and program.tensors[i].data is not None and i not in seen]
        seen.update(own)
        if own:
            nbytes = sum(program.tensors[i].nbytes for i in own)
            rows.append({"op": op.name, "type": op.opcode.name, "aten": op.aten, "bytes": nbytes,
                         "tensors": len(own)})  # fmt: skip
    rest = [t for i, t in enumerate(program.tensors) if t.data is not None and i not in seen]
    if rest:
        rows.append({"op": None, "type": None, "aten": "", "bytes": sum(t.nbytes for t in rest),
                     "tensors": len(rest)})  # fmt: skip
    rows.sort(key=lambda r: -r["bytes"])
    return rows


def _artifact_sections(data: bytes) -> list[dict[str, Any]]:
    from ..profile.bundle import artifact_sections

    return artifact_sections(data)


def toolchain(target: Target) -> dict[str, Any]:
    """What compiled the runner: the target's C++ compiler (its --version line), flags, CMake toolchain file and
    the emulator a smoke run used (null when the target runs here)."""
    try:
        done = subprocess.run(
            [target.cxx_compiler, "--version"], check=False, capture_output=True, text=True, timeout=60
        )
        version = done.stdout.splitlines()[0] if done.returncode == 0 and done.stdout else None
    except (OSError, subprocess.SubprocessError):
        version = None
    return {
        "compiler": target.cxx_compiler,
        "compiler_version": version,
        "flags": list(target.flags),
        "toolchain_file": target.toolchain_file.name if target.toolchain_file else None,
        "emulator": " ".join(target.emulator) if target.needs_emulator else None,
    }


def compression_report(compressed: Compressed, program: Program, data: bytes) -> dict[str, Any]:
    """Bytes after each stage, as in Deep Compression's tables: float32 -> compressed float (low-rank / pruned: its
    non-zero weights) -> int8 constants (quantized / clustered) -> Huffman-coded constants (when on); then, when
    compression ran, its options and what each stage did (compress/pipeline.py)."""
    from ..compress.graph_stage import weight_stats
    from ..serialize import Section, section_sizes

    fp32 = float_weight_bytes(compressed.original_gm)
    stages: list[dict[str, Any]] = [{"stage": "float32", "bytes": fp32}]
    if compressed.report is not None:
        # The float32 values left after low-rank / weight sharing / BN folding, zero weights not counted (what a
        # sparse float format would hold; pruned models have many).
        ws = weight_stats(compressed.compressed_gm)
        nonzero = ws["float_values"] - ws["weights"] + ws["nonzero_weights"]
        stages.append({"stage": "compressed float32 (non-zero values)", "bytes": 4 * nonzero})
    stages.append({"stage": "int8 constants (quantized / clustered)", "bytes": program.weights_bytes()})
    sizes = section_sizes(data)
    if Section.CODED_CONSTANTS in sizes:
        stages.append({"stage": "Huffman-coded constants", "bytes": sizes[Section.CODED_CONSTANTS]})
    for st in stages:
        st["compression"] = round(fp32 / st["bytes"], 2) if st["bytes"] else None
    return {"stages": stages, "artifact_bytes": len(data), **(compressed.report or {})}
