"""The MCU bundle's `mcu/` folder and the firmware built from it (docs/microcontrollers.md).

`write_mcu_folder` completes what the ahead-of-time generator wrote (model.c, model.h, model_data.c: aot.py) into a
folder a firmware project can drop in: the kernel sources the model calls and the headers they include (copied
from kernels/, same relative paths under mcu/kernels/) and a CMake snippet, `mcu/CMakeLists.txt`, that defines the
static library `edgebuild_model` (`add_subdirectory(mcu)` + `target_link_libraries(app PRIVATE edgebuild_model)`).

`build_firmware` builds `firmware.elf` from that same snippet (dogfooding it): a small CMake project
(kernels/mcu/firmware/CMakeLists.txt) adds the bundle's folder as a subdirectory and links it with the test harness
(kernels/mcu/harness.c), the startup code (kernels/mcu/startup.c) and the board's linker script, through the
bare-metal toolchain file (targets/cmake/arm-none-eabi.cmake) and ninja. The CMake build folder is kept per target
in the cache (cache_root()/mcu/<target>-<key>, the key hashing the target file, the toolchain and firmware CMake
files and the flags), and the model folder is copied into it file by file, rewriting only files whose bytes
changed: ninja then recompiles only what changed, so a later model reuses every kernel object an earlier one
compiled (keyed by source bytes, through the timestamps, and by flags, through ninja's command-line check).

`measure_firmware` reads firmware.map and the `.ci` call-graph files (`-fcallgraph-info=su`, which carries the
`-fstack-usage` figures) into report.json's `mcu` footprint: flash = code (model.c and the kernels: .text, .rodata,
.data's load image) + weights (model_data.c); RAM = the arena + the model's other .data/.bss + the worst-case stack
of eb_model_run; the harness, startup, newlib and libgcc are reported apart (`firmware_other`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import paths
from ..errors import EdgebuildError
from ..targets import Target, ninja_generator

MODEL_FILES = ("model.c", "model.h", "model_data.c")
LIBRARY = "edgebuild_model"
FIRMWARE = "firmware.elf"
MAP = "firmware.map"
# Calls out of the model and kernels into the C library and libgcc (memcpy, memset, __aeabi_* helpers) have no
# stack figure of ours; each is counted with this allowance. newlib's and libgcc's ARM routines of this kind are
# leaf functions that save at most a few registers (≤ 32 bytes); 64 leaves room.
LIBRARY_CALL_STACK_BYTES = 64
_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)


def kernels_root() -> Path:
    return paths.source_root() / "kernels"


def _mcu_dir() -> Path:
    return kernels_root() / "mcu"


# ---- the bundle's mcu/ folder -------------------------------------------------------------------------------------


def kernel_files(kernel_sources: list[str]) -> list[str]:
    """The kernel sources (relative to kernels/) and every header they include, found by following `#include "..."`
    through kernels/include/ and the including file's own folder; sorted, sources first."""
    root = kernels_root()
    seen: dict[str, None] = {}
    todo = list(kernel_sources)
    while todo:
        rel = todo.pop()
        if rel in seen:
            continue
        path = root / rel
        if not path.is_file():
            raise EdgebuildError(
                f"kernel file {path} does not exist (a code generator bug: please report it)"
            )
        seen[rel] = None
        for name in _INCLUDE.findall(path.read_text(encoding="utf-8", errors="replace")):
            for base in (path.parent, root / "include"):
                cand = base / name
                if cand.is_file():
                    todo.append(cand.resolve().relative_to(root.resolve()).as_posix())
                    break
    sources = [s for s in kernel_sources if s in seen]
    return list(dict.fromkeys(sources)) + sorted(set(seen) - set(sources))


def write_mcu_folder(mcu: Path, kernel_sources: list[str], target: Target, model_name: str) -> list[str]:
    """Copy the kernels the model calls into `mcu`/kernels/ and write `mcu`/CMakeLists.txt; returns the copied files
    (relative to kernels/)."""
    assert target.mcu is not None
    files = kernel_files(kernel_sources)
    for rel in files:
        dest = mcu / "kernels" / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(kernels_root() / rel, dest)
    (mcu / "CMakeLists.txt").write_text(cmake_snippet(kernel_sources, target, model_name))
    return files


def cmake_snippet(kernel_sources: list[str], target: Target, model_name: str) -> str:
    assert target.mcu is not None
    flags = " ".join(target.flags)
    srcs = "\n".join(f"  kernels/{s}" for s in kernel_sources)
    return f"""\
# edgebuild: the model {model_name} compiled ahead of time for {target.name} ({target.description.split(":")[0]}).
#
# In a firmware project (CMake, arm-none-eabi toolchain with the core's flags: {flags}):
#
#   add_subdirectory(path/to/mcu)                      # this folder
#   target_link_libraries(app PRIVATE {LIBRARY})   # model.h: eb_model_set_input_f32, eb_model_run, ...
#   set_target_properties(app PROPERTIES LINKER_LANGUAGE C)   # the kernels are C++ but need no libstdc++
#
# Without CMake: compile model.c, model_data.c and the .cc files below (C++17, -fno-exceptions -fno-rtti) with
# -I kernels/include -I . and the core's flags, and link them into your firmware. No heap, no libstdc++, no
# exceptions; the arena is one static array in model.c (EB_MODEL_ARENA_BYTES, in .bss), the weights are const
# arrays in model_data.c (flash, read in place). docs/microcontrollers.md in edgebuild has the details.
#
# Options: EB_MODEL_PROFILE (ON: model.c calls eb_profile_* markers your code defines, for instruction counts),
# EB_MODEL_STACK_USAGE (ON: -fstack-usage and -fcallgraph-info=su files next to the objects), EB_MODEL_OPT (the
# optimization level the model and kernels are built with; {target.mcu.opt} is what edgebuild measured and reports).
option(EB_MODEL_PROFILE "call the eb_profile_* markers around eb_model_run and each op" OFF)
option(EB_MODEL_STACK_USAGE "write -fstack-usage / -fcallgraph-info=su files" OFF)
set(EB_MODEL_OPT "{target.mcu.opt}" CACHE STRING "optimization level of the model and its kernels")

add_library({LIBRARY} STATIC
  model.c
  model_data.c
{srcs}
)
target_include_directories({LIBRARY} PUBLIC ${{CMAKE_CURRENT_LIST_DIR}}
                           PRIVATE ${{CMAKE_CURRENT_LIST_DIR}}/kernels/include)
set_source_files_properties(model.c model_data.c PROPERTIES COMPILE_OPTIONS "-std=c11")
target_compile_options({LIBRARY} PRIVATE
  ${{EB_MODEL_OPT}} -ffunction-sections -fdata-sections
  # no fused multiply-add contraction: the float quantize/dequantize at the model's edges must round exactly as on
  # every other target (docs/quantization.md eq. 1-2)
  -ffp-contract=off
  $<$<COMPILE_LANGUAGE:CXX>:-std=c++17 -fno-exceptions -fno-rtti -fno-threadsafe-statics -fno-use-cxa-atexit>)
if(EB_MODEL_PROFILE)
  set_property(SOURCE model.c APPEND PROPERTY COMPILE_DEFINITIONS EB_MODEL_PROFILE)
endif()
if(EB_MODEL_STACK_USAGE)
  target_compile_options({LIBRARY} PRIVATE -fstack-usage -fcallgraph-info=su)
endif()
"""


# ---- firmware.elf -------------------------------------------------------------------------------------------------


@dataclass
class Firmware:
    elf: Path
    map: Path
    build_dir: Path  # the CMake build folder (its .ci / .su files are read by measure_firmware)


def _firmware_key(target: Target) -> str:
    h = hashlib.sha256()
    assert target.mcu is not None and target.toolchain_file is not None
    for p in (
        target.source,
        target.toolchain_file,
        _mcu_dir() / "firmware" / "CMakeLists.txt",
        target.mcu.linker_script,
    ):
        h.update(p.read_bytes())
    h.update(repr((target.flags, target.mcu.opt)).encode())
    # The configured build reads its sources from these folders (cmake -S, EB_MCU_DIR, the toolchain and linker
    # script paths): a second checkout, or a deleted one, must not reuse a build pointing into another.
    paths_used = (_mcu_dir(), target.toolchain_file, target.mcu.linker_script)
    h.update(repr(tuple(str(Path(p).resolve()) for p in paths_used)).encode())
    return h.hexdigest()[:16]


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _sync(src: Path, dest: Path) -> None:
    """Copy `src` over `dest`, rewriting only files whose bytes differ (so their timestamps, which ninja compares,
    change only then). Files `src` lacks stay: the snippet lists what is compiled, and a kernel a later model needs
    again keeps its timestamp, hence its object."""
    for path in sorted(src.rglob("*")):
        if not path.is_file():
            continue
        d = dest / path.relative_to(src)
        data = path.read_bytes()
        if d.is_file() and d.read_bytes() == data:
            continue
        d.parent.mkdir(parents=True, exist_ok=True)
        d.write_bytes(data)


def _run(argv: list[str], what: str, cwd: Path | None = None) -> None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=cwd, timeout=900)
    except (OSError, subprocess.SubprocessError) as e:
        raise EdgebuildError(f"{what}: cannot run {argv[0]}: {e}") from e
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-25:])
        raise EdgebuildError(f"{what} failed (exit {done.returncode}):\n{tail}")


def build_firmware(target: Target, mcu: Path, out: Path, log: Any = lambda s: None) -> Firmware:
    """firmware.elf and firmware.map for the model in `mcu` (the bundle's folder), written into `out`."""
    assert target.mcu is not None and target.toolchain_file is not None
    work = paths.cache_root() / "mcu" / f"{target.name}-{_firmware_key(target)}"
    with _locked(work):
        src, build = work / "src" / "mcu", work / "build"
        _sync(mcu, src)
        if not (build / "build.ninja").is_file():
            log(f"configuring the {target.name} firmware build (cached after the first build)")
            _run(
                [
                    "cmake",
                    "-S",
                    str(_mcu_dir() / "firmware"),
                    "-B",
                    str(build),
                    *ninja_generator(),
                    f"-DCMAKE_TOOLCHAIN_FILE={target.toolchain_file}",
                    f"-DEB_MCU_FLAGS={';'.join(target.flags)}",
                    f"-DEB_MODEL_DIR={src}",
                    f"-DEB_LINKER_SCRIPT={target.mcu.linker_script}",
                    f"-DEB_MCU_DIR={_mcu_dir()}",
                    "-DEB_MODEL_PROFILE=ON",
                    "-DEB_MODEL_STACK_USAGE=ON",
                    "-DCMAKE_BUILD_TYPE=",
                ],
                f"configuring the {target.name} firmware (cmake)",
            )
        _run(["cmake", "--build", str(build)], f"compiling the {target.name} firmware")
        out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(build / FIRMWARE, out / FIRMWARE)
        shutil.copyfile(build / MAP, out / MAP)
        return Firmware(out / FIRMWARE, out / MAP, build)


# ---- what the firmware holds --------------------------------------------------------------------------------------

_MAP_SECTION = re.compile(
    r"^ (\.[\w.$]+|COMMON)\s*(?:\n\s+)?(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(\S.*)$", re.MULTILINE
)


def map_sections(map_text: str) -> list[tuple[str, int, int, str]]:
    """The input sections the linker placed (name, address, size, object file), from a GNU ld map file's "Linker
    script and memory map" part (the discarded ones, listed before it, are skipped)."""
    start = map_text.find("Linker script and memory map")
    text = map_text[start:] if start >= 0 else map_text
    out = []
    for m in _MAP_SECTION.finditer(text):
        name, addr, size, obj = m.group(1), int(m.group(2), 16), int(m.group(3), 16), m.group(4).strip()
        if size and not obj.startswith("load address"):
            out.append((name, addr, size, obj))
    return out


def _role(obj: str) -> str:
    """Whose an input section is: the model's code, its weights, a kernel's, or the rest of the firmware."""
    if f"CMakeFiles/{LIBRARY}.dir/" not in obj and f"lib{LIBRARY}.a" not in obj:
        return "firmware"
    if "model_data.c" in obj:
        return "weights"
    if "model.c" in obj:
        return "model"
    return "kernels"


def _kind(section: str) -> str:
    if section.startswith((".text", ".rodata", ".ARM.exidx", ".ARM.extab")):
        return "flash"
    if section.startswith(".data"):
        return "data"  # flash (its load image) and RAM
    if section.startswith((".bss", "COMMON")):
        return "bss"
    return "other"


def read_call_graph(build: Path) -> tuple[dict[str, tuple[int, bool]], dict[str, set[str]]]:
    """Every function's own stack bytes (and whether GCC called them bounded: "static" or "dynamic,bounded") and its
    direct calls, from the `.ci` files (-fcallgraph-info=su) of the model library's objects."""
    frames: dict[str, tuple[int, bool]] = {}
    calls: dict[str, set[str]] = {}
    node = re.compile(r'node: \{ title: "([^"]+)" label: "[^"]*\\n(\d+) bytes \(([^)]*)\)')
    edge = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')
    for ci in build.rglob(f"CMakeFiles/{LIBRARY}.dir/**/*.ci"):
        text = ci.read_text(errors="replace")
        for m in node.finditer(text):
            frames[m.group(1)] = (int(m.group(2)), m.group(3) in ("static", "dynamic,bounded"))
        for m in edge.finditer(text):
            calls.setdefault(m.group(1), set()).add(m.group(2))
    return frames, calls


def _short(name: str) -> str:
    return name.split(":")[-1]  # GCC titles static functions "file.c:name"


def stack_bound(
    frames: dict[str, tuple[int, bool]], calls: dict[str, set[str]], root: str = "eb_model_run"
) -> dict[str, Any]:
    """The deepest stack a call of `root` can reach: the largest sum of frames along a call path of the static call
    graph. Calls to functions outside the graph (the C library, libgcc) count LIBRARY_CALL_STACK_BYTES each; a
    recursion, an unbounded (dynamic) frame or an indirect call makes the bound unknown (None)."""
    by_short: dict[str, str] = {}
    for title in frames:
        by_short.setdefault(_short(title), title)
    external: set[str] = set()
    unbounded: list[str] = []
    memo: dict[str, tuple[int, list[str]]] = {}

    def walk(fn: str, path: tuple[str, ...]) -> tuple[int, list[str]]:
        if fn in path:
            unbounded.append(f"recursion through {_short(fn)}")
            return 0, []
        if fn in memo:
            return memo[fn]
        title = fn if fn in frames else by_short.get(_short(fn))
        if title is None and _short(fn).startswith("eb_profile_"):
            return 0, []  # the instruction-count markers: empty functions without a frame (harness.c)
        if title is None:
            if _short(fn).startswith("__indirect_call") or fn == "__indirect_call":
                unbounded.append("an indirect call")
            external.add(_short(fn))
            return LIBRARY_CALL_STACK_BYTES, [_short(fn)]
        own, bounded = frames[title]
        if not bounded:
            unbounded.append(f"{_short(title)} has a dynamic stack frame")
        best: tuple[int, list[str]] = (0, [])
        for callee in sorted(calls.get(title, ())):
            got = walk(callee, (*path, fn))
            if got[0] > best[0]:
                best = got
        memo[fn] = (own + best[0], [_short(title), *best[1]])
        return memo[fn]

    if root not in frames and root not in by_short:
        return {"bytes": None, "path": [], "why_unknown": f"{root} not in the call graph"}
    total, path = walk(root, ())
    return {
        "bytes": None if unbounded else total,
        "path": path,
        "library_calls": sorted(external),
        "library_call_allowance_bytes": LIBRARY_CALL_STACK_BYTES,
        "why_unknown": "; ".join(dict.fromkeys(unbounded)) or None,
    }


def measure_firmware(fw: Firmware, arena_bytes: int) -> dict[str, Any]:
    """Flash and RAM of the model in the firmware (the module docstring says what counts where)."""
    sections = map_sections(fw.map.read_text(errors="replace"))
    sums: dict[tuple[str, str], int] = {}
    for name, _addr, size, obj in sections:
        key = (_role(obj), _kind(name))
        sums[key] = sums.get(key, 0) + size

    def get(role: str, kind: str) -> int:
        return sums.get((role, kind), 0)

    code_model = get("model", "flash") + get("model", "data")
    code_kernels = get("kernels", "flash") + get("kernels", "data")
    weights = get("weights", "flash") + get("weights", "data")
    static_ram = get("model", "data") + get("kernels", "data") + get("weights", "data")
    static_ram += get("model", "bss") + get("kernels", "bss") + get("weights", "bss") - arena_bytes
    frames, calls = read_call_graph(fw.build_dir)
    stack = stack_bound(frames, calls)
    other_flash = get("firmware", "flash") + get("firmware", "data")
    other_ram = get("firmware", "data") + get("firmware", "bss")
    return {
        "flash": {
            "code_bytes": code_model + code_kernels,
            "code_model_bytes": code_model,
            "code_kernels_bytes": code_kernels,
            "weights_bytes": weights,
            "total_bytes": code_model + code_kernels + weights,
        },
        "ram": {
            "arena_bytes": arena_bytes,
            "static_bytes": max(0, static_ram),
            "stack_bytes": stack["bytes"],
            "total_bytes": None
            if stack["bytes"] is None
            else arena_bytes + max(0, static_ram) + stack["bytes"],
        },
        "stack": stack,
        # the test harness, startup code, newlib (stdio, semihosting) and libgcc: firmware.elf's, not the model's
        "firmware_other": {"flash_bytes": other_flash, "ram_bytes": other_ram},
    }
