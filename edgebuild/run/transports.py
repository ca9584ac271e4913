"""Devices a runner executes on: this machine, or this machine through qemu-user. ssh and adb come later.

A `Device` takes an `Invocation` (runner, artifact, input and output files, options) and returns what the process
printed. Local devices use the paths as they are; a remote device (ssh, adb) will copy the runner, artifact and
inputs over, run, and copy the outputs back, behind the same `execute` method, so callers do not change.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from edgebuild.errors import EdgebuildError
from edgebuild.targets import Target, describe_missing


@dataclass(frozen=True)
class Invocation:
    """One run of `edgebuild-run MODEL.ebm [--input x.npy]... [--output y.npy]... [options]`."""

    runner: Path
    artifact: Path
    inputs: tuple[Path, ...] = ()
    outputs: tuple[Path, ...] = ()
    options: tuple[str, ...] = ()  # e.g. ("--warmup", "2", "--iterations", "10", "--profile")
    cwd: Path | None = None

    def argv(self) -> list[str]:
        """The runner's command line with local paths (a remote device rewrites them)."""
        args = [str(self.runner), str(self.artifact)]
        for x in self.inputs:
            args += ["--input", str(x)]
        for y in self.outputs:
            args += ["--output", str(y)]
        return args + list(self.options)


@dataclass(frozen=True)
class Completed:
    """What a device reports back: exit status (negative = killed by that signal) and the two streams."""

    returncode: int
    stdout: str
    stderr: str


class Device(ABC):
    """Somewhere an `edgebuild-run` binary can execute."""

    name: str

    @abstractmethod
    def execute(self, call: Invocation, *, timeout: float | None = None) -> Completed: ...


@dataclass
class Local(Device):
    """This machine, running the binary directly, optionally behind an emulator command prefix."""

    name: str = "local"
    prefix: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)

    def execute(self, call: Invocation, *, timeout: float | None = None) -> Completed:
        argv = [*self.prefix, *call.argv()]
        try:
            done = subprocess.run(
                argv,
                check=False,  # the exit status is the runner's report, read by the caller
                cwd=call.cwd,
                env={**os.environ, **self.env},
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=timeout,
            )
        except subprocess.TimeoutExpired as e:
            raise EdgebuildError(
                f"{call.runner.name} on {self.name} did not finish within {timeout} s"
            ) from e
        except OSError as e:
            raise EdgebuildError(f"cannot start {argv[0]} on {self.name}: {e}") from e
        return Completed(done.returncode, done.stdout, done.stderr)


def qemu(target: Target) -> Local:
    """This machine through the target's qemu-user command. A missing emulator names its Debian package."""
    if not target.emulator:
        raise EdgebuildError(f"target {target.name} has no emulator; run it locally")
    missing = target.missing(build=False)
    if missing:
        raise EdgebuildError(f"cannot run {target.name} binaries here: {describe_missing(missing)}")
    # A dynamically linked cross binary needs the target's loader and libraries; static ones ignore this.
    env = {} if target.static else {"QEMU_LD_PREFIX": f"/usr/{target.triple}"}
    return Local(name=f"qemu ({' '.join(target.emulator)})", prefix=target.emulator, env=env)


def device_for(target: Target, spec: str | None = None) -> Device:
    """The device a user asked for (`local`, `qemu`; None = local when possible, else qemu)."""
    if spec is None:
        return Local() if target.runs_natively else qemu(target)
    if spec == "local":
        if not target.runs_natively:
            raise EdgebuildError(
                f"target {target.name} ({target.machine}) does not run on this machine; use --device qemu"
            )
        return Local()
    if spec == "qemu":
        return qemu(target)
    if spec.startswith(("ssh://", "adb")):
        raise EdgebuildError(
            f"device {spec!r}: ssh and adb devices are not supported yet (use local or qemu)"
        )
    raise EdgebuildError(f"unknown device {spec!r}; use local, qemu, ssh://user@host or adb[:serial]")


def emulator_available(target: Target) -> bool:
    """True when the target's binaries can run here (natively or through its emulator)."""
    return target.runs_natively or (bool(target.emulator) and shutil.which(target.emulator[0]) is not None)
