"""Shared fixtures. `runner_for(name)`: the real `edgebuild-run` for a target, built at most once per session.

Runners go to the normal cache (`~/.cache/edgebuild`, or $EDGEBUILD_CACHE), so a second test session reuses them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings as _hypothesis_settings

from edgebuild.compile import build_runner
from edgebuild.targets import load_target

# Every target this machine must build and run; a missing tool fails (never skips) the tests that need it.
TARGETS = ("host", "arm64", "armv7")


@pytest.fixture(scope="session")
def runner_for() -> Callable[[str], Path]:
    built: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in built:
            built[name] = build_runner(load_target(name))
        return built[name]

    return get


# Property tests explore new examples on every local run; under CI they replay a fixed sequence, so a landing
# never depends on the draw (a failure found locally is kept in .hypothesis/ and replayed first).
_hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
_hypothesis_settings.register_profile("dev", print_blob=True)
_hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "dev")
