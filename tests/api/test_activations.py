"""`activations=` / `--activations` through the API, the recipe and the cache: what report.json records, that the
choice is in the build cache key, and that a bad value is one error line. (Every format: the option matrix,
tests/pipeline/test_option_matrix.py; the lowering: tests/lower/test_dynamic_fc.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

import edgebuild
from edgebuild.cache import Request, bundle_key
from edgebuild.recipe import load_recipe
from edgebuild.report import render_build_html
from tests.api.conftest import make_cnn, samples
from tests.trust.conftest import DIGITS


def test_report_records_the_choice(empty_cwd: Path) -> None:
    x = samples(4)
    b = edgebuild.build(make_cnn(), (x[:1],), x, smoke=False, activations="dynamic")
    act = b.report["activations"]
    assert act["mode"] == "dynamic" and len(act["dynamic_layers"]) == 1
    assert b.report["ops"].get("DYNAMIC_FULLY_CONNECTED") == 1 and b.report["ops"].get("CONV2D")
    page = render_build_html(b.report)  # report.html lists the dynamic layers, linked from the page's nav
    assert "id='sec-activations'" in page and "href='#sec-activations'" in page
    assert f"<td class='l'>{act['dynamic_layers'][0]}</td>" in page and "--activations dynamic" in page
    b = edgebuild.build(make_cnn(), (x[:1],), x, smoke=False)  # auto: a CNN stays static
    assert b.report["activations"] == {"mode": "auto", "dynamic_layers": [], "dynamic_ops": []}
    assert "sec-activations" not in render_build_html(b.report)
    assert "DYNAMIC_FULLY_CONNECTED" not in b.report["ops"]


def test_in_the_cache_key_and_recipe(tmp_path: Path) -> None:
    digits = (DIGITS / "model.pt", "host", DIGITS / "calib.npz", None, None, None, False, True)
    keys = {a: bundle_key(Request(*digits, activations=a)) for a in ("static", "dynamic", "auto")}
    assert None not in keys.values() and len(set(keys.values())) == 3
    recipe = tmp_path / "edgebuild.toml"
    recipe.write_text('[build]\nactivations = "dynamic"\n')
    assert load_recipe(recipe)["build"]["activations"] == "dynamic"


def test_bad_value_is_one_line(empty_cwd: Path) -> None:
    x = samples(2)
    with pytest.raises(edgebuild.EdgebuildError, match=r"^activations='int4': one of static, dynamic, auto$"):
        edgebuild.build(make_cnn(), (x[:1],), x, smoke=False, activations="int4")
    with pytest.raises(edgebuild.EdgebuildError, match="--activations static fixes them"):
        edgebuild.build(
            make_cnn(), (x[:1],), x, eval={"x": x, "y": [0, 1]}, activations="static", max_drop=1.0
        )
