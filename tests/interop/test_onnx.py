"""ONNX (QDQ) export run in onnxruntime (CPU, one thread) next to edgebuild's runtime on the same float inputs.

onnxruntime fuses the QDQ groups into its int8 kernels, whose requantization rounds in float; the stated agreement
(docs/integration.md) is what this file asserts: every output within 2 LSB of edgebuild's, top-1 identical.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from edgebuild.export.onnx import export_onnx
from edgebuild.ir import Program
from edgebuild.serialize import artifact_bytes, read_artifact
from tests.helpers import native, quantize_and_lower
from tests.interop.test_tflite import output_scale
from tests.models import RandomCNN, calibration

MAX_LSB = 2.0


def compare(prog: Program, samples: list[np.ndarray]) -> tuple[float, int]:
    data = export_onnx(read_artifact(artifact_bytes(prog)))
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])
    model = native(prog)
    lsb, agree = 0.0, 0
    for x in samples:
        ours = np.asarray(model.run([x])[0])
        theirs = sess.run(None, {sess.get_inputs()[0].name: x})[0]
        lsb = max(lsb, float(np.abs(ours - theirs).max()) / output_scale(prog))
        agree += int(np.array_equal(ours.argmax(-1), theirs.argmax(-1)))
    return lsb, agree


def test_digits_onnx() -> None:
    from examples.digits.model import DigitsCNN

    data = np.load("examples/digits/calib.npz")["x"].astype(np.float32)
    model = DigitsCNN()
    model.load_state_dict(torch.load("examples/digits/state_dict.pt", weights_only=True))
    q = quantize_and_lower(model, [torch.from_numpy(data[i : i + 1]) for i in range(32)], "digits")
    m = onnx.load_model_from_string(export_onnx(read_artifact(artifact_bytes(q.program))))
    ops = [n.op_type for n in m.graph.node]
    assert ops.count("Conv") == 4 and ops.count("Gemm") == 1 and ops.count("QuantizeLinear") >= 9
    samples = [data[i : i + 1] for i in range(40, 104)]
    lsb, agree = compare(q.program, samples)
    assert lsb <= MAX_LSB + 1e-4 and agree == len(samples), (lsb, agree)


@pytest.mark.parametrize("seed", range(10))
def test_random_cnn_onnx(seed: int) -> None:
    model = RandomCNN(seed)
    q = quantize_and_lower(model, calibration(model.input_shape()), f"random{seed}")
    samples = [c.numpy() for c in calibration(model.input_shape(), 8, seed=1000 + seed)]
    lsb, agree = compare(q.program, samples)
    assert lsb <= MAX_LSB + 1e-4 and agree == len(samples), (q.program.op_counts(), lsb, agree)
