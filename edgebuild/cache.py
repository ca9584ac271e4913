"""cache: finished bundles, content-addressed, so a rebuild with nothing changed is a verified copy.

An entry is keyed by the sha256 of everything that shapes a bundle: the model, calibration and evaluation files
(bytes, and the paths as given, which the report quotes), the build options, the `--model-class` package's sources,
edgebuild's own Python sources and host extension, torch/torchao/numpy versions, and the runner's key (target and
toolchain files, kernel sources, compiler and cmake versions: `compile.runner_cache_key`). It stores the finished
bundle files (artifact, runner, report with its accuracy and smoke-run results) with a manifest of their sha256s,
plus the warnings the build printed, so a warm build prints them again.

Safety: entries are written in a temporary sibling folder and renamed into place (readers never see half of one);
a per-key lock makes a second build of the same key wait for the first and then copy its result; every copy out of
the cache is checked against the manifest, so a corrupted entry (or one replaced mid-copy) is detected, dropped and
rebuilt. Builds from a pickled whole module (`--trust-model`) are not cached: their code lives outside the file.

This module imports neither torch nor the pipeline: the CLI asks it first, so a warm build never pays for them.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgebuild import paths
from edgebuild.errors import EdgebuildError

# Bump when the entry layout or what a bundle holds changes: old entries then miss.
_SCHEMA = "edgebuild-bundle-cache-1"
MANIFEST = "manifest.json"
_PKG = Path(__file__).resolve().parent

Log = Callable[[str], None]


@dataclass(frozen=True)
class Request:
    """The inputs of one build, as far as its result is concerned (BuildOptions and the CLI both map to this)."""

    model: Path
    target: str
    calib: Path | None
    eval: Path | None
    input_shape: str | None
    model_class: str | None
    trust_model: bool
    smoke: bool
    float_layers: tuple[str, ...] = ()
    compress: str = ""  # CompressOptions.key() (compression options, canonical JSON)
    lean: bool = False  # a runner with only the model's ops (compile.py); its op set follows from the model
    activations: str = "auto"  # --activations (quantize.py): static / dynamic / auto

    @classmethod
    def from_options(cls, opts: Any) -> Request:
        return cls(
            Path(opts.model),
            opts.target,
            opts.calib,
            opts.eval,
            opts.input_shape,
            opts.model_class,
            opts.trust_model,
            opts.smoke,
            tuple(getattr(opts, "float_layers", ()) or ()),
            opts.compress.key(),
            bool(getattr(opts, "lean", False)),
            str(getattr(opts, "activations", "auto")),
        )


@dataclass
class Restored:
    out: Path
    report: dict[str, Any]
    warnings: list[str]
    timings: dict[str, float]


def default_root() -> Path:
    return paths.cache_root() / "bundles"


def _package_sources(model_class: str) -> list[Path]:
    """The .py files of the top-level package that holds `pkg.mod:Class` (the class may import its siblings)."""
    top = model_class.split(":", 1)[0].split(".")[0]
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        spec = None
    if spec is None or spec.origin is None:
        return []
    origin = Path(spec.origin)
    if origin.name == "__init__.py":
        return sorted(p for p in origin.parent.rglob("*.py") if "__pycache__" not in p.parts)
    return [origin] if origin.is_file() else []


def _default_compress() -> str:
    from edgebuild.compress.options import CompressOptions

    return CompressOptions().key()


def bundle_key(req: Request) -> str | None:
    """Hex key of a build's result, or None when the result cannot be keyed (a pickled whole module)."""
    from edgebuild.compile import runner_cache_key, runner_libc
    from edgebuild.load import detect_format
    from edgebuild.targets import load_target

    if not req.model.is_file():
        return None  # the build reports the missing file
    fmt = detect_format(req.model)
    if fmt == "unknown" or (req.trust_model and fmt in ("torch.save", "legacy pickle")):
        return None
    h = hashlib.sha256()

    def feed(label: str, data: bytes) -> None:
        h.update(f"{label}:{len(data)}:".encode())  # length-prefixed: no two field sequences hash alike
        h.update(data)

    def feed_file(label: str, path: Path | None) -> bool:
        if path is None:
            feed(label, b"-")
            return True
        if not path.is_file():
            return False
        feed(label + "-path", str(path).encode())
        feed(label, paths.sha256_file(path).encode())
        return True

    feed("schema", _SCHEMA.encode())
    feed("model-name", req.model.stem.encode())
    if not (feed_file("model", req.model) and feed_file("calib", req.calib) and feed_file("eval", req.eval)):
        return None
    options = {k: getattr(req, k) for k in ("target", "input_shape", "model_class", "trust_model", "smoke")}
    options["activations"] = req.activations
    if req.float_layers:  # only when set, so the keys of earlier builds stay valid
        options["float_layers"] = list(req.float_layers)
    if req.compress and req.compress != _default_compress():  # likewise
        options["compress"] = req.compress
    if req.lean:  # likewise
        options["lean"] = True
        target = load_target(req.target)
        if runner_libc(target, lean=True) == "musl" and target.musl_toolchain_file is not None:  # likewise
            options["libc"] = "musl"
            feed("musl-toolchain", target.musl_toolchain_file.read_bytes())
    feed("options", json.dumps(options, sort_keys=True).encode())
    if req.model_class:
        for f in _package_sources(req.model_class):
            feed("class-src", f.name.encode() + b"\0" + f.read_bytes())
    for f in sorted(p for p in _PKG.rglob("*.py") if "__pycache__" not in p.parts):
        feed("edgebuild-src", f.relative_to(_PKG).as_posix().encode() + b"\0" + f.read_bytes())
    native = importlib.util.find_spec("edgebuild._native")
    if native is not None and native.origin:
        feed("native", paths.sha256_file(Path(native.origin)).encode())
    onnx_dists = ("onnx", "onnx2torch") if fmt == "onnx" else ()  # an ONNX file is converted by these
    for dist in ("torch", "torchao", "numpy", "scikit-learn", *onnx_dists):
        try:
            feed(dist, importlib.metadata.version(dist).encode())
        except importlib.metadata.PackageNotFoundError:
            feed(dist, b"-")
    feed("python", sys.version.encode())
    feed("runner", runner_cache_key(load_target(req.target)).encode())
    return h.hexdigest()


class BundleCache:
    """One key's entry under `root` (default: cache_root()/bundles)."""

    def __init__(self, key: str, root: Path | None = None) -> None:
        self.key = key
        self.root = root or default_root()
        self.entry = self.root / key[:2] / key

    @classmethod
    def for_request(cls, req: Request, root: Path | None = None) -> BundleCache | None:
        key = bundle_key(req)
        return cls(key, root) if key else None

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Serialize builds of this key: the second waits, then finds the first one's entry."""
        locks = self.root / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        with (locks / f"{self.key}.lock").open("a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def _manifest(self) -> dict[str, Any] | None:
        try:
            doc = json.loads((self.entry / MANIFEST).read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(doc, dict) or doc.get("key") != self.key or not isinstance(doc.get("files"), dict):
            return None
        return doc

    def restore(self, out: Path, log: Log = lambda s: None) -> Restored | None:
        """Copy the entry's bundle to `out` (staged, verified, renamed into place); None on a miss. A corrupt
        entry is dropped, said so, and reported as a miss."""
        if not self.entry.exists():
            return None
        doc = self._manifest()
        problem = None if doc is not None else "unreadable manifest"
        out.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
        try:
            stage.chmod(0o755)
            if doc is not None:
                problem = _copy_verified(self.entry / "files", stage, doc["files"])
            if problem is None:
                assert doc is not None
                report = json.loads((stage / "report.json").read_text())
                _replace_dir(stage, out)
                return Restored(out, report, list(doc.get("warnings", [])), dict(doc.get("timings", {})))
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise
        shutil.rmtree(stage, ignore_errors=True)
        log(f"build cache entry {self.key[:16]} is corrupt ({problem}); dropping it and rebuilding")
        self.drop()
        return None

    def store(self, bundle: Path, warnings: list[str], timings: dict[str, float]) -> None:
        """Record a finished bundle folder (files copied, hashed, renamed into place as one entry)."""
        files: dict[str, dict[str, Any]] = {}
        self.entry.parent.mkdir(parents=True, exist_ok=True)
        staged = Path(tempfile.mkdtemp(prefix=f".{self.key}-", dir=self.entry.parent))
        try:
            staged.chmod(0o755)
            for src in sorted(p for p in bundle.rglob("*") if p.is_file()):
                rel = src.relative_to(bundle).as_posix()
                dst = staged / "files" / rel
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dst)
                files[rel] = {
                    "sha256": paths.sha256_file(dst),
                    "bytes": dst.stat().st_size,
                    "mode": src.stat().st_mode & 0o777,
                }
            doc = {
                "key": self.key,
                "schema": _SCHEMA,
                "files": files,
                "warnings": warnings,
                "timings": timings,
            }
            (staged / MANIFEST).write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
            if self._manifest() is not None:
                shutil.rmtree(staged, ignore_errors=True)  # an identical entry landed meanwhile
                return
            self.drop()
            os.rename(staged, self.entry)
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            raise

    def drop(self) -> None:
        """Remove the entry: renamed away first (atomic), deleted at leisure."""
        if not self.entry.exists():
            return
        trash = Path(tempfile.mkdtemp(prefix=f".trash-{self.key}-", dir=self.entry.parent))
        try:
            os.rename(self.entry, trash / "old")
        except OSError:
            pass  # another process dropped it first
        shutil.rmtree(trash, ignore_errors=True)


def _copy_verified(src: Path, dst: Path, files: dict[str, Any]) -> str | None:
    """Copy every manifest file; the first problem found, or None."""
    if "report.json" not in files:
        return "no report.json"
    for rel, meta in sorted(files.items()):
        if not isinstance(meta, dict) or ".." in Path(rel).parts or Path(rel).is_absolute():
            return f"bad manifest entry {rel!r}"
        target = dst / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copyfile(src / rel, target)
        except OSError as e:
            return f"{rel}: {e.strerror or e}"
        if paths.sha256_file(target) != meta.get("sha256"):
            return f"{rel}: checksum mismatch"
        target.chmod(int(meta.get("mode", 0o644)) & 0o777)
    return None


def _replace_dir(stage: Path, out: Path) -> None:
    """Move a finished bundle into place, replacing an old one; retried when a concurrent build to the same
    `out` moves its own bundle in between our two renames."""
    for _ in range(10):
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            try:
                os.rename(out, old / "bundle")
            except FileNotFoundError:
                pass
        try:
            os.rename(stage, out)
        except OSError:
            if not out.exists():
                raise
            continue
        finally:
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        return
    raise EdgebuildError(f"cannot move the bundle into {out}: other builds keep replacing it")
