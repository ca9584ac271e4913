"""CI gates on a profile (each exceeded gate is a one-line reason) and the deltas between two profiles."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import EdgebuildError
from .measure import SCHEMA


class GateFailed(EdgebuildError):
    """A CI gate was exceeded; the message is the one-line reason."""


_UNITS = {"": 1, "b": 1, "k": 1024, "kib": 1024, "kb": 1000, "m": 1024**2, "mib": 1024**2, "mb": 1000**2,
          "g": 1024**3, "gib": 1024**3, "gb": 1000**3}  # fmt: skip


def parse_size(text: str) -> int:
    """'123', '512KiB', '8MiB', '8MB' (= 8 000 000), '1.5GiB' -> bytes."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", text)
    if not m or m.group(2).lower() not in _UNITS:
        raise EdgebuildError(f"bad size {text!r}: use e.g. 4000000, 512KiB, 8MiB or 8MB")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


@dataclass
class Gates:
    max_latency_ms: float | None = None
    max_peak_memory: int | None = None  # tracked peak bytes
    max_size: int | None = None  # artifact bytes
    max_instructions: int | None = None  # per invoke, under qemu


def check_gates(profile: dict[str, Any], gates: Gates) -> list[str]:
    """Every exceeded gate as a one-line reason (empty: all pass). A gate that cannot be judged is a failure."""
    fails = []
    lat = profile["latency_ms"]
    if gates.max_latency_ms is not None:
        if not lat["meaningful"]:
            fails.append(
                f"--max-latency-ms cannot be checked on {profile['device']['name']}: emulated latency is not "
                "device latency (gate on --max-instructions under qemu, or profile on a device)"
            )
        elif lat["median"] > gates.max_latency_ms:
            fails.append(f"median latency {lat['median']:.3f} ms > --max-latency-ms {gates.max_latency_ms:g}")
    peak = profile["memory"]["tracked_peak_bytes"]
    if gates.max_peak_memory is not None and peak > gates.max_peak_memory:
        fails.append(f"tracked peak memory {peak} B > --max-peak-memory {gates.max_peak_memory} B")
    size = profile["size"]["artifact_bytes"]
    if gates.max_size is not None and size > gates.max_size:
        fails.append(f"artifact size {size} B > --max-size {gates.max_size} B")
    if gates.max_instructions is not None:
        ins = profile.get("instructions")
        if not ins:
            fails.append(
                "--max-instructions needs a qemu profile (instruction counts come from the qemu plugin)"
            )
        elif ins["per_invoke"] > gates.max_instructions:
            fails.append(
                f"{ins['per_invoke']} instructions per invoke > --max-instructions {gates.max_instructions}"
            )
    return fails


def _metrics(profile: dict[str, Any]) -> dict[str, float | None]:
    ins = profile.get("instructions") or {}
    lat = profile["latency_ms"]
    return {
        "median latency (ms)": lat["median"] if lat.get("meaningful", True) else None,
        "instructions / invoke": ins.get("per_invoke"),
        "tracked peak (B)": profile["memory"]["tracked_peak_bytes"],
        "arena (B)": profile["memory"]["arena_bytes"],
        "peak RSS (B)": profile["memory"]["rss"]["peak_bytes"],
        "artifact (B)": profile["size"]["artifact_bytes"],
        "runner (B)": profile["size"]["runner_bytes"],
    }


def read_profile(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise EdgebuildError(f"cannot read {path}: {e}") from e
    prof = doc.get("profile", doc) if isinstance(doc, dict) else None
    if not isinstance(prof, dict) or prof.get("schema") != SCHEMA:
        raise EdgebuildError(f"{path} holds no profile ({SCHEMA}); run `edgebuild profile BUNDLE` first")
    return prof


def compare_profiles(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Deltas of the headline metrics and of every op present in both (matched by name)."""
    mo, mn = _metrics(old), _metrics(new)
    rows = []
    for k in mo:
        a, b = mo[k], mn[k]
        delta = None if a is None or b is None else b - a
        rel = None if delta is None or not a else delta / a
        rows.append({"metric": k, "old": a, "new": b, "delta": delta, "relative": rel})
    key = "instructions" if old.get("instructions") and new.get("instructions") else "ms"
    old_ops = {o["name"]: o for o in old["ops"]}
    op_rows = []
    for o in new["ops"]:
        if o["name"] in old_ops and key in o and key in old_ops[o["name"]]:
            a, b = old_ops[o["name"]][key], o[key]
            op_rows.append({"name": o["name"], "type": o["type"], "old": a, "new": b, "delta": b - a})
    op_rows.sort(key=lambda r: -abs(r["delta"]))
    return {"metrics": rows, "op_cost": key, "ops": op_rows}
