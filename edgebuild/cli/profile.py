"""`edgebuild profile`: its arguments and the command (the measuring is edgebuild/profile/)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..errors import EdgebuildError
from .run import cpu_note, threads_note

THREADS_HELP = "threads (1..64; default: the CPUs the process may use, the big cores of a big.LITTLE CPU)"
CPU_HELP = (
    "the core the kernel variants are chosen for, e.g. cortex-a55 or cortex-a76 (EDGEBUILD_CPU; default: the "
    "device's own, by its MIDR)"
)


def add_profile_arguments(p: Any) -> None:
    p.add_argument("bundle", type=Path, nargs="?", help="bundle folder (omit with --compare)")
    p.add_argument(
        "--device",
        help="local, qemu, ssh://user@host[:port] or adb[:serial] (default: local for host bundles, qemu for ARM)",
    )
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--iterations", type=int, default=10)
    p.add_argument("--threads", type=int, help=THREADS_HELP)
    p.add_argument("--cpu", help=CPU_HELP + " (default: the bundle's)")
    p.add_argument(
        "--input", action="append", type=Path, default=[], help=".npy input (default: seeded random)"
    )
    p.add_argument("--out", type=Path, help="write report.json and report.html here (default: the bundle)")
    p.add_argument("--top", type=int, default=25, help="ops shown in the terminal table")
    p.add_argument(
        "--max-latency-ms", type=float, help="fail when the median latency exceeds this (devices only)"
    )
    p.add_argument("--max-peak-memory", help="fail when the tracked peak memory exceeds this (e.g. 8MiB)")
    p.add_argument("--max-size", help="fail when the artifact exceeds this (e.g. 4MB)")
    p.add_argument(
        "--max-instructions", type=int, help="fail when an invoke exceeds this many instructions (qemu)"
    )
    p.add_argument(
        "--compare", nargs=2, type=Path, metavar=("OLD", "NEW"), help="print deltas of two report.json"
    )
    p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)


def cmd_profile(args: Any, console: Any, err: Any) -> int:
    from ..profile import (
        HTML,
        REPORT,
        GateFailed,
        Gates,
        ProfileOptions,
        check_gates,
        compare_profiles,
        parse_size,
        profile_bundle,
        read_profile,
        read_report,
    )
    from ..report import print_comparison, print_profile, write_html, write_json

    if args.compare:
        old, new = (read_profile(p) for p in args.compare)
        print_comparison(console, compare_profiles(old, new))
        return 0
    if args.bundle is None:
        raise EdgebuildError("edgebuild profile needs a BUNDLE folder (or --compare OLD NEW)")
    gates = Gates(
        max_latency_ms=args.max_latency_ms,
        max_peak_memory=parse_size(args.max_peak_memory) if args.max_peak_memory else None,
        max_size=parse_size(args.max_size) if args.max_size else None,
        max_instructions=args.max_instructions,
    )
    opts = ProfileOptions(
        bundle=args.bundle,
        device=args.device,
        warmup=args.warmup,
        iterations=args.iterations,
        inputs=args.input,
        threads=args.threads,
        cpu=args.cpu,
    )
    from .. import progress

    with progress.shown(err):  # a spinner on stderr for a runner compile, when stderr is a terminal
        profile = profile_bundle(opts, log=lambda s: err.print(f"[dim]{s}[/dim]"))
    report = read_report(args.bundle)
    report["profile"] = profile
    out = args.out or args.bundle
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / REPORT, report)
    write_html(out / HTML, profile, report)
    print_profile(console, profile, top=args.top)
    if "mcu" not in profile:  # a microcontroller has one core and no OS: no threads or core choice to report
        err.print(f"[dim]{threads_note(profile['device'])}[/dim]")
        err.print(f"[dim]{cpu_note(profile['device'])}[/dim]")
    err.print(f"[dim]wrote {out / REPORT} and {out / HTML}[/dim]")
    fails = check_gates(profile, gates)
    if fails:
        raise GateFailed("gate failed: " + "; ".join(fails))
    return 0
