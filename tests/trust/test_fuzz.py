"""The CI fuzz job: libFuzzer on the artifact loader + executor (kernels/fuzz/ebm_fuzz.cc) with ASan + UBSan, seeded
with real artifacts, for a bounded time (EDGEBUILD_FUZZ_SECONDS, default 30). Any crash, sanitizer report, leak or
timeout fails the test and leaves the reproducer in the test's tmp folder. The long run is in docs/fuzzing.md."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from edgebuild.plan import plan_arena
from edgebuild.serialize import artifact_bytes
from tests.helpers import quantize_and_lower
from tests.models import RandomCNN, calibration
from tests.trust import native_builds

SECONDS = int(os.environ.get("EDGEBUILD_FUZZ_SECONDS", "30"))
# Inputs that once failed (libFuzzer runs every file of its corpus folders before mutating): they stay fixed.
REGRESSIONS = Path(__file__).parent / "fuzz_regressions"


def write_seeds(folder: Path) -> int:
    """Real artifacts: small random CNNs (every op family the lowering emits), three of them Huffman-coded."""
    folder.mkdir(parents=True, exist_ok=True)
    for seed in range(6):
        m = RandomCNN(seed)
        q = quantize_and_lower(m, calibration(m.input_shape(), 2), f"r{seed}")
        plan_arena(q.program)
        (folder / f"random-cnn-{seed}.ebm").write_bytes(artifact_bytes(q.program))
        if seed < 3:  # the same models with Huffman-coded constants (CODED_CONSTANTS, decoded at load)
            (folder / f"random-cnn-{seed}-huffman.ebm").write_bytes(artifact_bytes(q.program, huffman=True))
    return len(list(folder.iterdir()))


def test_fuzz_loader_and_executor(tmp_path: Path) -> None:
    fuzzer = native_builds.build("fuzz")
    seeds, corpus = tmp_path / "seeds", tmp_path / "corpus"
    corpus.mkdir()
    assert write_seeds(seeds) >= 6
    done = subprocess.run(
        [str(fuzzer), f"-max_total_time={SECONDS}", "-malloc_limit_mb=1048576", "-rss_limit_mb=4096",
         "-timeout=20", "-print_final_stats=1", f"-artifact_prefix={tmp_path}/", str(corpus), str(seeds), str(REGRESSIONS)],
        check=False, capture_output=True, text=True, timeout=SECONDS + 300,
    )  # fmt: skip
    tail = done.stderr[-5000:]
    assert done.returncode == 0, f"fuzzer found a failure (reproducer in {tmp_path}):\n{tail}"
    assert not list(tmp_path.glob("crash-*")) and not list(tmp_path.glob("leak-*")), tail
    # e.g. "stat::number_of_executed_units: 123456"
    stats = dict(ln.rsplit(":", 1) for ln in done.stderr.splitlines() if ln.startswith("stat::"))
    executed = int(stats["stat::number_of_executed_units"])
    print(f"fuzz: {executed} executions in {SECONDS} s, {len(list(corpus.iterdir()))} corpus units")
    assert executed > 1000
