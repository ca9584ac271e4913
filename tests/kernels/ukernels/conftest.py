"""The oracle tier runs the reference kernels: every model these tests load takes the reference path
(EDGEBUILD_ISA=ref, read by the runtime at each load), so the ref.cc twins meet the NumPy oracle directly whatever
ISA this machine would pick. The optimized variants are checked against the twins by test_ukernel_tester.py and
tests/kernels/runtime/test_isa_*.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="module")
def reference_path() -> Iterator[None]:
    # Module scope (not monkeypatch's function scope): Hypothesis tests reject function-scoped fixtures.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EDGEBUILD_ISA", "ref")
        yield
