"""Tier 2 of STYLE.md's two tiers on this machine: every optimized x86 path against the reference path, bit-exactly,
over the small-shape sweep of isa_cases.py, with 1 and several threads. Each program is loaded once per path
(EDGEBUILD_ISA picks the path at load) and the outputs must be equal byte for byte."""

from __future__ import annotations

import numpy as np
import pytest

from edgebuild import _native
from edgebuild.plan import plan_arena
from edgebuild.serialize import artifact_bytes
from tests.kernels.paths_ran import record_not_run, record_path
from tests.kernels.runtime.isa_cases import Case, sweep

COMPILED = [i for i in _native.compiled_isas().split(",") if i != "ref"]
AVAILABLE = set(_native.available_isas().split(","))


def load(blob: bytes, isa: str, monkeypatch: pytest.MonkeyPatch) -> _native.Model:
    monkeypatch.setenv("EDGEBUILD_ISA", isa)
    model = _native.Model.from_bytes(blob)
    assert model.isa == isa
    return model


@pytest.fixture(scope="module")
def cases() -> list[tuple[Case, bytes]]:
    out = []
    for case in sweep():
        plan_arena(case.program)
        out.append((case, artifact_bytes(case.program)))
    return out


@pytest.mark.parametrize("isa", COMPILED)
def test_isa_matches_reference(
    isa: str, cases: list[tuple[Case, bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    if isa not in AVAILABLE:
        # No emulator runs x86 extensions this CPU lacks: reported as NOT run (skip + session summary), never passed.
        reason = f"compiled in, but this CPU lacks {isa} (available: {', '.join(sorted(AVAILABLE))})"
        record_not_run("host", isa, reason)
        pytest.skip(f"{isa} NOT run: {reason}")
    failures = []
    for case, blob in cases:
        want = np.asarray(load(blob, "ref", monkeypatch).run(case.inputs)[0])
        fast = load(blob, isa, monkeypatch)
        for threads in (1, 3):
            fast.threads = threads
            got = np.asarray(fast.run(case.inputs)[0])
            if got.tobytes() != want.tobytes():
                bad = int(np.count_nonzero(got != want))
                failures.append(f"{case.name} threads={threads}: {bad}/{want.size} outputs differ")
    assert not failures, f"{isa}: {len(failures)} of {2 * len(cases)} runs differ from ref:\n" + "\n".join(
        failures[:20]
    )
    record_path("host", isa, len(cases))


def test_forced_isa_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    case = sweep()[0]
    plan_arena(case.program)
    blob = artifact_bytes(case.program)
    monkeypatch.setenv("EDGEBUILD_ISA", "sse9")
    with pytest.raises(_native.LoadError, match="EB_ERR_UNSUPPORTED.*unknown ISA"):
        _native.Model.from_bytes(blob)
    monkeypatch.setenv("EDGEBUILD_ISA", "neondot")
    with pytest.raises(_native.LoadError, match="neondot: not compiled into this build"):
        _native.Model.from_bytes(blob)
    monkeypatch.delenv("EDGEBUILD_ISA")
    # Unforced, the runtime takes the best path this CPU runs (kernels/runtime/cpu.cc select_isa's order).
    expected = next((isa for isa in ("avx512vnni", "avx2") if isa in AVAILABLE), "ref")
    assert _native.Model.from_bytes(blob).isa == expected
