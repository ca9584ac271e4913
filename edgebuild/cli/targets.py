"""`edgebuild targets`: every target, and what this machine lacks to build and run for it."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from rich.console import Console

if TYPE_CHECKING:
    from ..targets import Target


def cmd_targets(args: argparse.Namespace, console: Console, err: Console) -> int:
    from rich.table import Table

    from ..targets import list_targets

    t = Table(title="edgebuild targets")
    for col in ("target", "triple", "devices", "status on this machine"):
        t.add_column(col)
    for tg in list_targets():
        triple = tg.triple
        if tg.mcu is not None:  # microcontrollers: the QEMU board and the budgets a build is checked against
            m = tg.mcu
            triple += (
                f"\n{m.board}, {m.isa or 'reference'} kernels\nflash {m.flash_bytes // 1024} KiB, "
                f"RAM {m.ram_bytes // 1024} KiB"
            )
        t.add_row(tg.name, triple, tg.description, target_status(tg))
    console.print(t)
    return 0


def target_status(tg: Target) -> str:
    """Ready or what is missing, and for a target with musl ([lean]) which C library lean runners link."""
    from ..targets import describe_missing

    missing = tg.missing()
    status = (
        "[green]ready[/green]" if not missing else f"[yellow]missing: {describe_missing(missing)}[/yellow]"
    )
    if tg.musl_toolchain_file is not None:  # docs/footprint.md
        status += (
            "; --lean links musl"
            if tg.musl_available
            else f"; --lean links glibc (musl: {' '.join(tg.musl_packages)} not installed)"
        )
    return status
