"""The core the kernel variants are chosen for (kernels/runtime/cpu.cc): read from the MIDR of the CPUs the threads run
on, or named by EDGEBUILD_CPU / the runner's --cpu; an unknown name is a one-line load error listing the known ones.

Phones and boards are fake trees (EDGEBUILD_SYSFS_ROOT / EDGEBUILD_PROC_ROOT, as in test_threads.py): sysfs
midr_el1 per CPU, or only /proc/cpuinfo as armv7 kernels and old boards have. Detection is portable C++, so the host
runner and the host extension check it here; which kernel an ARM core gets is checked under qemu in test_isa_arm.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from edgebuild import _native
from edgebuild.plan import plan_arena
from edgebuild.serialize import artifact_bytes
from tests.kernels.runtime.isa_cases import conv_case, fc_case
from tests.kernels.runtime.test_isa_arm import merge
from tests.kernels.runtime.test_threads import fake_machine, run


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """A GEMM and a conv (the ops whose kernel the core picks), as one artifact with its input files."""
    root = tmp_path_factory.mktemp("core")
    program, inputs = merge([fc_case(9, 24, 40, 1), conv_case(c=8, oc=16, k=3, pad=1, seed=2, hw=(5, 6))])
    plan_arena(program)
    (root / "m.ebm").write_bytes(artifact_bytes(program))
    files = []
    for i, x in enumerate(inputs):
        files.append(root / f"x{i}.npy")
        np.save(files[-1], np.ascontiguousarray(x, np.float32))
    return root / "m.ebm", files


A53, A55, A72, A76 = 0x410FD034, 0x411FD050, 0x410FD083, 0x414FD0B0
LITTLE, BIG = 400, 1024


def midr_files(midrs: list[int]) -> dict[str, str]:
    return {
        f"devices/system/cpu/cpu{i}/regs/identification/midr_el1": f"0x{m:016x}\n"
        for i, m in enumerate(midrs)
    }


def cpuinfo(parts: list[tuple[int, int]]) -> str:
    """An arm64 /proc/cpuinfo with one block per CPU (implementer, part)."""
    blocks = []
    for i, (implementer, part) in enumerate(parts):
        blocks.append(
            f"processor\t: {i}\nBogoMIPS\t: 38.40\nFeatures\t: fp asimd evtstrm crc32 cpuid\n"
            f"CPU implementer\t: 0x{implementer:02x}\nCPU architecture: 8\nCPU variant\t: 0x0\n"
            f"CPU part\t: 0x{part:03x}\nCPU revision\t: 4\n"
        )
    return "\n".join(blocks) + "\n"


def machine(root: Path, *, midrs: list[int] | None = None, cpuinfo_text: str | None = None, **tree) -> dict:
    env = fake_machine(root, files=midr_files(midrs or []), **tree)
    if cpuinfo_text is not None:
        (root / "proc" / "cpuinfo").write_text(cpuinfo_text)
    return env


MACHINES = {
    # name: (fake tree, (cpu, core class, source))
    "phone 6x A55 + 2x A76: the big cores": (
        {"midrs": [A55] * 6 + [A76] * 2, "capacity": [LITTLE] * 6 + [BIG] * 2},
        ("cortex-a76", "out-of-order", "MIDR 0x41:0xd0b (sysfs)"),
    ),
    "same phone, taskset to the little cores": (
        {"midrs": [A55] * 6 + [A76] * 2, "capacity": [LITTLE] * 6 + [BIG] * 2, "allowed": "0-5"},
        ("cortex-a55", "in-order", "MIDR 0x41:0xd05 (sysfs)"),
    ),
    "Raspberry Pi 5 (4x A76)": ({"midrs": [A76] * 4, "allowed": "0-3"}, ("cortex-a76", "out-of-order", None)),
    "Raspberry Pi 4 (4x A72)": ({"midrs": [A72] * 4, "allowed": "0-3"}, ("cortex-a72", "out-of-order", None)),
    "Raspberry Pi 3 (4x A53), /proc/cpuinfo only": (
        {"cpuinfo_text": cpuinfo([(0x41, 0xD03)] * 4), "allowed": "0-3"},
        ("cortex-a53", "in-order", "MIDR 0x41:0xd03 (cpuinfo)"),
    ),
    "Snapdragon 855 Kryo 485 (Qualcomm parts)": (
        {
            "cpuinfo_text": cpuinfo([(0x51, 0x805)] * 4 + [(0x51, 0x804)] * 4),
            "capacity": [LITTLE] * 4 + [BIG] * 4,
        },
        ("cortex-a76", "out-of-order", "MIDR 0x51:0x804 (cpuinfo)"),
    ),
    "a MIDR the table does not know": (
        {"midrs": [0x410FD990] * 4, "allowed": "0-3"},
        ("unknown", "unknown", "MIDR 0x41:0xd99 (sysfs; not in the core table)"),
    ),
    "no MIDR anywhere (x86, qemu-user)": ({"allowed": "0-3"}, ("unknown", "unknown", "no MIDR found")),
}


@pytest.mark.parametrize("name", MACHINES)
def test_core_from_fake_machines(runner_for: Callable[[str], Path], model, tmp_path: Path, name: str) -> None:
    tree, (cpu, cls, source) = MACHINES[name]
    env = machine(tmp_path, **tree)  # type: ignore[arg-type]
    doc = run(runner_for("host"), model, env=env)
    assert (doc["cpu"], doc["core_class"]) == (cpu, cls)
    if source is not None:
        assert doc["cpu_source"] == source
    # the host extension answers from the same code, without a model
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        assert _native.detect_cpu() == {"cpu": cpu, "core_class": cls, "source": doc["cpu_source"]}
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_forced_core_wins_over_the_midr(runner_for: Callable[[str], Path], model, tmp_path: Path) -> None:
    env = machine(tmp_path, midrs=[A76] * 4, allowed="0-3")
    doc = run(runner_for("host"), model, "--cpu", "cortex-a55", env=env)
    assert (doc["cpu"], doc["core_class"], doc["cpu_source"]) == ("cortex-a55", "in-order", "EDGEBUILD_CPU")
    doc = run(runner_for("host"), model, env={**env, "EDGEBUILD_CPU": "neoverse-n1"})
    assert (doc["cpu"], doc["core_class"]) == ("neoverse-n1", "out-of-order")
    # an x86 build has no core-tuned variants: the ISA's default GEMM runs whatever the core
    assert (
        doc["kernels"]["qs8-gemm"].startswith("qs8_gemm_minmax_") and doc["isa"] in doc["kernels"]["qs8-gemm"]
    )


@pytest.mark.parametrize("how", ["env", "flag"])
def test_unknown_core_is_a_load_error_listing_the_known(
    runner_for: Callable[[str], Path], model, how
) -> None:
    import json
    import subprocess

    artifact, _ = model
    argv = [str(runner_for("host")), str(artifact)] + (["--cpu", "cortex-a99"] if how == "flag" else [])
    env = {**os.environ, "EDGEBUILD_CPU": "cortex-a99"} if how == "env" else dict(os.environ)
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert done.returncode == 1
    doc = json.loads(done.stdout.strip().splitlines()[-1])
    assert doc["status"] == "error" and doc["code"] == "EB_ERR_UNSUPPORTED", doc
    message = doc["message"]
    assert "EDGEBUILD_CPU=cortex-a99: unknown core (known: " in message and "\n" not in message
    for name in ("cortex-a53", "cortex-a55", "cortex-a76", "neoverse-n1", "cortex-a710"):
        assert name in message
    with pytest.raises(_native.LoadError, match="EB_ERR_UNSUPPORTED: EDGEBUILD_CPU=cortex-a99: unknown core"):
        os.environ["EDGEBUILD_CPU"] = "cortex-a99"
        try:
            _native.Model(str(artifact))
        finally:
            del os.environ["EDGEBUILD_CPU"]


def test_model_says_its_core(model) -> None:
    artifact, _ = model
    os.environ["EDGEBUILD_CPU"] = "cortex-a510"
    try:
        m = _native.Model(str(artifact))
    finally:
        del os.environ["EDGEBUILD_CPU"]
    assert (m.cpu, m.core_class, m.cpu_source) == ("cortex-a510", "in-order", "EDGEBUILD_CPU")
    assert (m.isa == "ref") == (m.gemm_kernel == "")
    assert set(_native.known_cpus().split(",")) >= {"cortex-a53", "cortex-a55", "cortex-a72", "cortex-a76"}
