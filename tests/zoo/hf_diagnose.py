"""Why a zoo model's output is far from float (tests/zoo/hf_driver.py calls `diagnose` when the cosine is low).

Three more figures, each isolating one stage:
- `cosine_all_float`: the model built with every layer in float (--float-layers on the wrapper's children). Below
  ~1 a float lowering computes something other than PyTorch.
- `cosine_pt2e`: PT2E's own q/dq reference graph (edgebuild's quantizer, same calibration) against float. Low here
  means the quantizer's choice of what is int8 (or the calibration) loses the signal, whatever the kernels do.
- `cosine_vs_pt2e`: edgebuild's artifact against that q/dq reference. Low here means an int8 lowering or kernel
  computes something other than PT2E's reference.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

import numpy as np
import torch

from tests.zoo.hf_driver import MIN_COSINE, ZooResult, build_module, cosine

FLOAT_AGREE = 0.9999  # the same float computation (only the summation order differs)
INT8_AGREE = (
    0.995  # int8 kernels vs PT2E's q/dq reference: 1-LSB rounding differences compound over the layers
)


def _run(native: object, inputs: list[np.ndarray]) -> np.ndarray:
    n = inputs[0].shape[0]
    return np.stack(
        [np.asarray(native.run([np.ascontiguousarray(x[i : i + 1]) for x in inputs])[0]) for i in range(n)]  # type: ignore[attr-defined]
    )


def diagnose(
    res: ZooResult,
    model: torch.nn.Module,
    calib: list[np.ndarray],
    held_out: list[np.ndarray],
    want: np.ndarray,
    tmp: Path,
    quiet: bool = True,
) -> None:
    from edgebuild.capture import graph_of
    from edgebuild.pipeline import native_model
    from edgebuild.quantize import quantize_model

    tmp.mkdir(parents=True, exist_ok=True)
    layers = tuple(name for name, _ in model.named_children())
    result = build_module(model, calib, tmp, quiet, float_layers=layers)
    res.cosine_all_float = cosine(_run(native_model((result.out / "model.ebm").read_bytes()), held_out), want)

    with (
        warnings.catch_warnings(),
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
    ):
        warnings.simplefilter("ignore")
        gm = graph_of(torch.export.export(model, tuple(torch.from_numpy(x[:1]) for x in calib)))
        n = calib[0].shape[0]
        qgm = quantize_model(gm, [tuple(torch.from_numpy(x[i : i + 1]) for x in calib) for i in range(n)])
        with torch.no_grad():
            ref = np.stack(
                [
                    qgm(*(torch.from_numpy(x[i : i + 1]) for x in held_out)).numpy()
                    for i in range(want.shape[0])
                ]
            )
    res.cosine_pt2e = cosine(ref, want)
    ours = _run(native_model((tmp.parent / "bundle" / "model.ebm").read_bytes()), held_out)
    res.cosine_vs_pt2e = cosine(ours, ref)

    res.status = "low cosine"
    res.error = (
        f"cosine {res.cosine:.4f} < {MIN_COSINE}; all-float build {res.cosine_all_float:.4f}, "
        f"PT2E q/dq reference {res.cosine_pt2e:.4f}, edgebuild vs that reference {res.cosine_vs_pt2e:.4f}"
    )
    if res.cosine_all_float < FLOAT_AGREE:
        why = "a float lowering differs from PyTorch (the all-float build disagrees)"
    elif res.cosine_pt2e < MIN_COSINE:
        why = (
            "PT2E's q/dq reference is as far off: what the quantizer makes int8 (or the calibration) loses it"
        )
    elif res.cosine_vs_pt2e < INT8_AGREE:
        why = "an int8 lowering differs from PT2E's q/dq reference"
    else:
        why = "int8 error compounds (each stage agrees with its reference)"
    res.reasons = [f"cosine < {MIN_COSINE}: {why}"]
