"""compile: build the `edgebuild-run` runner for a target with CMake + ninja, cached by everything that shapes it.

The cache entry `cache_root()/runners/<target>-<key>/` holds the binary, its sha256 and a `build.json` note.
The key hashes the target file, its toolchain file, every file under `kernels/`, the compiler's `--version` and
cmake's version, so a changed kernel or compiler is a new entry and an old entry is never patched in place.
A lean runner (`edgebuild build --lean`) keeps only the ops it is given (kernels/CMakeLists.txt EDGEBUILD_OPS): its
entry is `<target>-lean-<key>`, the op set in the key; on a target whose toml names a musl toolchain ([lean]) it links
against musl when that is installed (`<target>-lean-musl-<key>`, the libc in the key). Each entry also records `footprint.json`: the stripped sizes
of the runner and of libedgebuild.so built from the same objects (edgebuild/footprint.py).
An entry is built in a temporary sibling folder and renamed into place, so a reader never sees half of one; a
lock file makes a second concurrent build of the same entry wait for the first instead of repeating it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path

from edgebuild import paths, progress
from edgebuild.errors import EdgebuildError
from edgebuild.footprint import record_footprint
from edgebuild.targets import Target, describe_missing, ninja_generator

RUNNER = "edgebuild-run"
# Bump when the way this module builds changes (cmake arguments, entry layout): old entries then miss.
_RECIPE = "edgebuild-runner-recipe-2"
LIBRARY = "edgebuild_shared"  # kernels/CMakeLists.txt: libedgebuild.so, the runtime library an app links
_KEY_CHARS = 16
_ERROR_TAIL_LINES = 20


def build_runner(target: Target, *, verbose: bool = False, ops: Collection[str] | None = None) -> Path:
    """The `edgebuild-run` binary for `target`, from the cache or freshly built; with `ops` (op table names), a
    lean runner that has only those ops. Raises EdgebuildError."""
    if target.is_mcu:
        raise EdgebuildError(
            f"{target.name} has no Linux runner: its builds are firmware (edgebuild/mcu/, docs/microcontrollers.md)"
        )
    missing = target.missing(run=False)
    if missing:
        raise EdgebuildError(f"cannot build the {target.name} runner: {describe_missing(missing)}")
    kernels = _kernels_dir()
    lean = None if ops is None else sorted(set(ops))
    key = runner_cache_key(target, kernels, lean)
    runners = paths.cache_root() / "runners"
    libc = runner_libc(target, lean=lean is not None)
    kind = ("-lean" if lean is not None else "") + ("-musl" if libc == "musl" else "")
    entry = runners / f"{target.name}{kind}-{key}"
    if _valid_entry(entry):
        return entry / RUNNER
    runners.mkdir(parents=True, exist_ok=True)
    with _locked(runners / f".{entry.name}.lock"):
        # Another process may have built it while we waited for the lock.
        if _valid_entry(entry):
            return entry / RUNNER
        with progress.status(f"compiling the {target.name} runner"):
            staged = _build_entry(target, kernels, key, runners, lean, verbose=verbose)
        _install_entry(staged, entry)
    return entry / RUNNER


def lean_ops(opcode_names: Collection[str]) -> list[str]:
    """The op set of a lean runner for a program whose ops have these names, checked against the op table."""
    from edgebuild.optable import OPS

    known = {op.name for op in OPS}
    unknown = sorted(set(opcode_names) - known)
    if unknown:
        raise EdgebuildError(f"cannot build a lean runner: ops {', '.join(unknown)} are not in the op table")
    return sorted(set(opcode_names))


def runner_libc(target: Target, *, lean: bool) -> str:
    """The C library a runner links: "musl" for a lean runner of a target with a musl toolchain when musl is
    installed (docs/footprint.md), else "glibc" (static on arm64 and armv7, the system's on the host)."""
    return "musl" if lean and target.musl_available else "glibc"


def _toolchain_file(target: Target, libc: str) -> Path | None:
    return target.musl_toolchain_file if libc == "musl" else target.toolchain_file


def runner_cache_key(target: Target, kernels: Path | None = None, ops: Collection[str] | None = None) -> str:
    """Hex digest naming a runner build: target + toolchain files, kernel sources, compiler and cmake versions,
    and for a lean runner its op set and, when it links musl, that and musl's toolchain file."""
    kernels = kernels or _kernels_dir()
    h = hashlib.sha256()

    def feed(label: str, data: bytes) -> None:
        # Length-prefixed so two different sequences of fields never hash alike.
        h.update(f"{label}:{len(data)}:".encode())
        h.update(data)

    feed("recipe", _RECIPE.encode())
    feed("target", target.source.read_bytes())
    if target.toolchain_file is not None:
        feed("toolchain", target.toolchain_file.read_bytes())
    for f in sorted(p for p in kernels.rglob("*") if p.is_file() and not _ignored(p, kernels)):
        feed("path", f.relative_to(kernels).as_posix().encode())
        feed("file", f.read_bytes())
    feed("cxx", _tool_version([target.cxx_compiler, "--version"]))
    feed("cmake", _tool_version(["cmake", "--version"]))
    if ops is not None:
        feed("lean-ops", ";".join(sorted(set(ops))).encode())
        musl = _toolchain_file(target, runner_libc(target, lean=True))
        if musl is not None and musl != target.toolchain_file:  # only then: glibc keys stay what they were
            feed("libc", b"musl")
            feed("musl-toolchain", musl.read_bytes())
            dpkg_query = ["dpkg-query", "-W", "-f=${Version}", *target.musl_packages]
            feed("musl-version", _tool_version(dpkg_query, optional=True))
    return h.hexdigest()[:_KEY_CHARS]


def _ignored(path: Path, root: Path) -> bool:
    """Editor and Python droppings under kernels/ that do not change a build."""
    parts = path.relative_to(root).parts
    return any(p == "__pycache__" or p.startswith(".") for p in parts) or path.name.endswith("~")


def _kernels_dir() -> Path:
    try:
        return paths.source_root() / "kernels"
    except FileNotFoundError as e:
        raise EdgebuildError(str(e)) from e


def _tool_version(argv: list[str], optional: bool = False) -> bytes:
    """`argv`'s output; with `optional`, b"-" when it cannot run (dpkg-query on a system without dpkg)."""
    try:
        done = subprocess.run(argv, capture_output=True, check=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as e:
        if optional:
            return b"-"
        raise EdgebuildError(f"cannot run {' '.join(argv)}: {e}") from e
    return done.stdout


def _valid_entry(entry: Path) -> bool:
    """An entry counts only with its binary, executable, matching its recorded checksum."""
    binary, checksum = entry / RUNNER, entry / f"{RUNNER}.sha256"
    try:
        recorded = checksum.read_text().split()[0]
        return os.access(binary, os.X_OK) and paths.sha256_file(binary) == recorded
    except (OSError, IndexError):
        return False


@contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    with lock_path.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _build_entry(
    target: Target, kernels: Path, key: str, runners: Path, lean: list[str] | None, *, verbose: bool
) -> Path:
    """Configure and build in a fresh folder next to the cache entries; returns the staged entry folder."""
    staged = Path(tempfile.mkdtemp(prefix=f".{target.name}-{key}-", dir=runners))
    libc = runner_libc(target, lean=lean is not None)
    toolchain = _toolchain_file(target, libc)
    staged.chmod(0o755)  # mkdtemp makes it private; a shared cache should stay readable
    build_dir = staged / "build"
    configure = [
        "cmake", "-S", str(kernels), "-B", str(build_dir), *ninja_generator(),
        "-DCMAKE_BUILD_TYPE=Release",
        f"-DEDGEBUILD_STATIC={'ON' if target.static else 'OFF'}",
        f"-DCMAKE_C_FLAGS={' '.join(target.flags)}",
        f"-DCMAKE_CXX_FLAGS={' '.join(target.flags)}",
        f"-DEDGEBUILD_OPS={';'.join(lean or [])}",
    ]  # fmt: skip
    if toolchain is not None:
        configure.append(f"-DCMAKE_TOOLCHAIN_FILE={toolchain}")
    else:
        # No toolchain file: name the target's compilers so the key's `--version` is the compiler used.
        configure += [
            f"-DCMAKE_C_COMPILER={target.c_compiler}",
            f"-DCMAKE_CXX_COMPILER={target.cxx_compiler}",
        ]
    build = ["cmake", "--build", str(build_dir), "--target", RUNNER, LIBRARY]
    started = time.monotonic()
    try:
        _run_logged(configure, f"configure the {target.name} runner", verbose=verbose)
        _run_logged(build, f"build the {target.name} runner", verbose=verbose)
        built = _find_binary(build_dir)
        shutil.copy2(built, staged / RUNNER)
        (staged / f"{RUNNER}.sha256").write_text(f"{paths.sha256_file(staged / RUNNER)}  {RUNNER}\n")
        record_footprint(staged, build_dir, target, lean, libc)
        note = {
            "target": target.name,
            "key": key,
            "libc": libc,
            "configure": configure,
            "compiler": _tool_version([target.cxx_compiler, "--version"])
            .decode(errors="replace")
            .splitlines()[0],
            "seconds": round(time.monotonic() - started, 1),
        }
        (staged / "build.json").write_text(json.dumps(note, indent=1) + "\n")
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    # The object files are not needed once the binary is copied out; keep the cache small.
    shutil.rmtree(build_dir, ignore_errors=True)
    return staged


def _run_logged(argv: list[str], what: str, *, verbose: bool) -> None:
    """Run a build step; on failure raise with the last lines of its output (where compiler errors are)."""
    tail: deque[str] = deque(maxlen=_ERROR_TAIL_LINES)
    if verbose:
        print("+ " + " ".join(argv), file=sys.stderr, flush=True)
    try:
        proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            text=True, errors="replace",
        )  # fmt: skip
    except OSError as e:
        raise EdgebuildError(f"cannot {what}: {argv[0]}: {e}") from e
    assert proc.stdout is not None
    with proc:
        for line in proc.stdout:
            tail.append(line.rstrip("\n"))
            if verbose:
                print(line, end="", file=sys.stderr, flush=True)
    if proc.returncode != 0:
        output = "\n".join(tail)
        raise EdgebuildError(f"failed to {what} (exit {proc.returncode}); last output:\n{output}")


def _find_binary(build_dir: Path) -> Path:
    """kernels/CMakeLists.txt may place the runner anywhere in its build tree."""
    direct = build_dir / RUNNER
    if direct.is_file():
        return direct
    for candidate in sorted(build_dir.rglob(RUNNER)):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise EdgebuildError(f"the build finished but produced no {RUNNER} under {build_dir}")


def _install_entry(staged: Path, entry: Path) -> None:
    """Atomically move a staged entry into place, replacing a broken one (never a valid one in use)."""
    if entry.exists():
        # Rename the broken entry away first (atomic), then delete it at leisure.
        trash = Path(tempfile.mkdtemp(prefix=f".trash-{entry.name}-", dir=entry.parent))
        os.rename(entry, trash / "old")
        shutil.rmtree(trash, ignore_errors=True)
    os.rename(staged, entry)
