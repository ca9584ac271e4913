"""The Python API's inputs: every form of calibration data gives the same artifact for the same samples, an
ExportedProgram builds as its module does, a CLI-built bundle loads, and bad input is one EdgebuildError line with
nothing left behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import edgebuild
from edgebuild.cli import main
from tests.api.conftest import make_cnn, samples

N = 8  # calibration samples: enough to calibrate, few so that each build takes seconds


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, dict]:
    """The artifact and accuracy section built from a .npz file, as the CLI reads it."""
    folder = tmp_path_factory.mktemp("ref")
    x = samples(N)
    np.savez(folder / "calib.npz", x=x)
    np.savez(folder / "eval.npz", x=x, y=np.arange(N) % 10)
    b = edgebuild.build(
        make_cnn(), (x[:1],), folder / "calib.npz", eval=str(folder / "eval.npz"), smoke=False
    )
    return b.artifact.read_bytes(), b.report["accuracy"]


def _forms() -> dict[str, object]:
    x = samples(N)
    t = torch.from_numpy(x)
    labels = torch.arange(N) % 10
    return {
        "ndarray": x,
        "dict": {"x": x},
        # (x, y) batches, the last one short: split into samples, labels ignored for calibration
        "DataLoader": DataLoader(TensorDataset(t, labels), batch_size=3),
        "list": [x[i : i + 1] for i in range(N)],
        # samples without their batch dimension (a torch Dataset's items): example_inputs gives the shape
        "generator": (t[i] for i in range(N)),
    }


@pytest.mark.parametrize("form", list(_forms()))
def test_calibration_forms_give_the_same_artifact(
    form: str, reference: tuple[bytes, dict], empty_cwd: Path
) -> None:
    x = samples(N)
    b = edgebuild.build(make_cnn(), (x[:1],), _forms()[form], smoke=False)
    assert b.report["accuracy"]["samples"] == N
    assert b.artifact.read_bytes() == reference[0]


def test_eval_from_a_dataloader_matches_the_npz(reference: tuple[bytes, dict], empty_cwd: Path) -> None:
    x = samples(N)
    loader = DataLoader(TensorDataset(torch.from_numpy(x), torch.arange(N) % 10), batch_size=5)
    b = edgebuild.build(make_cnn(), (x[:1],), [(s,) for s in x[:, None]], eval=loader, smoke=False)
    assert b.artifact.read_bytes() == reference[0]
    acc = dict(b.report["accuracy"])
    assert acc.pop("data") == "eval (DataLoader)"
    assert acc == {k: v for k, v in reference[1].items() if k != "data"} and "int8_accuracy" in acc


def test_exported_program(reference: tuple[bytes, dict], empty_cwd: Path) -> None:
    x = samples(N)
    ep = torch.export.export(make_cnn().eval(), (torch.from_numpy(x[:1]),))
    # named as the module's build is (the name is in the artifact's metadata; an ExportedProgram's default is "model")
    b = edgebuild.build(ep, calib=x, smoke=False, name="SmallCNN")
    assert b.report["model"]["name"] == "SmallCNN"
    assert b.report["model"]["format"] == "ExportedProgram (in memory)"
    assert b.artifact.read_bytes() == reference[0]


def test_load_bundle_of_a_cli_build(tmp_path: Path) -> None:
    digits = Path(__file__).resolve().parents[2] / "examples" / "digits"
    out = tmp_path / "digits-host"
    np.savez(tmp_path / "calib.npz", x=np.load(digits / "calib.npz")["x"][:N])  # few samples: a quick build
    argv = [str(digits / "model.pt"), "--calib", str(tmp_path / "calib.npz"), "--out", str(out), "--no-cache"]
    assert main(argv) == 0
    b = edgebuild.load_bundle(out)
    assert b.path == out and b.target == "host" and not b.temporary
    assert b.report["model"]["name"] == "model"
    x = np.load(digits / "calib.npz")["x"][:1]
    np.save(tmp_path / "x.npy", x)
    assert (
        main(["run", str(out), "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "y.npy")]) == 0
    )
    assert b.run(x)[0].tobytes() == np.load(tmp_path / "y.npy").tobytes()
    del b
    assert out.is_dir()  # a loaded bundle is the caller's: never removed


def _one_line(e: pytest.ExceptionInfo[edgebuild.EdgebuildError]) -> str:
    msg = str(e.value)
    assert "\n" not in msg and "internal error" not in msg, msg
    return msg


def test_wrong_calibration_shape(empty_cwd: Path) -> None:
    x = samples(N)
    with pytest.raises(edgebuild.EdgebuildError) as e:
        edgebuild.build(make_cnn(), (x[:1],), np.zeros((N, 3, 20, 20), np.float32), smoke=False)
    assert "(1, 3, 16, 16)" in _one_line(e) and "(1, 3, 20, 20)" in str(e.value)
    assert os.listdir(tempfile.gettempdir()) == []  # the failed build's temporary bundle folder is gone


def test_bad_inputs_are_one_line_errors(tmp_path: Path, empty_cwd: Path) -> None:
    x = samples(N)
    cases = {
        "not a bundle": lambda: edgebuild.load_bundle(tmp_path),
        "not a model": lambda: edgebuild.build(42, calib=x),
        "no shapes": lambda: edgebuild.build(make_cnn()),
        "not data": lambda: edgebuild.build(make_cnn(), (x[:1],), calib=3.5),
        "empty data": lambda: edgebuild.build(make_cnn(), (x[:1],), calib=[]),
        "eval without labels": lambda: edgebuild.build(make_cnn(), (x[:1],), x, eval=x),
        "unknown option": lambda: edgebuild.build(make_cnn(), (x[:1],), x, prnue="2:4"),
        "batch of 2": lambda: edgebuild.build(make_cnn(), (x[:2],), x),
        "options twice": lambda: edgebuild.build(
            make_cnn(), (x[:1],), x, compress=edgebuild.CompressOptions(huffman=True), huffman=True
        ),
    }
    expected = {
        "not a bundle": "is not an edgebuild bundle",
        "not a model": "pass an nn.Module",
        "no shapes": "needs example_inputs",
        "not data": "is not data",
        "empty data": "yielded no samples",
        "eval without labels": "needs labels",
        "unknown option": "unknown option(s) prnue",
        "batch of 2": "batch 1",
        "options twice": "not both",
    }
    for name, call in cases.items():
        with pytest.raises(edgebuild.EdgebuildError) as e:
            call()
        assert expected[name] in _one_line(e), (name, str(e.value))
    b = edgebuild.build(make_cnn(), (x[:1],), x, smoke=False)
    with pytest.raises(edgebuild.EdgebuildError) as e:
        b.run(x[:1], x[:1])
    assert "has 1 input(s)" in _one_line(e)
    with pytest.raises(edgebuild.EdgebuildError) as e:
        b.run(np.zeros((1, 3, 8, 8), np.float32))
    assert "takes (1, 3, 16, 16)" in _one_line(e)
    with pytest.raises(edgebuild.EdgebuildError) as e:
        b.run(x[:1], threads=0)
    assert "threads must be" in _one_line(e)


def test_random_calibration_warns(empty_cwd: Path) -> None:
    x = samples(1)
    with pytest.warns(edgebuild.EdgebuildWarning, match="RANDOM"):
        b = edgebuild.build(make_cnn(), (x,), smoke=False)
    assert b.report["accuracy"]["meaningless"] == "random calibration data"


def test_compression_options_exports_and_out(tmp_path: Path, empty_cwd: Path) -> None:
    """CompressOptions' fields are keywords of build(); export= writes the formats into the bundle; out= is where
    the bundle goes, the caller's to keep."""
    x = samples(N)
    out = tmp_path / "pruned"
    b = edgebuild.build(
        make_cnn(), (x[:1],), x, out=out, smoke=False, prune="unstructured:0.5", export=["onnx"]
    )
    assert b.path == out and not b.temporary
    assert b.report["compression"]["options"]["prune"] == "unstructured:0.5"
    assert b.report["compression"]["prune"]["sparsity"] == 0.5
    assert (b.path / "model.onnx").is_file()
    del b
    assert (out / "model.ebm").is_file()
