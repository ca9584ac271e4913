"""Bundle: a built model as a Python object (docs/api.md), the folder `edgebuild build` writes, with the commands
that use it as methods: `run` (edgebuild/run/), `profile` (edgebuild/profile/), `export` (edgebuild/export/).

A bundle built by `edgebuild.build(..., out=None)` lives in a temporary directory that the Bundle owns: it is removed
when the object is garbage-collected or the interpreter exits (`save` copies it somewhere to keep). A bundle loaded
with `load_bundle` or built with `out=` is the caller's and is never removed.

Importing this module imports neither torch nor numpy: the methods import what they use.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import EdgebuildError

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Bundle", "load_bundle", "read_report"]

ARTIFACT = "model.ebm"  # a bundle's files (the pipeline, profile and CLI take these names from here)
RUNNER = "edgebuild-run"
REPORT = "report.json"
FIRMWARE = "firmware.elf"  # a microcontroller bundle's (edgebuild/mcu/firmware.py)


class Bundle:
    """A built model: `path` (the folder), `target` (its name), `report` (report.json as a dict)."""

    def __init__(
        self,
        path: str | Path,
        report: dict[str, Any] | None = None,
        *,
        owned: str | Path | None = None,
        timings: dict[str, float] | None = None,
    ) -> None:
        self.path = Path(path)
        self.report: dict[str, Any] = report if report is not None else read_report(self.path)
        self.timings: dict[str, float] = dict(timings or {})  # seconds per build stage, when just built
        # a temporary directory holding the bundle, removed with this object
        self._cleanup = weakref.finalize(self, shutil.rmtree, str(owned), True) if owned else None

    @property
    def target(self) -> str:
        return str(self.report["target"]["name"])

    @property
    def cpu(self) -> str | None:
        """The core the bundle was built for (`--cpu` or the target file's `cpu`), which run and profile pass to
        the runner by default; None: the device's own core, read by the runtime."""
        return bundle_cpu(self.report)

    @property
    def name(self) -> str:
        return str(self.report["model"]["name"])

    @property
    def artifact(self) -> Path:
        return self.path / ARTIFACT

    @property
    def runner(self) -> Path:
        return self.path / RUNNER

    @property
    def temporary(self) -> bool:
        """True when the bundle lives in a temporary directory removed with this object (built with out=None)."""
        return self._cleanup is not None and self._cleanup.alive

    def input_shapes(self) -> list[tuple[int, ...]]:
        return [tuple(i["shape"]) for i in self.report["model"]["inputs"]]

    def run(
        self, *inputs: Any, threads: int | None = None, device: str | None = None, cpu: str | None = None
    ) -> list[np.ndarray]:
        """Run the bundle's runner on its target (this machine for host bundles, qemu-user for ARM ones, or
        `device`: local, qemu, ssh://user@host, adb[:serial]) on one sample; returns the outputs. Inputs are arrays
        or tensors in forward()'s order, with or without the batch dimension of 1. `cpu`: the core the kernel
        variants are chosen for (default: the bundle's `cpu`, else the device's own)."""
        import numpy as np

        from .run import check_threads, device_for, run_runner
        from .targets import load_target

        target = load_target(self.target)
        arrays = self._inputs(inputs)
        check_threads(threads)
        if target.is_mcu:  # firmware.elf under qemu-system-arm (edgebuild/run/mcu.py)
            from .run.mcu import run_bundle

            return run_bundle(self.path, self.report, target, arrays, device=device, threads=threads, cpu=cpu)
        with tempfile.TemporaryDirectory(prefix="edgebuild-run-") as tmp:
            ins = [Path(tmp) / f"input{i}.npy" for i in range(len(arrays))]
            for path, x in zip(ins, arrays):
                np.save(path, x)
            outs = [Path(tmp) / f"output{i}.npy" for i in range(len(self.report["model"]["outputs"]))]
            run_runner(
                target,
                self.runner,
                self.artifact,
                ins,
                outs,
                device=device_for(target, device),
                threads=threads,
                cpu=cpu or self.cpu,
            )
            return [np.load(p) for p in outs]

    def _inputs(self, inputs: Sequence[Any]) -> list[np.ndarray]:
        import numpy as np

        shapes = self.input_shapes()
        if len(inputs) != len(shapes):
            raise EdgebuildError(f"{self.name} has {len(shapes)} input(s) {shapes}; run() got {len(inputs)}")
        arrays = []
        for i, (x, shape) in enumerate(zip(inputs, shapes)):
            if hasattr(x, "detach"):  # a torch tensor
                x = x.detach().cpu().numpy()
            a = np.asarray(x)
            if a.shape == shape[1:]:
                a = a[None]
            if a.shape != shape:
                raise EdgebuildError(f"input {i} has shape {a.shape}; {self.name} takes {shape}")
            arrays.append(np.ascontiguousarray(a, dtype=np.int64 if a.dtype.kind in "iu" else np.float32))
        return arrays

    def profile(
        self, device: str | None = None, threads: int | None = None, cpu: str | None = None, **options: Any
    ) -> dict[str, Any]:
        """Per-op latency, memory and size on `device` (default: this machine for host bundles, qemu for ARM):
        report.json's `profile` document (docs/report.md). `options`: ProfileOptions fields (warmup, iterations,
        inputs: arrays or .npy paths, count_instructions, timeout). Writes nothing into the bundle."""
        import numpy as np

        from .profile import ProfileOptions, profile_bundle

        known = set(ProfileOptions.__dataclass_fields__) - {"bundle", "device", "threads", "cpu"}
        unknown = sorted(set(options) - known)
        if unknown:
            raise EdgebuildError(f"profile(): unknown option(s) {unknown}; known: {sorted(known)}")
        with tempfile.TemporaryDirectory(prefix="edgebuild-profile-") as tmp:
            given = options.get("inputs") or []
            if given and not all(isinstance(x, (str, Path)) for x in given):
                paths = [Path(tmp) / f"input{i}.npy" for i in range(len(given))]
                for path, x in zip(paths, self._inputs(given)):
                    np.save(path, x)
                options["inputs"] = paths
            else:
                options["inputs"] = [Path(x) for x in given]
            return profile_bundle(
                ProfileOptions(bundle=self.path, device=device, threads=threads, cpu=cpu, **options)
            )

    def export(self, format: str, io: str = "float", out: str | Path | None = None) -> Path:
        """The model as `format` ("tflite" for LiteRT, "onnx" for ONNX Runtime) at `out` (default: model.<format>
        in the bundle); `io`: "float" (float32 inputs and outputs, as edgebuild's) or "int8"."""
        import warnings

        from .export import export_file

        with warnings.catch_warnings():  # flatbuffers' own deprecation notice, raised while writing a .tflite
            warnings.simplefilter("ignore", DeprecationWarning)
            return export_file(
                self.path, format, Path(out) if out is not None else self.path / f"model.{format}", io=io
            )

    def save(self, path: str | Path) -> Bundle:
        """Copy the bundle to `path` (replaced if it exists); returns the copy, which is the caller's to keep."""
        dest = Path(path)
        if dest.resolve() == self.path.resolve():
            return self
        if dest.exists():
            if not (dest / ARTIFACT).is_file():
                raise EdgebuildError(f"{dest} exists and is not a bundle; pick another path or remove it")
            shutil.rmtree(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(self.path, dest)
        if (dest / RUNNER).is_file():
            os.chmod(dest / RUNNER, 0o755)
        return Bundle(dest, json.loads(json.dumps(self.report)), timings=self.timings)

    def summary(self) -> str:
        """The build summary `edgebuild build` prints, as text."""
        from rich.console import Console

        from .report import print_summary

        console = Console(file=io.StringIO(), width=110, record=True, color_system=None)
        print_summary(console, self.path, self.report, self.timings)
        return console.export_text()

    def __repr__(self) -> str:
        size = self.report.get("artifact", {}).get("bytes")
        kib = f", {size / 1024:.1f} KiB artifact" if isinstance(size, int) else ""
        return f"<edgebuild.Bundle {self.name} for {self.target} at {self.path}{kib}>"


def read_report(path: Path) -> dict[str, Any]:
    """A bundle folder's report.json, after checking the folder holds a bundle (one-line EdgebuildError if not)."""
    report = path / REPORT
    if (
        not path.is_dir()
        or not (path / ARTIFACT).is_file()
        # a microcontroller bundle has firmware.elf (edgebuild/mcu/) where others have the runner
        or not ((path / RUNNER).is_file() or (path / FIRMWARE).is_file())
        or not report.is_file()
    ):
        raise EdgebuildError(
            f"{path} is not an edgebuild bundle (needs {ARTIFACT}, {RUNNER} and {REPORT}); build one with "
            "edgebuild.build(model, ..., out=DIR) or `edgebuild --target TARGET model.pt --out DIR`"
        )
    try:
        doc = json.loads(report.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise EdgebuildError(f"{report} is unreadable ({e}); rebuild the bundle") from e
    if not isinstance(doc, dict) or not isinstance(doc.get("target"), dict) or "model" not in doc:
        raise EdgebuildError(f"{report} is not an edgebuild build report; rebuild the bundle")
    return doc


def bundle_cpu(report: dict[str, Any]) -> str | None:
    """The core a bundle's report names for run and profile (its target's `cpu`), or None."""
    cpu = report["target"].get("cpu")
    return cpu if isinstance(cpu, str) and cpu else None


def record_cpu(path: str | Path, cpu: str) -> dict[str, Any]:
    """Writes `cpu` into the bundle's report.json (target.cpu) and returns the report. The core is a run-time
    choice: the artifact and the runner are the same for every core, so a cached build serves every --cpu."""
    from .run import check_cpu

    check_cpu(cpu)
    report = read_report(Path(path))
    report["target"]["cpu"] = cpu
    from .report import write_json

    write_json(Path(path) / REPORT, report)
    return report


def load_bundle(path: str | Path) -> Bundle:
    """A bundle folder written by `edgebuild build` or `Bundle.save` (EdgebuildError if it is not one)."""
    return Bundle(path)
