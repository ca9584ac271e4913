"""report: what a build and a profile tell their readers (DESIGN.md stage 10).

- document.py: report.json, the machine contract (`make_report`, `write_json`; docs/report.md).
- terminal.py: the build summary, the profile's per-op table and the --compare deltas.
- build_html.py: the build's report.html and its sections (which the profile's page repeats after its own).
- html.py: the profile's report.html; blocks.py: what both pages are made of (escaping, tables, SVG charts).

Nothing here imports torch: the CLI's cached-build path prints a summary without it.
"""

from __future__ import annotations

from .build_html import build_sections_html, render_build_html, write_build_html
from .document import make_report, write_json
from .html import render_html, write_html
from .terminal import print_comparison, print_profile, print_summary

__all__ = [
    "build_sections_html",
    "make_report",
    "print_comparison",
    "print_profile",
    "print_summary",
    "render_build_html",
    "render_html",
    "write_build_html",
    "write_html",
    "write_json",
]
