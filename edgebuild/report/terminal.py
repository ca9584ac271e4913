"""The terminal views: the build summary, the profile's per-op table, the --compare deltas (rich tables)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from .formatting import cost_key, human_bytes, ratio_text


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
        f"{human_bytes(size['float32_weights_bytes'])} fp32 → {human_bytes(size['int8_weights_bytes'])} int8"
        f" ({size['compression']}×)",
    )
    t.add_row("artifact", human_bytes(report["artifact"]["bytes"]))
    if report.get("mcu"):
        t.add_row("firmware", f"firmware.elf {human_bytes(report['runner']['bytes'])} (test harness + model, file with "
                  "symbols and debug info; the model's flash and RAM below)")  # fmt: skip
    else:
        t.add_row(
            "runner",
            f"{human_bytes(report['runner']['bytes'])} ({'static, ' if report['runner']['static'] else ''}file with symbols)",
        )
    from ..footprint import footprint_line

    if footprint_line(report.get("footprint")):
        t.add_row("footprint", str(footprint_line(report.get("footprint"))))
    if report.get("mcu"):
        for line in mcu_lines(report["mcu"]):
            what, _, rest = line.partition(": ")
            t.add_row(what, rest)
    mem = report["memory"]
    t.add_row(
        "arena",
        f"{human_bytes(mem['arena_bytes'])} (lower bound {human_bytes(mem['arena_lower_bound_bytes'])})",
    )
    t.add_row(
        "ops", ", ".join(f"{k.lower()} {v}" for k, v in sorted(report["ops"].items(), key=lambda kv: -kv[1]))
    )
    act = report.get("activations") or {}
    if act.get("dynamic_ops"):
        t.add_row(
            "dynamic activations",
            f"{len(act['dynamic_ops'])} linear layer(s) quantize their input per row at run time "
            f"(--activations {act.get('mode', '?')})",
        )
    float_ops = report.get("float_ops") or []
    if float_ops:
        groups: dict[tuple[str, str], int] = {}
        for e in float_ops:
            key = (e["op"].removeprefix("aten.").split(".")[0], e["reason"])
            groups[key] = groups.get(key, 0) + 1
        t.add_row(
            "ran in float",
            f"{len(float_ops)} op(s): "
            + ", ".join(
                f"{op} ×{n} ({why})" for (op, why), n in sorted(groups.items(), key=lambda kv: -kv[1])
            ),
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
    metrics = acc.get("metrics")
    if metrics:
        t.add_row(
            "macro P / R / F1",
            " → ".join(
                f"{name} {m['macro_precision']:.1f} / {m['macro_recall']:.1f} / {m['macro_f1']:.1f}%"
                for name, m in (("float", metrics["float"]), ("int8", metrics["int8"]))
            ),
        )
    comp = report.get("compression")
    if comp and len(comp["stages"]) > 2:
        t.add_row(
            "compression stages",
            " → ".join(
                f"{human_bytes(st['bytes'])} ({ratio_text(st['compression'])})" for st in comp["stages"]
            ),
        )
    if acc.get("meaningless"):
        t.add_row("", f"[yellow]accuracy is meaningless: {acc['meaningless']}[/yellow]")
    comp = report.get("compression") or {}
    if "float_accuracy_original" in comp:
        steps = [f"original float {comp['float_accuracy_original']:.2f}%"]
        if comp.get("float_accuracy_pruned") is not None:
            steps.append(f"pruned {comp['float_accuracy_pruned']:.2f}%")
        if comp.get("float_accuracy_after_recovery") is not None:
            steps.append(f"after recovery {comp['float_accuracy_after_recovery']:.2f}%")
        if "int8_accuracy" in acc:
            steps.append(f"int8 {acc['int8_accuracy']:.2f}%")
        t.add_row("compression", " → ".join(steps))
    sparse = report.get("sparse") or {}
    chosen = [x for x in sparse.get("layers", []) if x["chosen"] == "sparse"]
    if chosen:
        t.add_row(
            "sparse layers",
            f"{len(chosen)} of {len(sparse['layers'])} (block {sparse['block'][0]}x{sparse['block'][1]}): "
            + ", ".join(f"{x['op']} {x['expected_gain']:.1f}x" for x in chosen[:6])
            + (" …" if len(chosen) > 6 else ""),
        )
    smoke = report.get("smoke_run")
    if smoke:
        ok = (
            "[green]bit-identical to host[/green]" if smoke["bit_identical_to_host"] else "[red]DIFFERS[/red]"
        )
        t.add_row("smoke run", f"{smoke['device']}: {ok}")
    if timings:
        t.add_row("build time", ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
    console.print(t)


def mcu_lines(mcu: dict[str, Any]) -> list[str]:
    """A microcontroller build's flash and RAM against its budget, as `what: figures` lines."""
    f, r = mcu["flash"], mcu["ram"]

    def limit(part: dict[str, Any]) -> str:
        gate = f", gate {human_bytes(part['gate_bytes'])}" if part.get("gate_bytes") else ""
        margin = part.get("margin_bytes")
        left = f", {human_bytes(margin)} left" if margin is not None else ""
        return f"budget {human_bytes(part['budget_bytes'])}{gate}{left}"

    stack = r["stack_bytes"]
    stack_text = human_bytes(stack) if stack is not None else "unbounded"
    total = human_bytes(r["total_bytes"]) if r["total_bytes"] is not None else "?"
    return [
        f"mcu: {mcu['board']}, {mcu.get('isa') or 'reference'} kernels",
        (
            f"flash: {human_bytes(f['total_bytes'])} = code {human_bytes(f['code_bytes'])} + weights "
            f"{human_bytes(f['weights_bytes'])} ({limit(f)})"
        ),
        (
            f"RAM: {total} = arena {human_bytes(r['arena_bytes'])} + static {human_bytes(r['static_bytes'])} + stack "
            f"{stack_text} ({limit(r)})"
        ),
    ]


def print_profile(console: Console, profile: dict[str, Any], *, top: int = 25) -> None:
    """The per-op table sorted by cost, then latency, memory and size in a few lines."""
    key = cost_key(profile)
    dev = profile["device"]
    lat = profile["latency_ms"]
    ops = sorted(profile["ops"], key=lambda o: -o.get(key, 0))
    t = Table(
        title=f"edgebuild profile: {profile['model']} on {dev['name']} (ops by "
        f"{'instructions' if key == 'instructions' else 'median time'})",
        title_justify="left",
    )
    # Numbers never wrap or truncate: their columns are as wide as their widest cell; on a narrow terminal the
    # op name, type and shape give way (ellipsis).
    heads = ["#", "op", "type", "output", "MACs"]
    heads += ["instructions", "share"] if key == "instructions" else ["ms", "share", "GMAC/s"]
    rows = []
    for o in ops[:top]:
        out = "×".join(str(d) for d in o["outputs"][0]) if o["outputs"] and o["outputs"][0] else "-"
        macs = f"{o['macs'] / 1e6:.2f}M" if o["macs"] else "-"
        if key == "instructions":
            cells = [f"{o['instructions']:,}", f"{100 * o['share_of_instructions']:.1f}%"]
        else:
            cells = [
                f"{o['ms']:.3f}",
                f"{100 * o['share_of_time']:.1f}%",
                f"{o['gmacs_per_s']:.2f}" if o["macs"] else "-",
            ]
        rows.append([str(o["index"]), o["name"], o["type"], out, macs, *cells])
    for i, head in enumerate(heads):
        if head in ("op", "type", "output"):
            t.add_column(head, overflow="ellipsis", no_wrap=True)
        else:
            width = max([len(head)] + [len(r[i]) for r in rows])
            t.add_column(head, justify="right", no_wrap=True, min_width=width)
    for r in rows:
        t.add_row(*r)
    if len(ops) > top:
        t.add_row("", f"… {len(ops) - top} more ops", *[""] * (len(heads) - 2))
    console.print(t)
    if "mcu" in profile:  # bare metal under qemu-system-arm: no clock, instructions instead
        console.print(f"[yellow]{lat.get('note', '')}[/yellow]")
    else:
        note = f" [yellow]({lat['note']})[/yellow]" if not lat["meaningful"] else ""
        console.print(
            f"latency: load {profile['load_ms']:.2f} ms; run median {lat['median']:.3f} ms, min {lat['min']:.3f}, "
            f"p90 {lat['p90']:.3f}, max {lat['max']:.3f} over {lat['iterations']} run(s) after {lat['warmup']} "
            f"warm-up{note}"
        )
    ins = profile.get("instructions")
    if ins:
        console.print(
            f"instructions per invoke: {ins['per_invoke']:,} = ops {ins['ops_sum']:,} + runtime "
            f"{ins['runtime_overhead']:,} ({'identical' if ins['identical_across_invokes'] else 'DIFFERENT'} "
            f"across {ins['invokes_counted']} invokes)"
        )
    if "mcu" in profile:  # bare metal: flash and RAM of the firmware instead of the OS's view
        for line in mcu_lines(profile["mcu"]):
            console.print(line)
        if profile["mcu"].get("stack_measured_bytes") is not None:
            console.print(f"stack measured in this run: {profile['mcu']['stack_measured_bytes']:,} B")
        return
    mem = profile["memory"]
    ov = mem["overhead"]
    console.print(
        f"memory: arena {human_bytes(mem['arena_bytes'])} (lower bound {human_bytes(mem['arena_lower_bound_bytes'])}, "
        f"+{100 * mem['arena_over_bound']:.1f}%); tracked peak {human_bytes(mem['tracked_peak_bytes'])} = arena + "
        f"weights {human_bytes(mem['weights_bytes'])} + overhead {human_bytes(ov['bytes'])} (artifact tables "
        f"{human_bytes(ov['artifact_other_bytes'])}, runtime bookkeeping {human_bytes(ov['runtime_bookkeeping_bytes'])})"
    )
    rss = mem["rss"]
    emu = " [yellow](includes qemu itself)[/yellow]" if rss["includes_emulator"] else ""
    console.print(
        f"peak RSS {human_bytes(rss['peak_bytes'])}{emu}: before load {human_bytes(rss['before_load_bytes'])} + code pages "
        f"{human_bytes(rss['code_pages_bytes'])} + tracked + runner buffers = {human_bytes(rss['predicted_peak_bytes'])} "
        f"predicted ({100 * (rss['peak_vs_predicted'] or 0):+.1f}%)"
    )
    size = profile["size"]
    console.print(
        f"size: artifact {human_bytes(size['artifact_bytes'])}, runner {human_bytes(size['runner_bytes'])}"
    )


def print_comparison(console: Console, cmp: dict[str, Any], *, top: int = 15) -> None:
    t = Table(title="edgebuild profile --compare", title_justify="left")
    for col in ("metric", "old", "new", "delta"):
        t.add_column(col, justify="left" if col == "metric" else "right")
    for r in cmp["metrics"]:

        def fmt(v: Any) -> str:
            return "-" if v is None else (f"{v:,.3f}" if isinstance(v, float) else f"{v:,}")

        rel = f" ({100 * r['relative']:+.1f}%)" if r["relative"] is not None else ""
        d = r["delta"]
        delta = "-" if d is None else (f"{d:+,.3f}" if isinstance(d, float) else f"{d:+,}") + rel
        t.add_row(r["metric"], fmt(r["old"]), fmt(r["new"]), delta)
    console.print(t)
    if cmp["ops"]:
        o = Table(title=f"ops with the largest change ({cmp['op_cost']})", title_justify="left")
        for col in ("op", "type", "old", "new", "delta"):
            o.add_column(col, justify="left" if col in ("op", "type") else "right")
        for r in cmp["ops"][:top]:
            o.add_row(r["name"], r["type"], f"{r['old']:,.6g}", f"{r['new']:,.6g}", f"{r['delta']:+,.6g}")
        console.print(o)
