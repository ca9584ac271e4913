"""load: model.pt -> nn.Module or ExportedProgram, the format told by content (zip members), not by extension.

Accepted: torch.export archives (`torch.export.save`), TorchScript (`torch.jit.save`), a `state_dict` with
`--model-class pkg.mod:Class`, and a pickled whole module with `--trust-model` only (unpickling runs code).
"""

from __future__ import annotations

import importlib
import pickle
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch

from .errors import EdgebuildError


@dataclass
class LoadedModel:
    path: Path
    format: str  # "torch.export", "torchscript", "state_dict", "pickled module"
    module: torch.nn.Module | None = None
    exported: torch.export.ExportedProgram | None = None


def detect_format(path: Path) -> str:
    """'torch.export', 'torchscript', 'torch.save' (a pickle in a zip) or 'legacy pickle', from the bytes."""
    with open(path, "rb") as f:
        head = f.read(4)
    if head[:2] == b"\x80\x02" or head[:1] == b"\x80":
        return "legacy pickle"
    if not zipfile.is_zipfile(path):
        return "unknown"
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError):
        return "unknown"
    tails = {n.split("/", 1)[1] if "/" in n else n for n in names}
    if any(t.startswith("models/") and t.endswith(".json") for t in tails) or "archive_format" in tails:
        return "torch.export"
    if "constants.pkl" in tails and any(t.startswith("code/") for t in tails):
        return "torchscript"
    if "data.pkl" in tails:
        return "torch.save"
    return "unknown"


def import_class(spec: str) -> type[torch.nn.Module]:
    """`pkg.mod:Class` -> the class; the current directory is importable, as for `python -m`."""
    if ":" not in spec:
        raise EdgebuildError(f"--model-class {spec!r} must look like package.module:ClassName")
    mod_name, cls_name = spec.split(":", 1)
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        mod = importlib.import_module(mod_name)
    except Exception as e:  # an ImportError, or anything the module raises while importing
        raise EdgebuildError(f"--model-class: cannot import module {mod_name!r}: {e}") from e
    cls = getattr(mod, cls_name, None)
    if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
        raise EdgebuildError(
            f"--model-class: {mod_name!r} has no torch.nn.Module subclass named {cls_name!r}"
        )
    return cls


def _state_dict_of(obj: object) -> dict[str, torch.Tensor] | None:
    if isinstance(obj, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            inner = obj.get(key)
            if isinstance(inner, dict) and inner and all(isinstance(v, torch.Tensor) for v in inner.values()):
                return inner
        if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
            return obj  # type: ignore[return-value]
    return None


def load_model(path: str | Path, *, model_class: str | None = None, trust_model: bool = False) -> LoadedModel:
    path = Path(path)
    if not path.is_file():
        raise EdgebuildError(f"model file not found: {path}")
    fmt = detect_format(path)
    if fmt == "unknown":
        raise EdgebuildError(
            f"{path} is not a PyTorch model file (expected torch.export.save, torch.jit.save or torch.save output)"
        )

    if fmt == "torch.export":
        try:
            with open(path, "rb") as f:  # a file object: torch only accepts paths that end in .pt2
                ep = torch.export.load(f)
        except Exception as e:
            raise EdgebuildError(f"{path}: cannot read the torch.export archive: {e}") from e
        return LoadedModel(path, "torch.export", exported=ep)

    if fmt == "torchscript":
        try:
            ts = torch.jit.load(str(path), map_location="cpu")
        except Exception as e:
            raise EdgebuildError(f"{path}: cannot read the TorchScript archive: {e}") from e
        return LoadedModel(path, "torchscript", module=ts.eval())

    # A pickle: try the weights-only unpickler first; it refuses anything but tensors and plain containers.
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
        safe = True
    except pickle.UnpicklingError:
        obj, safe = None, False
    except Exception as e:
        raise EdgebuildError(f"{path} is not a readable PyTorch file: {e}") from e

    if safe:
        state = _state_dict_of(obj)
        if state is None:
            raise EdgebuildError(f"{path} holds no model: it is a {type(obj).__name__} without tensors")
        if model_class is None:
            raise EdgebuildError(
                f"{path} is a state_dict (weights only): name the model's class with --model-class package.module:Class"
            )
        cls = import_class(model_class)
        try:
            module = cls()
        except Exception as e:
            raise EdgebuildError(
                f"--model-class {model_class}: cannot construct it without arguments: {e}"
            ) from e
        try:
            module.load_state_dict(state)
        except RuntimeError as e:
            first = str(e).strip().splitlines()
            raise EdgebuildError(
                f"{path} does not fit {model_class}: {first[1].strip() if len(first) > 1 else first[0]}"
            ) from e
        return LoadedModel(path, "state_dict", module=module.eval())

    if not trust_model:
        raise EdgebuildError(
            f"{path} is a pickled Python object; loading it would run code from the file. Re-export it with "
            "torch.export.save, or pass --trust-model if you trust its author"
        )
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=False)
    except Exception as e:
        raise EdgebuildError(f"{path}: unpickling failed: {e}") from e
    if not isinstance(obj, torch.nn.Module):
        raise EdgebuildError(f"{path} holds a {type(obj).__name__}, not a torch.nn.Module")
    return LoadedModel(path, "pickled module", module=obj.eval())
