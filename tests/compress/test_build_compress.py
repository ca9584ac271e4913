"""The compression options through `edgebuild build`: a recipe file with CLI overrides, the stages in report.json
and report.html, labelled evaluation metrics, a Huffman-coded artifact the runtime loads, and clear recipe errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgebuild import _native
from edgebuild.cli import main
from edgebuild.serialize import Section, section_sizes

DIGITS = Path("examples/digits").resolve()


def edgebuild(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        code = main(list(args))
    except SystemExit as e:
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("data")
    np.savez(d / "calib.npz", x=np.load(DIGITS / "calib.npz")["x"][:16])
    ev = np.load(DIGITS / "eval.npz")
    np.savez(d / "eval.npz", x=ev["x"][:120], y=ev["y"][:120])
    return d


def test_recipe_build_with_cli_override(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipe = tmp_path / "recipe.toml"
    recipe.write_text(
        f"""
[build]
model = "{DIGITS / "model.pt"}"
calib = "{data / "calib.npz"}"
eval = "{data / "eval.npz"}"
out = "bundle"          # relative to the recipe's folder
smoke = false
cache = false

[compress]
cluster_bits = 4
low_rank_energy = 1.0   # full rank never saves parameters: no layer factorized (tests/compress/test_lowrank.py)
finetune_epochs = 1
huffman = true
max_drop = 1.0
"""
    )
    # 2-bit sharing costs the digits CNN ~20 points: the budget must lift layers back to plain int8.
    code, out, err = edgebuild(capsys, "build", "--config", str(recipe), "--cluster-bits", "2")
    assert code == 0, err
    assert "━" not in err and "calibrating" not in err  # stderr is no terminal here: no progress bars
    bundle = tmp_path / "bundle"
    report = json.loads((bundle / "report.json").read_text())
    comp = report["compression"]
    assert comp["options"]["cluster_bits"] == 2  # the command line wins over the recipe
    assert comp["options"]["low_rank_energy"] == 1.0  # the recipe fills the rest
    assert comp["low_rank"] == []
    stages = [s["stage"] for s in comp["stages"]]
    assert stages[0] == "float32" and stages[-1] == "Huffman-coded constants" and len(stages) == 4
    data_bytes = (bundle / "model.ebm").read_bytes()
    assert comp["stages"][-1]["bytes"] == section_sizes(data_bytes)[Section.CODED_CONSTANTS]
    assert all(len(v) > 0 for v in comp["weight_sharing"].values())
    # Labelled evaluation: accuracy, macro P/R/F1 and a confusion matrix, float and int8.
    acc = report["accuracy"]
    assert acc["samples"] == 120
    for side in ("float", "int8"):
        m = acc["metrics"][side]
        cm = np.array(m["confusion_matrix"])
        assert cm.shape == (10, 10) and cm.sum() == 120
        assert m["accuracy"] == pytest.approx(100.0 * np.trace(cm) / 120)
        assert 0 <= m["macro_f1"] <= 100
    assert acc["metrics"]["int8"]["accuracy"] == pytest.approx(acc["int8_accuracy"])
    html = (bundle / "report.html").read_text()
    assert "id='stages'" in html and "id='cm-int8'" in html and "id='compression-weight_sharing'" in html
    assert "id='accuracy-budget'" in html
    # The runtime loads the Huffman-coded artifact and agrees with the report's figures.
    m = _native.Model.from_bytes(data_bytes)
    ev = np.load(data / "eval.npz")
    pred = [int(np.asarray(m.run([ev["x"][i : i + 1]])[0]).argmax()) for i in range(120)]
    assert 100.0 * np.mean(np.array(pred) == ev["y"]) == pytest.approx(acc["int8_accuracy"])
    assert "compression stages" in out
    # --max-drop on the digits example: respected, by measurement, with the layers it kept named.
    budget = report["accuracy_budget"]
    assert acc["accuracy_drop_points"] <= 1.0
    assert budget["chosen"]["accuracy_drop_points"] == pytest.approx(acc["accuracy_drop_points"], abs=1e-3)
    assert budget["trials"][0]["accuracy_drop_points"] > 1.0  # fully compressed was over budget
    assert budget["chosen"]["uncompressed"] and budget["size_cost_bytes"] > 0
    assert set(budget["sensitivity_points"]) >= set(budget["chosen"]["uncompressed"])
    assert sorted(comp["uncompressed_layers"]) == budget["chosen"]["uncompressed"]


def test_edgebuild_toml_in_the_working_directory_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "edgebuild.toml").write_text("[compress]\ncluster_bitz = 4\n")
    monkeypatch.chdir(tmp_path)
    code, _, err = edgebuild(capsys, "build", str(DIGITS / "model.pt"))
    assert code == 1
    assert "unknown key 'cluster_bitz' in [compress]" in err and "cluster_bits" in err  # names the fix
    assert not (tmp_path / "build").exists()


@pytest.mark.parametrize(
    "text, needle",
    [
        ("[bild]\nmodel = 'm.pt'\n", "unknown table [bild]"),
        ("[compress]\ncluster_bits = 'four'\n", "cluster_bits = 'four' must be a int"),
        ("[compress]\nhuffman = 1\n", "huffman = 1 must be a bool"),
        ("[compress]\ncluster_bits = 12\n", "2 to 8 bits"),
        ("[build\n", "not valid TOML"),
        ("[compress]\nlow_rank_energy = 0.9\nlow_rank_size = 0.5\n", "not both"),
    ],
)
def test_recipe_errors(text: str, needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recipe = tmp_path / "r.toml"
    recipe.write_text(text)
    code, _, err = edgebuild(capsys, "build", str(DIGITS / "model.pt"), "--config", str(recipe))
    assert code == 1 and needle in err, err
    assert err.count("\n") == 1  # one line, no traceback


def test_missing_config_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = edgebuild(capsys, "build", "--config", "/nonexistent/edgebuild.toml")
    assert code == 1 and "file not found" in err


def test_max_drop_needs_labels(capsys: pytest.CaptureFixture[str], data: Path, tmp_path: Path) -> None:
    code, _, err = edgebuild(
        capsys, "build", str(DIGITS / "model.pt"), "--calib", str(data / "calib.npz"), "--cluster-bits", "4",
        "--max-drop", "0.5", "--no-cache", "--no-smoke", "--out", str(tmp_path / "b"),
    )  # fmt: skip
    assert code == 1 and "--max-drop needs labelled evaluation data" in err
    assert not (tmp_path / "b").exists()
