"""`edgebuild --target host model.onnx --calib ...` end to end, and a truncated ONNX file refused on one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tests.models import RandomCNN
from tests.onnx_in.onnx_files import export_onnx, ort_run
from tests.test_cli import cli


def test_build_and_run_onnx(tmp_path: Path) -> None:
    model = RandomCNN(0)
    shape = model.input_shape()
    path = export_onnx(model, shape, tmp_path / "cnn.onnx")
    xs = np.random.default_rng(0).standard_normal((17, *shape[1:])).astype(np.float32)
    np.savez(tmp_path / "calib.npz", image=xs[:16])  # keyed by the ONNX input's name
    out = tmp_path / "bundle"
    r = cli("--target", "host", str(path), "--calib", str(tmp_path / "calib.npz"), "--out", str(out))
    assert r.returncode == 0, r.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["model"]["format"] == "onnx"
    assert report["model"]["inputs"][0]["shape"] == list(shape)

    np.save(tmp_path / "x.npy", xs[16:])
    r = cli("run", str(out), "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "y.npy"))
    assert r.returncode == 0, r.stderr
    got = np.load(tmp_path / "y.npy").ravel()
    want = ort_run(path, {"image": xs[16:]})[0].ravel()
    assert got.argmax() == want.argmax()
    assert float(got @ want / np.linalg.norm(got) / np.linalg.norm(want)) >= 0.99


def test_truncated_onnx_file(tmp_path: Path) -> None:
    model = RandomCNN(0)
    whole = export_onnx(model, model.input_shape(), tmp_path / "whole.onnx").read_bytes()
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(whole[: len(whole) // 2])
    out = tmp_path / "bundle"
    r = cli("--target", "host", str(bad), "--input-shape", "1,3,11,11", "--out", str(out))
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "not a readable ONNX model" in lines[0] and "truncated" in lines[0], r.stderr
    assert "Traceback" not in r.stderr
    assert not out.exists() and not list(tmp_path.glob(".bundle*"))


def test_onnx_builds_are_keyed_by_content(tmp_path: Path) -> None:
    from edgebuild.cache import Request, bundle_key
    from edgebuild.pipeline import BuildOptions

    model = RandomCNN(0)
    path = export_onnx(model, model.input_shape(), tmp_path / "cnn.onnx")
    key = bundle_key(Request.from_options(BuildOptions(model=path)))
    assert key is not None and key == bundle_key(Request.from_options(BuildOptions(model=path)))
    export_onnx(RandomCNN(1), RandomCNN(1).input_shape(), path)  # other weights, same file name
    assert bundle_key(Request.from_options(BuildOptions(model=path))) not in (None, key)
