"""`edgebuild run --threads N` and `edgebuild profile --threads N` reach the real runner (the thread count printed and
recorded is the one the runner reports), and a count outside 1..64 is one line on stderr with nothing written."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edgebuild.cli import main
from edgebuild.errors import EdgebuildError
from edgebuild.profile import ProfileOptions, profile_bundle
from edgebuild.run import run_runner
from edgebuild.targets import load_target

DIGITS = Path(__file__).resolve().parents[2] / "examples" / "digits"


@pytest.fixture
def digit(tmp_path: Path) -> Path:
    np.save(tmp_path / "x.npy", np.load(DIGITS / "eval.npz")["x"][:1])
    return tmp_path / "x.npy"


def test_run_threads_reach_the_runner(
    digits_bundle: Callable[[str], Path], digit: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = digits_bundle("host")
    outs = {}
    for threads in ("2", "1"):
        y = tmp_path / f"y{threads}.npy"
        argv = ["run", str(bundle), "--input", str(digit), "--output", str(y), "--threads", threads]
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert f"threads: {threads} on CPUs " in out, out
        outs[threads] = np.load(y).tobytes()
    assert outs["1"] == outs["2"]


def test_profile_threads_reach_the_runner(
    digits_bundle: Callable[[str], Path], digit: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = digits_bundle("host")
    argv = [
        "profile",
        str(bundle),
        "--threads",
        "1",
        "--warmup",
        "0",
        "--iterations",
        "1",
        "--out",
        str(tmp_path),
    ]
    assert main(argv) == 0
    assert "threads: 1 on CPUs " in capsys.readouterr().err
    device = json.loads((tmp_path / "report.json").read_text())["profile"]["device"]
    assert device["threads"] == 1 and device["cpus"] and device["pinned"] is False
    # The API's keyword reaches the runner too, and the default is what the runtime picks.
    prof = profile_bundle(ProfileOptions(bundle, warmup=0, iterations=1, threads=3))
    assert prof["device"]["threads"] == 3
    doc = run_runner(
        load_target("host"), bundle / "edgebuild-run", bundle / "model.ebm", [digit], [], threads=None
    )
    assert doc["threads"] == doc["default_threads"] >= 1


@pytest.mark.parametrize("command", ["run", "profile"])
@pytest.mark.parametrize("threads", ["0", "65", "-1"])
def test_threads_out_of_range_is_one_line(
    digits_bundle: Callable[[str], Path],
    digit: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    command: str,
    threads: str,
) -> None:
    out = tmp_path / "out"
    argv = [command, str(digits_bundle("host")), "--input", str(digit), "--threads", threads]
    argv += ["--output", str(out / "y.npy")] if command == "run" else ["--out", str(out)]
    assert main(argv) == 1
    err = capsys.readouterr().err
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("edgebuild: error: threads must be 1..64"), err
    assert f"got {threads}" in err and "Traceback" not in err
    assert not out.exists()


def test_api_threads_out_of_range(digits_bundle: Callable[[str], Path]) -> None:
    bundle = digits_bundle("host")
    bads: list[Any] = [0, 65, True, 2.0]
    for bad in bads:
        with pytest.raises(EdgebuildError, match=r"threads must be 1\.\.64"):
            run_runner(
                load_target("host"), bundle / "edgebuild-run", bundle / "model.ebm", [], [], threads=bad
            )
        with pytest.raises(EdgebuildError, match=r"threads must be 1\.\.64"):
            profile_bundle(ProfileOptions(bundle, threads=bad))


def test_qemu_profile_with_threads_skips_instruction_counts(digits_bundle: Callable[[str], Path]) -> None:
    """The instruction-count plugin needs one thread: asked for two, the profile runs two and counts nothing."""
    logged: list[str] = []
    prof = profile_bundle(
        ProfileOptions(digits_bundle("arm64"), device="qemu", warmup=0, iterations=1, threads=2),
        log=logged.append,
    )
    assert prof["device"]["threads"] == 2 and prof["instructions"] is None
    assert any("instruction counts skipped" in s for s in logged), logged
