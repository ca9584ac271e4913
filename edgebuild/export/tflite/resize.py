"""RESIZE as TFLite's RESIZE_NEAREST_NEIGHBOR / RESIZE_BILINEAR: which options reproduce the artifact's tables.

edgebuild's RESIZE tables hold, per output row (column), two source rows and the weight of the second (int8: Q16;
float32: a float). TFLite computes its sources from the sizes and two flags. The exporter computes TFLite's
sources and weights for each candidate flag setting and picks one under which every output row and column reads
the same inputs with the same weights (within float32 rounding), else refuses the op."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...ir import Op, Program
from ...ir_ops import ResizeMode
from .. import ExportError


def _effective(tab: np.ndarray, in_size: int, q16: bool) -> np.ndarray:
    """[out, in] weight of each input row in each output row of an edgebuild table [out, 3]."""
    out = np.zeros((tab.shape[0], in_size))
    for o, (i0, i1, lam) in enumerate(tab.astype(np.float64)):
        lam = lam / 65536.0 if q16 else lam
        out[o, int(i0)] += 1.0 - lam
        out[o, int(i1)] += lam
    return out


def _tflite(in_size: int, out_size: int, nearest: bool, align: bool, half: bool) -> np.ndarray:
    """[out, in] weights TFLite's reference kernel uses (resize_nearest_neighbor.cc / resize_bilinear.cc)."""
    f32 = np.float32
    scale = f32(in_size - 1) / f32(out_size - 1) if align and out_size > 1 else f32(in_size) / f32(out_size)
    w = np.zeros((out_size, in_size))
    for o in range(out_size):
        if nearest:
            off = f32(0.5) if half else f32(0.0)
            v = f32(f32(o) + off) * scale
            i = math.floor(v + 0.5) if align else math.floor(v)  # TfLiteRound for align_corners
            w[o, min(max(i, 0), in_size - 1)] = 1.0
            continue
        v = f32(f32(f32(o) + f32(0.5)) * scale - f32(0.5)) if half else f32(f32(o) * scale)
        lo = max(math.floor(v), 0)
        hi = min(math.ceil(v), in_size - 1)
        lam = float(v) - lo
        w[o, lo] += 1.0 - lam
        w[o, hi] += lam
    return w


def tflite_resize_options(P: Program, op: Op, p: Any) -> tuple[str, str, dict[str, bool]]:
    """(builtin, options table, option fields) of a RESIZE whose tables TFLite reproduces; else ExportError."""
    x, y = P.tensors[op.inputs[0]], P.tensors[op.outputs[0]]
    rows, cols = (P.tensors[i].data for i in op.inputs[1:3])
    assert rows is not None and cols is not None
    q16 = rows.dtype.kind == "i" and y.dtype.name == "INT8"
    ours = [_effective(rows, x.shape[1], q16), _effective(cols, x.shape[2], q16)]
    nearest = ResizeMode(p.mode) == ResizeMode.NEAREST
    tol = 2.0**-15 if q16 else 1e-5
    for align, half in (
        (bool(p.align_corners), not p.align_corners and not nearest),
        (False, False),
        (False, True),
    ):
        theirs = [
            _tflite(x.shape[1], y.shape[1], nearest, align, half),
            _tflite(x.shape[2], y.shape[2], nearest, align, half),
        ]
        if all(np.abs(a - b).max() <= tol for a, b in zip(ours, theirs)):
            fields = {"alignCorners": align, "halfPixelCenters": half}
            if nearest:
                return "RESIZE_NEAREST_NEIGHBOR", "ResizeNearestNeighborOptions", fields
            return "RESIZE_BILINEAR", "ResizeBilinearOptions", fields
    raise ExportError(
        f"this {ResizeMode(p.mode).name.lower()} resize ({x.shape[1]}x{x.shape[2]} -> {y.shape[1]}x{y.shape[2]}) "
        "reads other source pixels than any TFLite resize option"
    )
