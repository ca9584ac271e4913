"""Instructions per invoke of the peer engines, counted in the arm64 rootfs under qemu-aarch64 with the TCG plugin's
syscall-marker mode (kernels/tools/qemu-insn-count.c; guest.py places the markers around one invoke), bucketed by
op category through the symbol table of LiteRT's library.

LiteRT's profiler is not reachable from its Python API in 2.3, so LiteRT's per-category split is by code address:
every executed block is credited to the function it starts in, and each function of libpywrap_litert_common.so (its
ELF .symtab: XNNPACK's microkernels and operators, ruy, TFLite's builtin kernels) is put in a category by its name.
Code outside that library (libc's memcpy, Python) and the interpreter's own code fall into "other". ONNX Runtime's
libraries are stripped: only its total is counted.
"""

from __future__ import annotations

import re
import struct
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .rootfs import SITE, guest_python, present_core

MAGIC = 0xEB17_0000
GETPID = 172
ENGINES = ("litert-xnnpack", "litert-builtin", "ort")
LITERT_LIBRARY = "ai_edge_litert/libpywrap_litert_common.so"
CATEGORIES = ("conv+FC", "depthwise", "ADD", "other")  # bucket 1, 2, 3; "other" = bucket 0 and 4
# by (mangled) symbol name, first match wins: depthwise before conv ("depthwise_conv"), ADD before the rest
CATEGORY_PATTERNS = (
    ("depthwise", re.compile(r"dwconv|depthwise|DepthwiseConv", re.IGNORECASE)),
    ("ADD", re.compile(r"_vaddc?_|builtin3add|AddElementwise|BroadcastAdd|add_nd|elementwise_binary")),
    (
        "conv+FC",
        re.compile(
            r"gemm|conv(?!ert)|fully_?connected|FullyConnected|3ruy|im2col|packw|pack_qs8", re.IGNORECASE
        ),
    ),
)
BUCKET = {"conv+FC": 1, "depthwise": 2, "ADD": 3, "other": 4}
# TFLite's own kernels (the builtin op resolver's), bucketed apart (bucket + 4) to tell whether XNNPACK ran the whole
# model: on the XNNPACK path, instructions in them mean ops the delegate did not take
BUILTIN_KERNELS = re.compile(
    r"tflite3ops7builtin|optimized_ops|optimized_integer_ops|reference_ops|reference_integer_ops"
)


def elf_functions(path: Path) -> list[tuple[int, int, str]]:
    """(address, size, name) of every sized function in a 64-bit little-endian ELF's .symtab."""
    data = path.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError(f"{path} is not a 64-bit little-endian ELF")
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    out = []
    for _name, sh_type, _flags, _addr, off, size, link, _info, _align, entsize in sections:
        if sh_type != 2:  # SHT_SYMTAB
            continue
        stroff = sections[link][4]
        for i in range(size // entsize):
            st_name, st_info, _other, shndx, value, st_size = struct.unpack_from(
                "<IBBHQQ", data, off + i * entsize
            )
            if st_info & 0xF != 2 or shndx == 0 or st_size == 0:  # STT_FUNC, defined, sized
                continue
            end = data.index(b"\0", stroff + st_name)
            out.append((value, st_size, data[stroff + st_name : end].decode(errors="replace")))
    return out


def category_of(name: str) -> str:
    for category, pattern in CATEGORY_PATTERNS:
        if pattern.search(name):
            return category
    return "other"


def write_ranges(library: Path, out: Path) -> dict[str, int]:
    """The plugin's ranges file for `library` (offsets from its load address); returns functions per category."""
    funcs = sorted(elf_functions(library))
    lines, per, last_end = [], dict.fromkeys(BUCKET, 0), 0
    for addr, size, name in funcs:
        if addr < last_end:  # aliases and overlaps: the first symbol at an address keeps it
            continue
        category = category_of(name)
        per[category] += 1
        bucket = BUCKET[category] + (4 if BUILTIN_KERNELS.search(name) else 0)
        lines.append(f"{addr:x} {addr + size:x} {bucket}")
        last_end = addr + size
    out.write_text("\n".join(lines) + "\n")
    return per


def parse_counts(text: str) -> dict[str, Any]:
    regions, threads, total = [], [], None
    for line in text.splitlines():
        parts = line.split()
        if parts[:1] == ["invoke"]:
            regions.append([int(v) for v in parts[3 : 3 + int(parts[2])]])
        elif parts[:1] == ["threads"]:
            threads.append(int(parts[1]))
        elif parts[:1] == ["total"]:
            total = int(parts[1])
    if len(regions) != 2 or total is None:
        raise RuntimeError(f"the plugin saw {len(regions)} marked regions (2 expected):\n{text[-2000:]}")
    (invoke, empty) = regions
    markers = sum(empty)  # the markers' own instructions (ctypes call and return), the same around the invoke
    buckets = [max(v - e, 0) for v, e in zip(invoke, empty)]
    return {
        "per_invoke": sum(invoke) - markers,
        "categories": {
            "conv+FC": buckets[1] + buckets[5],
            "depthwise": buckets[2] + buckets[6],
            "ADD": buckets[3] + buckets[7],
            "other": buckets[0] + buckets[4] + buckets[8],
        },
        "builtin_kernels": sum(buckets[5:9]),
        "outside_litert": buckets[0],
        "threads": threads[0],
        "process_total": total,
    }


def run_engine(
    root: Path,
    plugin: Path,
    ranges: Path,
    engine: str,
    model: Path,
    x: np.ndarray | dict[str, np.ndarray],
    cpu: str,
    *,
    invokes: int = 2,
) -> dict[str, Any]:
    """Run `engine` on `model` (one thread) in the rootfs under `qemu-aarch64 -cpu cpu`; `invokes` invokes, the last
    counted. `x`: the one input, or several by input name. Returns the counts and the (first) output."""
    present_core(root, cpu)
    with tempfile.TemporaryDirectory(prefix="edgebuild-arm-peers-") as tmp_name:
        tmp = Path(tmp_name)
        if isinstance(x, dict):
            x_file = tmp / "x.npz"
            np.savez(x_file, **x)
        else:
            x_file = tmp / "x.npy"
            np.save(x_file, x)
        counts = tmp / "counts.txt"
        plugin_args = f"{plugin},out={counts},syscall={GETPID},magic={MAGIC:#x}"
        if engine.startswith("litert"):
            plugin_args += f",ranges={ranges}"
        cmd = [
            "qemu-aarch64", "-cpu", cpu, "-L", str(root), "-plugin", plugin_args, str(guest_python(root)),
            str(Path(__file__).with_name("guest.py")), engine, str(model), str(x_file), str(tmp / "y.npy"),
            str(invokes), f"{MAGIC:#x}",
        ]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, env={"PYTHONHASHSEED": "0"})
        if done.returncode != 0:
            raise RuntimeError(f"{engine} on -cpu {cpu} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        out = parse_counts(counts.read_text())
        out["output"] = np.load(tmp / "y.npy")
    return out


def litert_library(root: Path) -> Path:
    return root / SITE / LITERT_LIBRARY
