"""report.html: one self-contained page (inline CSS and SVG, no scripts, nothing fetched) for the build, and for
`edgebuild profile`, which puts its per-op costs, arena timeline and size breakdown before the build's sections."""

from __future__ import annotations

import os
from html import escape
from pathlib import Path
from typing import Any

from .formatting import cost_key, human_bytes, ratio_text


def _esc(s: Any) -> str:
    return escape(str(s), quote=True)


def _svg_op_bars(profile: dict[str, Any], top: int = 40) -> str:
    key = cost_key(profile)
    ops = sorted(profile["ops"], key=lambda o: -o.get(key, 0))[:top]
    peak = max((o.get(key, 0) for o in ops), default=0) or 1
    row, label_w, bar_w = 18, 330, 520
    h = row * len(ops) + 24
    unit = "instructions" if key == "instructions" else "ms"
    parts = [
        (
            f'<svg id="op-cost-chart" xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 140}" height="{h}" '
            f'role="img" aria-label="per-op cost ({unit})">'
        )
    ]
    for i, o in enumerate(ops):
        y = 4 + i * row
        w = max(1.0, bar_w * o.get(key, 0) / peak)
        value = f"{o[key]:,}" if key == "instructions" else f"{o[key]:.3f} ms"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end" class="lbl">{_esc(o["name"])} '
            f'<tspan class="dim">{_esc(o["type"])}</tspan></text>'
            f'<rect class="bar" x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{row - 5}">'
            f"<title>{_esc(o['name'])}: {value}, {o['macs']:,} MACs</title></rect>"
            f'<text x="{label_w + w + 4:.1f}" y="{y + 13}" class="val">{value}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _svg_arena(profile: dict[str, Any]) -> str:
    timeline = profile["arena_timeline"]
    mem = profile["memory"]
    n_ops = max([t["last_op"] for t in timeline] + [1]) + 1
    arena = max(mem["arena_bytes"], 1)
    w, h, left, bottom = 860, 320, 60, 24
    sx, sy = (w - left - 10) / (n_ops + 1), (h - bottom - 10) / arena
    parts = [
        (
            f'<svg id="arena-timeline" xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img" '
            'aria-label="arena timeline: tensor lifetimes (x, op index) by arena offset (y)">'
        ),
        f'<rect x="{left}" y="10" width="{w - left - 10}" height="{h - bottom - 10}" class="frame"/>',
    ]
    for i, t in enumerate(timeline):
        x = left + (t["first_op"] + 1) * sx
        width = max(1.5, (t["last_op"] - t["first_op"] + 1) * sx)
        y = h - bottom - (t["offset"] + t["bytes"]) * sy
        hue = (i * 47) % 360
        parts.append(
            f'<rect class="tensor" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" '
            f'height="{max(1.0, t["bytes"] * sy):.1f}" fill="hsl({hue},60%,60%)">'
            f"<title>{_esc(t['name'])}: {t['bytes']:,} B at offset {t['offset']:,}, ops {t['first_op']}…"
            f"{t['last_op']}</title></rect>"
        )
    bound_y = h - bottom - mem["arena_lower_bound_bytes"] * sy
    parts.append(
        f'<line x1="{left}" x2="{w - 10}" y1="{bound_y:.1f}" y2="{bound_y:.1f}" class="bound"/>'
        f'<text x="{w - 12}" y="{bound_y - 3:.1f}" text-anchor="end" class="val">lower bound '
        f"{human_bytes(mem['arena_lower_bound_bytes'])}</text>"
        f'<text x="{left - 4}" y="18" text-anchor="end" class="val">{human_bytes(arena)}</text>'
        f'<text x="{left - 4}" y="{h - bottom}" text-anchor="end" class="val">0</text>'
        f'<text x="{left}" y="{h - 6}" class="val">op 0</text>'
        f'<text x="{w - 10}" y="{h - 6}" text-anchor="end" class="val">op {n_ops - 1}</text></svg>'
    )
    return "".join(parts)


def _svg_sizes(profile: dict[str, Any]) -> str:
    size = profile["size"]
    parts_in = [(s["name"], s["bytes"]) for s in size["artifact_sections"] if s["bytes"] > 0]
    parts_in.append(("runner binary", size["runner_bytes"]))
    total = sum(b for _, b in parts_in) or 1
    w, bar_h = 860, 30
    x = 0.0
    out = [
        f'<svg id="size-breakdown" xmlns="http://www.w3.org/2000/svg" width="{w}" height="{bar_h + 22 * len(parts_in) + 10}">'
    ]
    for i, (name, b) in enumerate(parts_in):
        width = w * b / total
        hue = (i * 67) % 360
        out.append(
            f'<rect class="part" x="{x:.1f}" y="0" width="{max(width, 0.5):.1f}" height="{bar_h}" '
            f'fill="hsl({hue},55%,55%)"><title>{_esc(name)}: {b:,} B</title></rect>'
            f'<rect x="0" y="{bar_h + 8 + 22 * i}" width="12" height="12" fill="hsl({hue},55%,55%)"/>'
            f'<text x="18" y="{bar_h + 19 + 22 * i}" class="lbl2">{_esc(name)}: {human_bytes(b)} '
            f"({100 * b / total:.1f}%)</text>"
        )
        x += width
    out.append("</svg>")
    return "".join(out)


_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1000px}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse}td,th{padding:2px 10px;text-align:right;border-bottom:1px solid #eee}
td:first-child,th:first-child{text-align:left}
.warn{background:#fff4d6;padding:8px;border-left:4px solid #e0a800}
svg text{font-size:11px}.lbl{fill:#222}.dim{fill:#888}.val{fill:#555}.lbl2{fill:#222;font-size:12px}
.cm td,.cm th{padding:1px 6px;font-size:12px}.cm caption{font-size:12px;text-align:left}.side{display:flex;gap:24px}
.bar{fill:#3b7dd8}.frame{fill:none;stroke:#ccc}.bound{stroke:#d33;stroke-dasharray:4 3}.tensor{stroke:#fff;stroke-width:.3}
"""


# ---- build sections: compression stages and evaluation (in the build's report.html and the profile's) ----------


def _confusion_html(cm: list[list[int]], caption: str) -> str:
    peak = max((max(r) for r in cm), default=1) or 1
    head = "".join(f"<th>{j}</th>" for j in range(len(cm)))
    rows = []
    for i, r in enumerate(cm):
        cells = []
        for j, v in enumerate(r):
            hue = "59,125,216" if i == j else "221,51,51"
            alpha = 0.08 + 0.6 * v / peak if v else 0
            cells.append(f"<td style='background:rgba({hue},{alpha:.2f})'>{v}</td>")
        rows.append(f"<tr><th>{i}</th>{''.join(cells)}</tr>")
    return (
        f"<table class='cm'><caption>{_esc(caption)} (rows: true class, columns: predicted)</caption>"
        f"<tr><th></th>{head}</tr>{''.join(rows)}</table>"
    )


def build_sections_html(report: dict[str, Any]) -> str:
    """HTML for the build's compression stages and labelled-evaluation metrics (empty when it has neither)."""
    parts: list[str] = []
    comp = report.get("compression")
    if comp:
        rows = "".join(
            f"<tr><td>{_esc(st['stage'])}</td><td>{st['bytes']:,}</td><td>{ratio_text(st['compression'])}</td></tr>"
            for st in comp["stages"]
        )
        parts.append(
            "<h2>Size after each compression stage</h2>"
            f"<table id='stages'><tr><th>stage</th><th>bytes</th><th>vs float32</th></tr>{rows}</table>"
            f"<p>Whole artifact: {comp['artifact_bytes']:,} B.</p>"
        )
    metrics = report.get("accuracy", {}).get("metrics")
    if metrics:
        names = [("accuracy", "accuracy"), ("macro_precision", "macro precision"), ("macro_recall", "macro recall"),
                 ("macro_f1", "macro F1")]  # fmt: skip
        rows = "".join(
            f"<tr><td>{label}</td><td>{metrics['float'][k]:.2f}%</td><td>{metrics['int8'][k]:.2f}%</td>"
            f"<td>{metrics['int8'][k] - metrics['float'][k]:+.2f}</td></tr>"
            for k, label in names
        )
        n = report["accuracy"]["samples"]
        parts.append(
            f"<h2>Evaluation on {n} labelled samples: float vs compressed int8</h2>"
            f"<table id='metrics'><tr><th>metric</th><th>float</th><th>int8</th><th>points</th></tr>{rows}</table>"
            "<div class='side'>"
            + _confusion_html(metrics["float"]["confusion_matrix"], "float model")
            + _confusion_html(metrics["int8"]["confusion_matrix"], "compressed int8 model")
            + "</div>"
        )
    return "\n".join(parts)


def render_build_html(report: dict[str, Any]) -> str:
    """The build's report.html: summary, compression stages, evaluation. Self-contained like the profile's."""
    size, acc = report["size"], report["accuracy"]

    def row(k: str, v: str) -> str:
        return f"<tr><td>{_esc(k)}</td><td>{_esc(v)}</td></tr>"

    summary = [
        row("model", f"{report['model']['name']} ({report['model']['format']})"),
        row("target", report["target"]["name"]),
        row("artifact", f"{report['artifact']['bytes']:,} B"),
        row("weights", f"{size['float32_weights_bytes']:,} B float32 -> {size['int8_weights_bytes']:,} B int8"),
        row("ops", ", ".join(f"{k.lower()} {v}" for k, v in sorted(report["ops"].items()))),
        row("int8 vs float", f"cosine {acc['cosine_similarity']:.5f}, max |err| {acc['max_abs_error']:.4g} "
            f"({acc['samples']} samples of {acc['data']})"),
    ]  # fmt: skip
    title = f"edgebuild build: {_esc(report['model']['name'])} for {_esc(report['target']['name'])}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>{title}</title>
<style>{_CSS}</style></head>
<body>
<h1>{title}</h1>
<table id="summary">{"".join(summary)}</table>
{build_sections_html(report)}
<p>Per-op latency and memory: <code>edgebuild profile BUNDLE</code> (rewrites this page with them).</p>
</body></html>
"""


def write_build_html(path: Path, report: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render_build_html(report))
    os.replace(tmp, path)


def render_html(profile: dict[str, Any], report: dict[str, Any] | None = None) -> str:
    """A self-contained page: inline CSS and SVG, no scripts, nothing fetched from the network. With the build's
    report, its compression and evaluation sections follow the profile's."""
    dev, lat, mem, size = profile["device"], profile["latency_ms"], profile["memory"], profile["size"]
    rss, ov = mem["rss"], mem["overhead"]
    ins = profile.get("instructions")

    def row(k: str, v: str) -> str:
        return f"<tr><td>{_esc(k)}</td><td>{_esc(v)}</td></tr>"

    summary = [
        row("device", f"{dev['name']} ({dev['kind']})"),
        row("load", f"{profile['load_ms']:.3f} ms"),
        row(
            "latency (median / min / p90 / max)",
            f"{lat['median']:.3f} / {lat['min']:.3f} / {lat['p90']:.3f} / {lat['max']:.3f} ms "
            f"({lat['iterations']} runs, {lat['warmup']} warm-up)",
        ),
    ]
    if ins:
        summary.append(
            row(
                "instructions per invoke",
                f"{ins['per_invoke']:,} (ops {ins['ops_sum']:,} + runtime {ins['runtime_overhead']:,})",
            )
        )
    summary += [
        row("arena (planned / lower bound)", f"{mem['arena_bytes']:,} B / {mem['arena_lower_bound_bytes']:,} B "
            f"(+{100 * mem['arena_over_bound']:.1f}%)"),
        row("tracked peak", f"{mem['tracked_peak_bytes']:,} B = arena {mem['arena_bytes']:,} + weights "
            f"{mem['weights_bytes']:,} + overhead {ov['bytes']:,} (artifact tables {ov['artifact_other_bytes']:,}, "
            f"runtime bookkeeping {ov['runtime_bookkeeping_bytes']:,})"),
        row("peak RSS (OS)", f"{rss['peak_bytes']:,} B; predicted {rss['predicted_peak_bytes']:,} B "
            f"({100 * (rss['peak_vs_predicted'] or 0):+.1f}%)" + (" — includes qemu" if rss["includes_emulator"] else "")),
        row("artifact / runner", f"{size['artifact_bytes']:,} B / {size['runner_bytes']:,} B"),
    ]  # fmt: skip
    warn = f'<p class="warn">{_esc(lat["note"])}</p>' if not lat["meaningful"] else ""
    key = cost_key(profile)
    op_rows = "".join(
        f"<tr><td>{o['index']}</td><td style='text-align:left'>{_esc(o['name'])}</td>"
        f"<td style='text-align:left'>{_esc(o['type'])}</td>"
        f"<td>{_esc('×'.join(str(d) for d in o['outputs'][0]) if o['outputs'] and o['outputs'][0] else '-')}</td>"
        f"<td>{o['macs']:,}</td><td>{o['ms']:.4f}</td><td>{o['gmacs_per_s']:.2f}</td>"
        + (f"<td>{o['instructions']:,}</td>" if "instructions" in o else "")
        + "</tr>"
        for o in sorted(profile["ops"], key=lambda o: -o.get(key, 0))
    )
    ins_head = "<th>instructions</th>" if ins else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>edgebuild profile: {_esc(profile["model"])} on {_esc(dev["name"])}</title>
<style>{_CSS}</style></head>
<body>
<h1>edgebuild profile: {_esc(profile["model"])} on {_esc(dev["name"])}</h1>
{warn}
<table id="summary">{"".join(summary)}</table>
<h2>Per-op cost ({"instructions, deterministic" if key == "instructions" else "median ms"}), top 40</h2>
{_svg_op_bars(profile)}
<h2>Arena timeline: tensor lifetimes × offsets</h2>
<p>Each box is one arena tensor: from the op that writes it to the last op that reads it (x), at its offset
(y). The dashed line is the lower bound: the largest sum of simultaneously live tensors.</p>
{_svg_arena(profile)}
<h2>Size breakdown</h2>
{_svg_sizes(profile)}
<h2>All ops</h2>
<table id="ops"><tr><th>#</th><th>op</th><th>type</th><th>output</th><th>MACs</th><th>ms</th><th>GMAC/s</th>{ins_head}</tr>
{op_rows}</table>
{build_sections_html(report) if report else ""}
</body></html>
"""


def write_html(path: Path, profile: dict[str, Any], report: dict[str, Any] | None = None) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render_html(profile, report))
    os.replace(tmp, path)
