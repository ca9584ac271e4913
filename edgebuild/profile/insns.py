"""Instruction counts under qemu: the TCG plugin (kernels/tools/qemu-insn-count.c), built on first use, reads the
runtime's profiling markers, whose addresses come from the runner's ELF symbol table (docs/report.md)."""

from __future__ import annotations

import hashlib
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

from .. import paths
from ..errors import EdgebuildError

MARKERS = ("eb_profile_invoke_begin", "eb_profile_invoke_end", "eb_profile_op_begin", "eb_profile_op_end")


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
