"""Threads that respect the machine: the real `edgebuild-run` picks its default thread count from the CPUs the process
may use (affinity under the real `taskset`, the cgroup CPU quota, the fast cores of a big.LITTLE CPU) and says which
CPUs its threads ran on; the outputs are the same bytes for any thread count.

Phones and containers are described by fake trees (kernels/runtime/cpus.cc reads EDGEBUILD_SYSFS_ROOT and
EDGEBUILD_PROC_ROOT instead of /sys and /proc; the fake self/status's Cpus_allowed_list stands for the affinity mask,
so an 8-CPU phone can be described on a 2-CPU machine). The selection logic is portable C++, checked on the host
runner and once on the arm64 runner under qemu-user.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from edgebuild import _native
from edgebuild.plan import plan_arena
from edgebuild.serialize import artifact_bytes
from tests.kernels.runtime.isa_cases import conv_case, fc_case
from tests.kernels.runtime.test_isa_arm import merge


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """A GEMM and a conv big enough to split into many tasks, as one artifact with its input files."""
    root = tmp_path_factory.mktemp("threads")
    program, inputs = merge(
        [fc_case(67, 96, 200, 1), conv_case(c=16, oc=24, k=3, pad=1, seed=2, hw=(19, 17))]
    )
    plan_arena(program)
    (root / "m.ebm").write_bytes(artifact_bytes(program))
    files = []
    for i, x in enumerate(inputs):
        files.append(root / f"x{i}.npy")
        np.save(files[-1], np.ascontiguousarray(x, np.float32))
    return root / "m.ebm", files


def run(
    runner: Path,
    model: tuple[Path, list[Path]],
    *options: str,
    env: dict[str, str] | None = None,
    prefix: tuple[str, ...] = (),
) -> dict:
    artifact, inputs = model
    argv = [*prefix, str(runner), str(artifact), *options]
    for x in inputs:
        argv += ["--input", str(x)]
    done = subprocess.run(
        argv, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def cpu_list(cpus: set[int]) -> str:
    """Linux CPU-list text ("0-3,6"), as the runner prints it."""
    parts, ordered = [], sorted(cpus)
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(parts)


def fake_machine(
    root: Path,
    *,
    allowed: str = "0-7",
    capacity: list[int] | None = None,
    max_freq: list[int] | None = None,
    cgroup: str | None = None,
    files: dict[str, str] | None = None,
) -> dict[str, str]:
    """A fake /sys and /proc under root; returns the environment that points the runtime at them."""
    sys_root, proc_root = root / "sys", root / "proc"
    (proc_root / "self").mkdir(parents=True)
    (proc_root / "self" / "status").write_text(f"Name:\tedgebuild-run\nCpus_allowed_list:\t{allowed}\n")
    cpus = sys_root / "devices" / "system" / "cpu"
    for name, values in (("cpu_capacity", capacity), ("cpufreq/cpuinfo_max_freq", max_freq)):
        for cpu, v in enumerate(values or []):
            (cpus / f"cpu{cpu}" / name).parent.mkdir(parents=True, exist_ok=True)
            (cpus / f"cpu{cpu}" / name).write_text(f"{v}\n")
    if cgroup is not None:
        (proc_root / "self" / "cgroup").write_text(cgroup)
    for rel, text in (files or {}).items():
        (sys_root / rel).parent.mkdir(parents=True, exist_ok=True)
        (sys_root / rel).write_text(text)
    return {"EDGEBUILD_SYSFS_ROOT": str(sys_root), "EDGEBUILD_PROC_ROOT": str(proc_root)}


def test_default_under_taskset_is_one_thread(runner_for: Callable[[str], Path], model) -> None:
    cpu = min(os.sched_getaffinity(0))
    doc = run(runner_for("host"), model, prefix=("taskset", "-c", str(cpu)))
    assert (doc["threads"], doc["default_threads"], doc["cpus"], doc["pinned"]) == (1, 1, str(cpu), False)


def test_taskset_on_two_cpus(runner_for: Callable[[str], Path], model) -> None:
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        pytest.skip("this machine lets the tests use one CPU only")
    pair = set(allowed[-2:])
    doc = run(runner_for("host"), model, prefix=("taskset", "-c", ",".join(map(str, pair))))
    assert (doc["threads"], doc["cpus"]) == (2, cpu_list(pair))


def _host_cpu_cap() -> int | None:
    """This machine's cgroup v2 quota in CPUs, when the test process has one (then the default is capped)."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
        path = next(ln.split(":", 2)[2] for ln in lines if ln.startswith("0::"))
        quota, period = Path(f"/sys/fs/cgroup{path}/cpu.max").read_text().split()
        return -(-int(quota) // int(period))
    except (OSError, StopIteration, ValueError):
        return None


def test_default_is_the_affinity_count(runner_for: Callable[[str], Path], model) -> None:
    allowed = os.sched_getaffinity(0)
    cap = _host_cpu_cap()
    if cap is not None and cap < len(allowed):
        pytest.skip(f"this machine's cgroup allows {cap} CPU(s) of the {len(allowed)} in the affinity mask")
    capacities = {
        Path(f"/sys/devices/system/cpu/cpu{c}/cpu_capacity").read_text().strip()
        for c in allowed
        if Path(f"/sys/devices/system/cpu/cpu{c}/cpu_capacity").exists()
    }
    if len(capacities) > 1:
        pytest.skip(
            f"this machine's CPUs differ in capacity ({sorted(capacities)}): the fake-tree tests cover it"
        )
    doc = run(runner_for("host"), model)
    want = min(len(allowed), 64)
    assert (doc["threads"], doc["default_threads"], doc["cpus"], doc["pinned"]) == (
        want,
        want,
        cpu_list(allowed),
        False,
    )
    assert _native.default_threads() == want


LITTLE, MID, BIG = 381, 870, 1024
PHONES = {
    # name: (fake tree, (threads, cpus, pinned))
    "4 little + 4 big": ({"capacity": [LITTLE] * 4 + [BIG] * 4}, (4, "4-7", True)),
    "4 big + 4 little": ({"capacity": [BIG] * 4 + [LITTLE] * 4}, (4, "0-3", True)),
    # the middle cluster of a 1 + 3 + 4 phone is worth its threads; only the slowest cluster goes
    "1 prime + 3 mid + 4 little": ({"capacity": [LITTLE] * 4 + [MID] * 3 + [BIG]}, (4, "4-7", True)),
    "max frequency without capacity": ({"max_freq": [1_800_000] * 6 + [2_850_000] * 2}, (2, "6-7", True)),
    "capacities a few percent apart": ({"capacity": [990] * 4 + [BIG] * 4}, (8, "0-7", False)),
    "capacity missing on one CPU": ({"capacity": [LITTLE] * 4 + [BIG] * 3}, (8, "0-7", False)),
    "taskset to the little cores": (
        {"allowed": "0-3", "capacity": [LITTLE] * 4 + [BIG] * 4},
        (4, "0-3", False),
    ),
    "taskset across clusters": ({"allowed": "2-5", "capacity": [LITTLE] * 4 + [BIG] * 4}, (2, "4-5", True)),
    "no sysfs at all": ({}, (8, "0-7", False)),
}


@pytest.mark.parametrize("name", PHONES)
def test_big_little_fake_sysfs(runner_for: Callable[[str], Path], model, tmp_path: Path, name: str) -> None:
    tree, want = PHONES[name]
    doc = run(runner_for("host"), model, env=fake_machine(tmp_path, **tree))  # type: ignore[arg-type]
    assert (doc["threads"], doc["cpus"], doc["pinned"]) == want
    assert doc["default_threads"] == want[0]


def test_more_threads_than_big_cores_float(runner_for: Callable[[str], Path], model, tmp_path: Path) -> None:
    env = fake_machine(tmp_path, capacity=[LITTLE] * 4 + [BIG] * 4)
    doc = run(runner_for("host"), model, "--threads", "6", env=env)
    assert (doc["threads"], doc["default_threads"], doc["cpus"], doc["pinned"]) == (6, 4, "0-7", False)
    doc = run(runner_for("host"), model, "--threads", "3", env=env)
    assert (doc["threads"], doc["cpus"], doc["pinned"]) == (3, "4-7", True)


V2 = "0::/user.slice/app.scope\n"
V1 = "4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n"
QUOTAS = {
    # name: (/proc/self/cgroup, files under the fake /sys, default threads)
    "v2 one CPU": (V2, {"fs/cgroup/user.slice/app.scope/cpu.max": "100000 100000\n"}, 1),
    "v2 no limit": (V2, {"fs/cgroup/user.slice/app.scope/cpu.max": "max 100000\n"}, 8),
    "v2 1.5 CPUs round up": (V2, {"fs/cgroup/user.slice/app.scope/cpu.max": "150000 100000\n"}, 2),
    "v2 parent's limit binds": (
        V2,
        {
            "fs/cgroup/user.slice/cpu.max": "300000 100000\n",
            "fs/cgroup/user.slice/app.scope/cpu.max": "max 100000\n",
        },
        3,
    ),
    "v2 tiny quota is still one": (V2, {"fs/cgroup/user.slice/app.scope/cpu.max": "1000 100000\n"}, 1),
    "v2 namespace root": ("0::/\n", {"fs/cgroup/cpu.max": "200000 100000\n"}, 2),
    "v1 half a CPU": (
        V1,
        {
            "fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "50000\n",
            "fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n",
        },
        1,
    ),
    "v1 no limit": (
        V1,
        {
            "fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "-1\n",
            "fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n",
        },
        8,
    ),
    "v1 own folder only (no cgroup namespace)": (
        V1,
        {"fs/cgroup/cpu/cpu.cfs_quota_us": "300000\n", "fs/cgroup/cpu/cpu.cfs_period_us": "100000\n"},
        3,
    ),
    "cgroup file names no hierarchy": ("garbage\n", {}, 8),
}


@pytest.mark.parametrize("name", QUOTAS)
def test_cgroup_quota_fake_tree(runner_for: Callable[[str], Path], model, tmp_path: Path, name: str) -> None:
    cgroup, files, want = QUOTAS[name]
    doc = run(runner_for("host"), model, env=fake_machine(tmp_path, cgroup=cgroup, files=files))
    assert (doc["threads"], doc["default_threads"], doc["cpus"], doc["pinned"]) == (want, want, "0-7", False)


def test_quota_and_big_cores_together(runner_for: Callable[[str], Path], model, tmp_path: Path) -> None:
    env = fake_machine(
        tmp_path,
        capacity=[LITTLE] * 4 + [BIG] * 4,
        cgroup=V2,
        files={"fs/cgroup/user.slice/app.scope/cpu.max": "200000 100000\n"},
    )
    doc = run(runner_for("host"), model, env=env)
    assert (doc["threads"], doc["cpus"], doc["pinned"]) == (2, "4-7", True)


def test_outputs_bit_identical_for_any_thread_count(
    runner_for: Callable[[str], Path], model, tmp_path: Path
) -> None:
    runner = runner_for("host")
    outputs: dict[str, list[bytes]] = {}
    hashes: dict[str, list[str]] = {}
    for threads in ("1", "2", "3", "7"):
        ys = [tmp_path / f"y{threads}-{i}.npy" for i in range(2)]
        doc = run(runner, model, "--threads", threads, *[a for y in ys for a in ("--output", str(y))])
        assert doc["threads"] == int(threads)
        outputs[threads] = [np.load(y).tobytes() for y in ys]
        hashes[threads] = [o["fnv1a64"] for o in doc["outputs"]]
    assert all(v == outputs["1"] for v in outputs.values())
    assert all(v == hashes["1"] for v in hashes.values())


def test_arm64_runner_picks_the_big_cores_under_qemu(
    runner_for: Callable[[str], Path], model, tmp_path: Path
) -> None:
    qemu = shutil.which("qemu-aarch64")
    assert qemu is not None, "qemu-aarch64 missing (bash scripts/setup.sh installs qemu-user)"
    env = fake_machine(tmp_path, capacity=[LITTLE] * 4 + [BIG] * 4)
    doc = run(runner_for("arm64"), model, env=env, prefix=(qemu, "-cpu", "max"))
    assert (doc["threads"], doc["cpus"], doc["pinned"]) == (4, "4-7", True)
    ones = run(runner_for("arm64"), model, "--threads", "1", prefix=(qemu, "-cpu", "max"))
    assert [o["fnv1a64"] for o in ones["outputs"]] == [o["fnv1a64"] for o in doc["outputs"]]


def test_threads_pin_themselves_to_the_fast_cores(
    runner_for: Callable[[str], Path], model, tmp_path: Path
) -> None:
    """The CPUs this test may use as the big cores and one more CPU as a little core: every worker and the runner's
    own thread ask the kernel for exactly the big cores, and the kernel agrees (seen with the real strace)."""
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace is not installed: the pinning is checked through the system calls it traces")
    big = sorted(os.sched_getaffinity(0))
    little = big[-1] + 1
    env = fake_machine(tmp_path, allowed=cpu_list({*big, little}), capacity=[BIG] * little + [LITTLE])
    log = tmp_path / "strace.log"
    prefix = (strace, "-f", "-qq", "-e", "trace=sched_setaffinity", "-o", str(log))
    try:
        doc = run(runner_for("host"), model, env=env, prefix=prefix)
    except AssertionError as e:
        if "ptrace" in str(e) or "Operation not permitted" in str(e):
            pytest.skip(f"strace cannot trace here: {e}")
        raise
    assert (doc["threads"], doc["cpus"], doc["pinned"]) == (len(big), cpu_list(set(big)), True)
    calls = re.findall(r"sched_setaffinity\(0, \d+, \[([\d ]+)\]\)\s*=\s*(-?\d+)", log.read_text())
    assert calls == [(" ".join(map(str, big)), "0")] * len(big), log.read_text()  # the workers and the caller
