"""ASan + UBSan build of the runtime and kernels: real model artifacts run through the sanitized edgebuild-run
(any report aborts it) and give the same bytes as the host extension."""

from __future__ import annotations

import functools
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgebuild import _native
from edgebuild.plan import plan_arena
from edgebuild.serialize import artifact_bytes
from tests.helpers import quantize_and_lower
from tests.models import RandomCNN, calibration
from tests.trust import native_builds
from tests.trust.conftest import DIGITS

ASAN_ENV = {"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=1", "UBSAN_OPTIONS": "print_stacktrace=1"}


@pytest.fixture(scope="module")
def sanitized_runner() -> Path:
    return native_builds.build("asan")


def run_sanitized(
    runner: Path, artifact: bytes, x: np.ndarray, tmp: Path, isa: str | None = None
) -> np.ndarray:
    (tmp / "m.ebm").write_bytes(artifact)
    np.save(tmp / "x.npy", x)
    done = subprocess.run(
        [str(runner), str(tmp / "m.ebm"), "--input", str(tmp / "x.npy"), "--output", str(tmp / "y.npy"),
         "--iterations", "2", "--profile"],
        check=False, capture_output=True, text=True, timeout=300,
        env={**os.environ, **ASAN_ENV, **({"EDGEBUILD_ISA": isa} if isa else {})},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr[-4000:]
    assert "runtime error" not in done.stderr and "Sanitizer" not in done.stderr, done.stderr[-4000:]
    assert json.loads(done.stdout.strip().splitlines()[-1])["status"] == "ok"
    return np.load(tmp / "y.npy")


@functools.cache
def models() -> list[tuple[str, bytes, np.ndarray]]:
    out = []
    for seed in range(8):  # random CNNs: conv (grouped, dilated, strided), pools, add, concat, activations
        m = RandomCNN(seed)
        calib = calibration(m.input_shape(), 4)
        q = quantize_and_lower(m, calib, f"r{seed}")
        plan_arena(q.program)
        out.append((f"random-cnn-{seed}", artifact_bytes(q.program), calib[0].numpy()))
    return out


def test_digits_under_sanitizers(sanitized_runner: Path, tmp_path: Path, small_calib: Path) -> None:
    from edgebuild.pipeline import BuildOptions
    from tests.trust.test_error_surface import build as build_bundle  # the pipeline itself

    out = tmp_path / "digits"
    build_bundle(BuildOptions(DIGITS / "model.pt", "host", calib=small_calib, out=out, smoke=False))
    artifact = (out / "model.ebm").read_bytes()
    x = np.load(DIGITS / "eval.npz")["x"][:1]
    got = run_sanitized(sanitized_runner, artifact, x, tmp_path)
    want = np.asarray(_native.Model.from_bytes(artifact).run([x])[0])
    assert got.tobytes() == want.tobytes()


@pytest.mark.parametrize("isa", ["ref", "avx2", "avx512vnni"])
@pytest.mark.parametrize("name,artifact,x", models(), ids=lambda v: v if isinstance(v, str) else "")
def test_random_cnns_under_sanitizers(
    sanitized_runner: Path, tmp_path: Path, name: str, artifact: bytes, x: np.ndarray, isa: str
) -> None:
    """Every host kernel path (reference and each optimized variant) runs under ASan + UBSan."""
    if isa not in _native.available_isas().split(","):
        pytest.skip(f"this CPU cannot run the {isa} path (available: {_native.available_isas()})")
    got = run_sanitized(sanitized_runner, artifact, x, tmp_path, isa)
    want = np.asarray(_native.Model.from_bytes(artifact).run([x])[0])
    assert got.tobytes() == want.tobytes(), name


def test_corrupt_artifacts_under_sanitizers(sanitized_runner: Path, tmp_path: Path) -> None:
    """Truncations and bit flips: the sanitized runner rejects each cleanly (exit 1, a JSON error line) and no
    sanitizer fires. (Mutations past the CRC are the fuzzer's job: test_fuzz.py.)"""
    artifact = models()[0][1]
    rng = np.random.default_rng(0)
    cases = [artifact[:n] for n in (0, 7, 31, 32, 100, len(artifact) // 2, len(artifact) - 1)]
    for pos in rng.integers(0, len(artifact), 8):
        b = bytearray(artifact)
        b[int(pos)] ^= 0x40
        cases.append(bytes(b))
    np.save(tmp_path / "x.npy", np.zeros((1, 3, 11, 11), np.float32))
    for i, data in enumerate(cases):
        (tmp_path / "bad.ebm").write_bytes(data)
        done = subprocess.run(
            [str(sanitized_runner), str(tmp_path / "bad.ebm"), "--input", str(tmp_path / "x.npy")],
            check=False, capture_output=True, text=True, timeout=120, env=ASAN_ENV,
        )  # fmt: skip
        assert "Sanitizer" not in done.stderr and "runtime error" not in done.stderr, (i, done.stderr[-3000:])
        if data != artifact:
            assert done.returncode == 1 and '"status":"error"' in done.stdout, (i, done.stdout, done.stderr)
