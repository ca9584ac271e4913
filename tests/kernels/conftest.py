"""Prints which ISA paths ran, and which compiled paths did not (tests/kernels/paths_ran.py), at the end of the
session."""

from __future__ import annotations

import pytest

from tests.kernels.paths_ran import NOT_RUN, RAN


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if RAN:
        terminalreporter.section("ISA paths that ran (bit-exact against ref)")
        for (target, isa), cases in sorted(RAN.items()):
            terminalreporter.write_line(f"{target:6s} {isa:11s} {cases} cases")
    if NOT_RUN:
        terminalreporter.section("ISA paths compiled in but NOT run here")
        for (target, isa), reason in sorted(NOT_RUN.items()):
            terminalreporter.write_line(f"{target:6s} {isa:11s} {reason}")
