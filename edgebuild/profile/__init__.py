"""profile: run a bundle's runner on a device with per-op profiling and turn what it measured into a report.

`edgebuild profile BUNDLE --device local|qemu|ssh://user@host[:port]|adb[:serial]` runs `edgebuild-run --profile`
once (warm-up + timed iterations) and merges into one document (`report.json`'s `profile` key, docs/report.md;
measure.py, with what the bundle's own files say from bundle.py):

- latency: load, per run (min / median / p90 / max) and per op with name, type, shapes, MACs and GMAC/s;
- memory: the planned arena beside its lower bound (the largest sum of simultaneously live tensors), the runtime's
  tracked bytes split into arena + weights + a named fixed overhead, and the OS's peak RSS beside what the tracked
  bytes predict;
- under qemu: latency is labelled meaningless, and a TCG plugin (kernels/tools/qemu-insn-count.c) counts the guest
  instructions of every op, which are identical run to run (insns.py);
- sizes: artifact (by section) and runner binary.

Gates (`--max-latency-ms`, `--max-peak-memory`, `--max-size`, `--max-instructions`) fail with a one-line reason and
`compare_profiles` gives the deltas between two report.json files (gates.py). The command itself is cli/profile.py.
"""

from __future__ import annotations

from ..bundle import ARTIFACT, REPORT, RUNNER, read_report
from .bundle import HTML, arena_analysis, artifact_sections
from .gates import GateFailed, Gates, check_gates, compare_profiles, parse_size, read_profile
from .insns import MARKERS, build_insn_plugin, elf_symbols, parse_insn_counts
from .measure import SCHEMA, ProfileOptions, make_profile, profile_bundle

__all__ = [
    "ARTIFACT",
    "HTML",
    "MARKERS",
    "REPORT",
    "RUNNER",
    "SCHEMA",
    "GateFailed",
    "Gates",
    "ProfileOptions",
    "arena_analysis",
    "artifact_sections",
    "build_insn_plugin",
    "check_gates",
    "compare_profiles",
    "elf_symbols",
    "make_profile",
    "parse_insn_counts",
    "parse_size",
    "profile_bundle",
    "read_profile",
    "read_report",
]
