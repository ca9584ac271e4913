"""Number formatting shared by the terminal and HTML views."""

from __future__ import annotations

from typing import Any


def human_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def ratio_text(x: float | None) -> str:
    return "-" if x is None else f"{x}×"


def cost_key(profile: dict[str, Any]) -> str:
    """Ops are ranked by instructions under qemu (deterministic), else by median time."""
    return "instructions" if profile.get("instructions") else "ms"
