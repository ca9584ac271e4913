"""Same model, calibration data, options and target -> byte-identical artifact and bundle (runner included), in
separate processes with different hash seeds, and with the runner rebuilt from an empty cache elsewhere."""

from __future__ import annotations

import json
import re
from pathlib import Path

from edgebuild.compile import build_runner
from edgebuild.targets import load_target
from tests.trust.conftest import DIGITS, cli


def files(bundle: Path) -> dict[str, bytes]:
    return {
        p.relative_to(bundle).as_posix(): p.read_bytes() for p in sorted(bundle.rglob("*")) if p.is_file()
    }


def test_same_inputs_same_bundle_bytes(tmp_path: Path, small_calib: Path) -> None:
    bundles = []
    for seed in ("1", "2"):
        out = tmp_path / f"b{seed}"
        p = cli(
            str(DIGITS / "model.pt"), "--target", "arm64", "--calib", str(small_calib), "--out", str(out),
            "--no-cache", env={"PYTHONHASHSEED": seed},
        )  # fmt: skip
        assert p.returncode == 0, p.stderr
        bundles.append(files(out))
    a, b = bundles
    assert sorted(a) == sorted(b)
    assert {"model.ebm", "edgebuild-run", "report.json"} <= set(a)
    for name in a:
        assert a[name] == b[name], f"{name} differs between two identical builds"
    report = json.loads(a["report.json"])
    assert report["smoke_run"]["bit_identical_to_host"] is True
    # No clock in the report: nothing that looks like a date or a time stamp.
    assert not re.search(rb"\d{4}-\d\d-\d\d|\d\d:\d\d:\d\d", a["report.json"])
    assert not any(k in a["report.json"].decode().lower() for k in ('"timestamp"', '"date"', '"built_at"'))


def test_runner_rebuilt_from_an_empty_cache_is_identical(tmp_path: Path, monkeypatch) -> None:
    """The arm64 runner (static) built in another folder, from nothing, has the same bytes: no build paths,
    dates or link-order accidents in the binary."""
    target = load_target("arm64")
    usual = build_runner(target).read_bytes()
    monkeypatch.setenv("EDGEBUILD_CACHE", str(tmp_path / "elsewhere"))
    fresh = build_runner(target)
    assert str(fresh).startswith(str(tmp_path))
    assert fresh.read_bytes() == usual
