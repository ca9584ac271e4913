"""`edgebuild ops`: every core ATen op with its int8 / float / folded / decomposed / missing status
(edgebuild/coverage.py; docs/ops.md is the same table)."""

from __future__ import annotations

import argparse

from rich.console import Console


def add_ops_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--coverage", action="store_true",
                   help="the summary: how many core ATen inference ops are covered, and each missing one with why")  # fmt: skip
    p.add_argument("--json", action="store_true", help="the table as JSON (schema edgebuild.ops/1)")
    p.add_argument("--all", action="store_true", help="also list the excluded (non-inference) ops")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def cmd_ops(args: argparse.Namespace, console: Console, err: Console) -> int:
    from rich.markup import escape
    from rich.table import Table

    from ..coverage import coverage_table, summary, to_json

    rows = coverage_table()
    if args.json:
        print(to_json(rows))
        return 0
    if args.coverage:
        console.print(summary(rows), highlight=False, soft_wrap=True)
        dynamic = [r.op for r in rows if r.dynamic]
        if dynamic:  # linear layers' dynamic form (--activations)
            console.print(f"dynamic (DYNAMIC_FULLY_CONNECTED): {', '.join(dynamic)}", highlight=False)
        missing = [r for r in rows if r.status == "missing"]
        if missing:
            console.print(f"missing ({len(missing)}):", highlight=False)
            for r in missing:
                console.print(f"  {r.op}: {escape(r.note)}", highlight=False, soft_wrap=True)
        return 0
    t = Table(title="core ATen ops", caption=summary(rows))
    for col in ("op", "int8", "float", "note"):
        t.add_column(col)
    for r in rows:
        if not r.inference and not args.all:
            continue
        if r.status == "lowered":
            i8 = "[green]yes[/green]" if r.int8 else "—"
            f32 = "[green]yes[/green]" if r.float else "—"
        elif r.status == "missing":
            i8 = f32 = "[red]missing[/red]"
        else:
            i8 = f32 = r.status
        t.add_row(r.op, i8, f32, escape(r.note))
    console.print(t)
    return 0
