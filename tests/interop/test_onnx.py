"""ONNX (QDQ) export run in onnxruntime (CPU, one thread) next to edgebuild's runtime on the same float inputs.

Each model runs twice in onnxruntime: unfused (the QDQ graph as written, float arithmetic between Q and DQ: the
export's semantics) and fused (its int8 kernels, whose requantization rounds in float; skipped with the reason on
x86 CPUs without VNNI, where those kernels saturate: tests/interop/ort.py). The stated agreement
(docs/integration.md) is what this file asserts for both: every output within 2 LSB of edgebuild's, top-1 identical.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

from edgebuild.export.onnx import export_onnx
from edgebuild.ir import Program
from edgebuild.serialize import artifact_bytes, read_artifact
from tests.helpers import native, quantize_and_lower
from tests.interop.ort import fused_int8_exact, session
from tests.interop.test_tflite import output_scale
from tests.models import RandomCNN, calibration

MAX_LSB = 2.0
FUSED = [
    pytest.param(False, id="unfused"),
    pytest.param(
        True, id="fused", marks=pytest.mark.skipif(not fused_int8_exact()[0], reason=fused_int8_exact()[1])
    ),
]


def compare(prog: Program, samples: list[np.ndarray], fused: bool) -> tuple[float, int]:
    sess = session(export_onnx(read_artifact(artifact_bytes(prog))), fused)
    model = native(prog)
    lsb, agree = 0.0, 0
    for x in samples:
        ours = np.asarray(model.run([x])[0])
        theirs = sess.run(None, {sess.get_inputs()[0].name: x})[0]
        lsb = max(lsb, float(np.abs(ours - theirs).max()) / output_scale(prog))
        agree += int(np.array_equal(ours.argmax(-1), theirs.argmax(-1)))
    return lsb, agree


@pytest.mark.parametrize("fused", FUSED)
def test_digits_onnx(fused: bool) -> None:
    from examples.digits.model import DigitsCNN

    data = np.load("examples/digits/calib.npz")["x"].astype(np.float32)
    model = DigitsCNN()
    model.load_state_dict(torch.load("examples/digits/state_dict.pt", weights_only=True))
    q = quantize_and_lower(model, [torch.from_numpy(data[i : i + 1]) for i in range(32)], "digits")
    m = onnx.load_model_from_string(export_onnx(read_artifact(artifact_bytes(q.program))))
    ops = [n.op_type for n in m.graph.node]
    assert ops.count("Conv") == 4 and ops.count("Gemm") == 1 and ops.count("QuantizeLinear") >= 9
    samples = [data[i : i + 1] for i in range(40, 104)]
    lsb, agree = compare(q.program, samples, fused)
    assert lsb <= MAX_LSB + 1e-4 and agree == len(samples), (lsb, agree)


@pytest.mark.parametrize("fused", FUSED)
@pytest.mark.parametrize("seed", range(10))
def test_random_cnn_onnx(seed: int, fused: bool) -> None:
    model = RandomCNN(seed)
    q = quantize_and_lower(model, calibration(model.input_shape()), f"random{seed}")
    samples = [c.numpy() for c in calibration(model.input_shape(), 8, seed=1000 + seed)]
    lsb, agree = compare(q.program, samples, fused)
    assert lsb <= MAX_LSB + 1e-4 and agree == len(samples), (q.program.op_counts(), lsb, agree)


@pytest.mark.parametrize("fused", FUSED)
def test_depthwise_onnx(fused: bool) -> None:
    """DEPTHWISE_CONV2D -> Conv with group = C (depth multiplier 1 and 2), within the stated agreement."""
    from tests.lower.test_depthwise import SHAPE, Block

    torch.manual_seed(3)
    q = quantize_and_lower(Block(), calibration(SHAPE, 8), "block")
    m = onnx.load_model_from_string(export_onnx(read_artifact(artifact_bytes(q.program))))
    groups = sorted(
        next((a.i for a in n.attribute if a.name == "group"), 1) for n in m.graph.node if n.op_type == "Conv"
    )
    assert groups == [1, 1, 6, 6, 12], groups  # expand, project; grouped (6) and dw2 (C = 6); dw (C = 12)
    lsb, _ = compare(q.program, [c.numpy() for c in calibration(SHAPE, 8, seed=5)], fused)
    assert lsb <= MAX_LSB + 1e-4, lsb
