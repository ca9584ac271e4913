"""The package's public face: the API's names, typed (py.typed), and `import edgebuild` staying cheap (the CLI's
cached build never imports torch)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import edgebuild

ROOT = Path(__file__).resolve().parents[2]


def test_public_names_and_py_typed() -> None:
    assert set(edgebuild.__all__) >= {"build", "load_bundle", "Bundle", "EdgebuildError", "CompressOptions"}
    for name in edgebuild.__all__:
        assert getattr(edgebuild, name) is not None
    assert (ROOT / "edgebuild" / "py.typed").is_file()  # shipped: wheel.packages copies the package folder
    import importlib

    importlib.import_module(
        "edgebuild.pipeline"
    )  # the pipeline module has its own name: no clash with the API
    assert callable(edgebuild.build) and edgebuild.build.__module__ == "edgebuild.api"


def test_import_is_cheap() -> None:
    code = (
        "import edgebuild, edgebuild.cli; edgebuild.Bundle; edgebuild.load_bundle; edgebuild.CompressOptions"
    )
    r = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True
    )
    modules = {line.rsplit("|", 1)[-1].strip() for line in r.stderr.splitlines() if "|" in line}
    assert "edgebuild.bundle" in modules
    heavy = sorted(m for m in modules if m.split(".")[0] in ("torch", "numpy", "torchao"))
    assert not heavy, heavy[:5]
