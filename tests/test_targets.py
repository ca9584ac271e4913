"""Targets as data: listing, loading, and what a machine lacks (a narrowed PATH hides tools)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edgebuild.compile import build_runner
from edgebuild.errors import EdgebuildError
from edgebuild.run import Completed, RunnerError, device_for, parse_runner_output, run_runner
from edgebuild.targets import list_targets, load_target, ninja_generator, targets_dir, tool_path
from tests.conftest import TARGETS


def narrowed_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hide: set[str]) -> None:
    """PATH = one folder linking to the build and run tools, minus `hide`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tools = {"cmake", "ninja", "gcc", "g++", "qemu-aarch64", "qemu-arm"}
    for t in list_targets():
        tools |= {t.c_compiler, t.cxx_compiler}
    for tool in tools - hide:
        found = tool_path(tool)
        assert found, f"{tool} should be installed on a test machine (scripts/setup.sh)"
        os.symlink(found, bin_dir / tool)
    monkeypatch.setenv("PATH", str(bin_dir))


def test_lists_every_target_file() -> None:
    names = [t.name for t in list_targets()]
    assert names == sorted(p.stem for p in targets_dir().glob("*.toml"))
    assert set(TARGETS) <= set(names)


def test_target_fields() -> None:
    arm64, armv7, host = load_target("arm64"), load_target("armv7"), load_target("host")
    assert arm64.triple == "aarch64-linux-gnu" and arm64.static and "-march=armv8-a" in arm64.flags
    assert arm64.emulator[0] == "qemu-aarch64" and arm64.emulator_packages == ("qemu-user",)
    assert arm64.compiler_packages == ("g++-aarch64-linux-gnu",)
    assert armv7.flags == ("-march=armv7-a", "-mfpu=neon-vfpv4", "-mfloat-abi=hard") and armv7.static
    assert armv7.compiler_packages == ("g++-arm-linux-gnueabihf",)
    assert not host.static and host.emulator == () and host.toolchain_file is None and host.runs_natively
    for t in (arm64, armv7):
        assert t.toolchain_file is not None and t.toolchain_file.is_file()
        # Debian's libc.so linker script has absolute paths: a sysroot would break linking.
        assert "CMAKE_SYSROOT" not in "".join(
            line for line in t.toolchain_file.read_text().splitlines() if not line.lstrip().startswith("#")
        )
    # [lean]: musl for lean runners (docs/footprint.md); the host has none, so its lean runners link glibc.
    assert arm64.musl_packages == ("musl-dev:arm64",) and armv7.musl_packages == ("musl-dev:armhf",)
    for t, triple in ((arm64, "aarch64-linux-musl"), (armv7, "arm-linux-musleabihf")):
        assert t.musl_toolchain_file == t.toolchain_file.parent / f"{triple}.cmake"
        assert t.musl_specs == Path(f"/usr/lib/{triple}/musl-gcc.specs")
        assert t.musl_available == t.musl_specs.is_file()
    assert host.musl_toolchain_file is None and not host.musl_available


def test_missing_musl_toolchain_file_is_refused(tmp_path: Path) -> None:
    from edgebuild.targets import _read_target

    text = (targets_dir() / "arm64.toml").read_text().replace("aarch64-linux-musl.cmake", "no-such.cmake")
    (tmp_path / "arm64.toml").write_text(text)
    (tmp_path / "cmake").mkdir()
    shutil.copy(targets_dir() / "cmake" / "aarch64-linux-gnu.cmake", tmp_path / "cmake")
    with pytest.raises(EdgebuildError, match="no-such.cmake does not exist"):
        _read_target(tmp_path / "arm64.toml")


def test_unknown_target_lists_the_known_ones() -> None:
    with pytest.raises(EdgebuildError, match=r"unknown target 'riscv'; known targets: .*arm64, armv7.*host"):
        load_target("riscv")
    with pytest.raises(EdgebuildError, match="unknown target"):
        load_target("../targets/arm64")


def test_nothing_missing_on_a_set_up_machine() -> None:
    for t in list_targets():
        assert t.missing() == [], t.name


def test_missing_cross_compiler_names_its_debian_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    narrowed_path(tmp_path, monkeypatch, hide={"aarch64-linux-gnu-gcc", "aarch64-linux-gnu-g++"})
    arm64 = load_target("arm64")
    missing = arm64.missing()
    assert [m.program for m in missing] == ["aarch64-linux-gnu-gcc", "aarch64-linux-gnu-g++"]
    assert all(m.purpose == "build" for m in missing)
    assert "install Debian package g++-aarch64-linux-gnu (apt-get install g++-aarch64-linux-gnu)" in str(
        missing[0]
    )
    assert load_target("armv7").missing() == []  # the other cross compiler is still there
    with pytest.raises(EdgebuildError, match=r"apt-get install g\+\+-aarch64-linux-gnu"):
        build_runner(arm64)


def test_missing_build_tools_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    narrowed_path(tmp_path, monkeypatch, hide={"cmake", "ninja"})
    # ninja off PATH is still found where this interpreter's `ninja` package put it (an unactivated .venv) ...
    assert {m.program for m in load_target("host").missing()} == {"cmake"}
    # ... and is missing when that package is absent too.
    monkeypatch.setitem(sys.modules, "ninja", None)
    assert {m.program for m in load_target("host").missing()} == {"cmake", "ninja"}


def test_cmake_builds_with_ninja_off_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`.venv/bin/edgebuild` without an activated venv: cmake gets the package's ninja by path, not from PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("cmake", "c++", "g++", "as", "ld"):  # the compiler runs its assembler and linker from PATH
        found = shutil.which(tool)
        assert found, f"{tool} should be installed on a test machine (scripts/setup.sh)"
        os.symlink(found, bin_dir / tool)
    monkeypatch.setenv("PATH", str(bin_dir))
    assert shutil.which("ninja") is None and tool_path("ninja") is not None
    src = tmp_path / "src"
    src.mkdir()
    (src / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.16)\nproject(p CXX)\nadd_executable(p p.cc)\n"
    )
    (src / "p.cc").write_text("int main() { return 0; }\n")
    for argv in (
        ["cmake", "-S", src, "-B", tmp_path / "b", *ninja_generator()],
        ["cmake", "--build", tmp_path / "b"],
    ):
        done = subprocess.run(
            [str(a) for a in argv], capture_output=True, text=True, check=False, timeout=300
        )
        assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "b" / "p").is_file()


def test_missing_emulator_names_qemu_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    narrowed_path(tmp_path, monkeypatch, hide={"qemu-arm"})
    armv7 = load_target("armv7")
    [missing] = armv7.missing()
    assert (missing.program, missing.purpose) == ("qemu-arm", "run")
    with pytest.raises(EdgebuildError, match=r"qemu-arm not found: install Debian package qemu-user"):
        device_for(armv7)
    fake_runner = tmp_path / "edgebuild-run"
    fake_runner.write_bytes(b"")
    with pytest.raises(EdgebuildError, match="qemu-user"):
        run_runner(armv7, fake_runner, tmp_path / "m.ebm", [], [])
    # The host needs no emulator at all.
    assert device_for(load_target("host")).prefix == ()  # type: ignore[attr-defined]


def test_device_choice() -> None:
    arm64 = load_target("arm64")
    assert device_for(arm64).prefix == ("qemu-aarch64", "-cpu", "max")  # type: ignore[attr-defined]
    with pytest.raises(EdgebuildError, match="does not run on this machine"):
        device_for(arm64, "local")
    pi = device_for(arm64, "ssh://pi@raspberrypi:2222")  # ssh and adb: tests/profile/
    assert (pi.user, pi.host, pi.port, pi.machine) == ("pi", "raspberrypi", 2222, "aarch64")  # type: ignore[attr-defined]
    with pytest.raises(EdgebuildError, match="bad ssh device"):
        device_for(arm64, "ssh://pi@")
    with pytest.raises(EdgebuildError, match="unknown device"):
        device_for(arm64, "phone")


# The runner's output contract, as parse_runner_output reads it.


def test_ok_line_is_returned_after_other_output() -> None:
    done = Completed(0, 'loading\n{"status":"ok","latency_us":12.5}\n', "qemu: warning\n")
    assert parse_runner_output(done) == {"status": "ok", "latency_us": 12.5}


def test_error_line_becomes_runner_error() -> None:
    done = Completed(1, '{"status":"error","code":4,"message":"bad magic"}\n', "")
    with pytest.raises(RunnerError, match=r"edgebuild-run: bad magic \(code 4\)") as info:
        parse_runner_output(done)
    assert (info.value.code, info.value.message) == (4, "bad magic")


def test_crash_is_reported_as_a_crash() -> None:
    done = Completed(-11, "", "qemu: uncaught target signal 11 (Segmentation fault) - core dumped\n")
    with pytest.raises(
        EdgebuildError, match=r"(?s)crashed on qemu: killed by SIGSEGV.*uncaught target signal"
    ):
        parse_runner_output(done, where="qemu")


def test_no_status_line_is_an_error() -> None:
    with pytest.raises(EdgebuildError, match="exited with 3 without a status line; output:\nboom"):
        parse_runner_output(Completed(3, "", "boom\n"))
    with pytest.raises(EdgebuildError, match="without a status line"):
        parse_runner_output(Completed(1, '{"status":"ok"}\n', ""))  # ok but a failing exit status
