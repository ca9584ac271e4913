"""edgebuild.progress: bars drawn only where a caller shows them on a terminal, never on stdout; the stages report
through it (here the top-1 evaluation and calibration, run for real)."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from rich.console import Console

from edgebuild import progress
from edgebuild.calib import Dataset
from edgebuild.evaluate import top1
from edgebuild.quantize import quantize_model

DIGITS = Path(__file__).resolve().parents[1] / "examples" / "digits"


def _terminal() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, force_terminal=True, width=100), buf


def _labelled(n: int) -> Dataset:
    rng = np.random.default_rng(0)
    return Dataset([rng.standard_normal((n, 4)).astype(np.float32)], labels=rng.integers(0, 3, n), source="t")


def test_silent_without_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    buf = io.StringIO()
    pipe = Console(file=buf)  # a file, as stderr is in CI or a pipe
    assert not pipe.is_terminal
    with progress.shown(pipe) as drawn:
        assert not drawn and not progress.active()
        with progress.task("calibrating", total=3) as advance:
            for _ in range(3):
                advance()
        with progress.status("compiling"):
            pass
    assert buf.getvalue() == ""
    # Library use: nobody asked, nothing is drawn, wherever stderr goes.
    assert not progress.active()
    top1(lambda s: s[0][0][:3], _labelled(5))
    assert capsys.readouterr() == ("", "")


def test_draws_on_a_forced_terminal_and_never_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    console, buf = _terminal()
    with progress.shown(console) as drawn:
        assert drawn and progress.active()
        with progress.task("outer", total=2) as outer:
            with progress.task("calibrating", total=4) as advance:
                for _ in range(4):
                    advance()
                advance(0, "calibrating (done)")
            outer()
            with progress.status("compiling the arm64 runner"):
                pass
            outer()
    assert not progress.active()  # the display ends with its block
    text = buf.getvalue()
    assert "\x1b[" in text  # terminal control sequences: a live display
    for seen in ("outer", "calibrating (done)", "4/4", "compiling the arm64 runner"):
        assert seen in text, seen
    assert capsys.readouterr().out == ""


def test_stages_report_their_progress() -> None:
    console, buf = _terminal()
    data = _labelled(7)
    with progress.shown(console):
        acc = top1(lambda s: s[0][0][:3], data)
        gm = torch.export.export(
            torch.nn.Sequential(torch.nn.Linear(4, 3)).eval(), (torch.zeros(1, 4),)
        ).module()
        quantize_model(gm, [(torch.randn(1, 4),) for _ in range(5)])
    assert 0 <= acc <= 100
    text = buf.getvalue()
    assert "top-1 on 7 samples" in text and "7/7" in text
    assert "calibrating" in text and "5/5" in text


def test_cli_build_draws_on_a_terminal_stderr_and_keeps_stdout_clean(tmp_path: Path) -> None:
    """`edgebuild build` with stderr on a pseudo-terminal and stdout on a pipe: bars on the terminal only."""
    np.savez(tmp_path / "calib.npz", x=np.load(DIGITS / "calib.npz")["x"][:16])
    master, slave = pty.openpty()
    env = dict(os.environ, COLUMNS="100", TERM="xterm")
    proc = subprocess.Popen(
        [sys.executable, "-m", "edgebuild.cli", "build", str(DIGITS / "model.pt"), "--calib",
         str(tmp_path / "calib.npz"), "--out", str(tmp_path / "b"), "--no-cache", "--no-smoke"],
        stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL, env=env, text=True,
    )  # fmt: skip
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:  # a full pty buffer would block the build
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed its end
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain)
    reader.start()
    out, _ = proc.communicate(timeout=600)
    reader.join(timeout=30)
    os.close(master)
    err = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0, err[-2000:]
    assert "calibrating" in err and "16/16" in err and "comparing float and int8" in err
    assert "edgebuild: model" in out and "calibrating" not in out and "\x1b[" not in out
