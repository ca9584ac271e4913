"""The README's Python API example, run verbatim (read from README.md between its api-example markers), so the docs
cannot drift from the code."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import edgebuild

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_example() -> str:
    found = re.search(
        r"<!-- api-example -->\n```python\n(.*?)```\n<!-- /api-example -->", README.read_text(), re.DOTALL
    )
    assert found, "README.md has no ```python block between <!-- api-example --> and <!-- /api-example -->"
    return found.group(1)


def test_readme_python_example_runs(tmp_path: Path) -> None:
    # a fresh interpreter in an empty folder, as a user pastes it
    r = subprocess.run(
        [sys.executable, "-c", readme_example()], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert r.returncode == 0, r.stderr[-2000:]
    cosine, argmax = r.stdout.splitlines()[0].split()
    assert 0.99 <= float(cosine) <= 1.0 and 0 <= int(argmax) < 10
    # what the example saved is the only thing it wrote here, and it is a bundle for arm64
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build"]
    saved = edgebuild.load_bundle(tmp_path / "build" / "demo-arm64")
    assert saved.target == "arm64" and (saved.path / "model.tflite").is_file()
