"""run: execute an `edgebuild-run` binary on a device and read the one JSON line it prints.

Runner contract: `edgebuild-run MODEL.ebm [--input x.npy]... [--output y.npy]... [--warmup N] [--iterations N]
[--profile] [--threads N] [--cpu CORE]` prints `{"status":"ok",...}` (exit 0) or `{"status":"error","code":...,"message":...}` (exit 1).
"""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path
from typing import Any

from edgebuild.errors import EdgebuildError
from edgebuild.run.transports import (
    Adb,
    Completed,
    Device,
    Invocation,
    Local,
    Ssh,
    device_for,
    emulator_available,
    qemu,
)
from edgebuild.targets import Target

__all__ = [
    "MAX_THREADS",
    "Adb",
    "Completed",
    "Device",
    "Invocation",
    "Local",
    "RunnerError",
    "Ssh",
    "check_cpu",
    "check_threads",
    "device_for",
    "emulator_available",
    "parse_runner_output",
    "qemu",
    "run_runner",
]

_TAIL = 15
MAX_THREADS = 64  # = the runtime's limit (kernels/runtime/threadpool.cc)


class RunnerError(EdgebuildError):
    """The runner reported an error (bad artifact, bad input): its code and message, as printed."""

    def __init__(self, code: Any, message: str) -> None:
        super().__init__(f"edgebuild-run: {message} (code {code})")
        self.code = code
        self.message = message


def check_threads(threads: int | None) -> None:
    """None (the runtime's default: the CPUs this process may use) or 1..MAX_THREADS, else a one-line error."""
    if threads is None:
        return
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= MAX_THREADS:
        raise EdgebuildError(
            f"threads must be 1..{MAX_THREADS} (got {threads!r}); omit it for the default, the CPUs this process "
            "may use"
        )


def check_cpu(cpu: str | None) -> None:
    """None (the runtime reads the core from the CPU) or a core name of the runtime's table (EDGEBUILD_CPU, --cpu),
    else a one-line error listing the known ones. The table is the runtime's (kernels/runtime/cpu.cc), asked through
    the host extension; without it only the spelling is checked and the runner refuses an unknown name at load."""
    if cpu is None:
        return
    if not isinstance(cpu, str) or not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}", cpu):
        raise EdgebuildError(f"cpu must be a core name such as cortex-a55 (got {cpu!r})")
    known = known_cpus()
    if known and cpu not in known:
        raise EdgebuildError(f"unknown cpu {cpu!r} (known: {', '.join(known)})")


def known_cpus() -> tuple[str, ...]:
    """The core names the runtime knows, or () when the host extension is not built."""
    try:
        from edgebuild import _native
    except ImportError:
        return ()
    return tuple(_native.known_cpus().split(","))


def run_runner(
    target: Target,
    runner: Path,
    artifact: Path,
    inputs: list[Path],
    outputs: list[Path],
    *,
    iterations: int = 1,
    warmup: int = 0,
    profile: bool = False,
    cwd: Path | None = None,
    device: Device | None = None,
    timeout: float | None = None,
    extra_options: tuple[str, ...] = (),
    threads: int | None = None,
    cpu: str | None = None,
) -> dict[str, Any]:
    """Run `runner` on `artifact` on the target's device (default: here, or qemu-user for ARM).

    `threads`: the runner's --threads (1..64); None leaves the runtime's default, the CPUs the process may use on
    the device (affinity, cgroup quota, the fast cores of a big.LITTLE CPU). Returns the runner's JSON document
    (its `threads`, `cpus` and `pinned` say what ran). `cpu`: the runner's --cpu, the core the kernel variants are
    chosen for (None: the device's own, by its MIDR); its `cpu`, `core_class` and `kernels` say what ran. Raises RunnerError for the runner's own error report and EdgebuildError
    for a missing emulator, a crash (signal) or output that is not the contract's JSON line.
    """
    if iterations < 1 or warmup < 0:
        raise EdgebuildError(f"iterations must be ≥ 1 and warmup ≥ 0 (got {iterations}, {warmup})")
    check_threads(threads)
    check_cpu(cpu)
    runner = Path(runner)
    if not runner.is_file():
        raise EdgebuildError(f"runner {runner} does not exist")
    device = device or device_for(target)
    options = ["--warmup", str(warmup), "--iterations", str(iterations)]
    if profile:
        options.append("--profile")
    if threads is not None:
        options += ["--threads", str(threads)]
    if cpu is not None:
        options += ["--cpu", cpu]
    options += extra_options
    call = Invocation(
        runner=runner,
        artifact=Path(artifact),
        inputs=tuple(Path(p) for p in inputs),
        outputs=tuple(Path(p) for p in outputs),
        options=tuple(options),
        cwd=cwd,
    )
    return parse_runner_output(device.execute(call, timeout=timeout), where=device.name)


def parse_runner_output(done: Completed, *, where: str = "local") -> dict[str, Any]:
    """The runner's status document from what it printed, or the matching EdgebuildError."""
    if done.returncode < 0:
        # qemu-user re-raises a guest's fatal signal on itself, so this covers emulated crashes too.
        try:
            name = signal.Signals(-done.returncode).name
        except ValueError:
            name = f"signal {-done.returncode}"
        raise EdgebuildError(f"edgebuild-run crashed on {where}: killed by {name}{_tail(done)}")
    doc = _last_json_object(done.stdout)
    if doc is not None and doc.get("status") == "error":
        raise RunnerError(doc.get("code"), str(doc.get("message", "unknown error")))
    if doc is None or doc.get("status") != "ok" or done.returncode != 0:
        raise EdgebuildError(
            f"edgebuild-run on {where} exited with {done.returncode} without a status line{_tail(done)}"
        )
    return doc


def _last_json_object(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                doc = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(doc, dict):
                return doc
    return None


def _tail(done: Completed) -> str:
    lines = (done.stdout + done.stderr).strip().splitlines()[-_TAIL:]
    return ("; output:\n" + "\n".join(lines)) if lines else ""
