"""The user's commands and every expected failure: one clear line on stderr, a non-zero exit, no traceback, and no
half-written output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from edgebuild.cli import main

DIGITS = Path("examples/digits").resolve()


def cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "edgebuild.cli", *args],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        timeout=600,
    )


def expect_error(capsys: pytest.CaptureFixture[str], args: list[str], *needles: str) -> str:
    code = main(args)
    err = capsys.readouterr().err
    assert code == 1, err
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("edgebuild: error:")]
    assert len(lines) == 1, err
    for n in needles:
        assert n in err, err
    assert "Traceback" not in err
    return err


def test_missing_model_file(capsys, tmp_path: Path) -> None:
    expect_error(
        capsys,
        ["--target", "host", str(tmp_path / "nope.pt"), "--input-shape", "1,1,8,8"],
        "model file not found",
        "nope.pt",
    )


def test_not_a_model(capsys, tmp_path: Path) -> None:
    f = tmp_path / "notes.pt"
    f.write_text("these are not weights\n")
    expect_error(capsys, [str(f), "--input-shape", "1,1,8,8"], "is not a PyTorch model file")


def test_pickled_module_needs_trust(capsys, tmp_path: Path) -> None:
    from examples.digits.model import DigitsCNN

    f = tmp_path / "whole.pt"
    torch.save(DigitsCNN().eval(), f)
    expect_error(
        capsys,
        [str(f), "--calib", str(DIGITS / "calib.npz"), "--out", str(tmp_path / "b")],
        "--trust-model",
        "pickled",
    )
    assert not (tmp_path / "b").exists()
    assert (
        main(
            [
                str(f),
                "--calib",
                str(DIGITS / "calib.npz"),
                "--out",
                str(tmp_path / "b"),
                "--trust-model",
                "--no-smoke",
            ]
        )
        == 0
    )
    assert (tmp_path / "b" / "model.ebm").is_file()


def test_state_dict_needs_class(capsys, tmp_path: Path) -> None:
    sd = str(DIGITS / "state_dict.pt")
    expect_error(capsys, [sd, "--calib", str(DIGITS / "calib.npz")], "--model-class")
    expect_error(
        capsys,
        [sd, "--calib", str(DIGITS / "calib.npz"), "--model-class", "no_such_pkg.mod:Net"],
        "cannot import module 'no_such_pkg.mod'",
    )
    assert (
        main(
            [
                sd,
                "--calib",
                str(DIGITS / "calib.npz"),
                "--model-class",
                "examples.digits.model:DigitsCNN",
                "--out",
                str(tmp_path / "sd"),
                "--no-smoke",
            ]
        )
        == 0
    )


class WithCumprod(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.logcumsumexp(torch.cumprod(self.conv(x), 3), 2)


def test_unsupported_op_listed_with_source(capsys, tmp_path: Path) -> None:
    f = tmp_path / "sig.pt"
    torch.export.save(torch.export.export(WithCumprod().eval(), (torch.zeros(1, 1, 8, 8),)), f)
    err = expect_error(
        capsys,
        [str(f), "--input-shape", "1,1,8,8", "--out", str(tmp_path / "b")],
        "aten.cumprod.default ×1",
        "aten.logcumsumexp.default ×1",
        "test_cli.py:",
    )
    assert not (tmp_path / "b").exists()
    assert "no int8 lowering" in err


def test_random_calibration_warns_loudly(tmp_path: Path) -> None:
    out = tmp_path / "b"
    p = cli(
        "--target",
        "host",
        str(DIGITS / "model.pt"),
        "--input-shape",
        "1,1,8,8",
        "--out",
        str(out),
        "--no-smoke",
    )
    assert p.returncode == 0, p.stderr
    assert "WARNING" in p.stderr and "RANDOM" in p.stderr and "meaningless" in p.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["accuracy"]["meaningless"] == "random calibration data"


def test_missing_cross_compiler_names_package(tmp_path: Path) -> None:
    """A PATH without the aarch64 cross compiler, but with everything else edgebuild uses."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("cmake", "ninja", "gcc", "g++", "cc", "c++", "qemu-aarch64", "qemu-arm"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    env = {**os.environ, "PATH": str(bin_dir)}
    p = cli(
        "--target",
        "arm64",
        str(DIGITS / "model.pt"),
        "--calib",
        str(DIGITS / "calib.npz"),
        "--out",
        str(tmp_path / "b"),
        env=env,
    )
    assert p.returncode == 1
    assert "g++-aarch64-linux-gnu" in p.stderr and "apt-get install" in p.stderr, p.stderr
    assert "Traceback" not in p.stderr
    assert not (tmp_path / "b").exists()


@pytest.fixture(scope="module")
def host_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "digits-host"
    assert (
        main(
            [
                "--target",
                "host",
                str(DIGITS / "model.pt"),
                "--calib",
                str(DIGITS / "calib.npz"),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    return out


def test_run_writes_outputs(host_bundle: Path, tmp_path: Path, capsys) -> None:
    x = np.load(DIGITS / "eval.npz")["x"][:1]
    np.save(tmp_path / "x.npy", x)
    assert (
        main(
            ["run", str(host_bundle), "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "y.npy")]
        )
        == 0
    )
    y = np.load(tmp_path / "y.npy")
    assert y.shape == (1, 10) and y.dtype == np.float32
    assert "fnv1a64=" in capsys.readouterr().out


def test_run_wrong_input_shape(host_bundle: Path, tmp_path: Path, capsys) -> None:
    np.save(tmp_path / "x.npy", np.zeros((1, 3, 8, 8), np.float32))
    expect_error(
        capsys,
        ["run", str(host_bundle), "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "y.npy")],
        "(1,3,8,8)",
        "(1,1,8,8)",
    )
    assert not (tmp_path / "y.npy").exists()


def test_run_corrupt_artifact(host_bundle: Path, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(host_bundle, bad)
    data = bytearray((bad / "model.ebm").read_bytes())
    data[len(data) // 2] ^= 0x10
    (bad / "model.ebm").write_bytes(bytes(data))
    np.save(tmp_path / "x.npy", np.zeros((1, 1, 8, 8), np.float32))
    expect_error(capsys, ["run", str(bad), "--input", str(tmp_path / "x.npy")], "checksum")


def test_run_not_a_bundle(tmp_path: Path, capsys) -> None:
    expect_error(capsys, ["run", str(tmp_path), "--input", "x.npy"], "not an edgebuild bundle")


def test_targets_lists_all(capsys) -> None:
    assert main(["targets"]) == 0
    out = capsys.readouterr().out
    for name in ("host", "arm64", "armv7"):
        assert name in out
    assert "ready" in out


def test_targets_says_which_libc_lean_runners_link(tmp_path: Path) -> None:
    import dataclasses

    from edgebuild.cli.targets import target_status
    from edgebuild.targets import load_target

    arm64 = load_target("arm64")
    without = dataclasses.replace(arm64, musl_specs=tmp_path / "absent.specs")
    assert target_status(without).endswith("; --lean links glibc (musl: musl-dev:arm64 not installed)")
    assert target_status(arm64).endswith("musl" if arm64.musl_available else "not installed)")
    assert "--lean" not in target_status(load_target("host"))
