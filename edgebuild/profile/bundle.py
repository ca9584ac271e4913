"""What a bundle's artifact says: its sections and its arena plan (no device needed; report.json is read by
edgebuild/bundle.py's read_report)."""

from __future__ import annotations

from typing import Any

from ..plan import lower_bound, reshape_aliases, tensor_lifetimes
from ..serialize import HEADER, SECTION, Section, read_artifact

HTML = "report.html"
SECTION_NAMES = {
    Section.STRINGS: "strings",
    Section.TENSORS: "tensor table",
    Section.OPS: "op table",
    Section.INT_POOL: "int pool",
    Section.GRAPH: "graph",
    Section.CONSTANTS: "weights (constants)",
    Section.METADATA: "metadata",
}


def artifact_sections(data: bytes) -> list[dict[str, Any]]:
    """The artifact's bytes by section (plus header/table/padding), for the size breakdown."""
    _magic, _major, _minor, _flags, count, _crc, size = HEADER.unpack_from(data)
    parts = [{"name": "header + section table", "bytes": HEADER.size + count * SECTION.size}]
    used = parts[0]["bytes"]
    for i in range(count):
        kind, _, _off, sz = SECTION.unpack_from(data, HEADER.size + i * SECTION.size)
        parts.append({"name": SECTION_NAMES.get(kind, f"section {kind}"), "bytes": sz})
        used += sz
    parts.append({"name": "alignment padding", "bytes": size - used})
    return parts


def arena_analysis(data: bytes) -> dict[str, Any]:
    """Planned arena, its lower bound and every arena tensor's lifetime × offset (the arena timeline)."""
    program = read_artifact(data)
    lifetimes = tensor_lifetimes(program)
    # RESHAPE outputs placed on their input's bytes share one allocation (plan_arena): counted once
    shared = {
        t: r
        for t, r in reshape_aliases(program).items()
        if program.tensors[t].offset == program.tensors[r].offset
    }
    bound = lower_bound(program, lifetimes, shared)
    timeline = [
        {
            "tensor": lt.tensor,
            "name": program.tensors[lt.tensor].name,
            "offset": program.tensors[lt.tensor].offset,
            "bytes": program.tensors[lt.tensor].nbytes,
            "first_op": lt.first,
            "last_op": lt.last,
        }
        for lt in lifetimes
    ]
    arena = program.arena_bytes
    return {
        "arena_bytes": arena,
        "arena_lower_bound_bytes": bound,
        "arena_over_bound": round(arena / bound - 1, 4) if bound else 0.0,
        "num_ops": len(program.ops),
        "timeline": timeline,
    }
