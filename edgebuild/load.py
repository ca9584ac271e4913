"""load: model.pt -> nn.Module or ExportedProgram, the format told by content (zip members), not by extension.

Accepted: torch.export archives (`torch.export.save`), TorchScript (`torch.jit.save`), ONNX files (converted by
onnx_in.py), a `state_dict` with `--model-class pkg.mod:Class`, and a pickled whole module with `--trust-model` only
(unpickling runs code).
"""

from __future__ import annotations

import importlib
import io
import pickle
import pickletools
import re
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch is imported where a model is read: the build cache asks detect_format cheaply
    import torch

from .errors import EdgebuildError


@dataclass
class LoadedModel:
    path: Path
    format: str  # "torch.export", "torchscript", "onnx", "state_dict", "pickled module"
    module: torch.nn.Module | None = None
    exported: torch.export.ExportedProgram | None = None
    notes: list[str] = field(default_factory=list)  # what the build tells the user about the conversion


def detect_format(path: Path) -> str:
    """'torch.export', 'torchscript', 'torch.save' (a pickle in a zip), 'legacy pickle' or 'onnx', from the bytes."""
    from .onnx_in import is_onnx

    with open(path, "rb") as f:
        head = f.read(4)
    if head[:2] == b"\x80\x02" or head[:1] == b"\x80":
        return "legacy pickle"
    if not zipfile.is_zipfile(path):
        return "onnx" if is_onnx(head) else "unknown"
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


# torch.export.load unpickles members of the archive with the full unpickler (weights_only=False): pickled weights and
# constants, opaque constants, and the example inputs when torch's own weights-only attempt fails. A crafted archive
# therefore runs code at load time. Before handing an archive to torch we read every pickle in it (recursing into
# nested zips, e.g. data/sample_inputs/*.pt) without executing it, and refuse it if it names any global outside
# torch's weights-only allowlist (tensors, storages, dtypes, plain containers). TorchScript archives need no such
# scan: torch.jit.load's unpickler is C++ and resolves globals only to tensors and TorchScript classes (tested).
_PUSHES_STRING = {
    "STRING",
    "BINSTRING",
    "SHORT_BINSTRING",
    "UNICODE",
    "SHORT_BINUNICODE",
    "BINUNICODE",
    "BINUNICODE8",
}
_MARK = object()


def _allowed_globals() -> frozenset[str]:
    from torch._weights_only_unpickler import _get_allowed_globals

    return frozenset(_get_allowed_globals())


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")


def _add_global(found: list[str], module: object, name: object = None) -> None:
    """Record an import the unpickler would attempt. Operands that are not strings, or not dotted identifiers (raw
    weight bytes that happen to decode as opcodes), make the unpickler fail before any import succeeds."""
    if isinstance(module, str) and isinstance(name, str) and _IDENT.match(module) and _IDENT.match(name):
        found.append(f"{module}.{name}")


def pickle_globals(data: bytes) -> list[str]:
    """Every global a pickle would import, read without unpickling, in order. Non-pickle bytes give []. The
    operands of STACK_GLOBAL are tracked through the stack and memo, so what it imports is known exactly."""
    found: list[str] = []
    stack: list[object] = []
    memo: dict[int, object] = {}
    try:
        for op, arg, _ in pickletools.genops(io.BytesIO(data)):
            name = op.name
            if name in ("GLOBAL", "INST"):
                _add_global(found, *str(arg).split(" ", 1))
            elif name == "STACK_GLOBAL" and len(stack) >= 2:
                _add_global(found, stack[-2], stack[-1])  # non-strings: the unpickler raises, imports nothing
            elif name.startswith("EXT"):
                import copyreg

                registered = copyreg._inverted_registry.get(int(arg or 0))  # type: ignore[attr-defined]
                if registered is not None:  # unregistered codes make the unpickler raise
                    _add_global(found, *registered)
            if name in ("MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT"):  # the stack is unchanged
                memo[len(memo) if name == "MEMOIZE" else int(arg or 0)] = stack[-1] if stack else None
                continue
            # Track the stack (strings only) so STACK_GLOBAL's operands are known, whatever ran before it.
            before = op.stack_before
            if pickletools.stackslice in before:
                while stack and stack.pop() is not _MARK:
                    pass
                before = before[: before.index(pickletools.markobject)]
            for _ in before:
                if stack:
                    stack.pop()
            if name == "MARK":
                stack.append(_MARK)
            elif name in _PUSHES_STRING:
                stack.append(arg if isinstance(arg, str) else None)
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                stack.append(memo.get(int(arg or 0)))
            elif name == "DUP":
                stack.extend([stack[-1] if stack else None] * 2)
            else:
                stack.extend(None for _ in op.stack_after)
            if name == "STOP":
                break
    except (ValueError, UnicodeDecodeError, EOFError, IndexError):
        pass  # not (or no longer) a pickle: the unpickler would stop here too
    return found


def _archive_pickle_globals(data: bytes, where: str, depth: int = 0) -> dict[str, list[str]]:
    """member -> its globals, for every member of a zip (and zips nested in it) that reads as a pickle."""
    out: dict[str, list[str]] = {}
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        members = [(i.filename, z.read(i)) for i in z.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, ValueError) as e:
        raise EdgebuildError(f"{where}: unreadable zip archive ({e})") from e
    for name, blob in members:
        if blob[:4] == b"PK\x03\x04" and depth < 4:
            out.update(_archive_pickle_globals(blob, f"{where}/{name}", depth + 1))
        else:
            names = pickle_globals(blob)
            if names:
                out[f"{where}/{name}"] = names
    return out


def refuse_unsafe_pickles(path: Path) -> None:
    """Raise EdgebuildError when an archive holds a pickle that would import anything but tensors and containers."""
    allowed = _allowed_globals()
    bad: dict[str, list[str]] = {}
    for member, names in _archive_pickle_globals(path.read_bytes(), path.name).items():
        unsafe = sorted({n for n in names if n not in allowed})
        if unsafe:
            bad[member] = unsafe
    if bad:
        member, names = next(iter(bad.items()))
        more = f" (and {len(bad) - 1} more member(s))" if len(bad) > 1 else ""
        raise EdgebuildError(
            f"{path}: {member} is a pickle that imports {', '.join(names)}{more}; loading it would run code from "
            "the file. Re-export the model with torch.export.save, or pass --trust-model if you trust its author"
        )


def import_class(spec: str) -> type[torch.nn.Module]:
    """`pkg.mod:Class` -> the class; the current directory is importable, as for `python -m`."""
    import torch

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
    import torch

    if isinstance(obj, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            inner = obj.get(key)
            if isinstance(inner, dict) and inner and all(isinstance(v, torch.Tensor) for v in inner.values()):
                return inner
        if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
            return obj  # type: ignore[return-value]
    return None


def load_model(
    path: str | Path,
    *,
    model_class: str | None = None,
    trust_model: bool = False,
    input_shape: str | None = None,
    calib: Any = None,
) -> LoadedModel:
    """`input_shape` / `calib` (a data file or data held in memory, as `calib.read_data` takes) give an ONNX file's
    dynamic dimensions (other formats ignore them)."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise EdgebuildError(f"model file not found: {path}")
    fmt = detect_format(path)
    if fmt == "unknown":
        raise EdgebuildError(
            f"{path} is not a PyTorch model file nor an ONNX model (expected torch.export.save, torch.jit.save or "
            "torch.save output, or an .onnx file)"
        )
    if fmt == "onnx":
        return _load_onnx(path, input_shape, calib)

    if fmt == "torch.export":
        if not trust_model:
            refuse_unsafe_pickles(path)
        from .api import quiet_torch

        try:
            # quiet_torch: with --trust-model, torch 2.13 logs "Fallback to weights_only=False succeeded" with one
            # argument for two placeholders (torch/_export/serde/serialize.py); formatting that record prints a
            # traceback (or raises under pytest's log capture, as seen with Debian's Python 3.11.2).
            # A file object: torch only accepts paths that end in .pt2.
            with open(path, "rb") as f, quiet_torch():
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


def _load_onnx(path: Path, input_shape: str | None, calib: Any) -> LoadedModel:
    """An ONNX file as a static-shape torch.export program (onnx_in.py); its dynamic dimensions, if any, from
    --input-shape (one input) or the calibration data's arrays."""
    from .calib import parse_shape, read_data
    from .onnx_in import convert_onnx, graph_inputs, identifier, read_model

    given: list[tuple[int, ...]] | None = None
    if input_shape is not None:
        given = [parse_shape(input_shape)]
    elif calib is not None:
        names = [identifier(vi.name) for vi in graph_inputs(read_model(path))]
        data = read_data(calib, len(names), names=names)
        given = [(1, *a.shape[1:]) for a in data.inputs]
    converted = convert_onnx(path, given)
    return LoadedModel(path, "onnx", exported=converted.exported, notes=converted.notes)
