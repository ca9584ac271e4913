"""Building blocks of report.html (the build's page and the profile's): escaping, the stylesheet, tables, inline SVG
bar charts and the confusion-matrix heat map. Every string from a report goes through `esc`: layer and op names
come from user models and may hold `<` or `&`."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from .formatting import human_bytes

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1000px}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}h3{font-size:14px;margin:16px 0 4px}
table{border-collapse:collapse}td,th{padding:2px 10px;text-align:right;border-bottom:1px solid #eee}
td:first-child,th:first-child{text-align:left}td.l,th.l{text-align:left}
.warn{background:#fff4d6;padding:8px;border-left:4px solid #e0a800}.note{color:#666}
svg text{font-size:11px}.lbl{fill:#222}.dim{fill:#888}.val{fill:#555}.lbl2{fill:#222;font-size:12px}
.cm td,.cm th{padding:1px 6px;font-size:12px}.cm caption{font-size:12px;text-align:left}.side{display:flex;gap:24px}
.bar,.lbar,.sbar{fill:#3b7dd8}.frame{fill:none;stroke:#ccc}.bound{stroke:#d33;stroke-dasharray:4 3}
.tensor{stroke:#fff;stroke-width:.3}.sparse{color:#1a7f37;font-weight:600}.good{color:#1a7f37}.bad{color:#b42318}
nav a{margin-right:10px;color:#3b7dd8}code{font-size:12px}
"""


def esc(s: Any) -> str:
    return escape(str(s), quote=True)


def kv_table(rows: Sequence[tuple[str, str]], table_id: str) -> str:
    """A two-column table of already-formatted text (escaped here)."""
    body = "".join(f"<tr><td>{esc(k)}</td><td class='l'>{esc(v)}</td></tr>" for k, v in rows)
    return f"<table id='{esc(table_id)}'>{body}</table>"


def table(
    head: Sequence[str],
    rows: Sequence[Sequence[Any]],
    table_id: str,
    left: int = 1,
    left_too: Sequence[int] = (),
) -> str:
    """A table of plain values (escaped here); the first `left` columns, and those in `left_too`, are left-aligned
    (names and prose, not numbers)."""

    def cell(tag: str, i: int, v: Any) -> str:
        cls = " class='l'" if i < left or i in left_too else ""
        return f"<{tag}{cls}>{esc(_text(v))}</{tag}>"

    h = "".join(cell("th", i, v) for i, v in enumerate(head))
    b = "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(r)) + "</tr>" for r in rows)
    return f"<table id='{esc(table_id)}'><tr>{h}</tr>{b}</table>"


def _text(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, (list, tuple)):
        if not v:
            return "none"
        return "×".join(str(x) for x in v) if all(isinstance(x, int) for x in v) else ", ".join(map(str, v))
    return str(v)


def json_block(value: Any, block_id: str) -> str:
    """Any JSON value as HTML, for report sections whose fields vary by option (compression details, footprint):
    a list of objects is a table over the union of their keys, an object of objects a table with a row per key,
    another object a key/value table (nested values recursively), a scalar its text; `*_bytes` numbers read in KiB
    too."""
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        keys = list(dict.fromkeys(k for v in value for k in v))
        rows = [[_scalar(k, v.get(k)) for k in keys] for v in value]
        return table(keys, rows, block_id, left=1)
    if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
        keys = list(dict.fromkeys(k for v in value.values() for k in v))  # e.g. per-layer weight sharing
        rows = [[name] + [_scalar(k, v.get(k)) for k in keys] for name, v in value.items()]
        return table(["", *keys], rows, block_id, left=1)
    if isinstance(value, dict):
        parts = []
        for k, v in value.items():
            inner = (json_block(v, f"{block_id}-{k}") if isinstance(v, (dict, list)) and v
                     else esc(_scalar(k, v)))  # fmt: skip
            parts.append(f"<tr><td>{esc(k)}</td><td class='l'>{inner}</td></tr>")
        return f"<table id='{esc(block_id)}'>{''.join(parts)}</table>"
    return esc(_text(value))


def _scalar(key: str, v: Any) -> str:
    if isinstance(v, int) and not isinstance(v, bool) and key.endswith("bytes"):
        return f"{v:,} ({human_bytes(v)})"
    if isinstance(v, (dict, list)) and v and not all(isinstance(x, (int, float, str)) for x in v):
        return _compact(v)
    return _text(v)


def _compact(v: Any) -> str:
    """A nested value in one cell: short JSON-like text."""
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_compact(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(_compact(x) for x in v) + "]"
    return _text(v)


def svg_hbars(
    chart_id: str,
    rows: Sequence[tuple[str, str, float, str]],
    *,
    css_class: str = "bar",
    label_w: int = 330,
    bar_w: int = 520,
    aria: str = "",
    titles: Sequence[str] | None = None,
) -> str:
    """Horizontal bars, one per row (label, dim sub-label, value, value text); bars scale to the largest value.
    `titles`: each bar's tooltip (default "label: value text")."""
    peak = max((v for _, _, v, _ in rows), default=0) or 1
    row = 18
    parts = [
        (
            f'<svg id="{esc(chart_id)}" xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 140}" '
            f'height="{row * len(rows) + 24}" role="img" aria-label="{esc(aria or chart_id)}">'
        )
    ]
    for i, (label, sub, value, text) in enumerate(rows):
        y = 4 + i * row
        w = max(1.0, bar_w * value / peak)
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end" class="lbl">{esc(label)} '
            f'<tspan class="dim">{esc(sub)}</tspan></text>'
            f'<rect class="{esc(css_class)}" x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{row - 5}">'
            f"<title>{esc(titles[i] if titles else f'{label}: {text}')}</title></rect>"
            f'<text x="{label_w + w + 4:.1f}" y="{y + 13}" class="val">{esc(text)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def svg_parts(
    chart_id: str, parts_in: Sequence[tuple[str, int]], css_class: str = "part", w: int = 860
) -> str:
    """One stacked bar of named byte counts with a legend (the size breakdowns)."""
    total = sum(b for _, b in parts_in) or 1
    bar_h = 30
    x = 0.0
    out = [
        (
            f'<svg id="{esc(chart_id)}" xmlns="http://www.w3.org/2000/svg" width="{w}" '
            f'height="{bar_h + 22 * len(parts_in) + 10}">'
        )
    ]
    for i, (name, b) in enumerate(parts_in):
        width = w * b / total
        hue = (i * 67) % 360
        out.append(
            f'<rect class="{esc(css_class)}" x="{x:.1f}" y="0" width="{max(width, 0.5):.1f}" height="{bar_h}" '
            f'fill="hsl({hue},55%,55%)"><title>{esc(name)}: {b:,} B</title></rect>'
            f'<rect x="0" y="{bar_h + 8 + 22 * i}" width="12" height="12" fill="hsl({hue},55%,55%)"/>'
            f'<text x="18" y="{bar_h + 19 + 22 * i}" class="lbl2">{esc(name)}: {human_bytes(b)} '
            f"({100 * b / total:.1f}%)</text>"
        )
        x += width
    out.append("</svg>")
    return "".join(out)


def confusion_html(cm: list[list[int]], caption: str, table_id: str = "") -> str:
    """A confusion matrix as a heat-map table: blue on the diagonal (right), red off it (confusions), the colour's
    strength the count relative to the largest cell of its kind (so a single confusion still stands out)."""
    n = len(cm)
    peak = max((cm[i][i] for i in range(n)), default=1) or 1
    peak_off = max((cm[i][j] for i in range(n) for j in range(n) if i != j), default=1) or 1
    head = "".join(f"<th>{j}</th>" for j in range(len(cm)))
    rows = []
    for i, r in enumerate(cm):
        cells = []
        for j, v in enumerate(r):
            hue = "59,125,216" if i == j else "221,51,51"
            alpha = (0.08 + 0.6 * v / peak if i == j else 0.25 + 0.55 * v / peak_off) if v else 0
            cells.append(
                f"<td style='background:rgba({hue},{alpha:.2f})' title='true {i}, predicted {j}'>{v}</td>"
            )
        rows.append(f"<tr><th>{i}</th>{''.join(cells)}</tr>")
    tid = f" id='{esc(table_id)}'" if table_id else ""
    return (
        f"<table class='cm'{tid}><caption>{esc(caption)} (rows: true class, columns: predicted)</caption>"
        f"<tr><th></th>{head}</tr>{''.join(rows)}</table>"
    )


def page(title: str, body: str) -> str:
    """The whole self-contained document: inline CSS, no scripts, a CSP that forbids fetching anything."""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>{esc(title)}</title>
<style>{CSS}</style></head>
<body>
<h1>{esc(title)}</h1>
{body}
</body></html>
"""
