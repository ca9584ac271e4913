"""Every expected failure a user can meet: the message names the cause (and the fix), the exit code is 1 (2 for a
bad command line, as argparse does), no Python traceback, and `--debug` shows the traceback instead."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from edgebuild.pipeline import BuildOptions, build
from edgebuild.serialize import artifact_bytes, read_artifact
from tests.trust.conftest import DIGITS, cli


def expect(p, code: int, *needles: str) -> str:
    assert p.returncode == code, (p.returncode, p.stderr)
    assert "Traceback" not in p.stderr, p.stderr
    for n in needles:
        assert n in p.stderr, (n, p.stderr)
    return p.stderr


def path_without(tmp_path: Path, *dropped: str) -> dict[str, str]:
    """A PATH holding everything edgebuild uses except `dropped` (programs looked up by name)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    tools = ("cmake", "ninja", "gcc", "g++", "cc", "c++", "aarch64-linux-gnu-gcc", "aarch64-linux-gnu-g++",
             "arm-linux-gnueabihf-gcc", "arm-linux-gnueabihf-g++", "qemu-aarch64", "qemu-arm")  # fmt: skip
    for tool in tools:
        found = shutil.which(tool)
        if found and tool not in dropped and not (bin_dir / tool).exists():
            (bin_dir / tool).symlink_to(found)
    return {"PATH": str(bin_dir)}


@pytest.fixture(scope="module")
def host_bundle(tmp_path_factory: pytest.TempPathFactory, small_calib: Path) -> Path:
    out = tmp_path_factory.mktemp("err") / "digits-host"
    build(BuildOptions(DIGITS / "model.pt", "host", calib=small_calib, out=out, smoke=False))
    return out


@pytest.fixture(scope="module")
def arm64_bundle(tmp_path_factory: pytest.TempPathFactory, small_calib: Path) -> Path:
    out = tmp_path_factory.mktemp("err") / "digits-arm64"
    build(BuildOptions(DIGITS / "model.pt", "arm64", calib=small_calib, out=out, smoke=False))
    return out


# ---- the command line ----------------------------------------------------------------------------------------


def test_unknown_option_is_a_usage_error(edgebuild) -> None:
    expect(
        edgebuild("build", str(DIGITS / "model.pt"), "--frobnicate"), 2, "usage:", "unrecognized arguments"
    )


def test_unknown_target(tmp_path: Path, edgebuild) -> None:
    expect(
        edgebuild(str(DIGITS / "model.pt"), "--target", "pdp11", "--out", str(tmp_path / "b")),
        1,
        "pdp11",
        "arm64",
    )
    assert not (tmp_path / "b").exists()


def test_bad_input_shape(edgebuild) -> None:
    expect(edgebuild(str(DIGITS / "model.pt"), "--input-shape", "1,x,8"), 1, "--input-shape")


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    p = cli("--debug", str(tmp_path / "missing.pt"), "--input-shape", "1,1,8,8")
    assert p.returncode == 1
    assert "Traceback" in p.stderr and "EdgebuildError" in p.stderr and "model file not found" in p.stderr


def test_unwritable_output_is_one_line(tmp_path: Path, small_calib: Path, edgebuild) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    err = expect(
        edgebuild(
            str(DIGITS / "model.pt"),
            "--calib",
            str(small_calib),
            "--out",
            str(blocker / "bundle"),
            "--no-smoke",
        ),
        1,
        "edgebuild: error:",
        "a-file",
    )
    assert len([ln for ln in err.splitlines() if ln.startswith("edgebuild: error:")]) == 1, err


# ---- data that does not fit the model ------------------------------------------------------------------------


def test_calibration_shape_mismatch(tmp_path: Path, edgebuild) -> None:
    bad = tmp_path / "calib.npz"
    np.savez(bad, x=np.zeros((4, 3, 8, 8), np.float32))
    expect(
        edgebuild(str(DIGITS / "model.pt"), "--calib", str(bad), "--out", str(tmp_path / "b")),
        1,
        "(1, 1, 8, 8)",
    )
    assert not (tmp_path / "b").exists()


def test_corrupt_calibration_file(tmp_path: Path, edgebuild) -> None:
    bad = tmp_path / "calib.npz"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    expect(edgebuild(str(DIGITS / "model.pt"), "--calib", str(bad)), 1, "calib.npz")


def test_run_input_shape_mismatch(host_bundle: Path, tmp_path: Path, edgebuild) -> None:
    np.save(tmp_path / "x.npy", np.zeros((1, 1, 9, 9), np.float32))
    expect(
        edgebuild("run", str(host_bundle), "--input", str(tmp_path / "x.npy")), 1, "(1,1,9,9)", "(1,1,8,8)"
    )


def test_run_iterations_must_be_positive(host_bundle: Path, tmp_path: Path, edgebuild) -> None:
    np.save(tmp_path / "x.npy", np.zeros((1, 1, 8, 8), np.float32))
    expect(
        edgebuild("run", str(host_bundle), "--input", str(tmp_path / "x.npy"), "--iterations", "0"),
        1,
        "iterations",
    )


# ---- the machine and the device ------------------------------------------------------------------------------


def test_missing_cmake_names_the_package(tmp_path: Path, small_calib: Path, edgebuild) -> None:
    env = path_without(tmp_path, "cmake")
    expect(
        edgebuild(
            str(DIGITS / "model.pt"), "--calib", str(small_calib), "--out", str(tmp_path / "b"), env=env
        ),
        1,
        "cmake",
        "install",
    )
    assert not (tmp_path / "b").exists()


def test_build_without_qemu_names_qemu_user(tmp_path: Path, small_calib: Path, edgebuild) -> None:
    env = path_without(tmp_path, "qemu-aarch64")
    args = [
        str(DIGITS / "model.pt"),
        "--target",
        "arm64",
        "--calib",
        str(small_calib),
        "--out",
        str(tmp_path / "b"),
    ]
    expect(edgebuild(*args, env=env), 1, "qemu-aarch64", "qemu-user", "apt-get install")
    assert not (tmp_path / "b").exists()


def test_run_without_qemu_names_qemu_user(arm64_bundle: Path, tmp_path: Path, edgebuild) -> None:
    np.save(tmp_path / "x.npy", np.zeros((1, 1, 8, 8), np.float32))
    env = path_without(tmp_path, "qemu-aarch64")
    expect(
        edgebuild("run", str(arm64_bundle), "--input", str(tmp_path / "x.npy"), env=env),
        1,
        "qemu-aarch64",
        "qemu-user",
    )


@pytest.mark.parametrize("device", ["ssh://nobody@127.0.0.1:1", "adb:no-such-serial", "telnet://x"])
def test_unreachable_or_unknown_device(host_bundle: Path, tmp_path: Path, device: str, edgebuild) -> None:
    np.save(tmp_path / "x.npy", np.zeros((1, 1, 8, 8), np.float32))
    p = edgebuild(
        "run", str(host_bundle), "--input", str(tmp_path / "x.npy"), "--device", device, timeout=120
    )
    expect(p, 1, device.split(":")[0])


def test_arena_too_large_for_the_device(host_bundle: Path, tmp_path: Path, edgebuild) -> None:
    """A model whose arena does not fit the device's memory: the runtime's EB_ERR_NOMEM, said as such."""
    big = tmp_path / "big"
    shutil.copytree(host_bundle, big)
    program = read_artifact((big / "model.ebm").read_bytes())
    program.arena_bytes = 1 << 46  # 64 TiB: no calloc on this machine grants it
    (big / "model.ebm").write_bytes(artifact_bytes(program))
    np.save(tmp_path / "x.npy", np.zeros((1, 1, 8, 8), np.float32))
    err = expect(edgebuild("run", str(big), "--input", str(tmp_path / "x.npy")), 1, "EB_ERR_NOMEM")
    assert "arena" in err and str(1 << 46) in err


def test_runner_crash_is_reported_not_raised(host_bundle: Path, tmp_path: Path, edgebuild) -> None:
    """A runner killed by a signal (here: a stand-in that kills itself) is an error line, not a traceback."""
    crashed = tmp_path / "crashed"
    shutil.copytree(host_bundle, crashed)
    (crashed / "edgebuild-run").write_text("#!/bin/sh\nkill -SEGV $$\n")
    os.chmod(crashed / "edgebuild-run", 0o755)
    np.save(tmp_path / "x.npy", np.zeros((1, 1, 8, 8), np.float32))
    expect(edgebuild("run", str(crashed), "--input", str(tmp_path / "x.npy")), 1, "crashed", "SIGSEGV")
