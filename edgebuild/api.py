"""api: edgebuild as a library (docs/api.md). `build` takes a model held in memory (an nn.Module, a torch.export
ExportedProgram) or a model file, with calibration data in memory or in a file, and returns a `Bundle`.

It is the one way into the pipeline: `edgebuild build` (cli/build.py) calls it too. It maps its arguments onto
`BuildOptions` and calls `edgebuild.pipeline.build`:

- a model file: passed on as a path, as the CLI always did (load.py reads it; the build cache applies);
- an nn.Module: exported here with `torch.export` at `example_inputs` (or at the first calibration sample), in eval
  mode, from a copy (the caller's module is not changed); then, as an ExportedProgram:
- an ExportedProgram: a `LoadedModel` built from the object. Its `path` names a small file in a private temporary
  directory holding a digest of the program's graph and weights: the report's model.sha256 identifies the program,
  and the model's name is the file's stem. Models held in memory, and data held in memory, are not cached (the
  cache keys files); the runner's compile is cached as for every build.

Every error is an EdgebuildError with a one-line message; an unexpected exception (a bug) becomes one too, naming
where it was raised, with the original chained (`__cause__`).

Importing this module imports neither torch nor the pipeline (the CLI imports it before a cached build).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .bundle import Bundle
from .errors import EdgebuildError, EdgebuildWarning, internal_error

if TYPE_CHECKING:
    import torch

    from .compress.options import CompressOptions
    from .load import LoadedModel

__all__ = ["build", "quiet_torch"]

_log = logging.getLogger("edgebuild")


def build(
    model: Any,
    example_inputs: Any = None,
    calib: Any = None,
    target: str = "host",
    *,
    eval: Any = None,
    out: str | Path | None = None,
    name: str | None = None,
    input_shape: str | Sequence[int] | None = None,
    float_layers: Sequence[str] | str = (),
    model_class: str | None = None,
    trust_model: bool = False,
    smoke: bool = True,
    cache: bool = True,
    cache_dir: str | Path | None = None,
    sparse: str = "auto",
    sparse_block: tuple[int, int] | None = None,
    lean: bool = False,
    activations: str = "auto",
    cpu: str | None = None,
    max_ram: int | str | None = None,
    max_flash: int | str | None = None,
    export: Sequence[str] | str = (),
    compress: CompressOptions | None = None,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
    warn: Callable[[str], None] | None = None,
    **compress_options: Any,
) -> Bundle:
    """Build `model` for `target`; docs/api.md describes every argument. `out=None` puts the bundle in a
    temporary directory owned by the returned Bundle (`Bundle.save` keeps a copy)."""
    log = log or _log.info
    warn = warn or _warn
    args = dict(locals())
    try:
        with quiet_torch():
            return _build(**args)
    except EdgebuildError:
        raise
    except OSError as e:  # a file we cannot read or write: the user's to fix
        where = f"{e.filename}: " if e.filename else ""
        raise EdgebuildError(f"{where}{e.strerror or e}") from e
    except Exception as e:  # a bug (ours or torch's): still one line, the cause chained
        raise EdgebuildError(internal_error(e)) from e


def _size_arg(name: str, value: int | str | None) -> int | None:
    """max_ram= / max_flash=: bytes as an int, or a size text such as "128KiB" (profile.gates.parse_size)."""
    if value is None:
        return None
    if isinstance(value, str):
        from .profile.gates import parse_size

        return parse_size(value)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise EdgebuildError(f"{name}={value!r}: a positive number of bytes, or a size such as '128KiB'")
    return value


def _build(
    model: Any,
    example_inputs: Any,
    calib: Any,
    target: str,
    *,
    eval: Any,
    out: str | Path | None,
    name: str | None,
    input_shape: str | Sequence[int] | None,
    float_layers: Sequence[str] | str,
    model_class: str | None,
    trust_model: bool,
    smoke: bool,
    cache: bool,
    cache_dir: str | Path | None,
    sparse: str,
    sparse_block: tuple[int, int] | None,
    lean: bool,
    activations: str,
    cpu: str | None,
    max_ram: int | str | None,
    max_flash: int | str | None,
    export: Sequence[str] | str,
    compress: CompressOptions | None,
    progress: bool,
    log: Callable[[str], None],
    warn: Callable[[str], None],
    compress_options: dict[str, Any],
) -> Bundle:
    from .pipeline import BuildOptions
    from .pipeline import build as run_pipeline
    from .progress import shown as progress_shown

    if not isinstance(target, str):
        raise EdgebuildError(f"target={target!r}: a target name such as host, arm64 or armv7")
    from .run import check_cpu

    check_cpu(cpu)
    from .targets import load_target

    if cpu is not None and load_target(target).is_mcu:
        from .mcu.build import check_options

        check_options(load_target(target), cpu=cpu)
    ram_gate, flash_gate = _size_arg("max_ram", max_ram), _size_arg("max_flash", max_flash)
    if activations not in ("static", "dynamic", "auto"):
        raise EdgebuildError(f"activations={activations!r}: one of static, dynamic, auto")
    comp = _compress_options(compress, compress_options, activations)
    formats = [export] if isinstance(export, str) else list(export)
    from .export import FORMATS

    for fmt in formats:
        if fmt not in FORMATS:
            raise EdgebuildError(f"export={fmt!r}: one of {', '.join(FORMATS)}")
    floats = float_layers
    floats = (
        tuple(n.strip() for n in floats.split(",") if n.strip()) if isinstance(floats, str) else tuple(floats)
    )
    shape = input_shape
    if shape is not None and not isinstance(shape, str):
        shape = ",".join(str(int(d)) for d in shape)
    calib, evaluation = _data_arg(calib), _data_arg(eval)
    with contextlib.ExitStack() as stack:
        if isinstance(model, (str, Path)):
            if example_inputs is not None:
                raise EdgebuildError(
                    "example_inputs is for a model held in memory; a model file is captured at the calibration "
                    "data's shapes (or input_shape=)"
                )
            if name is not None:
                raise EdgebuildError("name= is for a model held in memory; a model file is named by its stem")
            source: Path | LoadedModel = Path(model)
            stem = Path(model).stem
        else:
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="edgebuild-model-")))
            source, calib = _in_memory(model, example_inputs, name, scratch, calib)
            stem = source.path.stem
        owned = None
        if out is None:  # a temporary directory the Bundle owns: nothing is written where the caller is
            owned = Path(tempfile.mkdtemp(prefix="edgebuild-"))
            out = owned / f"{stem}-{target}"
        try:
            opts = BuildOptions(
                model=source,
                target=target,
                calib=calib,
                input_shape=shape,
                out=Path(out),
                eval=evaluation,
                model_class=model_class,
                trust_model=bool(trust_model),
                smoke=bool(smoke),
                cache=bool(cache),
                cache_dir=Path(cache_dir) if cache_dir is not None else None,
                float_layers=floats,
                compress=comp,
                sparse=sparse,
                sparse_block=sparse_block,
                lean=bool(lean),
                activations=activations,
                max_ram=ram_gate,
                max_flash=flash_gate,
            )
            if progress:  # rich bars on stderr when it is a terminal (or a notebook); a caller's own
                with progress_shown(True):  # progress.shown(console) block works as well
                    result = run_pipeline(opts, log=log, warn=warn)
            else:
                result = run_pipeline(opts, log=log, warn=warn)
            bundle = Bundle(result.out, result.report, owned=owned, timings=result.timings)
            if cpu is not None:  # a run-time choice: recorded for run and profile, the build is the same
                from .bundle import record_cpu

                bundle.report = record_cpu(bundle.path, cpu)
            for fmt in formats:
                log(f"exported {bundle.export(fmt)}")
            return bundle
        except BaseException:
            if owned is not None:
                shutil.rmtree(owned, ignore_errors=True)
            raise


def _warn(message: str) -> None:
    warnings.warn(message, EdgebuildWarning, stacklevel=2)


def _data_arg(data: Any) -> Any:
    """A data file given as str is a Path (what the build cache keys); anything else is data held in memory."""
    return Path(data) if isinstance(data, str) else data


def _compress_options(
    given: CompressOptions | None, fields: dict[str, Any], activations: str = "static"
) -> CompressOptions:
    from .compress.options import CompressOptions

    known = set(CompressOptions.__dataclass_fields__)
    unknown = sorted(set(fields) - known)
    if unknown:
        raise EdgebuildError(
            f"build(): unknown option(s) {', '.join(unknown)}; compression options are {', '.join(sorted(known))}"
        )
    if given is not None and fields:
        raise EdgebuildError(
            "build(): give compress=CompressOptions(...) or its fields as keywords, not both"
        )
    comp = given if given is not None else CompressOptions(**fields)
    if comp.train_data is not None:
        comp.train_data = Path(comp.train_data)
    comp.check(activations)
    return comp


def _in_memory(
    obj: Any, example_inputs: Any, name: str | None, scratch: Path, calib: Any
) -> tuple[LoadedModel, Any]:
    """(the LoadedModel of an nn.Module or ExportedProgram, the calibration data): a module is exported here at
    `example_inputs`, else at the first calibration sample (the data then goes on converted: an iterator is read
    once)."""
    import torch

    from .calib import forward_input_names, read_data
    from .load import LoadedModel

    if isinstance(obj, torch.export.ExportedProgram):
        if example_inputs is not None:
            raise EdgebuildError(
                "example_inputs is for an nn.Module: an ExportedProgram has its input shapes"
            )
        ep, fmt, default = obj, "ExportedProgram (in memory)", "model"
    elif isinstance(obj, torch.nn.Module):
        if isinstance(obj, torch.jit.ScriptModule):
            raise EdgebuildError("a TorchScript module: save it (torch.jit.save) and pass the file's path")
        example = example_inputs
        if example is None:
            if calib is None:
                raise EdgebuildError(
                    "an nn.Module needs example_inputs (a tuple of batch-1 tensors) or calib data to be exported"
                )
            names = forward_input_names(LoadedModel(Path("model"), "nn.Module", module=obj))
            calib = read_data(calib, max(1, len(names or ())), names=names)
            example = tuple(torch.from_numpy(x) for x in calib.sample(0))
        ep = _export(obj, _tensors(example))
        fmt, default = "nn.Module (in memory)", type(obj).__name__
    else:
        raise EdgebuildError(
            f"model is a {type(obj).__name__}: pass an nn.Module, a torch.export ExportedProgram or a model file's "
            "path"
        )
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", name or default).strip("._") or "model"
    ident = scratch / f"{stem}.program"
    ident.write_text(f"edgebuild in-memory program {_digest(ep)}\n")
    return LoadedModel(ident, fmt, exported=ep), calib


def _tensors(example: Any) -> tuple[torch.Tensor, ...]:
    """example_inputs -> batch-1 tensors: float arrays as float32, integer ones as int64 (as Dataset.sample)."""
    import numpy as np
    import torch

    items = list(example) if isinstance(example, (tuple, list)) else [example]
    out = []
    for i, x in enumerate(items):
        if isinstance(x, torch.Tensor):
            t = x.detach().cpu()
        elif isinstance(x, (np.ndarray, np.generic)):
            t = torch.from_numpy(np.ascontiguousarray(x))
        else:
            raise EdgebuildError(f"example_inputs[{i}] is a {type(x).__name__}; pass tensors or arrays")
        t = t.long() if not t.is_floating_point() and t.dtype != torch.bool else t
        t = t.float() if t.is_floating_point() else t
        if t.dim() == 0 or t.shape[0] != 1:
            raise EdgebuildError(
                f"example_inputs[{i}] has shape {tuple(t.shape)}: edgebuild builds batch 1 (dim 0 must be 1)"
            )
        out.append(t)
    if not out:
        raise EdgebuildError("example_inputs is empty: give one batch-1 tensor per forward() argument")
    return tuple(out)


def _export(module: torch.nn.Module, args: tuple[torch.Tensor, ...]) -> torch.export.ExportedProgram:
    """torch.export of the module in eval mode: a copy, so the caller's module keeps its mode and weights."""
    import copy

    import torch

    # a module that cannot be copied (open handles, ...) is exported in place, its modes restored below
    with contextlib.suppress(Exception):
        module = copy.deepcopy(module)
    modes = {m: m.training for m in module.modules()}
    module.eval()
    try:
        return torch.export.export(module, args, strict=False)
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        shapes = [tuple(t.shape) for t in args]
        raise EdgebuildError(
            f"torch.export could not capture the model at input shape(s) {shapes}: {first}"
        ) from e
    finally:
        for m, training in modes.items():
            m.train(training)


def _digest(ep: torch.export.ExportedProgram) -> str:
    """sha256 of a program's graph and its weights and constants (what the report's model.sha256 identifies)."""
    import torch

    h = hashlib.sha256(str(ep.graph).encode())
    for key, value in sorted(list(ep.state_dict.items()) + list(ep.constants.items()), key=lambda kv: kv[0]):
        h.update(key.encode())
        if isinstance(value, torch.Tensor):
            t = value.detach().cpu().contiguous()
            h.update(f"{t.dtype}{tuple(t.shape)}".encode())
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
        else:
            h.update(type(value).__name__.encode())
    return h.hexdigest()


# torch's own loggers that print during capture / quantization (e.g. "Dim.AUTO ... specialized", the torch.export
# archive naming notice, torchao's kernel-library notices)
_TORCH_LOGGERS = ("torch", "torchao")


@contextlib.contextmanager
def quiet_torch() -> Iterator[None]:
    """Python warnings (FutureWarning, UserWarning, ... from torch and friends) and torch's loggers below ERROR are
    kept off the terminal: edgebuild's own messages go through its log and warn callbacks (EdgebuildWarning
    still shows)."""
    loggers = [logging.getLogger(name) for name in _TORCH_LOGGERS]
    levels = [lg.level for lg in loggers]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.filterwarnings("always", category=EdgebuildWarning)
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for lg, level in zip(loggers, levels):
                lg.setLevel(level)
