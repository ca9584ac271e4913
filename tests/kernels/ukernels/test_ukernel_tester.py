"""The microkernel tester (kernels/test/ukernel_tester.cc) on every target: each optimized ukernel called directly
against its reference twin, bit-exactly, over shapes that break kernels.

The tester is built per target with the target's own toolchain (targets/*.toml) and run natively on the host and
under qemu-user with `-cpu max` for arm64 (neon, neondot, i8mm) and armv7 (neon). Each (target, ISA) pair is one
test: it passes when every variant of that ISA ran with no mismatch, fails on a mismatch, and on the host is
reported as skipped (never passed) when this CPU lacks the ISA; under qemu every ISA must run.
"""

from __future__ import annotations

import fcntl
import functools
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from edgebuild import paths
from edgebuild.compile import runner_cache_key
from edgebuild.targets import load_target, ninja_generator
from tests.kernels.paths_ran import record_not_run, record_path

TESTER = "edgebuild-ukernel-tester"
# The non-reference ISAs each target's build contains (kernels/ukernels/isa.cmake); the tester reports which ran.
ISAS = {"host": ("avx2", "avx512vnni"), "arm64": ("neon", "neondot", "i8mm"), "armv7": ("neon",)}
# The families each (target, ISA) has variants of (the rest of that path runs another ISA's kernel or the reference:
# dotprod / i8mm cores run the NEON depthwise and elementwise kernels; armv7 quantizes with the reference).
ALL = ("qs8-gemm", "qs8-dwconv", "qs8-spmm", "qs8-vadd", "qs8-maxpool", "qs8-avgpool", "qs8-quantize")
QD8 = ("qd8-quantize", "qd8-gemm")  # DYNAMIC_FULLY_CONNECTED (issue 19)
# issue 19's float kernels: SOFTMAX, LAYER_NORM, UNARY and the float matmuls (double lanes), x86 and aarch64 only
# (armv7 NEON has no double lanes and flushes subnormals: the references run there).
F32 = ("f32-softmax", "f32-layernorm", "f32-unary", "f32-bmm", "f32-gemm")
# ATTENTION's mask + softmax + (14) of the probabilities in one kernel (issue 19): AVX-512 and arm64 NEON.
FAMILIES = {
    ("host", "avx2"): ALL + QD8 + F32,
    ("host", "avx512vnni"): ALL + QD8 + F32 + ("qs8-bmm", "qd8-softmax"),
    ("arm64", "neon"): (*ALL, *QD8, *F32, "qd8-softmax"),
    ("arm64", "neondot"): ("qs8-gemm", "qs8-spmm", "qs8-bmm", *QD8),
    ("arm64", "i8mm"): ("qs8-gemm",),
    ("armv7", "neon"): ALL[:-1] + QD8,
}


@dataclass
class Run:
    ran: dict[str, list[tuple[str, str, int, int]]] = field(
        default_factory=dict
    )  # isa -> (family, symbol, ...)
    not_run: dict[str, list[str]] = field(default_factory=dict)  # isa -> reasons
    mismatches: list[str] = field(default_factory=list)
    output: str = ""
    returncode: int = 0


def build_tester(target_name: str) -> Path:
    """The tester binary for a target, cached like the runners by everything that shapes it."""
    target = load_target(target_name)
    key = runner_cache_key(target)
    root = paths.cache_root() / "ukernel-tester"
    entry = root / f"{target_name}-{key}"
    if (entry / TESTER).is_file():
        return entry / TESTER
    root.mkdir(parents=True, exist_ok=True)
    with (root / f".{entry.name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (entry / TESTER).is_file():
            return entry / TESTER
        build = Path(tempfile.mkdtemp(prefix=f".{entry.name}-", dir=root))
        configure = [
            "cmake", "-S", str(paths.source_root() / "kernels"), "-B", str(build), *ninja_generator(),
            "-DCMAKE_BUILD_TYPE=Release", "-DEDGEBUILD_INSTALL=OFF",
            f"-DEDGEBUILD_STATIC={'ON' if target.static else 'OFF'}",
            f"-DCMAKE_C_FLAGS={' '.join(target.flags)}", f"-DCMAKE_CXX_FLAGS={' '.join(target.flags)}",
        ]  # fmt: skip
        if target.toolchain_file is not None:
            configure.append(f"-DCMAKE_TOOLCHAIN_FILE={target.toolchain_file}")
        else:
            configure += [
                f"-DCMAKE_C_COMPILER={target.c_compiler}",
                f"-DCMAKE_CXX_COMPILER={target.cxx_compiler}",
            ]
        try:
            for argv in (configure, ["cmake", "--build", str(build), "--target", TESTER]):
                done = subprocess.run(argv, capture_output=True, text=True, check=False)
                assert done.returncode == 0, (
                    f"{' '.join(argv)} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
                )
            entry.mkdir(exist_ok=True)
            shutil.copy2(build / TESTER, entry / f"{TESTER}.tmp")
            os.replace(entry / f"{TESTER}.tmp", entry / TESTER)  # a reader never sees half a binary
        finally:
            shutil.rmtree(build, ignore_errors=True)
    return entry / TESTER


def parse(output: str, returncode: int) -> Run:
    run = Run(output=output, returncode=returncode)
    for line in output.splitlines():
        words = line.split()
        if not words:
            continue
        if words[0] == "ran":
            family, symbol, isa, shapes, failures = words[1:6]
            run.ran.setdefault(isa, []).append((family, symbol, int(shapes), int(failures)))
        elif words[0] == "not-run":
            run.not_run.setdefault(words[3], []).append(" ".join(words[4:]))
        elif words[0] in ("MISMATCH", "REQUIRED-NOT-RUN"):
            run.mismatches.append(line)
    return run


@functools.cache
def run_tester(target_name: str) -> Run:
    target = load_target(target_name)
    argv = [*target.emulator, str(build_tester(target_name))]
    if target.emulator:
        argv += ["--require", ",".join(ISAS[target_name])]  # qemu `-cpu max` has every ARM extension
    done = subprocess.run(argv, capture_output=True, text=True, timeout=1800, check=False)
    return parse(done.stdout + done.stderr, done.returncode)


CASES = [(t, isa) for t, isas in ISAS.items() for isa in isas]


@pytest.mark.parametrize(("target", "isa"), CASES, ids=[f"{t}-{i}" for t, i in CASES])
def test_variants_match_reference(target: str, isa: str) -> None:
    run = run_tester(target)
    ran = run.ran.get(isa, [])
    if not ran and target == "host" and isa in run.not_run:
        record_not_run(target, f"ukernel-{isa}", run.not_run[isa][0])
        pytest.skip(f"{isa} NOT run on this machine: {run.not_run[isa][0]}")
    assert ran, f"{target}: no {isa} variant ran:\n{run.output[-3000:]}"
    bad = [m for m in run.mismatches if f" {isa}:" in m or m.endswith(f" {isa}")]
    assert not bad, f"{target} {isa}: mismatches against the reference twins:\n" + "\n".join(bad)
    assert all(failures == 0 for *_, failures in ran)
    families = {family for family, *_ in ran}
    want = set(FAMILIES[(target, isa)])
    assert families >= want, f"{target} {isa}: families without a variant run: {sorted(want - families)}"
    assert all(shapes >= 100 for _, _, shapes, _ in ran), ran
    record_path(target, f"ukernel-{isa}", sum(shapes for _, _, shapes, _ in ran))
    print(f"{target} {isa}: " + ", ".join(f"{symbol} {shapes} shapes" for _, symbol, shapes, _ in ran))


@pytest.mark.parametrize("target", list(ISAS))
def test_tester_exit_status(target: str) -> None:
    """Nothing failed, every required ISA ran, and the reference twin of the depthwise row equals CONV2D's."""
    run = run_tester(target)
    assert run.returncode == 0, run.output[-3000:]
    assert any(sym.startswith("eb_qs8_dwconv_ref") for _, sym, _, _ in run.ran.get("ref", [])), run.output[
        -2000:
    ]


def test_parse_reports_mismatch() -> None:
    """The parser sees a mismatch and a not-run ISA (so the tests above can fail and skip for the right reason)."""
    out = (
        "ran qs8-gemm eb_qs8_gemm_minmax_ukernel_4x4c8__avx2 avx2 10 1\n"
        "MISMATCH qs8-gemm eb_qs8_gemm_minmax_ukernel_4x4c8__avx2 avx2: M=1 N=1 K=1\n"
        "not-run qs8-gemm eb_x__avx512vnni avx512vnni CPU lacks avx512vnni (available: ref,avx2)\n"
    )
    run = parse(out, 1)
    assert run.ran["avx2"] == [("qs8-gemm", "eb_qs8_gemm_minmax_ukernel_4x4c8__avx2", 10, 1)]
    assert len(run.mismatches) == 1 and run.not_run["avx512vnni"][0].startswith("CPU lacks")
