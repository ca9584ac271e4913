"""Shared pieces of the trust tests: a small calibration file (fast builds) and the CLI as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

DIGITS = Path("examples/digits").resolve()


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """`edgebuild ARGS` in a fresh process, as a user types it."""
    return subprocess.run(
        [sys.executable, "-m", "edgebuild.cli", *args],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def edgebuild(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """`edgebuild ARGS` in this process (no interpreter start-up per call): exit code, stdout, stderr."""
    from edgebuild.cli import main

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 0) -> Result:
        capsys.readouterr()
        with monkeypatch.context() as m:
            for k, v in (env or {}).items():
                m.setenv(k, v)
            try:
                code = main(list(args))
            except SystemExit as e:  # argparse's usage errors
                code = int(e.code or 0)
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


@pytest.fixture(scope="session")
def small_calib(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """16 of the digits calibration samples: the same pipeline, a quicker accuracy pass."""
    path = tmp_path_factory.mktemp("calib") / "calib16.npz"
    np.savez(path, x=np.load(DIGITS / "calib.npz")["x"][:16])
    return path
