"""evaluate: how close the int8 artifact is to the float model, and whether the target's runner agrees with the host.

- `accuracy_section`: report.json's `accuracy` — the float model against the artifact run by the host extension,
  on the --eval data (every sample; with labels also top-1 accuracy and classification metrics) or on up to
  MAX_CALIB_COMPARE calibration samples.
- `top1`: top-1 accuracy of any predictor on labelled data (the --max-drop search, the module stage's figures).
- `smoke_test`: one run of the bundle's runner on the target (qemu for ARM), byte for byte against the host.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from . import progress
from .calib import Dataset
from .capture import run_float
from .errors import EdgebuildError
from .targets import Target

if TYPE_CHECKING:
    from .compress.pipeline import Compressed

MAX_CALIB_COMPARE = 256  # calibration samples compared float vs int8: enough for stable figures, quick


def native_model(data: bytes) -> Any:
    """The artifact loaded by the host extension (edgebuild._native), ready to run."""
    try:
        from . import _native
    except ImportError as e:
        raise EdgebuildError(
            f"edgebuild's host extension is not built ({e}); reinstall: pip install -e ."
        ) from e
    return _native.Model.from_bytes(data)


def accuracy_section(
    compressed: Compressed, native: Any, calib: Dataset, eval_data: Dataset | None
) -> dict[str, Any]:
    """report.json's `accuracy`: the float model the build quantized against the artifact, and with pruning or
    distillation also the original float model against the artifact (`against_original_float`)."""
    data = eval_data or calib
    acc = accuracy_report(compressed.float_gm, native, data)
    if eval_data is None and calib.random:
        acc["meaningless"] = "random calibration data"
    if compressed.teacher_gm is not None:
        # The float figures above are the compressed model's; these compare with the original.
        acc["against_original_float"] = accuracy_report(compressed.teacher_gm, native, data)
    return acc


def accuracy_report(float_gm: torch.nn.Module, native: Any, data: Dataset) -> dict[str, Any]:
    """Float model vs int8 artifact (host extension): every evaluation sample, or up to MAX_CALIB_COMPARE
    calibration samples."""
    n = data.samples if data.labels is not None else min(data.samples, MAX_CALIB_COMPARE)
    f_all, q_all = [], []
    f_pred: list[int] = []
    q_pred: list[int] = []
    top1_same = f_correct = q_correct = 0
    classify = True
    with progress.task("comparing float and int8", total=n) as advance:
        for i in range(n):
            sample = data.sample(i)
            f = run_float(float_gm, sample)
            q = [np.asarray(o) for o in native.run(sample)]
            f_all.append(np.concatenate([o.ravel() for o in f]))
            q_all.append(np.concatenate([o.ravel() for o in q]))
            classify = classify and f[0].ndim == 2 and f[0].shape[0] == 1 and f[0].shape[1] > 1
            if classify:
                fa, qa = int(f[0].argmax()), int(q[0].argmax())
                top1_same += fa == qa
                f_pred.append(fa)
                q_pred.append(qa)
                if data.labels is not None:
                    label = int(data.labels[i])
                    f_correct += fa == label
                    q_correct += qa == label
            advance()
    fv, qv = np.concatenate(f_all).astype(np.float64), np.concatenate(q_all).astype(np.float64)
    denom = np.linalg.norm(fv) * np.linalg.norm(qv)
    rep: dict[str, Any] = {
        "data": "random" if data.random else data.source,
        "samples": n,
        "max_abs_error": float(np.max(np.abs(fv - qv))),
        "cosine_similarity": float(fv @ qv / denom) if denom > 0 else 1.0,
    }
    if classify:
        rep["top1_agreement"] = top1_same / n
        if data.labels is not None:
            rep["float_accuracy"] = 100.0 * f_correct / n
            rep["int8_accuracy"] = 100.0 * q_correct / n
            rep["accuracy_drop_points"] = rep["float_accuracy"] - rep["int8_accuracy"]
            classes = int(f[0].shape[1])
            labels = [int(v) for v in data.labels[:n]]
            rep["metrics"] = {
                "float": classification_metrics(labels, f_pred, classes),
                "int8": classification_metrics(labels, q_pred, classes),
            }
    return rep


def classification_metrics(y_true: list[int], y_pred: list[int], classes: int) -> dict[str, Any]:
    """Accuracy (percent), macro precision / recall / F1 (percent; a class never predicted counts 0) and the
    confusion matrix (rows: true class, columns: predicted), by scikit-learn."""
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    labels = list(range(max(classes, max(y_true, default=0) + 1)))
    p, r, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average="macro", zero_division=0
    )
    return {
        "accuracy": 100.0 * float(accuracy_score(y_true, y_pred)),
        "macro_precision": 100.0 * float(p),
        "macro_recall": 100.0 * float(r),
        "macro_f1": 100.0 * float(f1),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def top1(predict: Callable[[list[np.ndarray]], Any], data: Dataset) -> float:
    """Top-1 accuracy (%) of `predict` (one sample's arrays -> its output logits) on labelled data."""
    assert data.labels is not None
    hits = 0
    with progress.task(f"top-1 on {data.samples} samples", total=data.samples) as advance:
        for i in range(data.samples):
            hits += int(np.asarray(predict(data.sample(i))).argmax()) == int(data.labels[i])
            advance()
    return 100.0 * hits / data.samples


def float_top1(model: torch.nn.Module, data: Dataset) -> float | None:
    """A float module's top-1 accuracy (%) on labelled data; None without labels."""
    if data.labels is None:
        return None
    with torch.no_grad():
        return top1(lambda s: model(*(torch.from_numpy(x) for x in s)), data)


def smoke_test(
    target: Target, runner: Path, artifact: Path, native: Any, sample: list[np.ndarray]
) -> dict[str, Any]:
    """One run of the runner on the target (qemu for ARM), compared byte for byte with the host extension's
    outputs for the same input; a difference is an edgebuild bug and fails the build."""
    from .run import device_for, run_runner

    expected = [np.asarray(o) for o in native.run(sample)]
    device = device_for(target)
    with (
        progress.status(f"smoke run on {device.name}"),
        tempfile.TemporaryDirectory(prefix="edgebuild-smoke-") as tmp,
    ):
        ins = []
        for i, x in enumerate(sample):
            ins.append(Path(tmp) / f"input{i}.npy")
            np.save(ins[-1], x)
        outs = [Path(tmp) / f"output{i}.npy" for i in range(len(expected))]
        doc = run_runner(target, runner, artifact, ins, outs, device=device)
        got = [np.load(p) for p in outs]
    identical = all(
        g.dtype == e.dtype and g.shape == e.shape and g.tobytes() == e.tobytes()
        for g, e in zip(got, expected)
    )
    if not identical:
        raise EdgebuildError(
            f"the {target.name} runner's outputs differ from the host's for the same "
            "input: this is an edgebuild bug, please report it"
        )
    return {
        "device": device.name,
        "emulated": target.needs_emulator,
        "bit_identical_to_host": identical,
        "outputs": doc.get("outputs", []),
        "arena_bytes": doc.get("memory", {}).get("arena_bytes"),
        "tracked_bytes": doc.get("memory", {}).get("tracked_bytes"),
    }
