"""The build's report: report.json's accuracy metrics, size by layer and toolchain on the digits example with --eval,
and its report.html — every section there, names escaped, rendered by a real headless Chromium with no errors."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edgebuild.pipeline import BuildOptions, build
from edgebuild.report import render_build_html, render_html
from edgebuild.report.build_html import TOP_LAYERS
from edgebuild.serialize import Section, read_artifact, section_sizes

ROOT = Path(__file__).resolve().parents[2]
DIGITS = ROOT / "examples" / "digits"
EVAL = 120
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SECTIONS = ("accuracy", "size", "layers", "float", "sparse", "compression", "memory", "target")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("report")
    np.savez(d / "calib.npz", x=np.load(DIGITS / "calib.npz")["x"][:16])
    ev = np.load(DIGITS / "eval.npz")
    np.savez(d / "eval.npz", x=ev["x"][:EVAL], y=ev["y"][:EVAL])
    out = d / "digits-host"
    build(
        BuildOptions(
            model=DIGITS / "model.pt", calib=d / "calib.npz", eval=d / "eval.npz", out=out, smoke=False
        )
    )
    return out


def _report(bundle: Path) -> dict[str, Any]:
    return json.loads((bundle / "report.json").read_text())


def test_report_json_has_metrics_layers_and_toolchain(bundle: Path) -> None:
    report = _report(bundle)
    metrics = report["accuracy"]["metrics"]
    for side in ("float", "int8"):
        cm = np.array(metrics[side]["confusion_matrix"])
        assert cm.shape == (10, 10) and cm.sum() == EVAL  # every evaluated sample counted once
        assert metrics[side]["accuracy"] == pytest.approx(100.0 * np.trace(cm) / EVAL)
    # Size by layer: every constant of the artifact belongs to exactly one row, so the rows sum to the weights.
    layers = report["size"]["by_layer"]
    data = (bundle / "model.ebm").read_bytes()
    program = read_artifact(data)
    assert sum(r["bytes"] for r in layers) == report["size"]["int8_weights_bytes"] == program.weights_bytes()
    # ... and the artifact's constants section holds them plus at most 64 B of alignment per constant tensor.
    constants = [t for t in program.tensors if t.data is not None]
    slack = section_sizes(data)[Section.CONSTANTS] - program.weights_bytes()
    assert 0 <= slack <= 64 * len(constants)
    assert [r["bytes"] for r in layers] == sorted((r["bytes"] for r in layers), reverse=True)
    weighted_ops = {op.name for op in program.ops if any(i >= 0 and program.tensors[i].data is not None
                                                         for i in op.inputs)}  # fmt: skip
    assert {r["op"] for r in layers} == weighted_ops
    assert sum(r["tensors"] for r in layers) == len(constants)
    assert sum(s["bytes"] for s in report["size"]["artifact_sections"]) == len(data)
    tc = report["toolchain"]
    assert tc["compiler"] == "g++" and tc["compiler_version"] and tc["emulator"] is None


def _hostile(report: dict[str, Any]) -> dict[str, Any]:
    """The report with user-controlled strings that would break unescaped HTML, and more layers than the chart
    names (so it sums the rest)."""
    r = copy.deepcopy(report)
    r["model"]["name"] = "m<i>odel"
    layers = r["size"]["by_layer"]
    extra = [dict(layers[-1], op=f"blk.{i}<b>&", bytes=10 + i) for i in range(TOP_LAYERS)]
    r["size"]["by_layer"] = sorted(layers + extra, key=lambda x: -x["bytes"])
    r["float_ops"] = [{"op": "aten.layer_norm.default", "node": "</td><script>alert(1)</script>",
                       "source": "m.py:3", "reason": "no int8 kernel"}]  # fmt: skip
    # the shape edgebuild/footprint.py writes (another branch)
    r["footprint"] = {"target": "host", "lean": True, "ops": ["ADD", "CONV2D"],
                      "runner": {"static": False, "bytes": 280_000, "file_bytes": 290_000},
                      "library": {"name": "libedgebuild.so", "bytes": 150_000, "file_bytes": 160_000}}  # fmt: skip
    return r


def test_build_html_sections_and_escaping(bundle: Path) -> None:
    report = _report(bundle)
    page = (bundle / "report.html").read_text()
    assert page == render_build_html(report)
    for sec in SECTIONS:
        assert f"id='sec-{sec}'" in page and f"href='#sec-{sec}'" in page
    assert page.count("<table class='cm'") == 2 and "id='cm-int8'" in page
    assert "None: every op runs in int8." in page and "id='compression-none'" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", page) and "<script" not in page

    # A report written before these sections existed (a cached or older bundle) still renders.
    old = copy.deepcopy(report)
    for key in ("by_layer", "artifact_sections"):
        del old["size"][key]
    del old["toolchain"], old["sparse"], old["compression"]
    assert "id='sec-accuracy'" in render_build_html(old)

    hostile = render_build_html(_hostile(report))
    assert "<script>" not in hostile and "<b>&" not in hostile and "<i>odel" not in hostile
    assert "&lt;/td&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in hostile and "blk.0&lt;b&gt;&amp;" in hostile
    assert f"{len(_hostile(report)['size']['by_layer']) - TOP_LAYERS} other layers" in hostile
    assert "id='footprint'" in hostile and "150,000 B (146.5 KiB)" in hostile and "lean: 2 ops" in hostile


def _dom(page: Path, tmp: Path) -> tuple[str, str]:
    if CHROMIUM is None:
        pytest.fail("chromium not found: install Debian package chromium (scripts/setup.sh does)")
    done = subprocess.run(
        [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--enable-logging=stderr", "--v=0", f"--user-data-dir={tmp}", "--dump-dom", page.as_uri(),
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, done.stderr


def test_build_html_renders_in_chromium(bundle: Path, tmp_path: Path) -> None:
    report = _hostile(_report(bundle))
    page = tmp_path / "report.html"
    page.write_text(render_build_html(report))
    dom, log = _dom(page, tmp_path / "chromium")
    assert "Uncaught" not in log and "CONSOLE" not in log, log[-2000:]  # no script error, nothing blocked
    assert "<title>edgebuild build: m&lt;i&gt;odel for host</title>" in dom
    for sec in SECTIONS:
        assert f'id="sec-{sec}"' in dom
    for chart in ("stage-chart", "artifact-sections", "layer-chart"):
        assert f'id="{chart}"' in dom
    assert dom.count('class="lbar"') == TOP_LAYERS + 1  # the top layers by name, then the rest summed
    assert dom.count('class="sbar"') == len(report["compression"]["stages"]) + 1  # + the whole artifact
    assert "<script>" not in dom and "alert(1)" in dom  # the hostile node name is text, not markup
    cells = re.findall(r'<td style="background:rgba\(([\d,]+),([\d.]+)\)"', dom)
    assert len(cells) == 2 * 100  # two 10×10 heat maps


def test_profile_page_carries_the_build_sections(bundle: Path) -> None:
    """`edgebuild profile` rewrites report.html with its sections first, then these (html.render_html)."""
    from edgebuild.profile import ProfileOptions, profile_bundle

    prof = profile_bundle(ProfileOptions(bundle, warmup=0, iterations=1))
    page = render_html(prof, _report(bundle))
    assert page.index('id="op-cost-chart"') < page.index("id='sec-accuracy'") < page.index("id='sec-target'")
    assert (
        'id="size-breakdown"' in page and 'id="artifact-sections"' not in page
    )  # the artifact's sections once
