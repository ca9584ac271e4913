"""Microcontroller bundles: their firmware.elf under qemu-system-arm, on the target's board (targets/cortex-m*.toml).

The firmware (kernels/mcu/harness.c) takes `INPUT OUTPUT [ITERATIONS]` on its semihosting command line, reads the
model's float32 inputs from INPUT and writes its float32 outputs to OUTPUT (raw little-endian, one tensor after
another), both host files in the folder QEMU runs in, and prints one JSON status line, the Linux runner's contract
(parse_runner_output reads it). With `count`, the TCG plugin (kernels/tools/qemu-insn-count.c) counts the guest
instructions between the model's profiling markers (eb_profile_*, found by address in the ELF): per invoke and
per op, identical run to run.

Only `qemu` runs a firmware here: a real board is flashed with pyOCD or OpenOCD (docs/microcontrollers.md).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EdgebuildError
from ..targets import Target, describe_missing
from .transports import Completed

FIRMWARE = "firmware.elf"


@dataclass
class FirmwareRun:
    outputs: list[np.ndarray]  # float32, flat (the caller knows the shapes)
    doc: dict[str, Any]  # the harness's status line
    insns: str | None  # the plugin's output file (count=True)
    device: str


def check_device(target: Target, device: str | None) -> None:
    """MCU bundles run under qemu only; anything else is refused in one line."""
    if device not in (None, "qemu"):
        raise EdgebuildError(
            f"{target.name} bundles run under qemu-system-arm only (--device qemu); to run on a real board, flash "
            "firmware.elf or build mcu/ into your firmware (pyOCD/OpenOCD: docs/microcontrollers.md)"
        )


def refuse_linux_options(target: Target, *, threads: int | None = None, cpu: str | None = None) -> None:
    if threads is not None:
        raise EdgebuildError(f"--threads does not apply to {target.name}: the firmware runs on one core, no OS")
    if cpu is not None:
        raise EdgebuildError(
            f"--cpu does not apply to {target.name}: its core is the target's (the kernels are chosen at build time)"
        )


def qemu_command(target: Target, elf: Path, args: list[str], plugin: str | None = None) -> list[str]:
    assert target.mcu is not None
    cmd = [target.emulator[0], "-M", target.mcu.board, "-nographic", "-monitor", "none", "-serial", "null"]
    if plugin is not None:
        cmd += ["-plugin", plugin]
    semi = "enable=on,target=native," + ",".join(f"arg={a}" for a in (elf.name, *args))
    return [*cmd, "-semihosting-config", semi, "-kernel", str(elf)]


def run_firmware(
    target: Target,
    elf: Path,
    inputs: list[np.ndarray],
    *,
    iterations: int = 1,
    count: bool = False,
    timeout: float | None = 600,
) -> FirmwareRun:
    """Run `elf` on the target's QEMU board on one sample (`inputs` in the model's order, any float-convertible
    dtype); returns the float32 outputs as the firmware wrote them."""
    assert target.mcu is not None
    missing = target.missing(build=False)
    if missing:
        raise EdgebuildError(f"cannot run {target.name} firmware here: {describe_missing(missing)}")
    if not elf.is_file():
        raise EdgebuildError(f"firmware {elf} does not exist; rebuild the bundle")
    if iterations < 1:
        raise EdgebuildError(f"iterations must be ≥ 1 (got {iterations})")
    with tempfile.TemporaryDirectory(prefix="edgebuild-mcu-") as tmp_name:
        tmp = Path(tmp_name)
        # Short relative names: semihosting's command line is 512 bytes in startup.c, and QEMU opens files relative
        # to its own working directory.
        shutil.copyfile(elf, tmp / FIRMWARE)
        blob = b"".join(np.ascontiguousarray(x, dtype="<f4").tobytes() for x in inputs)
        (tmp / "in.bin").write_bytes(blob)
        plugin = None
        if count:
            from ..profile.insns import MARKERS, build_insn_plugin, elf_symbols

            marks = elf_symbols(elf, MARKERS)
            plugin = ",".join(
                [f"{build_insn_plugin()}", f"out={tmp / 'insns.txt'}"]
                + [f"{m.removeprefix('eb_profile_')}={hex(marks[m])}" for m in MARKERS]
            )
        cmd = qemu_command(target, tmp / FIRMWARE, ["in.bin", "out.bin", str(iterations)], plugin)
        try:
            done = subprocess.run(
                cmd, cwd=tmp, capture_output=True, text=True, errors="replace", timeout=timeout, check=False,
                stdin=subprocess.DEVNULL,
            )  # fmt: skip
        except subprocess.TimeoutExpired as e:
            raise EdgebuildError(f"{FIRMWARE} on qemu {target.mcu.board} did not finish within {timeout} s") from e
        except OSError as e:
            raise EdgebuildError(f"cannot start {cmd[0]}: {e}") from e
        from . import parse_runner_output

        where = f"qemu-system-arm -M {target.mcu.board}"
        if done.returncode == 3 and '"status"' not in done.stdout:
            raise EdgebuildError(f"{FIRMWARE} faulted on {where} (a HardFault: exit status 3); please report it")
        # the status line comes through semihosting's console, which QEMU writes to stderr
        doc = parse_runner_output(Completed(done.returncode, done.stdout + done.stderr, ""), where=where)
        data = (tmp / "out.bin").read_bytes()
        insns = (tmp / "insns.txt").read_text() if count and (tmp / "insns.txt").is_file() else None
    flat = np.frombuffer(data, dtype="<f4").astype(np.float32)
    return FirmwareRun([flat], doc, insns, where)


def split_outputs(flat: np.ndarray, shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    """The firmware's concatenated float32 outputs, cut into the model's output shapes."""
    sizes = [int(np.prod(s)) for s in shapes]
    if flat.size != sum(sizes):
        raise EdgebuildError(
            f"the firmware wrote {flat.size} output values; the model's outputs {shapes} hold {sum(sizes)}"
        )
    out, at = [], 0
    for shape, n in zip(shapes, sizes):
        out.append(flat[at : at + n].reshape(shape).copy())
        at += n
    return out
