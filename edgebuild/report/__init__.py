"""report: what a build and a profile tell their readers (DESIGN.md stage 10).

- document.py: report.json, the machine contract (`make_report`, `write_json`; docs/report.md).
- terminal.py: the build summary, the profile's per-op table and the --compare deltas.
- html.py: report.html, one self-contained page for the build and the profile.

Nothing here imports torch: the CLI's cached-build path prints a summary without it.
"""

from __future__ import annotations

from .document import make_report, write_json
from .html import build_sections_html, render_build_html, render_html, write_build_html, write_html
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
