"""The TCG plugin's syscall-marker mode (kernels/tools/qemu-insn-count.c), which bench/arm_peers counts other engines
with: on a tiny static aarch64 program whose instruction count between its two marker syscalls is known by
construction, the plugin must give that count exactly, credit the loop to the bucket its address range names, and
scale with the loop's trip count."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from edgebuild.profile import build_insn_plugin

MAGIC = 0x1234
# argc × 1000 iterations of a two-instruction loop between the begin and end markers (getpid, 172, whose first
# argument carries the marker); before them, the loop's address is announced (MAGIC + 2) as the ranges' base.
PROGRAM = """
  .globl _start
_start:
  ldr x9, [sp]
  mov x10, #1000
  mul x9, x9, x10
  mov x8, #172
  movz x0, #0x1234
  add x0, x0, #2
  adr x1, loop
  svc #0
  movz x0, #0x1234
  svc #0
  mov x1, x9
loop:
  subs x1, x1, #1
  b.ne loop
  movz x0, #0x1234
  add x0, x0, #1
  svc #0
  mov x0, #0
  mov x8, #93
  svc #0
"""


def _tool(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} not found: install Debian package {package}")
    return found


def _count(tmp_path: Path, program: Path, plugin: Path, ranges: Path, args: list[str]) -> list[str]:
    out = tmp_path / "counts.txt"
    subprocess.run(
        [
            _tool("qemu-aarch64", "qemu-user"),
            "-plugin",
            f"{plugin},out={out},syscall=172,magic={MAGIC:#x},ranges={ranges}",
            str(program),
            *args,
        ],
        check=True,
        timeout=30,
    )
    return out.read_text().splitlines()


def test_syscall_markers_count_the_region_per_bucket(tmp_path: Path) -> None:
    gcc = _tool("aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu")
    (tmp_path / "mark.S").write_text(PROGRAM)
    program = tmp_path / "mark"
    subprocess.run([gcc, "-nostdlib", "-static", "-o", str(program), str(tmp_path / "mark.S")], check=True)
    ranges = tmp_path / "ranges.txt"
    ranges.write_text("0 8 3\n")  # the loop's two instructions, from the announced base
    plugin = build_insn_plugin()
    for args, n in (([], 1000), (["x"], 2000)):
        lines = _count(tmp_path, program, plugin, ranges, args)
        invoke = [int(v) for v in lines[0].split()[1:]]
        total, buckets = invoke[0], invoke[2:]
        assert invoke[1] == len(buckets) == 16
        # after the begin marker's svc: [mov x1; subs; b.ne] once, then the loop block [subs; b.ne] n − 1 times,
        # then [movz; add; svc] of the end marker, which is counted when its block starts
        assert total == 3 + 2 * (n - 1) + 3
        assert buckets[3] == 2 * (n - 1)  # blocks starting inside the range
        assert buckets[0] == total - buckets[3] and sum(buckets) == total
        assert lines[1] == "threads 1"
        assert lines[2].startswith("total ") and int(lines[2].split()[1]) > total
