"""The arm64 Debian rootfs the peers run in under qemu-aarch64 -L: Debian bookworm's python3 from Debian's packages
(debootstrap), numpy, LiteRT's and ONNX Runtime's aarch64 wheels from PyPI. Built once, cached.

No binfmt, no chroot: debootstrap's first stage (`--foreign`) downloads and unpacks the base system; the .debs it
downloaded for python3 are unpacked with `dpkg-deb -x` (no maintainer scripts run, none are needed to import a
module). The wheels are downloaded on the host for the guest's platform (`pip download --platform ...`) and unzipped
into the guest's site-packages.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
GUEST_PYTHON = "3.11"  # bookworm's python3
WHEELS = (
    "ai-edge-litert==2.3.0",
    "onnxruntime==1.31.1",
)  # LiteRT as pinned in pyproject's export extra; ORT as in interop
# manylinux tags pip must accept for the guest: bookworm's glibc is 2.36; pip 23 does not infer older tags itself
PLATFORMS = (
    "manylinux_2_28_aarch64",
    "manylinux_2_27_aarch64",
    "manylinux_2_17_aarch64",
    "manylinux2014_aarch64",
)
KEY = f"{SUITE}-py{GUEST_PYTHON}-" + "-".join(w.replace("==", "") for w in WHEELS) + "-v1"
SITE = f"usr/local/lib/python{GUEST_PYTHON}/dist-packages"

# What the guest reads as /proc/cpuinfo, per emulated core. qemu-user 7.2 passes the host's x86 /proc/cpuinfo through,
# on which LiteRT crashes; XNNPACK (through the cpuinfo library) picks its microkernels by the MIDR fields here, so
# they must name the core qemu emulates. `max` is presented as a Cortex-A710 (an armv9 core with i8mm and dotprod;
# qemu's own MIDR for `max`, implementer 0, also crashes LiteRT).
CORES = {
    # -cpu: (part, variant, revision, Features)
    "cortex-a53": (0xD03, 0x0, 4, "fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid"),
    "cortex-a76": (
        0xD0B,
        0x4,
        1,
        "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp",
    ),
    "max,sme=off": (
        0xD47,
        0x2,
        0,
        (
            "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm jscvt fcma lrcpc dcpop "
            "sha3 sm3 sm4 asimddp sha512 asimdfhm dit uscat ilrcpc flagm sb paca pacg dcpodp flagm2 frint svei8mm "
            "i8mm bf16"
        ),
    ),
}


def cache_dir() -> Path:
    from edgebuild.paths import cache_root

    return cache_root() / "arm-peers"


def cpuinfo_text(cpu: str) -> str:
    part, variant, revision, features = CORES[cpu]
    try:  # as many processors as the host's /sys (which qemu-user passes through) says exist
        spec = Path("/sys/devices/system/cpu/possible").read_text().strip()
        n = int(spec.split("-")[-1]) + 1 if spec else 1
    except (OSError, ValueError):
        n = 1
    block = (
        f"BogoMIPS\t: 50.00\nFeatures\t: {features}\nCPU implementer\t: 0x41\nCPU architecture: 8\n"
        f"CPU variant\t: 0x{variant:x}\nCPU part\t: 0x{part:03x}\nCPU revision\t: {revision}\n\n"
    )
    return "".join(f"processor\t: {i}\n{block}" for i in range(n))


def present_core(root: Path, cpu: str) -> None:
    """Make the guest see `cpu` in /proc/cpuinfo (qemu-user's -L prefix wins over the host's file)."""
    (root / "proc").mkdir(exist_ok=True)
    (root / "proc" / "cpuinfo").write_text(cpuinfo_text(cpu))


def _run(cmd: list[str], what: str) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{what} failed ({' '.join(cmd)}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


def _missing_tools() -> list[str]:
    need = {
        "debootstrap": "debootstrap",
        "dpkg-deb": "dpkg",
        "qemu-aarch64": "qemu-user",
        "gcc": "gcc",  # the TCG plugin
        "aarch64-linux-gnu-g++": "g++-aarch64-linux-gnu",  # edgebuild's arm64 runner
    }
    return [
        pkg
        for tool, pkg in need.items()
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists()
    ]


def _unpack_wheel(wheel: Path, site: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        for info in z.infolist():
            name = info.filename
            if name.split("/", 1)[0].endswith(".data"):
                # <dist>.data/{purelib,platlib}/... belong in site-packages; scripts and headers are not needed
                parts = name.split("/", 2)
                if len(parts) < 3 or parts[1] not in ("purelib", "platlib"):
                    continue
                name = parts[2]
            target = site / name
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(z.read(info))
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                target.chmod(mode)


def build_rootfs(log=print) -> Path:
    """The cached rootfs, built if missing. Returns its path."""
    root = cache_dir() / f"rootfs-{KEY}"
    if (root / ".complete").is_file():
        return root
    missing = _missing_tools()
    if missing:
        raise SystemExit(f"bench.arm_peers needs: apt-get install -y {' '.join(missing)}")
    if os.geteuid() != 0:
        raise SystemExit(
            "building the rootfs needs root (debootstrap unpacks files owned by root): run as root once"
        )
    if root.exists():
        shutil.rmtree(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    log(f"rootfs: debootstrap --foreign --arch=arm64 {SUITE} (python3) into {root}")
    _run(
        [
            "debootstrap",
            "--foreign",
            "--arch=arm64",
            "--variant=minbase",
            "--include=python3",
            SUITE,
            str(root),
            MIRROR,
        ],
        "debootstrap",
    )
    for deb in sorted((root / "var/cache/apt/archives").glob("*.deb")):  # python3 and its dependencies
        _run(["dpkg-deb", "-x", str(deb), str(root)], f"dpkg-deb -x {deb.name}")
    wheels = cache_dir() / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    log(f"rootfs: pip download {' '.join(WHEELS)} for aarch64 CPython {GUEST_PYTHON}")
    platforms = [a for p in PLATFORMS for a in ("--platform", p)]
    _run(
        [sys.executable, "-m", "pip", "download", "--quiet", *platforms, "--python-version", GUEST_PYTHON,
         "--implementation", "cp", "--only-binary=:all:", "-d", str(wheels), *WHEELS],
        "pip download",
    )  # fmt: skip
    site = root / SITE
    site.mkdir(parents=True, exist_ok=True)
    for wheel in sorted(wheels.glob("*.whl")):
        _unpack_wheel(wheel, site)
    present_core(root, "cortex-a76")
    check = subprocess.run(
        [
            "qemu-aarch64", "-cpu", "cortex-a76", "-L", str(root), str(root / f"usr/bin/python{GUEST_PYTHON}"), "-c",
            "import numpy, onnxruntime; from ai_edge_litert.interpreter import Interpreter; print(numpy.__version__)",
        ],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if check.returncode != 0:
        raise SystemExit(f"the rootfs's python cannot import the engines:\n{check.stderr[-3000:]}")
    (root / ".complete").write_text(f"built in {time.perf_counter() - t:.0f} s\n")
    log(f"rootfs: ready in {time.perf_counter() - t:.0f} s (numpy {check.stdout.strip()})")
    return root


def guest_python(root: Path) -> Path:
    return root / f"usr/bin/python{GUEST_PYTHON}"
