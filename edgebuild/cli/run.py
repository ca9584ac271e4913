"""`edgebuild run`: a bundle's runner on its target (qemu for ARM bundles), inputs and outputs as .npy files."""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console

from ..errors import EdgebuildError


def cmd_run(args: argparse.Namespace, console: Console, err: Console) -> int:
    from ..bundle import bundle_cpu, read_report
    from ..run import check_cpu, check_threads, device_for, run_runner
    from ..targets import load_target

    report = read_report(args.bundle)
    target = load_target(report["target"]["name"])
    if target.is_mcu:  # firmware.elf under qemu-system-arm
        from ..run.mcu import cli_run

        return cli_run(args, report, target, console)
    check_threads(args.threads)
    check_cpu(args.cpu)
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
            threads=args.threads,
            cpu=args.cpu or bundle_cpu(report),
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
    console.print(threads_note(doc))
    console.print(cpu_note(doc))
    return 0


def cpu_note(doc: dict[str, Any]) -> str:
    """The core the kernel variants were chosen for and the GEMM variant, as the runner (or a profile's `device`)
    reports them."""
    if "cpu" not in doc:
        return "cpu: not reported by this runner"
    gemm = (doc.get("kernels") or {}).get("qs8-gemm") or "reference"
    return f"cpu: {doc['cpu']} ({doc.get('core_class')}; {doc.get('cpu_source')}), GEMM kernel {gemm}"


def threads_note(doc: dict[str, Any]) -> str:
    """The runner's threads and CPUs, as its JSON line (or a profile's `device`) reports them."""
    threads = doc.get("threads")
    if threads is None:
        return "threads: not reported by this runner"
    cpus = doc.get("cpus")
    where = f" on CPUs {cpus}" if cpus else ""
    pinned = " (pinned to the fast cores)" if doc.get("pinned") else ""
    return f"threads: {threads}{where}{pinned}"
