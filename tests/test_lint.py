"""The project's static rules (ruff, ruff format, mypy, no STL/exceptions/RTTI in the runtime) hold."""

from __future__ import annotations

import subprocess
from pathlib import Path


def test_lint() -> None:
    root = Path(__file__).resolve().parents[1]
    p = subprocess.run(
        ["bash", str(root / "scripts" / "lint.sh")], check=False, capture_output=True, text=True
    )
    assert p.returncode == 0, p.stdout + p.stderr
