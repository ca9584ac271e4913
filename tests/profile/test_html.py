"""report.html in a real headless Chromium: the page loads from a file with no network, and its three charts are
there with one mark per op / tensor / part."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from edgebuild.profile import ProfileOptions, profile_bundle
from edgebuild.report import render_html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _dump_dom(page: Path, profile_dir: Path) -> str:
    if CHROMIUM is None:
        pytest.fail("chromium not found: install Debian package chromium (scripts/setup.sh does)")
    done = subprocess.run(
        [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile_dir}", "--dump-dom", page.as_uri(),
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.parametrize("target", ["host", "arm64"])
def test_report_html_renders_in_chromium(
    digits_bundle: Callable[[str], Path], tmp_path: Path, target: str
) -> None:
    prof = profile_bundle(ProfileOptions(digits_bundle(target), warmup=0, iterations=2))
    page = tmp_path / "report.html"
    text = render_html(prof)
    page.write_text(text)
    # Self-contained: nothing to fetch (the SVG namespace is an identifier, not a request).
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", text)
    assert "<script" not in text
    dom = _dump_dom(page, tmp_path / "chromium")
    assert "<title>edgebuild profile: model on" in dom
    for chart in ("op-cost-chart", "arena-timeline", "size-breakdown"):
        assert f'id="{chart}"' in dom
    assert dom.count('class="bar"') == min(40, len(prof["ops"]))
    assert dom.count('class="tensor"') == len(prof["arena_timeline"])
    assert dom.count('class="part"') == sum(1 for s in prof["size"]["artifact_sections"] if s["bytes"]) + 1
    if target == "arm64":
        assert "not device latency" in dom
