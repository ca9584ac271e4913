"""report.html of `edgebuild profile`: one self-contained page (inline CSS and SVG, no scripts, nothing fetched)
with the per-op costs, arena timeline and size breakdown before the build's sections (build_html.py)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .blocks import esc, page, svg_hbars, svg_parts
from .build_html import build_sections_html
from .formatting import cost_key, human_bytes


def _svg_op_bars(profile: dict[str, Any], top: int = 40) -> str:
    key = cost_key(profile)
    ops = sorted(profile["ops"], key=lambda o: -o.get(key, 0))[:top]
    unit = "instructions" if key == "instructions" else "ms"
    texts = [f"{o[key]:,}" if key == "instructions" else f"{o[key]:.3f} ms" for o in ops]
    return svg_hbars(
        "op-cost-chart",
        [(o["name"], o["type"], o.get(key, 0), t) for o, t in zip(ops, texts)],
        aria=f"per-op cost ({unit})",
        titles=[f"{o['name']}: {t}, {o['macs']:,} MACs" for o, t in zip(ops, texts)],
    )


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
            f"<title>{esc(t['name'])}: {t['bytes']:,} B at offset {t['offset']:,}, ops {t['first_op']}…"
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
    return svg_parts("size-breakdown", parts_in)


def render_html(profile: dict[str, Any], report: dict[str, Any] | None = None) -> str:
    """A self-contained page: inline CSS and SVG, no scripts, nothing fetched from the network. With the build's
    report, its compression and evaluation sections follow the profile's."""
    dev, lat, mem, size = profile["device"], profile["latency_ms"], profile["memory"], profile["size"]
    rss, ov = mem["rss"], mem["overhead"]
    ins = profile.get("instructions")
    if "mcu" in profile:
        return _render_mcu(profile, report)

    def row(k: str, v: str) -> str:
        return f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>"

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
    warn = f'<p class="warn">{esc(lat["note"])}</p>' if not lat["meaningful"] else ""
    key = cost_key(profile)
    op_rows = "".join(
        f"<tr><td>{o['index']}</td><td style='text-align:left'>{esc(o['name'])}</td>"
        f"<td style='text-align:left'>{esc(o['type'])}</td>"
        f"<td>{esc('×'.join(str(d) for d in o['outputs'][0]) if o['outputs'] and o['outputs'][0] else '-')}</td>"
        f"<td>{o['macs']:,}</td><td>{o['ms']:.4f}</td><td>{o['gmacs_per_s']:.2f}</td>"
        + (f"<td>{o['instructions']:,}</td>" if "instructions" in o else "")
        + "</tr>"
        for o in sorted(profile["ops"], key=lambda o: -o.get(key, 0))
    )
    ins_head = "<th>instructions</th>" if ins else ""
    body = f"""{warn}
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
{build_sections_html(report, in_profile=True) if report else ""}
"""
    return page(f"edgebuild profile: {profile['model']} on {dev['name']}", body)


def _render_mcu(profile: dict[str, Any], report: dict[str, Any] | None) -> str:
    """An MCU bundle's profile page: instructions per op (no clock under qemu-system-arm), flash and RAM."""
    from .terminal import mcu_lines

    dev, ins, mcu = profile["device"], profile.get("instructions"), profile["mcu"]

    def row(k: str, v: str) -> str:
        return f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>"

    summary = [row("device", f"{dev['name']} ({dev['kind']})")]
    if ins:
        summary.append(row("instructions per invoke", f"{ins['per_invoke']:,} (ops {ins['ops_sum']:,} + "
                           f"model.c between ops {ins['runtime_overhead']:,}; "
                           f"{'identical' if ins['identical_across_invokes'] else 'DIFFERENT'} across "
                           f"{ins['invokes_counted']} invokes)"))  # fmt: skip
    for line in mcu_lines(mcu):
        k, _, v = line.partition(": ")
        summary.append(row(k, v))
    if mcu.get("stack_measured_bytes") is not None:
        summary.append(row("stack measured in this run", f"{mcu['stack_measured_bytes']:,} B"))
    op_rows = "".join(
        f"<tr><td>{o['index']}</td><td style='text-align:left'>{esc(o['name'])}</td>"
        f"<td style='text-align:left'>{esc(o['type'])}</td><td style='text-align:left'>{esc(o.get('function') or '')}"
        f"</td><td>{o['macs']:,}</td>"
        + (f"<td>{o['instructions']:,}</td>" if "instructions" in o else "")
        + "</tr>"
        for o in sorted(profile["ops"], key=lambda o: -o.get("instructions", 0))
    )
    ins_head = "<th>instructions</th>" if ins else ""
    f = mcu["flash"]
    body = f"""<p class="warn">{esc(profile["latency_ms"].get("note", ""))}</p>
<table id="summary">{"".join(summary)}</table>
<h2>Per-op cost (instructions, deterministic), top 40</h2>
{_svg_op_bars(profile) if ins else ""}
<h2>Flash</h2>
{svg_parts("mcu-flash-profile", [("code", f["code_bytes"]), ("weights", f["weights_bytes"])])}
<h2>All ops</h2>
<table id="ops"><tr><th>#</th><th>op</th><th>type</th><th>kernel</th><th>MACs</th>{ins_head}</tr>
{op_rows}</table>
{build_sections_html(report, in_profile=True) if report else ""}
"""
    return page(f"edgebuild profile: {profile['model']} on {dev['name']}", body)


def write_html(path: Path, profile: dict[str, Any], report: dict[str, Any] | None = None) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render_html(profile, report))
    os.replace(tmp, path)
