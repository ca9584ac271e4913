"""Where edgebuild's own files live: the C++ sources and target files, in a checkout or in an installed wheel."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

_PKG = Path(__file__).resolve().parent


def source_root() -> Path:
    """The folder holding `kernels/` and `targets/`: the repository in a checkout, `edgebuild/_src` in a wheel."""
    for root in (_PKG.parent, _PKG / "_src"):
        if (root / "kernels" / "CMakeLists.txt").is_file() and (root / "targets").is_dir():
            return root
    raise FileNotFoundError(f"edgebuild's kernel sources are missing next to {_PKG}; reinstall edgebuild")


def cache_root() -> Path:
    """Build cache: $EDGEBUILD_CACHE, else $XDG_CACHE_HOME/edgebuild, else ~/.cache/edgebuild."""
    env = os.environ.get("EDGEBUILD_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "edgebuild"


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks (runners and cached bundles are checked with it)."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def default_out(model: Path, target: str) -> Path:
    """Where a build writes its bundle unless --out says otherwise: build/<model>-<target>."""
    return Path("build") / f"{model.stem}-{target}"
