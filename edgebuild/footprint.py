"""footprint: what the runtime costs an app in bytes, per target (report.json "footprint", the summary's line).

Both figures are of stripped ELF files that compile.py builds from the same objects (docs/footprint.md):

- library: `libedgebuild.so`, stripped: the runtime an app links (the C API, every op of the build with all the ISA
  variants dispatch chooses from at run time; no weights, which live in the .ebm);
- runner: `edgebuild-run`, stripped (static on arm64 and armv7, so the C library is inside: glibc, or musl for a
  lean runner when musl is installed; `libc` says which).

Each is given as `bytes`, the sections loaded from the file (code, read-only data, unwind tables, data: `size`'s
text + data, what the figure of a budget means), and `file_bytes`, the stripped file itself, which adds the padding
that puts the writable segment on its own 64 KiB page (aarch64 kernels may use 64 KiB pages): 0 to 64 KiB more,
depending on where the code happens to end.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from edgebuild import paths
from edgebuild.errors import EdgebuildError
from edgebuild.targets import Target

FOOTPRINT = "footprint.json"  # in a runner's cache entry (compile.py)
_SHF_ALLOC = 0x2
_SHT_NOBITS = 8


def loaded_bytes(path: Path) -> int:
    """Bytes of the sections an ELF file maps from itself (SHF_ALLOC, not NOBITS): code, rodata, unwind, data."""
    data = path.read_bytes()
    if data[:4] != b"\x7fELF":
        raise EdgebuildError(f"{path} is not an ELF file")
    is64, endian = data[4] == 2, "<" if data[5] == 1 else ">"
    if is64:
        (shoff,) = struct.unpack_from(endian + "Q", data, 0x28)
        shentsize, shnum = struct.unpack_from(endian + "HH", data, 0x3A)
    else:
        (shoff,) = struct.unpack_from(endian + "I", data, 0x20)
        shentsize, shnum = struct.unpack_from(endian + "HH", data, 0x2E)
    total = 0
    for i in range(shnum):
        base = shoff + i * shentsize
        if is64:
            sh_type, sh_flags = struct.unpack_from(endian + "IQ", data, base + 4)
            (sh_size,) = struct.unpack_from(endian + "Q", data, base + 0x20)
        else:
            sh_type, sh_flags = struct.unpack_from(endian + "II", data, base + 4)
            (sh_size,) = struct.unpack_from(endian + "I", data, base + 0x14)
        if sh_flags & _SHF_ALLOC and sh_type != _SHT_NOBITS:
            total += sh_size
    return total


def measure(path: Path, strip: str) -> dict[str, int]:
    """`bytes` and `file_bytes` of `path` once stripped with `strip` (the target's strip tool); `path` is unchanged."""
    with tempfile.TemporaryDirectory(prefix="edgebuild-footprint-") as tmp:
        stripped = Path(tmp) / path.name
        try:
            subprocess.run(
                [strip, "-o", str(stripped), str(path)], check=True, capture_output=True, timeout=120
            )
        except (OSError, subprocess.SubprocessError) as e:
            raise EdgebuildError(f"cannot strip {path.name} with {strip}: {e}") from e
        return {"bytes": loaded_bytes(stripped), "file_bytes": stripped.stat().st_size}


def strip_tool(build_dir: Path) -> str:
    """The strip of the target's toolchain, as CMake found it (CMAKE_STRIP in the build's cache)."""
    cache = build_dir / "CMakeCache.txt"
    for line in cache.read_text(errors="replace").splitlines():
        if line.startswith("CMAKE_STRIP:"):
            tool = line.split("=", 1)[1].strip()
            if tool:
                return tool
    found = shutil.which("strip")
    if found is None:
        raise EdgebuildError(f"no strip tool for the build in {build_dir} (install binutils)")
    return found


def record_footprint(
    entry: Path, build_dir: Path, target: Target, ops: Sequence[str] | None, libc: str = "glibc"
) -> dict[str, Any]:
    """Measure the runner in `entry` and the library built beside it in `build_dir`; write entry/footprint.json."""
    strip = strip_tool(build_dir)
    libraries = sorted(p for p in build_dir.rglob("libedgebuild.so*") if p.is_file() and not p.is_symlink())
    doc: dict[str, Any] = {
        "target": target.name,
        "lean": ops is not None,
        "ops": None if ops is None else list(ops),
        "runner": {"static": target.static, "libc": libc, **measure(entry / "edgebuild-run", strip)},
        "library": None if not libraries else {"name": "libedgebuild.so", **measure(libraries[0], strip)},
    }
    (entry / FOOTPRINT).write_text(json.dumps(doc, indent=1) + "\n")
    return doc


def footprint_section(runner: Path) -> dict[str, Any] | None:
    """report.json's "footprint" for a runner built by compile.py, found in the runner cache by its checksum (of
    entries with the same binary, whose kernels differ only in what the runner does not link, the newest), or None
    when its cache entry is gone."""
    try:
        digest = paths.sha256_file(runner)
    except OSError:
        return None
    found: list[tuple[float, Path]] = []
    for checksum in (paths.cache_root() / "runners").glob("*/edgebuild-run.sha256"):
        try:
            if checksum.read_text().split()[0] == digest and (checksum.parent / FOOTPRINT).is_file():
                found.append(((checksum.parent / FOOTPRINT).stat().st_mtime, checksum.parent / FOOTPRINT))
        except (OSError, IndexError):
            continue
    for _, path in sorted(found, reverse=True):
        try:
            doc: dict[str, Any] = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        # Entries recorded before the libc was (footprint.json without "libc") all linked glibc.
        if isinstance(doc.get("runner"), dict):
            doc["runner"].setdefault("libc", "glibc")
        return doc
    return None


def _kib(n: int) -> str:
    return f"{n / 1024:.0f} KiB"


def footprint_line(section: dict[str, Any] | None) -> str | None:
    """One line for the terminal summary, e.g. "runtime library 120 KiB (libedgebuild.so, stripped) · runner 185 KiB
    (static, musl, stripped, lean: 9 ops)"."""
    if not section:
        return None
    parts = []
    lib = section.get("library")
    if lib:
        parts.append(f"runtime library {_kib(lib['bytes'])} (libedgebuild.so, stripped)")
    run = section["runner"]
    kind = ["static" if run.get("static") else "dynamic", run.get("libc", "glibc"), "stripped"]
    if section.get("lean"):
        kind.append(f"lean: {len(section.get('ops') or [])} ops")
    parts.append(f"runner {_kib(run['bytes'])} ({', '.join(kind)})")
    return " · ".join(parts)
