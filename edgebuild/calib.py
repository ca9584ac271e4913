"""Calibration and evaluation data: .npz / .npy / .pt tensors whose first dimension counts samples, and where a
build's data comes from (`source_data`: --calib, else random inputs of --input-shape or of the exported shape)."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from .errors import EdgebuildError

if TYPE_CHECKING:
    from .load import LoadedModel

RANDOM_SAMPLES = 32


@dataclass
class Dataset:
    inputs: list[np.ndarray]  # one array per model input, each [S, ...]
    labels: np.ndarray | None = None
    source: str = ""
    random: bool = False

    @property
    def samples(self) -> int:
        return int(self.inputs[0].shape[0])

    def sample(self, i: int) -> list[np.ndarray]:
        """Sample i as batch-1 arrays, one per model input: float32, or int64 for integer (token id) inputs."""
        return [
            np.ascontiguousarray(x[i : i + 1], dtype=np.int64 if x.dtype.kind in "iu" else np.float32)
            for x in self.inputs
        ]


def _arrays_from_pt(path: Path) -> dict[str, np.ndarray]:
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as e:
        raise EdgebuildError(f"{path}: not a tensor file readable without unpickling code ({e})") from e
    if isinstance(obj, torch.Tensor):
        return {"x": obj.numpy()}
    if isinstance(obj, (list, tuple)) and all(isinstance(t, torch.Tensor) for t in obj):
        return {f"input{i}": t.numpy() for i, t in enumerate(obj)}
    if isinstance(obj, dict) and all(isinstance(t, torch.Tensor) for t in obj.values()):
        return {str(k): t.numpy() for k, t in obj.items()}
    raise EdgebuildError(f"{path}: expected a tensor, a list of tensors or a dict of tensors")


def load_dataset(
    path: str | Path, num_inputs: int, *, labelled: bool = False, names: list[str] | None = None
) -> Dataset:
    """Read samples for a model with `num_inputs` inputs. Keys: `x` (one input), `x0`, `x1`, ... in the order of
    the model's forward() arguments, or forward()'s own argument names (`names`, e.g. input_ids, attention_mask);
    one input may have any name. `y` holds integer labels for evaluation. Each array has the same number of samples
    along dim 0. Float arrays feed float32 inputs; integer arrays (int32/int64) feed integer inputs such as token
    ids."""
    path = Path(path)
    if not path.is_file():
        raise EdgebuildError(f"data file not found: {path}")
    try:
        if zipfile.is_zipfile(path) and path.suffix != ".pt":
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        elif path.suffix == ".npy":
            arrays = {"x": np.load(path, allow_pickle=False)}
        else:
            arrays = _arrays_from_pt(path)
    except EdgebuildError:
        raise
    except Exception as e:
        raise EdgebuildError(f"{path}: cannot read it as .npz, .npy or .pt tensors ({e})") from e

    names = list(names or [])[:num_inputs] if names and len(names) >= num_inputs else []
    labels = arrays.pop("y", None) if "y" not in names else None
    positional = [f"x{i}" for i in range(num_inputs)]
    if num_inputs == 1 and "x" in arrays:
        inputs = [arrays["x"]]
    elif all(k in arrays for k in positional):
        inputs = [arrays[k] for k in positional]
    elif names and all(k in arrays for k in names):
        inputs = [arrays[k] for k in names]
    elif len(arrays) == num_inputs and (
        num_inputs == 1 or list(arrays) == [f"input{i}" for i in range(num_inputs)]
    ):
        inputs = list(arrays.values())  # one array for one input, or a .pt list of tensors: the file's order
    else:
        by_name = f" or by forward()'s arguments ({', '.join(names)})" if names else ""
        raise EdgebuildError(
            f"{path} has arrays {sorted(arrays)}; the model has {num_inputs} input(s): name the arrays "
            f"{'x' if num_inputs == 1 else ', '.join(positional)}{by_name}"
        )
    counts = {int(a.shape[0]) if a.ndim else 0 for a in inputs}
    if len(counts) != 1 or 0 in counts:
        raise EdgebuildError(
            f"{path}: every input needs the same number (≥ 1) of samples along its first dimension"
        )
    for i, a in enumerate(inputs):
        if a.dtype.kind in "iu":
            if a.size and (a.min() < -(2**31) or a.max() >= 2**31):
                raise EdgebuildError(f"{path}: integer input {i} has values outside int32")
            continue
        if not np.issubdtype(a.dtype, np.floating):
            raise EdgebuildError(
                f"{path}: input {i} is {a.dtype}; float or integer (token id) arrays are expected"
            )
        if not np.all(np.isfinite(a)):
            raise EdgebuildError(f"{path}: input {i} contains NaN or infinity")
    if labelled:
        if labels is None:
            raise EdgebuildError(f"{path}: evaluation data needs labels in an array named y")
        if labels.shape[0] != inputs[0].shape[0]:
            raise EdgebuildError(f"{path}: {labels.shape[0]} labels for {inputs[0].shape[0]} samples")
    return Dataset(
        [a.astype(np.int64 if a.dtype.kind in "iu" else np.float32) for a in inputs],
        labels if labelled else None,
        str(path),
    )


def forward_input_names(loaded: LoadedModel) -> list[str] | None:
    """The names of the model's tensor inputs, in forward()'s order: a torch.export archive's user inputs, a
    TorchScript forward's arguments, or a Python forward()'s positional parameters without defaults. None if
    unknown."""
    import inspect

    if loaded.exported is not None:
        user = torch.export.graph_signature.InputKind.USER_INPUT
        return [s.arg.name for s in loaded.exported.graph_signature.input_specs if s.kind == user]
    module = loaded.module
    if module is None:
        return None
    try:
        if isinstance(module, torch.jit.ScriptModule):
            args = getattr(module.forward, "schema").arguments[1:]  # noqa: B009  (not in torch's stubs)
            return [a.name for a in args if not a.has_default_value()]
        params = inspect.signature(module.forward).parameters.values()
    except (AttributeError, RuntimeError, TypeError, ValueError):
        return None
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p.name for p in params if p.kind in kinds and p.default is inspect.Parameter.empty]


def parse_shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(d) for d in text.replace("x", ",").split(",") if d.strip())
    except ValueError:
        raise EdgebuildError(
            f"--input-shape {text!r}: expected comma-separated integers, e.g. 1,3,32,32"
        ) from None
    if not shape or any(d < 1 for d in shape):
        raise EdgebuildError(f"--input-shape {text!r}: every dimension must be a positive integer")
    return shape


def random_dataset(shapes: list[tuple[int, ...]], samples: int = RANDOM_SAMPLES, seed: int = 0) -> Dataset:
    """Standard-normal samples of the given batch-1 shapes. Quantization ranges fitted to noise: accuracy figures
    computed on it say nothing about the real data."""
    rng = np.random.default_rng(seed)
    inputs = [rng.standard_normal((samples, *s[1:])).astype(np.float32) for s in shapes]
    return Dataset(inputs, None, "random", random=True)


def source_data(
    loaded: LoadedModel,
    calib_file: Path | None,
    eval_file: Path | None,
    input_shape: str | None,
    warn: Callable[[str], None],
) -> tuple[Dataset, Dataset | None]:
    """(calibration data, labelled evaluation data or None) for a build of `loaded`."""
    from .capture import exported_input_shapes, exported_integer_inputs

    fixed = exported_input_shapes(loaded)
    names = forward_input_names(loaded)
    n_inputs = len(fixed) if fixed is not None else max(1, len(names or ()))
    if calib_file is not None:
        data = load_dataset(calib_file, n_inputs, names=names)
    elif exported_integer_inputs(loaded):
        raise EdgebuildError(
            f"the model has integer inputs {exported_integer_inputs(loaded)} (token ids): random calibration "
            "cannot make valid ids; pass --calib samples.npz with integer arrays named by forward()'s arguments "
            "(or x0, x1, ...)"
        )
    elif input_shape is not None:
        shape = parse_shape(input_shape)
        if shape[0] != 1:
            raise EdgebuildError(f"--input-shape {input_shape}: the batch dimension must be 1")
        if fixed is not None and [shape] != fixed:
            raise EdgebuildError(
                f"--input-shape {shape} differs from the exported model's input shape(s) {fixed}"
            )
        data = random_dataset([shape])
        warn(
            "no --calib data: calibrating on RANDOM inputs. The int8 ranges will not fit real data and every "
            "accuracy figure below is meaningless. Pass --calib samples.npz for a real build."
        )
    elif fixed is not None:
        data = random_dataset(fixed)
        warn(
            "no --calib data: calibrating on RANDOM inputs of the exported shape. Accuracy figures are "
            "meaningless. Pass --calib samples.npz for a real build."
        )
    else:
        raise EdgebuildError(
            "no calibration data: pass --calib samples.npz, or --input-shape 1,C,H,W for random "
            "(accuracy-free) calibration"
        )
    eval_data = load_dataset(eval_file, n_inputs, labelled=True, names=names) if eval_file else None
    return data, eval_data
