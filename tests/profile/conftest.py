"""Bundles of the digits example for host and arm64, built once per session (no smoke run, 16 calibration
samples: the profile does not depend on calibration quality)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from edgebuild.pipeline import BuildOptions, build

ROOT = Path(__file__).resolve().parents[2]
DIGITS = ROOT / "examples" / "digits"


@pytest.fixture(scope="session")
def digits_bundle(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    built: dict[str, Path] = {}
    root = tmp_path_factory.mktemp("profile-bundles")

    def get(target: str) -> Path:
        if target not in built:
            calib = root / "calib.npz"
            if not calib.exists():
                x = np.load(DIGITS / "calib.npz")["x"][:16]
                np.savez(calib, x=x)
            out = root / f"digits-{target}"
            build(BuildOptions(model=DIGITS / "model.pt", target=target, calib=calib, out=out, smoke=False))
            built[target] = out
        return built[target]

    return get
