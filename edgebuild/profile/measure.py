"""The profile: one profiled run of a bundle's runner on a device, turned into report.json's `profile` document."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..bundle import ARTIFACT, RUNNER, bundle_cpu, read_report
from ..errors import EdgebuildError
from ..run import Device, Local, check_cpu, check_threads, device_for, run_runner
from ..targets import Target, load_target
from .bundle import arena_analysis, artifact_sections
from .insns import MARKERS, build_insn_plugin, elf_symbols, parse_insn_counts

SCHEMA = "edgebuild.profile/1"
EMULATED_NOTE = "measured under qemu-user emulation: not device latency; compare instruction counts instead"


@dataclass
class ProfileOptions:
    bundle: Path
    device: str | None = None  # None: local for host bundles, qemu for ARM bundles
    warmup: int = 2
    iterations: int = 10
    inputs: list[Path] = field(default_factory=list)  # default: seeded random inputs of the model's shapes
    count_instructions: bool = True  # under qemu: run with the instruction-count plugin (needs one thread)
    threads: int | None = None  # the runner's --threads (1..64); None: the runtime's default for the device
    cpu: str | None = None  # the runner's --cpu (a core name); None: the bundle's, else the device's core
    timeout: float | None = 600


def model_inputs(bundle_report: dict[str, Any], given: list[Path], tmp: Path) -> list[Path]:
    shapes = [tuple(i["shape"]) for i in bundle_report["model"]["inputs"]]
    if given:
        if len(given) != len(shapes):
            raise EdgebuildError(
                f"the model has {len(shapes)} input(s); pass --input x.npy {len(shapes)} time(s)"
            )
        for x in given:
            if not x.is_file():
                raise EdgebuildError(f"input file not found: {x}")
        return list(given)
    rng = np.random.default_rng(
        0
    )  # latency and memory do not depend on values; a fixed seed keeps runs alike
    out = []
    for i, shape in enumerate(shapes):
        out.append(tmp / f"input{i}.npy")
        np.save(out[-1], rng.standard_normal(shape).astype(np.float32))
    return out


def _device_kind(spec: str | None, target: Target) -> str:
    if spec is None:
        return "local" if target.runs_natively else "qemu"
    if spec.startswith("ssh://"):
        return "ssh"
    if spec.startswith("adb"):
        return "adb"
    return spec


def profile_bundle(opts: ProfileOptions, log: Any = lambda s: None) -> dict[str, Any]:
    """Run the bundle's runner with --profile on the chosen device; returns the `profile` document."""
    bundle = opts.bundle
    report = read_report(bundle)
    target = load_target(report["target"]["name"])
    if target.is_mcu:  # firmware.elf under qemu-system-arm (edgebuild/run/mcu.py)
        from ..run.mcu import profile_firmware

        return profile_firmware(opts, report, target, log)
    check_threads(opts.threads)
    check_cpu(opts.cpu)
    kind = _device_kind(opts.device, target)
    device: Device = device_for(target, opts.device)
    data = (bundle / ARTIFACT).read_bytes()
    arena = arena_analysis(data)
    counting = kind == "qemu" and opts.count_instructions
    if counting and opts.threads is not None and opts.threads > 1:
        # The plugin's counter is one per process: several threads would mix their ops' counts.
        log(f"instruction counts skipped: they need one thread, and {opts.threads} were asked for")
        counting = False
    with tempfile.TemporaryDirectory(prefix="edgebuild-profile-") as tmp_name:
        tmp = Path(tmp_name)
        inputs = model_inputs(report, opts.inputs, tmp)
        counts_file = tmp / "insns.txt"
        extra: tuple[str, ...] = ()
        if counting:
            assert isinstance(device, Local)
            marks = elf_symbols(bundle / RUNNER, MARKERS)
            plugin_args = ",".join(
                [f"{build_insn_plugin()}", f"out={counts_file}"]
                + [f"{m.removeprefix('eb_profile_')}={hex(marks[m])}" for m in MARKERS]
            )
            device = Local(name=device.name, prefix=(*device.prefix, "-plugin", plugin_args), env=device.env)
            # The plugin's counter is one per process: count a single-threaded run (runners that take --threads).
            if opts.threads is None and b"--threads" in (bundle / RUNNER).read_bytes():
                extra = ("--threads", "1")
        log(f"profiling on {device.name}: {opts.warmup} warm-up + {opts.iterations} timed run(s)")
        doc = run_runner(
            target,
            bundle / RUNNER,
            bundle / ARTIFACT,
            inputs,
            [],
            device=device,
            warmup=opts.warmup,
            iterations=opts.iterations,
            profile=True,
            timeout=opts.timeout,
            extra_options=extra,
            threads=opts.threads,
            cpu=opts.cpu or bundle_cpu(report),
        )
        insns = parse_insn_counts(counts_file.read_text(), arena["num_ops"]) if counting else None
    return make_profile(report, target, kind, device.name, doc, arena, data, bundle, insns)


def make_profile(
    report: dict[str, Any],
    target: Target,
    kind: str,
    device_name: str,
    doc: dict[str, Any],
    arena: dict[str, Any],
    data: bytes,
    bundle: Path,
    insns: dict[str, Any] | None,
) -> dict[str, Any]:
    emulated = kind == "qemu" and target.needs_emulator
    mem = doc["memory"]
    ops = []
    total_ms = sum(op["ms"] for op in doc.get("ops", [])) or 1.0
    for i, op in enumerate(doc.get("ops", [])):
        entry = {"index": i, **op, "share_of_time": op["ms"] / total_ms}
        if insns is not None:
            entry["instructions"] = insns["per_op"][i]
            entry["share_of_instructions"] = insns["per_op"][i] / max(1, insns["ops_sum"])
        ops.append(entry)
    if insns is not None:
        insns = {k: v for k, v in insns.items() if k != "per_op"}
    tracked, arena_b, weights = mem["tracked_bytes"], mem["arena_bytes"], mem["weights_bytes"]
    artifact_bytes = len(data)
    kib = 1024
    code_pages = (
        max(0, (mem.get("rss_file_end_kb", 0) or 0) - (mem.get("rss_file_before_load_kb", 0) or 0)) * kib
    )
    before = (mem.get("rss_before_load_kb") or 0) * kib
    predicted = before + code_pages + tracked + mem.get("runner_buffers_bytes", 0)
    peak = mem["rss_peak_kb"] * kib
    latency = dict(doc["latency_ms"])
    latency["meaningful"] = not emulated
    if emulated:
        latency["note"] = EMULATED_NOTE
    return {
        "schema": SCHEMA,
        "device": {
            "kind": kind,
            "name": device_name,
            "emulated": emulated,
            "target": target.name,
            "isa": doc.get("isa"),  # kernel path the runner picked, when it says
            "threads": doc.get("threads"),
            "cpus": doc.get("cpus"),  # the CPUs the threads ran on ("4-7"), when the runner says
            "pinned": doc.get("pinned"),  # held to a big.LITTLE CPU's fast cores
            # the core the kernel variants were chosen for (--cpu / EDGEBUILD_CPU, or the device's MIDR), its class,
            # how it was found, and the variant of each kernel family that ran
            "cpu": doc.get("cpu"),
            "core_class": doc.get("core_class"),
            "cpu_source": doc.get("cpu_source"),
            "kernels": doc.get("kernels"),
        },
        "load_ms": doc["load_ms"],
        "latency_ms": latency,
        "ops": ops,
        "instructions": insns,
        "memory": {
            "arena_bytes": arena_b,
            "arena_lower_bound_bytes": arena["arena_lower_bound_bytes"],
            "arena_over_bound": arena["arena_over_bound"],
            "weights_bytes": weights,
            "tracked_peak_bytes": tracked,
            # tracked = arena + weights + overhead; the overhead is the rest of the artifact (read with the weights
            # into one buffer) and everything else the runtime allocated: tensor/op records, names, profile slots,
            # alignment slack, and the optimized kernels' packed weights and per-thread scratch.
            "overhead": {
                "bytes": tracked - arena_b - weights,
                "artifact_other_bytes": artifact_bytes - weights,
                "runtime_bookkeeping_bytes": tracked - arena_b - artifact_bytes,
            },
            "rss": {
                "source": "VmHWM" if mem.get("rss_before_load_kb", -1) >= 0 else "getrusage",
                "peak_bytes": peak,
                "at_start_bytes": mem["rss_start_kb"] * kib,
                "peak_minus_start_bytes": mem["peak_rss_delta_kb"] * kib,
                "before_load_bytes": before,
                "code_pages_bytes": code_pages,
                "runner_buffers_bytes": mem.get("runner_buffers_bytes", 0),
                "predicted_peak_bytes": predicted,
                "peak_vs_predicted": round(peak / predicted - 1, 4) if predicted else None,
                "includes_emulator": emulated,
            },
        },
        "size": {
            "artifact_bytes": artifact_bytes,
            "runner_bytes": (bundle / RUNNER).stat().st_size,
            "weights_bytes": weights,
            "artifact_sections": artifact_sections(data),
        },
        "arena_timeline": arena["timeline"],
        "model": report["model"]["name"],
    }
