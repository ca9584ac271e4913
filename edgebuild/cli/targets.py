"""`edgebuild targets`: every target, and what this machine lacks to build and run for it."""

from __future__ import annotations

import argparse

from rich.console import Console


def cmd_targets(args: argparse.Namespace, console: Console, err: Console) -> int:
    from rich.table import Table

    from ..targets import describe_missing, list_targets

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
