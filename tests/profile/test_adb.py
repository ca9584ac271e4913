"""The adb device without a phone: the exact commands it issues (push to /data/local/tmp, run there, pull,
clean up), and the error when adb is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgebuild.errors import EdgebuildError
from edgebuild.run import Adb, Invocation, device_for
from edgebuild.targets import load_target


def test_adb_commands() -> None:
    call = Invocation(
        runner=Path("/b/edgebuild-run"),
        artifact=Path("/b/model.ebm"),
        inputs=(Path("/t/x.npy"),),
        outputs=(Path("/t/y.npy"),),
        options=("--warmup", "1", "--iterations", "5", "--profile"),
    )
    d = "/data/local/tmp/edgebuild-7"
    assert Adb(serial="emulator-5554").commands(call, d) == [
        ["adb", "-s", "emulator-5554", "shell", f"mkdir -p {d}"],
        ["adb", "-s", "emulator-5554", "push", "/b/edgebuild-run", f"{d}/edgebuild-run"],
        ["adb", "-s", "emulator-5554", "push", "/b/model.ebm", f"{d}/model.ebm"],
        ["adb", "-s", "emulator-5554", "push", "/t/x.npy", f"{d}/input0.npy"],
        [
            "adb", "-s", "emulator-5554", "shell",
            (f"chmod 755 {d}/edgebuild-run && {d}/edgebuild-run {d}/model.ebm --input {d}/input0.npy "
            f"--output {d}/output0.npy --warmup 1 --iterations 5 --profile"),
        ],
        ["adb", "-s", "emulator-5554", "pull", f"{d}/output0.npy", "/t/y.npy"],
        ["adb", "-s", "emulator-5554", "shell", f"rm -rf {d}"],
    ]  # fmt: skip
    assert Adb().commands(call, d)[0] == ["adb", "shell", f"mkdir -p {d}"]


def test_adb_device_spec() -> None:
    target = load_target("arm64")
    dev = device_for(target, "adb:R58M123")
    assert isinstance(dev, Adb) and dev.serial == "R58M123" and dev.machine == "aarch64"
    assert device_for(target, "adb").name == "adb"


def test_adb_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    call = Invocation(runner=Path("r"), artifact=Path("m"))
    with pytest.raises(EdgebuildError, match="install Debian package adb"):
        Adb().execute(call)
