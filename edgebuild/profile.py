"""profile: run a bundle's runner on a device with per-op profiling and turn what it measured into a report.

`edgebuild profile BUNDLE --device local|qemu|ssh://user@host[:port]|adb[:serial]` runs `edgebuild-run --profile`
once (warm-up + timed iterations) and merges into one document (`report.json`'s `profile` key, docs/report.md):

- latency: load, per run (min / median / p90 / max) and per op with name, type, shapes, MACs and GMAC/s;
- memory: the planned arena beside its lower bound (the largest sum of simultaneously live tensors), the runtime's
  tracked bytes split into arena + weights + a named fixed overhead, and the OS's peak RSS beside what the tracked
  bytes predict;
- under qemu: latency is labelled meaningless, and a TCG plugin (kernels/tools/qemu-insn-count.c) counts the guest
  instructions of every op, which are identical run to run;
- sizes: artifact (by section) and runner binary.

Gates (`--max-latency-ms`, `--max-peak-memory`, `--max-size`, `--max-instructions`) raise GateFailed with a
one-line reason; `compare_reports` prints deltas between two report.json files.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import paths
from .errors import EdgebuildError
from .plan import tensor_lifetimes
from .run import Device, Local, device_for, run_runner
from .serialize import HEADER, SECTION, Section, read_artifact
from .targets import Target, load_target

SCHEMA = "edgebuild.profile/1"
ARTIFACT = "model.ebm"
RUNNER = "edgebuild-run"
REPORT = "report.json"
HTML = "report.html"
MARKERS = ("eb_profile_invoke_begin", "eb_profile_invoke_end", "eb_profile_op_begin", "eb_profile_op_end")
EMULATED_NOTE = "measured under qemu-user emulation: not device latency; compare instruction counts instead"
SECTION_NAMES = {
    Section.STRINGS: "strings",
    Section.TENSORS: "tensor table",
    Section.OPS: "op table",
    Section.INT_POOL: "int pool",
    Section.GRAPH: "graph",
    Section.CONSTANTS: "weights (constants)",
    Section.METADATA: "metadata",
}


class GateFailed(EdgebuildError):
    """A CI gate was exceeded; the message is the one-line reason."""


@dataclass
class ProfileOptions:
    bundle: Path
    device: str | None = None  # None: local for host bundles, qemu for ARM bundles
    warmup: int = 2
    iterations: int = 10
    inputs: list[Path] = field(default_factory=list)  # default: seeded random inputs of the model's shapes
    count_instructions: bool = True  # under qemu: run with the instruction-count plugin
    timeout: float | None = 600


# ---- bundle ------------------------------------------------------------------------------------------------------


def load_bundle(bundle: Path) -> dict[str, Any]:
    report = bundle / REPORT
    if not (bundle / ARTIFACT).is_file() or not (bundle / RUNNER).is_file() or not report.is_file():
        raise EdgebuildError(
            f"{bundle} is not an edgebuild bundle (needs {ARTIFACT}, {RUNNER} and {REPORT}); build one with "
            "`edgebuild --target TARGET model.pt --out DIR`"
        )
    try:
        doc = json.loads(report.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise EdgebuildError(f"{report} is unreadable ({e}); rebuild the bundle") from e
    if not isinstance(doc, dict):
        raise EdgebuildError(f"{report} is not a report object; rebuild the bundle")
    return doc


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
    bound = 0
    for step in range(-1, len(program.ops) + 1):
        bound = max(bound, sum(lt.size for lt in lifetimes if lt.first <= step <= lt.last))
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


def model_inputs(bundle_report: dict[str, Any], given: list[Path], tmp: Path) -> list[Path]:
    shapes = [tuple(i["shape"]) for i in bundle_report["model"]["inputs"]]
    if given:
        if len(given) != len(shapes):
            raise EdgebuildError(
                f"the model has {len(shapes)} input(s); pass --input x.npy {len(shapes)} time(s)"
            )
        for x in given:
            if not x.is_file():
                raise EdgebuildError(f"input file not found: {x}")
        return list(given)
    rng = np.random.default_rng(
        0
    )  # latency and memory do not depend on values; a fixed seed keeps runs alike
    out = []
    for i, shape in enumerate(shapes):
        out.append(tmp / f"input{i}.npy")
        np.save(out[-1], rng.standard_normal(shape).astype(np.float32))
    return out


# ---- the qemu instruction-count plugin ---------------------------------------------------------------------------


def build_insn_plugin() -> Path:
    """Compile kernels/tools/qemu-insn-count.c with the host C compiler (cached by the source's hash)."""
    src_dir = paths.source_root() / "kernels" / "tools"
    sources = [src_dir / "qemu-insn-count.c", src_dir / "qemu-plugin-v1.h"]
    key = hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()[:16]
    out = paths.cache_root() / "tools" / f"libebinsn-{key}.so"
    if out.is_file():
        return out
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        raise EdgebuildError("no host C compiler to build the qemu plugin: install Debian package gcc")
    out.parent.mkdir(parents=True, exist_ok=True)
    staged = out.with_name(f".{out.name}.{key}.tmp")
    done = subprocess.run(
        [cc, "-O2", "-Wall", "-shared", "-fPIC", "-o", str(staged), str(sources[0])],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise EdgebuildError(f"cannot build the qemu instruction-count plugin:\n{done.stderr.strip()}")
    staged.replace(out)
    return out


def elf_symbols(path: Path, names: tuple[str, ...]) -> dict[str, int]:
    """Addresses of `names` in an ELF file's symbol table (32- or 64-bit, little-endian). Thumb bit cleared."""
    data = path.read_bytes()
    if data[:4] != b"\x7fELF" or data[5] != 1:
        raise EdgebuildError(f"{path} is not a little-endian ELF file")
    is64 = data[4] == 2
    if is64:
        shoff, shentsize, shnum = (
            struct.unpack_from("<Q", data, 0x28)[0],
            *struct.unpack_from("<HH", data, 0x3A),
        )
        sh_fmt, sym_fmt = "<IIQQQQIIQQ", "<IBBHQQ"
    else:
        shoff, shentsize, shnum = (
            struct.unpack_from("<I", data, 0x20)[0],
            *struct.unpack_from("<HH", data, 0x2E),
        )
        sh_fmt, sym_fmt = "<IIIIIIIIII", "<IIIBBH"
    machine = struct.unpack_from("<H", data, 0x12)[0]
    headers = [struct.unpack_from(sh_fmt, data, shoff + i * shentsize) for i in range(shnum)]
    found: dict[str, int] = {}
    for h in headers:
        if h[1] != 2:  # SHT_SYMTAB
            continue
        offset, size, link, entsize = h[4], h[5], h[6], h[9]
        strtab = headers[link]
        str_off = strtab[4]
        for k in range(size // entsize):
            sym = struct.unpack_from(sym_fmt, data, offset + k * entsize)
            name_off, value = (sym[0], sym[4]) if is64 else (sym[0], sym[1])
            end = data.index(b"\0", str_off + name_off)
            name = data[str_off + name_off : end].decode(errors="replace")
            if name in names:
                found[name] = value & ~1 if machine == 40 else value  # EM_ARM: bit 0 marks Thumb code
    missing = [n for n in names if n not in found]
    if missing:
        raise EdgebuildError(
            f"{path} lacks the profiling markers {', '.join(missing)} (stripped, or built before they existed); "
            "rebuild the bundle"
        )
    return found


def parse_insn_counts(text: str, num_ops: int) -> dict[str, Any]:
    invokes: list[tuple[int, list[int]]] = []
    total = None
    for line in text.splitlines():
        parts = line.split()
        if parts[:1] == ["invoke"]:
            n = int(parts[2])
            invokes.append((int(parts[1]), [int(x) for x in parts[3 : 3 + n]]))
        elif parts[:1] == ["total"]:
            total = int(parts[1])
    if not invokes or any(len(ops) != num_ops for _, ops in invokes):
        raise EdgebuildError(
            f"the instruction-count plugin saw {len(invokes)} invoke(s) with op counts "
            f"{[len(o) for _, o in invokes]}, expected {num_ops} ops each"
        )
    per_invoke, ops = invokes[-1]
    return {
        "per_invoke": per_invoke,
        "ops_sum": sum(ops),
        "runtime_overhead": per_invoke - sum(ops),
        "process_total": total,
        "invokes_counted": len(invokes),
        "identical_across_invokes": all(inv == invokes[0] for inv in invokes),
        "per_op": ops,
    }


# ---- the profile ---------------------------------------------------------------------------------------------------


def _device_kind(spec: str | None, target: Target) -> str:
    if spec is None:
        return "local" if target.runs_natively else "qemu"
    if spec.startswith("ssh://"):
        return "ssh"
    if spec.startswith("adb"):
        return "adb"
    return spec


def profile_bundle(opts: ProfileOptions, log: Any = lambda s: None) -> dict[str, Any]:
    """Run the bundle's runner with --profile on the chosen device; returns the `profile` document."""
    bundle = opts.bundle
    report = load_bundle(bundle)
    target = load_target(report["target"]["name"])
    kind = _device_kind(opts.device, target)
    device: Device = device_for(target, opts.device)
    data = (bundle / ARTIFACT).read_bytes()
    arena = arena_analysis(data)
    counting = kind == "qemu" and opts.count_instructions
    with tempfile.TemporaryDirectory(prefix="edgebuild-profile-") as tmp_name:
        tmp = Path(tmp_name)
        inputs = model_inputs(report, opts.inputs, tmp)
        counts_file = tmp / "insns.txt"
        extra: tuple[str, ...] = ()
        if counting:
            assert isinstance(device, Local)
            marks = elf_symbols(bundle / RUNNER, MARKERS)
            plugin_args = ",".join(
                [f"{build_insn_plugin()}", f"out={counts_file}"]
                + [f"{m.removeprefix('eb_profile_')}={hex(marks[m])}" for m in MARKERS]
            )
            device = Local(name=device.name, prefix=(*device.prefix, "-plugin", plugin_args), env=device.env)
            # The plugin's counter is one per process: count a single-threaded run (runners that take --threads).
            if b"--threads" in (bundle / RUNNER).read_bytes():
                extra = ("--threads", "1")
        log(f"profiling on {device.name}: {opts.warmup} warm-up + {opts.iterations} timed run(s)")
        doc = run_runner(
            target,
            bundle / RUNNER,
            bundle / ARTIFACT,
            inputs,
            [],
            device=device,
            warmup=opts.warmup,
            iterations=opts.iterations,
            profile=True,
            timeout=opts.timeout,
            extra_options=extra,
        )
        insns = parse_insn_counts(counts_file.read_text(), arena["num_ops"]) if counting else None
    return make_profile(report, target, kind, device.name, doc, arena, data, bundle, insns)


def make_profile(
    report: dict[str, Any],
    target: Target,
    kind: str,
    device_name: str,
    doc: dict[str, Any],
    arena: dict[str, Any],
    data: bytes,
    bundle: Path,
    insns: dict[str, Any] | None,
) -> dict[str, Any]:
    emulated = kind == "qemu" and target.needs_emulator
    mem = doc["memory"]
    ops = []
    total_ms = sum(op["ms"] for op in doc.get("ops", [])) or 1.0
    for i, op in enumerate(doc.get("ops", [])):
        entry = {"index": i, **op, "share_of_time": op["ms"] / total_ms}
        if insns is not None:
            entry["instructions"] = insns["per_op"][i]
            entry["share_of_instructions"] = insns["per_op"][i] / max(1, insns["ops_sum"])
        ops.append(entry)
    if insns is not None:
        insns = {k: v for k, v in insns.items() if k != "per_op"}
    tracked, arena_b, weights = mem["tracked_bytes"], mem["arena_bytes"], mem["weights_bytes"]
    artifact_bytes = len(data)
    kib = 1024
    code_pages = (
        max(0, (mem.get("rss_file_end_kb", 0) or 0) - (mem.get("rss_file_before_load_kb", 0) or 0)) * kib
    )
    before = (mem.get("rss_before_load_kb") or 0) * kib
    predicted = before + code_pages + tracked + mem.get("runner_buffers_bytes", 0)
    peak = mem["rss_peak_kb"] * kib
    latency = dict(doc["latency_ms"])
    latency["meaningful"] = not emulated
    if emulated:
        latency["note"] = EMULATED_NOTE
    return {
        "schema": SCHEMA,
        "device": {
            "kind": kind,
            "name": device_name,
            "emulated": emulated,
            "target": target.name,
            "isa": doc.get("isa"),  # kernel path the runner picked, when it says
            "threads": doc.get("threads"),
        },
        "load_ms": doc["load_ms"],
        "latency_ms": latency,
        "ops": ops,
        "instructions": insns,
        "memory": {
            "arena_bytes": arena_b,
            "arena_lower_bound_bytes": arena["arena_lower_bound_bytes"],
            "arena_over_bound": arena["arena_over_bound"],
            "weights_bytes": weights,
            "tracked_peak_bytes": tracked,
            # tracked = arena + weights + overhead; the overhead is the rest of the artifact (read with the weights
            # into one buffer) and everything else the runtime allocated: tensor/op records, names, profile slots,
            # alignment slack, and the optimized kernels' packed weights and per-thread scratch.
            "overhead": {
                "bytes": tracked - arena_b - weights,
                "artifact_other_bytes": artifact_bytes - weights,
                "runtime_bookkeeping_bytes": tracked - arena_b - artifact_bytes,
            },
            "rss": {
                "source": "VmHWM" if mem.get("rss_before_load_kb", -1) >= 0 else "getrusage",
                "peak_bytes": peak,
                "at_start_bytes": mem["rss_start_kb"] * kib,
                "peak_minus_start_bytes": mem["peak_rss_delta_kb"] * kib,
                "before_load_bytes": before,
                "code_pages_bytes": code_pages,
                "runner_buffers_bytes": mem.get("runner_buffers_bytes", 0),
                "predicted_peak_bytes": predicted,
                "peak_vs_predicted": round(peak / predicted - 1, 4) if predicted else None,
                "includes_emulator": emulated,
            },
        },
        "size": {
            "artifact_bytes": artifact_bytes,
            "runner_bytes": (bundle / RUNNER).stat().st_size,
            "weights_bytes": weights,
            "artifact_sections": artifact_sections(data),
        },
        "arena_timeline": arena["timeline"],
        "model": report["model"]["name"],
    }


# ---- gates and comparison -------------------------------------------------------------------------------------------

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


# ---- command line (edgebuild/cli.py delegates here) -------------------------------------------------------------------


def add_profile_arguments(p: Any) -> None:
    p.add_argument("bundle", type=Path, nargs="?", help="bundle folder (omit with --compare)")
    p.add_argument(
        "--device",
        help="local, qemu, ssh://user@host[:port] or adb[:serial] (default: local for host bundles, qemu for ARM)",
    )
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--iterations", type=int, default=10)
    p.add_argument(
        "--input", action="append", type=Path, default=[], help=".npy input (default: seeded random)"
    )
    p.add_argument("--out", type=Path, help="write report.json and report.html here (default: the bundle)")
    p.add_argument("--top", type=int, default=25, help="ops shown in the terminal table")
    p.add_argument(
        "--max-latency-ms", type=float, help="fail when the median latency exceeds this (devices only)"
    )
    p.add_argument("--max-peak-memory", help="fail when the tracked peak memory exceeds this (e.g. 8MiB)")
    p.add_argument("--max-size", help="fail when the artifact exceeds this (e.g. 4MB)")
    p.add_argument(
        "--max-instructions", type=int, help="fail when an invoke exceeds this many instructions (qemu)"
    )
    p.add_argument(
        "--compare", nargs=2, type=Path, metavar=("OLD", "NEW"), help="print deltas of two report.json"
    )
    p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)


def cmd_profile(args: Any, console: Any, err: Any) -> int:
    from .report import print_comparison, print_profile, write_html, write_json

    if args.compare:
        old, new = (read_profile(p) for p in args.compare)
        print_comparison(console, compare_profiles(old, new))
        return 0
    if args.bundle is None:
        raise EdgebuildError("edgebuild profile needs a BUNDLE folder (or --compare OLD NEW)")
    gates = Gates(
        max_latency_ms=args.max_latency_ms,
        max_peak_memory=parse_size(args.max_peak_memory) if args.max_peak_memory else None,
        max_size=parse_size(args.max_size) if args.max_size else None,
        max_instructions=args.max_instructions,
    )
    opts = ProfileOptions(
        bundle=args.bundle,
        device=args.device,
        warmup=args.warmup,
        iterations=args.iterations,
        inputs=args.input,
    )
    profile = profile_bundle(opts, log=lambda s: err.print(f"[dim]{s}[/dim]"))
    report = load_bundle(args.bundle)
    report["profile"] = profile
    out = args.out or args.bundle
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / REPORT, report)
    write_html(out / HTML, profile, report)
    print_profile(console, profile, top=args.top)
    err.print(f"[dim]wrote {out / REPORT} and {out / HTML}[/dim]")
    fails = check_gates(profile, gates)
    if fails:
        raise GateFailed("gate failed: " + "; ".join(fails))
    return 0
