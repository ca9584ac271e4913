"""Prints which ISA paths ran (tests/kernels/paths_ran.py) at the end of the session."""

from __future__ import annotations

import pytest

from tests.kernels.paths_ran import RAN


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not RAN:
        return
    terminalreporter.section("ISA paths that ran (bit-exact against ref)")
    for (target, isa), cases in sorted(RAN.items()):
        terminalreporter.write_line(f"{target:6s} {isa:11s} {cases} cases")
