"""Microcontroller bundles: their firmware.elf under qemu-system-arm, on the target's board (targets/cortex-m*.toml).

The firmware (kernels/mcu/harness.c) takes `INPUT OUTPUT [ITERATIONS]` on its semihosting command line, reads the
model's float32 inputs from INPUT and writes its float32 outputs to OUTPUT (raw little-endian, one tensor after
another), both host files in the folder QEMU runs in, and prints one JSON status line, the Linux runner's contract
(parse_runner_output reads it). With `count`, the TCG plugin (kernels/tools/qemu-insn-count.c) counts the guest
instructions between the model's profiling markers (eb_profile_*, found by address in the ELF): per invoke and
per op, identical run to run.

Only `qemu` runs a firmware here: a real board is flashed with pyOCD or OpenOCD (docs/microcontrollers.md).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EdgebuildError
from ..targets import Target, describe_missing
from .transports import Completed

FIRMWARE = "firmware.elf"


@dataclass
class FirmwareRun:
    outputs: list[np.ndarray]  # float32, flat (the caller knows the shapes)
    doc: dict[str, Any]  # the harness's status line
    insns: str | None  # the plugin's output file (count=True)
    device: str


def check_device(target: Target, device: str | None) -> None:
    """MCU bundles run under qemu only; anything else is refused in one line."""
    if device not in (None, "qemu"):
        raise EdgebuildError(
            f"{target.name} bundles run under qemu-system-arm only (--device qemu); to run on a real board, flash "
            "firmware.elf or build mcu/ into your firmware (pyOCD/OpenOCD: docs/microcontrollers.md)"
        )


def refuse_linux_options(target: Target, *, threads: int | None = None, cpu: str | None = None) -> None:
    if threads is not None:
        raise EdgebuildError(
            f"--threads does not apply to {target.name}: the firmware runs on one core, no OS"
        )
    if cpu is not None:
        raise EdgebuildError(
            f"--cpu does not apply to {target.name}: its core is the target's (the kernels are chosen at build time)"
        )


def qemu_command(target: Target, elf: Path, args: list[str], plugin: str | None = None) -> list[str]:
    assert target.mcu is not None
    cmd = [target.emulator[0], "-M", target.mcu.board, "-nographic", "-monitor", "none", "-serial", "null"]
    if plugin is not None:
        cmd += ["-plugin", plugin]
    semi = "enable=on,target=native," + ",".join(f"arg={a}" for a in (elf.name, *args))
    return [*cmd, "-semihosting-config", semi, "-kernel", str(elf)]


def run_firmware(
    target: Target,
    elf: Path,
    inputs: list[np.ndarray],
    *,
    iterations: int = 1,
    count: bool = False,
    timeout: float | None = 600,
) -> FirmwareRun:
    """Run `elf` on the target's QEMU board on one sample (`inputs` in the model's order, any float-convertible
    dtype); returns the float32 outputs as the firmware wrote them."""
    assert target.mcu is not None
    missing = target.missing(build=False)
    if missing:
        raise EdgebuildError(f"cannot run {target.name} firmware here: {describe_missing(missing)}")
    if not elf.is_file():
        raise EdgebuildError(f"firmware {elf} does not exist; rebuild the bundle")
    if iterations < 1:
        raise EdgebuildError(f"iterations must be ≥ 1 (got {iterations})")
    with tempfile.TemporaryDirectory(prefix="edgebuild-mcu-") as tmp_name:
        tmp = Path(tmp_name)
        # Short relative names: semihosting's command line is 512 bytes in startup.c, and QEMU opens files relative
        # to its own working directory.
        shutil.copyfile(elf, tmp / FIRMWARE)
        blob = b"".join(np.ascontiguousarray(x, dtype="<f4").tobytes() for x in inputs)
        (tmp / "in.bin").write_bytes(blob)
        plugin = None
        if count:
            from ..profile.insns import MARKERS, build_insn_plugin, elf_symbols

            marks = elf_symbols(elf, MARKERS)
            plugin = ",".join(
                [f"{build_insn_plugin()}", f"out={tmp / 'insns.txt'}"]
                + [f"{m.removeprefix('eb_profile_')}={hex(marks[m])}" for m in MARKERS]
            )
        cmd = qemu_command(target, tmp / FIRMWARE, ["in.bin", "out.bin", str(iterations)], plugin)
        try:
            done = subprocess.run(
                cmd, cwd=tmp, capture_output=True, text=True, errors="replace", timeout=timeout, check=False,
                stdin=subprocess.DEVNULL,
            )  # fmt: skip
        except subprocess.TimeoutExpired as e:
            raise EdgebuildError(
                f"{FIRMWARE} on qemu {target.mcu.board} did not finish within {timeout} s"
            ) from e
        except OSError as e:
            raise EdgebuildError(f"cannot start {cmd[0]}: {e}") from e
        from . import parse_runner_output

        where = f"qemu-system-arm -M {target.mcu.board}"
        if done.returncode == 3 and '"status"' not in done.stdout:
            raise EdgebuildError(
                f"{FIRMWARE} faulted on {where} (a HardFault: exit status 3); please report it"
            )
        # the status line comes through semihosting's console, which QEMU writes to stderr
        doc = parse_runner_output(Completed(done.returncode, done.stdout + done.stderr, ""), where=where)
        data = (tmp / "out.bin").read_bytes()
        insns = (tmp / "insns.txt").read_text() if count and (tmp / "insns.txt").is_file() else None
    flat = np.frombuffer(data, dtype="<f4").astype(np.float32)
    return FirmwareRun([flat], doc, insns, where)


def split_outputs(flat: np.ndarray, shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    """The firmware's concatenated float32 outputs, cut into the model's output shapes."""
    sizes = [int(np.prod(s)) for s in shapes]
    if flat.size != sum(sizes):
        raise EdgebuildError(
            f"the firmware wrote {flat.size} output values; the model's outputs {shapes} hold {sum(sizes)}"
        )
    out, at = [], 0
    for shape, n in zip(shapes, sizes):
        out.append(flat[at : at + n].reshape(shape).copy())
        at += n
    return out


def _load_inputs(report: dict[str, Any], given: list[Path]) -> list[np.ndarray]:
    shapes = [tuple(i["shape"]) for i in report["model"]["inputs"]]
    if len(given) != len(shapes):
        raise EdgebuildError(
            f"the model has {len(shapes)} input(s); pass --input x.npy {len(shapes)} time(s)"
        )
    arrays = []
    for path, shape in zip(given, shapes):
        if not path.is_file():
            raise EdgebuildError(f"input file not found: {path}")
        try:
            a = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise EdgebuildError(f"{path} is not a .npy array ({e})") from e
        if a.shape != shape:
            raise EdgebuildError(f"input {path} has shape {a.shape}; the model takes {shape}")
        arrays.append(a)
    return arrays


def run_bundle(
    bundle: Path,
    report: dict[str, Any],
    target: Target,
    inputs: list[np.ndarray],
    *,
    device: str | None = None,
    threads: int | None = None,
    cpu: str | None = None,
    iterations: int = 1,
) -> list[np.ndarray]:
    """An MCU bundle's firmware on one sample; the outputs in the model's shapes (float32)."""
    check_device(target, device)
    refuse_linux_options(target, threads=threads, cpu=cpu)
    done = run_firmware(target, bundle / FIRMWARE, inputs, iterations=iterations)
    return split_outputs(done.outputs[0], [tuple(o["shape"]) for o in report["model"]["outputs"]])


def cli_run(args: Any, report: dict[str, Any], target: Target, console: Any) -> int:
    """`edgebuild run` on an MCU bundle."""
    check_device(target, args.device)
    refuse_linux_options(target, threads=args.threads, cpu=args.cpu)
    arrays = _load_inputs(report, list(args.input))
    outs = run_bundle(args.bundle, report, target, arrays, iterations=args.warmup + args.iterations)
    for i, (o, y) in enumerate(zip(report["model"]["outputs"], outs)):
        path = args.output[i] if i < len(args.output) else None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            staged = path.with_name(f".{path.name}.tmp.npy")
            np.save(staged, y)
            staged.replace(path)
        console.print(
            f"{o['name']} {tuple(y.shape)} fnv1a64={fnv1a64(y.tobytes())}" + (f" -> {path}" if path else "")
        )
    assert target.mcu is not None
    console.print(
        f"ran on qemu-system-arm -M {target.mcu.board} (no clock: `edgebuild profile` counts instructions)"
    )
    return 0


def fnv1a64(data: bytes) -> str:
    """The runner's output checksum (FNV-1a, 64 bits), so MCU and Linux runs print comparable lines."""
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


NO_CLOCK_NOTE = "no clock under qemu-system-arm: compare instruction counts (deterministic), not time"


def profile_firmware(
    opts: Any, report: dict[str, Any], target: Target, log: Any = lambda s: None
) -> dict[str, Any]:
    """`edgebuild profile` on an MCU bundle: one counted run of the firmware (warm-up + iterations invokes), the
    per-op instructions from the plugin, flash and RAM from the build (report.json's `mcu`) and the stack measured
    in this run. The same `profile` document as other targets (schema edgebuild.profile/1) plus its `mcu` part."""
    from ..profile.bundle import arena_analysis, artifact_sections
    from ..profile.insns import parse_insn_counts
    from ..profile.measure import SCHEMA, model_inputs

    assert target.mcu is not None
    check_device(target, opts.device)
    refuse_linux_options(target, threads=opts.threads, cpu=opts.cpu)
    mcu = report.get("mcu")
    if not isinstance(mcu, dict):
        raise EdgebuildError(f"{opts.bundle}/report.json has no mcu section; rebuild the bundle")
    kernels = list(mcu.get("kernels") or [])
    data = (opts.bundle / "model.ebm").read_bytes()
    with tempfile.TemporaryDirectory(prefix="edgebuild-profile-") as tmp:
        paths = model_inputs(report, list(opts.inputs), Path(tmp))
        arrays = [np.load(p) for p in paths]
    n = max(1, opts.warmup + opts.iterations)
    log(f"profiling on qemu-system-arm -M {target.mcu.board}: {n} invoke(s), instructions counted")
    done = run_firmware(target, opts.bundle / FIRMWARE, arrays, iterations=n, count=opts.count_instructions)
    insns = None
    if done.insns is not None:
        insns = parse_insn_counts(done.insns, len(kernels))
    ops = []
    for i, k in enumerate(kernels):
        entry = {
            "index": k.get("index", i),
            "name": k.get("name", f"op{i}"),
            "type": k.get("type", "?"),
            "function": k.get("function"),
            "outputs": k.get("outputs") or [],
            "macs": int(k.get("macs") or 0),
            "ms": 0.0,
            "share_of_time": 0.0,
            "gmacs_per_s": 0.0,
        }
        if insns is not None:
            entry["instructions"] = insns["per_op"][i]
            entry["share_of_instructions"] = insns["per_op"][i] / max(1, insns["ops_sum"])
            if entry["macs"]:
                entry["instructions_per_mac"] = round(insns["per_op"][i] / entry["macs"], 3)
        ops.append(entry)
    if insns is not None:
        insns = {k: v for k, v in insns.items() if k != "per_op"}
    arena = arena_analysis(data)
    ram, flash = mcu["ram"], mcu["flash"]
    measured_stack = done.doc.get("stack_bytes")
    elf_bytes = (opts.bundle / FIRMWARE).stat().st_size
    return {
        "schema": SCHEMA,
        "device": {
            "kind": "qemu",
            "name": done.device,
            "emulated": True,
            "target": target.name,
            "isa": target.mcu.isa,
            "threads": 1,
            "cpus": None,
            "pinned": None,
            "cpu": target.name,
            "core_class": "microcontroller",
            "cpu_source": "target file",
            "kernels": {k.get("type", "?"): k.get("function") for k in kernels},
        },
        "load_ms": 0.0,
        "latency_ms": {
            "median": 0.0,
            "min": 0.0,
            "p90": 0.0,
            "max": 0.0,
            "iterations": n,
            "warmup": 0,
            "meaningful": False,
            "note": NO_CLOCK_NOTE,
        },
        "ops": ops,
        "instructions": insns,
        "memory": {
            # the firmware's arena (model.h's EB_MODEL_ARENA_BYTES, after the MCU memory plan); the bound is the
            # artifact's plan's, before any in-place or fused execution
            "arena_bytes": ram["arena_bytes"],
            "arena_lower_bound_bytes": arena["arena_lower_bound_bytes"],
            "arena_over_bound": round(ram["arena_bytes"] / arena["arena_lower_bound_bytes"] - 1, 4)
            if arena["arena_lower_bound_bytes"]
            else 0.0,
            "weights_bytes": flash["weights_bytes"],
            # what --max-peak-memory gates on an MCU bundle: RAM = arena + static + stack (no heap, no OS)
            "tracked_peak_bytes": ram["total_bytes"]
            if ram["total_bytes"] is not None
            else ram["arena_bytes"],
            "overhead": {
                "bytes": (ram["static_bytes"] or 0) + (ram["stack_bytes"] or 0),
                "artifact_other_bytes": 0,
                "runtime_bookkeeping_bytes": (ram["static_bytes"] or 0) + (ram["stack_bytes"] or 0),
            },
            "rss": {"source": "none (bare metal)", "peak_bytes": None, "includes_emulator": False},
        },
        "size": {
            "artifact_bytes": len(data),
            "runner_bytes": elf_bytes,
            "weights_bytes": flash["weights_bytes"],
            "artifact_sections": artifact_sections(data),
        },
        "arena_timeline": [],
        "model": report["model"]["name"],
        "mcu": {
            "board": target.mcu.board,
            "isa": target.mcu.isa,
            "flash": flash,
            "ram": ram,
            "stack_measured_bytes": measured_stack,
            "stack_static_bound_bytes": (mcu.get("stack") or {}).get("bytes"),
            "firmware_bytes": elf_bytes,
        },
    }
