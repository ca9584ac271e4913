"""int8 SOFTMAX alone, exported to .tflite and run by LiteRT's reference kernels (OpResolverType.BUILTIN_REF): the same
codes as edgebuild's kernel on every row pattern and input scale of tests/kernels/ukernels/test_softmax_int8.py
(TFLite derives the multiplier, shift and diff_min of docs/quantization.md (17) from the float32 input scale itself)."""

from __future__ import annotations

import numpy as np
import pytest

from edgebuild.export.tflite import export_tflite
from edgebuild.qmath import softmax_params
from edgebuild.serialize import artifact_bytes, read_artifact
from tests.helpers import run_native
from tests.interop.litert import run_litert_all
from tests.kernels.ukernels.test_softmax_int8 import SCALES, rows, softmax_program


@pytest.mark.parametrize("cols", [1, 5, 64, 300])
def test_softmax_int8_litert_reference_bit_identical(cols: int) -> None:
    rng = np.random.default_rng(cols)
    base = np.concatenate([rows(rng, cols), rng.integers(-128, 128, (24, cols)).astype(np.float32)])
    for scale in SCALES:
        prog = softmax_program(base.shape, softmax_params(scale), in_scale=scale)
        x = base * np.float32(scale)  # quantizes back to (about) the codes
        ours = run_native(prog, [x])[0]
        outs, _ = run_litert_all(export_tflite(read_artifact(artifact_bytes(prog))), [x], "reference")
        np.testing.assert_array_equal(outs[0], ours)
