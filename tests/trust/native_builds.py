"""Sanitizer and libFuzzer builds of kernels/ (kernels/CMakeLists.txt, "Trust builds" block), with clang.

Built once per kernel-source state into `cache_root()/trust/<variant>-<key>/` under a lock (two test sessions at
once wait for each other). Missing clang fails the tests that need it, with the package to install.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from pathlib import Path

from edgebuild import paths
from edgebuild.compile import runner_cache_key
from edgebuild.targets import load_target, ninja_generator

KERNELS = paths.source_root() / "kernels"
VARIANTS = {
    # sanitized runner: the real edgebuild-run with ASan + UBSan, CRC checked as in production
    "asan": (["-DEDGEBUILD_SANITIZE=ON"], "edgebuild-run"),
    # libFuzzer binary: ASan + UBSan + coverage, CRC skipped so mutations reach the structural checks
    "fuzz": (
        ["-DEDGEBUILD_SANITIZE=ON", "-DEDGEBUILD_LIBFUZZER=ON", "-DEDGEBUILD_FUZZING=ON"],
        "edgebuild-fuzz",
    ),
}


def clang() -> tuple[str, str]:
    for cc, cxx in (("clang-14", "clang++-14"), ("clang", "clang++")):
        if shutil.which(cc) and shutil.which(cxx):
            return cc, cxx
    raise AssertionError(
        "clang not found: install Debian packages clang-14 libclang-rt-14-dev (scripts/setup.sh)"
    )


def build(variant: str) -> Path:
    flags, binary = VARIANTS[variant]
    cc, cxx = clang()
    root = paths.cache_root() / "trust"
    root.mkdir(parents=True, exist_ok=True)
    out = root / f"{variant}-{runner_cache_key(load_target('host'))}"
    with (root / f".{variant}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out / binary).is_file():
            configure = ["cmake", "-S", str(KERNELS), "-B", str(out), *ninja_generator(), "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
                         f"-DCMAKE_C_COMPILER={cc}", f"-DCMAKE_CXX_COMPILER={cxx}", "-DEDGEBUILD_INSTALL=OFF", *flags]  # fmt: skip
            for argv in (configure, ["cmake", "--build", str(out), "--target", binary]):
                done = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=900)
                assert done.returncode == 0, f"{' '.join(argv)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return out / binary
