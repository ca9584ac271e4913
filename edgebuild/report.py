"""report: report.json (the machine contract) and the terminal summary (for people)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table


def write_json(path: Path, report: dict[str, Any]) -> None:
    """Stable bytes: sorted keys, no timestamps, so the same build gives the same file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def _bytes(n: int | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def print_summary(console: Console, out: Path, report: dict[str, Any], timings: dict[str, float]) -> None:
    t = Table(
        title=f"edgebuild: {report['model']['name']} → {report['target']['name']}",
        show_header=False,
        title_justify="left",
    )
    t.add_column(style="bold")
    t.add_column()
    size = report["size"]
    t.add_row("bundle", str(out))
    t.add_row(
        "weights",
        f"{_bytes(size['float32_weights_bytes'])} fp32 → {_bytes(size['int8_weights_bytes'])} int8"
        f" ({size['compression']}×)",
    )
    t.add_row("artifact", _bytes(report["artifact"]["bytes"]))
    t.add_row(
        "runner", f"{_bytes(report['runner']['bytes'])}{' (static)' if report['runner']['static'] else ''}"
    )
    mem = report["memory"]
    t.add_row("arena", f"{_bytes(mem['arena_bytes'])} (lower bound {_bytes(mem['arena_lower_bound_bytes'])})")
    t.add_row(
        "ops", ", ".join(f"{k.lower()} {v}" for k, v in sorted(report["ops"].items(), key=lambda kv: -kv[1]))
    )
    acc = report["accuracy"]
    line = f"max |err| {acc['max_abs_error']:.4g}, cosine {acc['cosine_similarity']:.5f}" + (
        f", top-1 agreement {100 * acc['top1_agreement']:.1f}%" if "top1_agreement" in acc else ""
    )
    t.add_row(f"int8 vs float ({acc['samples']} samples)", line)
    if "int8_accuracy" in acc:
        t.add_row(
            "accuracy",
            f"float {acc['float_accuracy']:.2f}% → int8 {acc['int8_accuracy']:.2f}% "
            f"(drop {acc['accuracy_drop_points']:.2f} points)",
        )
    if acc.get("meaningless"):
        t.add_row("", f"[yellow]accuracy is meaningless: {acc['meaningless']}[/yellow]")
    smoke = report.get("smoke_run")
    if smoke:
        ok = (
            "[green]bit-identical to host[/green]" if smoke["bit_identical_to_host"] else "[red]DIFFERS[/red]"
        )
        t.add_row("smoke run", f"{smoke['device']}: {ok}")
    if timings:
        t.add_row("build time", ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
    console.print(t)
