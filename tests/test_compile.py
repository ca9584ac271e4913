"""Runner builds: the right ELF per target (static where the target says), cached, rebuilt when broken, and the
binary answers on its target (natively, or under qemu-user for ARM)."""

from __future__ import annotations

import dataclasses
import platform
import struct
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from edgebuild.compile import RUNNER, build_runner, runner_cache_key
from edgebuild.run import RunnerError, run_runner
from edgebuild.targets import load_target
from tests.conftest import TARGETS

# ELF e_machine values (elf.h).
EM_ARM, EM_X86_64, EM_AARCH64 = 40, 62, 183
EF_ARM_ABI_FLOAT_HARD = 0x400
PT_INTERP = 3
HOST_MACHINE = {"x86_64": EM_X86_64, "aarch64": EM_AARCH64}


@dataclasses.dataclass(frozen=True)
class Elf:
    bits: int
    machine: int
    flags: int
    has_interpreter: bool  # a PT_INTERP header = needs a dynamic loader on the device


def read_elf(path: Path) -> Elf:
    data = path.read_bytes()
    assert data[:4] == b"\x7fELF", f"{path} is not an ELF file"
    assert data[5] == 1, "little-endian"
    if data[4] == 2:
        bits, (machine,) = 64, struct.unpack_from("<H", data, 18)
        (phoff,), (flags,) = struct.unpack_from("<Q", data, 32), struct.unpack_from("<I", data, 48)
        phentsize, phnum = struct.unpack_from("<HH", data, 54)
    else:
        bits, (machine,) = 32, struct.unpack_from("<H", data, 18)
        (phoff,), (flags,) = struct.unpack_from("<I", data, 28), struct.unpack_from("<I", data, 36)
        phentsize, phnum = struct.unpack_from("<HH", data, 42)
    types = [struct.unpack_from("<I", data, phoff + i * phentsize)[0] for i in range(phnum)]
    return Elf(bits, machine, flags, PT_INTERP in types)


@pytest.mark.parametrize("name", TARGETS)
def test_runner_is_an_elf_for_its_target(name: str, runner_for: Callable[[str], Path]) -> None:
    target, runner = load_target(name), runner_for(name)
    assert runner.name == RUNNER and runner.is_file()
    elf = read_elf(runner)
    expected = {
        "host": (64, HOST_MACHINE.get(platform.machine())),
        "arm64": (64, EM_AARCH64),
        "armv7": (32, EM_ARM),
    }
    assert (elf.bits, elf.machine) == expected[name]
    # Static runners carry no loader request, so they run on Android and any distribution.
    assert elf.has_interpreter == (not target.static)
    if name == "armv7":
        assert elf.flags & EF_ARM_ABI_FLOAT_HARD, "armv7 runner must use the hard-float ABI"


@pytest.mark.parametrize("name", TARGETS)
def test_runner_runs_on_its_target_and_reports_errors(
    name: str, runner_for: Callable[[str], Path], tmp_path: Path
) -> None:
    # A missing artifact must come back as the contract's error line, through qemu-user for ARM.
    with pytest.raises(RunnerError) as info:
        run_runner(load_target(name), runner_for(name), tmp_path / "missing.ebm", [], [], timeout=120)
    assert info.value.message


def test_cache_hit_is_fast_and_returns_the_same_path(runner_for: Callable[[str], Path]) -> None:
    first = runner_for("arm64")
    started = time.monotonic()
    again = build_runner(load_target("arm64"))
    assert again == first
    assert time.monotonic() - started < 2.0


def test_cache_key_is_stable_and_follows_the_target_file(tmp_path: Path) -> None:
    arm64 = load_target("arm64")
    assert runner_cache_key(arm64) == runner_cache_key(arm64)
    edited = tmp_path / "arm64.toml"
    edited.write_text(arm64.source.read_text().replace('"-march=armv8-a"', '"-march=armv8.2-a"'))
    assert runner_cache_key(dataclasses.replace(arm64, source=edited)) != runner_cache_key(arm64)
    assert runner_cache_key(load_target("armv7")) != runner_cache_key(arm64)


def test_concurrent_builds_share_one_entry_and_a_broken_entry_is_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGEBUILD_CACHE", str(tmp_path / "cache"))
    host = load_target("host")
    with ThreadPoolExecutor(2) as pool:
        paths = list(pool.map(lambda _: build_runner(host), range(2)))
    assert paths[0] == paths[1]
    runner = paths[0]
    runners = runner.parent.parent
    # Only the finished entry and its lock remain: no half-built folders left behind.
    assert sorted(p.name for p in runners.iterdir()) == sorted(
        [runner.parent.name, f".{runner.parent.name}.lock"]
    )
    good = runner.read_bytes()

    runner.write_bytes(b"truncated")  # a binary that no longer matches its recorded checksum
    assert build_runner(host) == runner and runner.read_bytes() != b"truncated"
    assert read_elf(runner).machine == read_elf_bytes_machine(good)

    (runner.parent / f"{RUNNER}.sha256").unlink()  # an entry missing its checksum
    assert build_runner(host) == runner and (runner.parent / f"{RUNNER}.sha256").is_file()

    runner.unlink()  # an entry missing its binary
    assert build_runner(host) == runner and runner.is_file()


def read_elf_bytes_machine(data: bytes) -> int:
    return int(struct.unpack_from("<H", data, 18)[0])
