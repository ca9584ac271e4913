"""Devices a runner executes on: this machine, this machine through qemu-user, a board over ssh, a phone over adb.

A `Device` takes an `Invocation` (runner, artifact, input and output files, options) and returns what the process
printed. Local devices use the paths as they are; a remote device (ssh, adb) copies the runner, artifact and
inputs into a fresh folder on the device, runs there, copies the outputs back and removes the folder, behind the
same `execute` method, so callers do not change. Remote devices check the device's `uname -m` against the
target's machine first, so a wrong-architecture device is a clear error rather than "Exec format error".
"""

from __future__ import annotations

import os
import re
import shlex
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


def _run(argv: list[str], what: str, timeout: float | None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            argv, check=False, stdin=subprocess.DEVNULL, capture_output=True, text=True, errors="replace",
            timeout=timeout,
        )  # fmt: skip
    except subprocess.TimeoutExpired as e:
        raise EdgebuildError(f"{what}: no answer within {timeout} s") from e
    except OSError as e:
        raise EdgebuildError(f"{what}: cannot start {argv[0]}: {e}") from e


def _remote_argv(call: Invocation, folder: str) -> list[str]:
    """The runner's command line inside `folder` on the device: every file by its name there."""
    args = [f"{folder}/edgebuild-run", f"{folder}/model.ebm"]
    for i in range(len(call.inputs)):
        args += ["--input", f"{folder}/input{i}.npy"]
    for i in range(len(call.outputs)):
        args += ["--output", f"{folder}/output{i}.npy"]
    return args + list(call.options)


def _uploads(call: Invocation) -> list[tuple[Path, str]]:
    files = [(call.runner, "edgebuild-run"), (call.artifact, "model.ebm")]
    return files + [(p, f"input{i}.npy") for i, p in enumerate(call.inputs)]


_SSH_SPEC = re.compile(r"ssh://(?:(?P<user>[^@/:]+)@)?(?P<host>\[[^\]]+\]|[^@/:]+)(?::(?P<port>\d+))?/?")


@dataclass
class Ssh(Device):
    """A Linux device over OpenSSH: `ssh://user@host[:port]`. Key-based and non-interactive (BatchMode), so a
    missing key fails at once instead of prompting. Extra ssh/scp options (e.g. `-i key`, `-F config`) come from
    `options` or $EDGEBUILD_SSH_OPTIONS."""

    host: str
    user: str | None = None
    port: int | None = None
    machine: str | None = None  # the target's `uname -m`; None = do not check
    options: tuple[str, ...] = ()
    connect_timeout: int = 10
    name: str = ""

    def __post_init__(self) -> None:
        self.name = self.name or f"ssh://{self.destination}{f':{self.port}' if self.port else ''}"

    @property
    def destination(self) -> str:
        return f"{self.user}@{self.host}" if self.user else self.host

    def _common(self) -> list[str]:
        return [
            "-o", "BatchMode=yes", "-o", f"ConnectTimeout={self.connect_timeout}",
            "-o", "StrictHostKeyChecking=accept-new", *self.options,
        ]  # fmt: skip

    def ssh_argv(self, command: str) -> list[str]:
        port = ["-p", str(self.port)] if self.port else []
        return ["ssh", *self._common(), *port, self.destination, command]

    def scp_argv(self, sources: list[str], dest: str) -> list[str]:
        port = ["-P", str(self.port)] if self.port else []
        return ["scp", "-q", *self._common(), *port, *sources, dest]

    def remote(self, path: str) -> str:
        return f"{self.destination}:{path}"

    def _ssh(self, command: str, what: str, timeout: float | None) -> subprocess.CompletedProcess[str]:
        done = _run(self.ssh_argv(command), f"{self.name}: {what}", timeout)
        if done.returncode == 255:  # ssh's own failure (network, host key, authentication), not the command's
            raise EdgebuildError(f"{self.name}: {what} failed: {_ssh_reason(done.stderr)}")
        return done

    def execute(self, call: Invocation, *, timeout: float | None = None) -> Completed:
        setup = self._ssh("uname -m && mktemp -d /tmp/edgebuild.XXXXXX", "connect", self.connect_timeout + 20)
        lines = setup.stdout.split()
        if setup.returncode != 0 or len(lines) != 2:
            raise EdgebuildError(
                f"{self.name}: cannot prepare a folder: {(setup.stdout + setup.stderr).strip()}"
            )
        machine, folder = lines
        try:
            if self.machine and machine != self.machine:
                raise EdgebuildError(
                    f"{self.name} is {machine} but the bundle's runner is for {self.machine}: build the bundle "
                    "for that device's target (edgebuild targets)"
                )
            for local, remote_name in _uploads(call):
                done = _run(
                    self.scp_argv([str(local)], self.remote(f"{folder}/{remote_name}")), "scp", timeout
                )
                if done.returncode != 0:
                    raise EdgebuildError(
                        f"{self.name}: copying {local.name} failed: {_ssh_reason(done.stderr)}"
                    )
            command = " ".join(shlex.quote(a) for a in _remote_argv(call, folder))
            done = self._ssh(f"chmod 755 {folder}/edgebuild-run && {command}", "run", timeout)
            if done.returncode == 0:
                for i, local in enumerate(call.outputs):
                    got = _run(
                        self.scp_argv([self.remote(f"{folder}/output{i}.npy")], str(local)), "scp", timeout
                    )
                    if got.returncode != 0:
                        raise EdgebuildError(
                            f"{self.name}: fetching output {i} failed: {_ssh_reason(got.stderr)}"
                        )
            # A signal on the device shows as exit 128 + n through the remote shell.
            code = done.returncode if done.returncode <= 128 else -(done.returncode - 128)
            return Completed(code, done.stdout, done.stderr)
        finally:
            _run(self.ssh_argv(f"rm -rf {shlex.quote(folder)}"), "cleanup", self.connect_timeout + 20)


def _ssh_reason(stderr: str) -> str:
    text = stderr.strip()
    if "Permission denied" in text:
        return f"authentication refused ({text.splitlines()[-1]}); edgebuild uses keys only: add your public key to the device's ~/.ssh/authorized_keys"
    if "Connection refused" in text or "No route to host" in text or "timed out" in text:
        return f"host unreachable ({text.splitlines()[-1]}); is the device on and sshd running?"
    if "Could not resolve hostname" in text:
        return f"unknown host ({text.splitlines()[-1]})"
    return text.splitlines()[-1] if text else "ssh exited with 255"


def parse_ssh_spec(spec: str) -> tuple[str | None, str, int | None]:
    """`ssh://user@host[:port]` -> (user, host, port)."""
    m = _SSH_SPEC.fullmatch(spec)
    if not m:
        raise EdgebuildError(f"bad ssh device {spec!r}: use ssh://user@host or ssh://user@host:port")
    host = m.group("host").strip("[]")
    return m.group("user"), host, int(m.group("port")) if m.group("port") else None


ADB_FOLDER = "/data/local/tmp"


@dataclass
class Adb(Device):
    """An Android device over adb: `adb` or `adb:SERIAL`. The static runner runs from /data/local/tmp, the one
    folder a shell user may write and execute in on stock Android."""

    serial: str | None = None
    machine: str | None = None
    name: str = ""

    def __post_init__(self) -> None:
        self.name = self.name or (f"adb:{self.serial}" if self.serial else "adb")

    def adb(self, *args: str) -> list[str]:
        return ["adb", *(["-s", self.serial] if self.serial else []), *args]

    def commands(self, call: Invocation, folder: str) -> list[list[str]]:
        """Every command `execute` issues, in order, after the `uname -m` check (tested without a device)."""
        run = " ".join(shlex.quote(a) for a in _remote_argv(call, folder))
        return [
            self.adb("shell", f"mkdir -p {folder}"),
            *[self.adb("push", str(local), f"{folder}/{name}") for local, name in _uploads(call)],
            self.adb("shell", f"chmod 755 {folder}/edgebuild-run && {run}"),
            *[self.adb("pull", f"{folder}/output{i}.npy", str(p)) for i, p in enumerate(call.outputs)],
            self.adb("shell", f"rm -rf {folder}"),
        ]

    def execute(self, call: Invocation, *, timeout: float | None = None) -> Completed:
        if shutil.which("adb") is None:
            raise EdgebuildError("adb not found: install Debian package adb (apt-get install adb)")
        probe = _run(self.adb("shell", "uname -m"), f"{self.name}: connect", 60)
        if probe.returncode != 0:
            raise EdgebuildError(f"{self.name}: no device answers ({(probe.stderr or probe.stdout).strip()})")
        machine = probe.stdout.strip()
        if self.machine and machine != self.machine:
            raise EdgebuildError(f"{self.name} is {machine} but the bundle's runner is for {self.machine}")
        folder = f"{ADB_FOLDER}/edgebuild-{os.getpid()}"
        cmds = self.commands(call, folder)
        n_push = len(_uploads(call)) + 1
        result = Completed(1, "", "")
        try:
            for i, argv in enumerate(cmds[:-1]):
                done = _run(argv, f"{self.name}: {argv[-2] if len(argv) > 2 else argv[-1]}", timeout)
                if i == n_push:  # the runner itself: its status is the caller's to read
                    result = Completed(done.returncode, done.stdout, done.stderr)
                    if done.returncode != 0:
                        break
                elif done.returncode != 0:
                    raise EdgebuildError(f"{self.name}: {' '.join(argv[-3:])} failed: {done.stderr.strip()}")
        finally:
            _run(cmds[-1], f"{self.name}: cleanup", 60)
        return result


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
    """The device a user asked for (`local`, `qemu`, `ssh://user@host[:port]`, `adb[:serial]`; None = local when
    possible, else qemu)."""
    if target.is_mcu:  # firmware runs through edgebuild/run/mcu.py, under qemu-system-arm only
        from .mcu import check_device

        check_device(target, spec)
        raise EdgebuildError(
            f"{target.name} firmware runs through `edgebuild run BUNDLE` (edgebuild/run/mcu.py)"
        )
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
    machine = None if target.machine in ("native", "") else target.machine
    if spec.startswith("ssh://"):
        user, host, port = parse_ssh_spec(spec)
        options = tuple(shlex.split(os.environ.get("EDGEBUILD_SSH_OPTIONS", "")))
        return Ssh(host=host, user=user, port=port, machine=machine, options=options)
    if spec == "adb" or spec.startswith("adb:"):
        return Adb(serial=spec[4:] or None, machine=machine)
    raise EdgebuildError(f"unknown device {spec!r}; use local, qemu, ssh://user@host or adb[:serial]")


def emulator_available(target: Target) -> bool:
    """True when the target's binaries can run here (natively or through its emulator)."""
    return target.runs_natively or (bool(target.emulator) and shutil.which(target.emulator[0]) is not None)
