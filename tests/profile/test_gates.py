"""CI gates exit non-zero with a one-line reason; --compare prints deltas between two report.json files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from edgebuild.cli import main


@pytest.fixture(scope="module")
def profiled(digits_bundle: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("profiled")
    assert main(["profile", str(digits_bundle("host")), "--iterations", "2", "--out", str(out)]) == 0
    return out / "report.json"


def _profile(bundle: Path, out: Path, *gates: str) -> int:
    return main(["profile", str(bundle), "--warmup", "0", "--iterations", "2", "--out", str(out), *gates])


def test_gates_pass_and_fail(digits_bundle: Callable[[str], Path], tmp_path: Path, capsys) -> None:
    bundle = digits_bundle("host")
    assert (
        _profile(
            bundle, tmp_path, "--max-latency-ms", "10000", "--max-peak-memory", "64MiB", "--max-size", "1MB"
        )
        == 0
    )
    capsys.readouterr()
    assert _profile(bundle, tmp_path, "--max-size", "1KiB") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        err[-1].startswith("edgebuild: error: gate failed: artifact size ")
        and "> --max-size 1024 B" in err[-1]
    )
    assert _profile(bundle, tmp_path, "--max-peak-memory", "1000", "--max-latency-ms", "0.000001") == 1
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "median latency" in line and "tracked peak memory" in line
    # The report is written before the gates are judged, so a failing CI job still has it to look at.
    assert json.loads((tmp_path / "report.json").read_text())["profile"]["latency_ms"]["iterations"] == 2


def test_latency_gate_refuses_emulated_latency(
    digits_bundle: Callable[[str], Path], tmp_path: Path, capsys
) -> None:
    bundle = digits_bundle("arm64")
    assert _profile(bundle, tmp_path, "--max-latency-ms", "1000") == 1
    assert "emulated latency is not device latency" in capsys.readouterr().err
    assert _profile(bundle, tmp_path, "--max-instructions", "1") == 1
    assert "instructions per invoke > --max-instructions 1" in capsys.readouterr().err
    assert _profile(bundle, tmp_path, "--max-instructions", "1000000000") == 0


def test_compare(profiled: Path, tmp_path: Path, capsys) -> None:
    doc = json.loads(profiled.read_text())
    doc["profile"]["size"]["artifact_bytes"] += 1000
    doc["profile"]["ops"][0]["ms"] += 1.0
    newer = tmp_path / "new.json"
    newer.write_text(json.dumps(doc))
    assert main(["profile", "--compare", str(profiled), str(newer)]) == 0
    out = capsys.readouterr().out
    assert "artifact (B)" in out and "+1,000" in out
    assert doc["profile"]["ops"][0]["name"][:10] in out
    assert main(["profile", "--compare", str(profiled), str(tmp_path / "missing.json")]) == 1
    assert "cannot read" in capsys.readouterr().err
