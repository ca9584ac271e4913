"""Targets as data: `targets/<name>.toml` says how to build and run for a device; this module reads those files.

A target is what a user types (`host`, `arm64`, `armv7`, `cortex-m4`). Adding one is adding a toml file and, for a
cross compiler, a CMake toolchain file (docs/adding-a-target.md). Nothing here builds or runs anything: `compile.py`
and `run/` do, from a `Target`. A microcontroller target (`kind = "mcu"`, an `[mcu]` section: `Mcu`) is built by
edgebuild/mcu/ into bare-metal firmware instead of a Linux runner (docs/microcontrollers.md).
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgebuild import paths
from edgebuild.errors import EdgebuildError

# The tools every build needs besides the target's compilers, and how to get each.
_BUILD_TOOLS: dict[str, str] = {
    "cmake": "install Debian package cmake (apt-get install cmake)",
    "ninja": "install ninja (pip install ninja, or apt-get install ninja-build)",
}


@dataclass(frozen=True)
class MissingTool:
    """A program this machine lacks for one target, what it is for, and how to get it."""

    program: str
    purpose: str  # "build" or "run"
    fix: str  # e.g. "install Debian package qemu-user (apt-get install qemu-user)"

    def __str__(self) -> str:
        return f"{self.program} (to {self.purpose}): {self.fix}"


@dataclass(frozen=True)
class Mcu:
    """A microcontroller target's `[mcu]` section: the QEMU board its firmware runs on, the linker script for that
    board, the kernel variants' ISA, and the budgets a build is checked against (docs/microcontrollers.md)."""

    board: str  # qemu-system-arm -M
    linker_script: Path  # absolute (the file names it under kernels/mcu/boards/)
    isa: str | None  # "dsp", "mve", or None for the reference kernels only
    opt: str  # optimization level of the model and kernel objects, e.g. "-O2"
    flash_bytes: int  # budget: code + weights
    ram_bytes: int  # budget: arena + static data + stack
    budget_part: str  # the part the budgets describe (shown with a budget failure)


@dataclass(frozen=True)
class Target:
    """One `targets/<name>.toml`: compiler, flags, toolchain, emulator and what a device needs."""

    name: str
    description: str
    devices: tuple[str, ...]
    triple: str
    machine: str  # `uname -m` of a device (the toml's "native" is resolved to this machine's)
    static: bool
    c_compiler: str
    cxx_compiler: str
    compiler_packages: tuple[str, ...]
    toolchain_file: Path | None  # absolute; None = CMake's host compiler detection
    flags: tuple[str, ...]
    emulator: tuple[str, ...]  # command prefix that runs a target binary here; () = none
    emulator_packages: tuple[str, ...]
    device_needs: str
    source: Path  # the toml file itself (its bytes are part of the runner cache key)
    # [lean]: lean runners link statically against musl when its files are installed (docs/footprint.md)
    musl_toolchain_file: Path | None = None  # absolute; None = lean runners use the target's own libc
    musl_specs: Path | None = None  # GCC specs file of the musl package; its presence means musl is installed
    musl_packages: tuple[str, ...] = ()
    # the core the kernel variants are chosen for on the device (EDGEBUILD_CPU; `cpu = "cortex-a55"` in the file);
    # None: the runtime reads it from the device's CPU
    cpu: str | None = None
    kind: str = "linux"  # "linux" (a runner and model.ebm) or "mcu" (firmware: edgebuild/mcu/)
    mcu: Mcu | None = None  # the [mcu] section, for kind "mcu"

    @property
    def is_mcu(self) -> bool:
        return self.mcu is not None

    @property
    def musl_available(self) -> bool:
        """True when lean runners for this target link against musl: the target names a musl toolchain and the
        musl package is installed (scripts/setup.sh with EDGEBUILD_SETUP_MUSL=1)."""
        specs = self.musl_specs
        return self.musl_toolchain_file is not None and specs is not None and specs.is_file()

    def musl_fix(self) -> str:
        """How to install musl for this target's lean runners (Debian multiarch packages such as musl-dev:arm64)."""
        names = " ".join(self.musl_packages)
        steps = [f"dpkg --add-architecture {p.partition(':')[2]}" for p in self.musl_packages if ":" in p]
        steps += ["apt-get update"] if steps else []
        steps.append(f"apt-get install {names}")
        how = " && ".join(steps)
        return (
            f"install Debian's {names} ({how}, or EDGEBUILD_SETUP_MUSL=1 scripts/setup.sh; docs/footprint.md)"
        )

    @property
    def runs_natively(self) -> bool:
        """True when this machine executes the target's binaries itself (host, or arm64 on an arm64 box)."""
        return self.machine == platform.machine()

    @property
    def needs_emulator(self) -> bool:
        return bool(self.emulator) and not self.runs_natively

    def missing(self, *, build: bool = True, run: bool = True) -> list[MissingTool]:
        """What this machine lacks to build (compilers, cmake, ninja) and to run (emulator) for this target.

        Looks programs up on the current PATH, so narrowing PATH hides them (ninja: see `tool_path`).
        """
        missing: list[MissingTool] = []
        if build:
            for program in dict.fromkeys((self.c_compiler, self.cxx_compiler)):
                if shutil.which(program) is None:
                    missing.append(MissingTool(program, "build", _debian_fix(self.compiler_packages)))
            for program, fix in _BUILD_TOOLS.items():
                if tool_path(program) is None:
                    missing.append(MissingTool(program, "build", fix))
            if self.is_mcu and shutil.which(self.c_compiler) is not None and not _has_newlib(self.c_compiler):
                # Debian packages the compiler and newlib (libc, librdimon) apart: the firmware needs both
                newlib = tuple(p for p in self.compiler_packages if "newlib" in p) or self.compiler_packages
                missing.append(MissingTool("newlib (rdimon.specs)", "build", _debian_fix(newlib)))
        if run and self.needs_emulator and shutil.which(self.emulator[0]) is None:
            missing.append(MissingTool(self.emulator[0], "run", _debian_fix(self.emulator_packages)))
        return missing


def _has_newlib(compiler: str) -> bool:
    """True when the bare-metal compiler finds newlib's semihosting specs (libnewlib-arm-none-eabi)."""
    try:
        done = subprocess.run(
            [compiler, "-print-file-name=rdimon.specs"],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    found = done.stdout.strip()
    return done.returncode == 0 and os.path.isabs(found) and os.path.isfile(found)


def tool_path(program: str) -> str | None:
    """Where a build tool is: on PATH, or for ninja also where this interpreter's `ninja` package put its binary.

    The second place lets a project virtual environment that is not activated (`.venv/bin/edgebuild ...`, the
    README's commands) build runners: pip installs ninja into the environment's bin folder, which is not on PATH,
    or, for a venv made with --system-site-packages, into the bin folder of the base installation.
    """
    found = shutil.which(program)
    if found is None and program == "ninja":
        try:
            import ninja  # the PyPI package scripts/setup.sh installs (its binary, not a Python API)
        except ImportError:
            return None
        folders = [str(ninja.BIN_DIR)] if ninja.BIN_DIR else []  # "" when it is not beside this interpreter
        for prefix in dict.fromkeys((sys.prefix, sys.base_prefix)):
            folders.append(sysconfig.get_path("scripts", vars={"base": prefix, "platbase": prefix}))
        found = shutil.which("ninja", path=os.pathsep.join(folders))
    return found


def ninja_generator() -> list[str]:
    """CMake arguments selecting the Ninja generator with the ninja `tool_path` finds (cmake itself only looks on
    PATH)."""
    ninja = tool_path("ninja")
    if ninja is None:
        raise EdgebuildError(f"ninja not found: {_BUILD_TOOLS['ninja']}")
    return ["-G", "Ninja", f"-DCMAKE_MAKE_PROGRAM={ninja}"]


def describe_missing(missing: list[MissingTool]) -> str:
    """One line for a user: the missing programs grouped by the fix that provides them."""
    by_fix: dict[str, list[str]] = {}
    for m in missing:
        by_fix.setdefault(m.fix, []).append(m.program)
    return "; ".join(f"{', '.join(programs)} not found: {fix}" for fix, programs in by_fix.items())


def _debian_fix(packages: tuple[str, ...]) -> str:
    names = " ".join(packages)
    noun = "package" if len(packages) == 1 else "packages"
    return f"install Debian {noun} {names} (apt-get install {names})"


def targets_dir() -> Path:
    """The folder of target files, in a checkout or an installed wheel."""
    try:
        return paths.source_root() / "targets"
    except FileNotFoundError as e:
        raise EdgebuildError(str(e)) from e


def list_targets() -> list[Target]:
    """Every target in `targets/`, sorted by name."""
    return [_read_target(f) for f in sorted(targets_dir().glob("*.toml"))]


def load_target(name: str) -> Target:
    """The target a user named; an unknown name lists the known ones."""
    path = targets_dir() / f"{name}.toml"
    # A name is a bare file stem: refuse paths so `--target ../x` cannot read other files.
    if "/" in name or "\\" in name or not path.is_file():
        known = ", ".join(f.stem for f in sorted(targets_dir().glob("*.toml")))
        raise EdgebuildError(f"unknown target {name!r}; known targets: {known}")
    return _read_target(path)


def _read_target(path: Path) -> Target:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        compiler: dict[str, Any] = data["compiler"]
        emulator: dict[str, Any] = data.get("emulator", {})
        lean: dict[str, Any] = data.get("lean", {})
        kind = data.get("kind", "linux")
        if kind not in ("linux", "mcu"):
            raise EdgebuildError(f'target file {path}: kind = {kind!r}; use "linux" or "mcu"')
        mcu = _read_mcu(path, data["mcu"]) if kind == "mcu" else None
        toolchain = compiler.get("toolchain_file", "")
        musl_toolchain = lean.get("musl_toolchain_file", "")
        # "native" (host): this machine, e.g. x86_64 and x86_64-linux-gnu.
        machine = platform.machine() if data["machine"] == "native" else data["machine"]
        triple = f"{machine}-linux-gnu" if data["triple"] == "native" else data["triple"]
        target = Target(
            name=data["name"],
            description=data["description"],
            devices=tuple(data.get("devices", ())),
            triple=triple,
            machine=machine,
            static=bool(data["static"]),
            c_compiler=compiler["c"],
            cxx_compiler=compiler["cxx"],
            compiler_packages=tuple(compiler["debian_packages"]),
            toolchain_file=(path.parent / toolchain).resolve() if toolchain else None,
            flags=tuple(compiler.get("flags", ())),
            emulator=tuple(emulator.get("command", ())),
            emulator_packages=tuple(emulator.get("debian_packages", ())),
            device_needs=data.get("device", {}).get("needs", ""),
            source=path.resolve(),
            musl_toolchain_file=(path.parent / musl_toolchain).resolve() if musl_toolchain else None,
            musl_specs=Path(lean["musl_specs"]) if musl_toolchain else None,
            musl_packages=tuple(lean.get("musl_debian_packages", ())),
            cpu=data.get("cpu"),
            kind=kind,
            mcu=mcu,
        )
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as e:
        raise EdgebuildError(f"target file {path} is malformed: {type(e).__name__}: {e}") from e
    if target.cpu is not None:
        from .run import check_cpu

        try:
            check_cpu(target.cpu)
        except EdgebuildError as e:
            raise EdgebuildError(f"target file {path}: {e}") from e
    if target.name != path.stem:
        raise EdgebuildError(f"target file {path} says name = {target.name!r}; it must match the file name")
    for toolchain_file in (target.toolchain_file, target.musl_toolchain_file):
        if toolchain_file is not None and not toolchain_file.is_file():
            raise EdgebuildError(f"target {target.name}: toolchain file {toolchain_file} does not exist")
    return target


def mcu_boards_dir() -> Path:
    """kernels/mcu/boards/: the boards' linker scripts a target file's `[mcu] linker_script` names."""
    return paths.source_root() / "kernels" / "mcu" / "boards"


def _read_mcu(path: Path, m: dict[str, Any]) -> Mcu:
    script = mcu_boards_dir() / m["linker_script"]
    if "/" in m["linker_script"] or not script.is_file():
        raise EdgebuildError(f"target file {path}: linker script {script} does not exist")
    isa = m.get("isa") or None
    if isa not in (None, "dsp", "mve"):
        raise EdgebuildError(f'target file {path}: [mcu] isa = {isa!r}; use "dsp", "mve" or ""')
    opt = m.get("opt", "-O2")
    if opt not in ("-O0", "-O1", "-O2", "-O3", "-Os", "-Oz"):
        raise EdgebuildError(f"target file {path}: [mcu] opt = {opt!r}; use -O2, -Os, ...")
    flash, ram = int(m["flash_bytes"]), int(m["ram_bytes"])
    if flash <= 0 or ram <= 0:
        raise ValueError("[mcu] flash_bytes and ram_bytes must be positive")
    return Mcu(
        board=str(m["board"]),
        linker_script=script,
        isa=isa,
        opt=opt,
        flash_bytes=flash,
        ram_bytes=ram,
        budget_part=str(m.get("budget_part", "")),
    )
