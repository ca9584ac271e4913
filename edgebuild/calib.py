"""Calibration and evaluation data: .npz / .npy / .pt tensors whose first dimension counts samples, and where a
build's data comes from (`source_data`: --calib, else random inputs of --input-shape or of the exported shape)."""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

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


def read_arrays(path: str | Path) -> dict[str, np.ndarray]:
    """The arrays of a .npz / .npy / .pt data file, by name."""
    path = Path(path)
    if not path.is_file():
        raise EdgebuildError(f"data file not found: {path}")
    try:
        if zipfile.is_zipfile(path) and path.suffix != ".pt":
            with np.load(path, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        if path.suffix == ".npy":
            return {"x": np.load(path, allow_pickle=False)}
        return _arrays_from_pt(path)
    except EdgebuildError:
        raise
    except Exception as e:
        raise EdgebuildError(f"{path}: cannot read it as .npz, .npy or .pt tensors ({e})") from e


def load_dataset(
    path: str | Path, num_inputs: int, *, labelled: bool = False, names: list[str] | None = None
) -> Dataset:
    """Read samples for a model with `num_inputs` inputs from a file (`dataset_from_arrays` says how arrays are
    named)."""
    return dataset_from_arrays(read_arrays(path), num_inputs, labelled=labelled, names=names, where=str(path))


def dataset_from_arrays(
    arrays: dict[str, np.ndarray],
    num_inputs: int,
    *,
    labelled: bool = False,
    names: list[str] | None = None,
    where: str = "data",
) -> Dataset:
    """Samples for a model with `num_inputs` inputs. Keys: `x` (one input), `x0`, `x1`, ... in the order of
    the model's forward() arguments, or forward()'s own argument names (`names`, e.g. input_ids, attention_mask);
    one input may have any name. `y` holds integer labels for evaluation. Each array has the same number of samples
    along dim 0. Float arrays feed float32 inputs; integer arrays (int32/int64) feed integer inputs such as token
    ids."""
    arrays = dict(arrays)
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
            f"{where} has arrays {sorted(arrays)}; the model has {num_inputs} input(s): name the arrays "
            f"{'x' if num_inputs == 1 else ', '.join(positional)}{by_name}"
        )
    counts = {int(a.shape[0]) if a.ndim else 0 for a in inputs}
    if len(counts) != 1 or 0 in counts:
        raise EdgebuildError(
            f"{where}: every input needs the same number (≥ 1) of samples along its first dimension"
        )
    for i, a in enumerate(inputs):
        if a.dtype.kind in "iu":
            if a.size and (a.min() < -(2**31) or a.max() >= 2**31):
                raise EdgebuildError(f"{where}: integer input {i} has values outside int32")
            continue
        if not np.issubdtype(a.dtype, np.floating):
            raise EdgebuildError(
                f"{where}: input {i} is {a.dtype}; float or integer (token id) arrays are expected"
            )
        if not np.all(np.isfinite(a)):
            raise EdgebuildError(f"{where}: input {i} contains NaN or infinity")
    if labelled:
        if labels is None:
            raise EdgebuildError(
                f"{where}: evaluation data needs labels: an array named y, or (inputs, labels) items"
            )
        if labels.shape[0] != inputs[0].shape[0]:
            raise EdgebuildError(f"{where}: {labels.shape[0]} labels for {inputs[0].shape[0]} samples")
    return Dataset(
        [a.astype(np.int64 if a.dtype.kind in "iu" else np.float32) for a in inputs],
        labels if labelled else None,
        where,
    )


# Keys of a dict sample (a batch of a Hugging Face style DataLoader) that hold labels, unless forward() takes them
_LABEL_KEYS = ("y", "labels", "label")


def _numpy(value: Any, where: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if isinstance(value, (np.ndarray, np.generic, int, float)):
        return np.asarray(value)
    raise EdgebuildError(f"{where}: expected a tensor or an array, got {type(value).__name__}")


def arrays_from_memory(
    data: Any,
    num_inputs: int,
    *,
    names: list[str] | None = None,
    shapes: list[tuple[int, ...]] | None = None,
    where: str = "calib",
) -> dict[str, np.ndarray]:
    """Data held in memory -> named arrays for `dataset_from_arrays`: an array or tensor (one input, samples along
    dim 0), a dict of them (named as in a .npz), or an iterable of items (a DataLoader, a list, a generator), each a
    tensor, a tuple (the inputs in forward()'s order, then optionally the labels) or a dict. An item's first
    dimension is its batch (DataLoader batches are split into samples); an item without it (one dimension fewer
    than `shapes`, the model's input shapes when known) is one sample."""
    if isinstance(data, (np.ndarray, torch.Tensor)):
        return {"x": _numpy(data, where)}
    if isinstance(data, Mapping):
        return {str(k): _numpy(v, f"{where}[{k!r}]") for k, v in data.items()}
    if isinstance(data, (str, bytes)) or not isinstance(data, Iterable):
        raise EdgebuildError(
            f"{where}: {type(data).__name__} is not data: pass an array, a dict of arrays, a DataLoader, a list "
            "of samples or a .npz path"
        )
    forward = list(names or [])
    columns: dict[str, list[np.ndarray]] = {}
    for n, item in enumerate(data):
        at = f"{where} item {n}"
        if isinstance(item, Mapping):
            keyed = {str(k): _numpy(v, f"{at}[{k!r}]") for k, v in item.items()}
            label_key = next((k for k in _LABEL_KEYS if k in keyed and k not in forward), None)
            label = keyed.pop(label_key) if label_key else None
            arrays = [keyed[k] for k in keyed]
            keys = list(keyed)
        else:
            parts = list(item) if isinstance(item, (tuple, list)) else [item]
            if len(parts) not in (num_inputs, num_inputs + 1):
                raise EdgebuildError(
                    f"{at} has {len(parts)} part(s); the model has {num_inputs} input(s): give the inputs in "
                    "forward()'s order, then optionally the labels"
                )
            arrays = [_numpy(p, at) for p in parts[:num_inputs]]
            label = _numpy(parts[num_inputs], at) if len(parts) > num_inputs else None
            keys = ["x"] if num_inputs == 1 else [f"x{i}" for i in range(num_inputs)]
        if shapes is not None and len(shapes) == len(arrays):
            # one sample without its batch dimension (a torch Dataset's item): add it
            arrays = [a[None] if a.ndim == len(s) - 1 else a for a, s in zip(arrays, shapes)]
        if label is not None:
            keys, arrays = keys + ["y"], arrays + [label.reshape(-1)]
        if n and sorted(keys) != sorted(columns):
            raise EdgebuildError(
                f"{at} has parts {keys}, item 0 had {list(columns)}: every item needs the same"
            )
        for k, a in zip(keys, arrays):
            columns.setdefault(k, []).append(a if a.ndim else a.reshape(1))
    if not columns:
        raise EdgebuildError(f"{where} is empty: it yielded no samples")
    out: dict[str, np.ndarray] = {}
    for k, parts in columns.items():
        try:
            out[k] = np.concatenate(parts)
        except ValueError as e:
            raise EdgebuildError(f"{where}: the items' {k!r} arrays do not stack ({e})") from e
    return out


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


def read_data(
    data: Any,
    num_inputs: int,
    *,
    labelled: bool = False,
    names: list[str] | None = None,
    shapes: list[tuple[int, ...]] | None = None,
    where: str = "calib",
) -> Dataset:
    """A data file (str or Path), a Dataset, or data held in memory (`arrays_from_memory`) -> a Dataset."""
    if isinstance(data, (str, Path)):
        return load_dataset(data, num_inputs, labelled=labelled, names=names)
    if isinstance(data, Dataset):
        named = {f"x{i}": x for i, x in enumerate(data.inputs)}
        arrays = named | ({"y": data.labels} if data.labels is not None else {})
        return dataset_from_arrays(arrays, len(data.inputs), labelled=labelled, where=data.source or where)
    where = f"{where} ({type(data).__name__})"  # the report's accuracy.data, and the errors' subject
    arrays = arrays_from_memory(data, num_inputs, names=names, shapes=shapes, where=where)
    return dataset_from_arrays(arrays, num_inputs, labelled=labelled, names=names, where=where)


def source_data(
    loaded: LoadedModel,
    calib_file: Any,
    eval_file: Any,
    input_shape: str | None,
    warn: Callable[[str], None],
) -> tuple[Dataset, Dataset | None]:
    """(calibration data, labelled evaluation data or None) for a build of `loaded`. The data are files (paths) or
    held in memory (`read_data`)."""
    from .capture import exported_input_shapes, exported_integer_inputs

    fixed = exported_input_shapes(loaded)
    names = forward_input_names(loaded)
    n_inputs = len(fixed) if fixed is not None else max(1, len(names or ()))
    if calib_file is not None:
        data = read_data(calib_file, n_inputs, names=names, shapes=fixed)
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
    eval_data = None
    if eval_file is not None:
        eval_data = read_data(eval_file, n_inputs, labelled=True, names=names, shapes=fixed, where="eval")
    return data, eval_data
