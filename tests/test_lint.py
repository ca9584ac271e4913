"""The project's static rules (ruff, ruff format, mypy, no STL/exceptions/RTTI in the runtime, clang-format on
kernels/, no test importing bench/) hold."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_lint() -> None:
    # ruff and mypy of this interpreter: its environment need not be on PATH (an unactivated .venv).
    p = subprocess.run(
        ["bash", str(ROOT / "scripts" / "lint.sh")],
        check=False, capture_output=True, text=True, env={**os.environ, "PYTHON": sys.executable},
    )  # fmt: skip
    assert p.returncode == 0, p.stdout + p.stderr


def test_clang_format_style_rejects_misformatted_kernel_code() -> None:
    """The root .clang-format is the one lint.sh applies, and it does flag code that breaks it."""
    tool = shutil.which("clang-format-14")
    assert tool is not None, "clang-format-14 missing: bash scripts/setup.sh installs it"

    def check(code: str) -> int:
        return subprocess.run(
            [tool, "--dry-run", "-Werror", f"--assume-filename={ROOT / 'kernels' / 'x.cc'}"],
            input=code, text=True, capture_output=True, check=False,
        ).returncode  # fmt: skip

    assert check("int f(const int* p) { return p[0]; }\n") == 0
    assert check("int f(const int *p)  {return p[0];}\n") != 0
