"""DYNAMIC_FULLY_CONNECTED exported: to .tflite as a float32 1×1 CONV_2D on the dequantized weights, to ONNX as
DequantizeLinear (per output channel) + MatMul + Add (edgebuild/export/tflite/float_ops.py, export/onnx_float.py).

Neither format has a builtin that quantizes each row as docs/quantization.md (14) does (TFLite's hybrid
FULLY_CONNECTED and ONNX's DynamicQuantizeLinear round their own way; ONNX's takes one scale per tensor), so the
exported layer computes x · ŵᵀ + b in float on the artifact's own weight values ŵ = q_w · s_w. The artifact also rounds
x to its row's int8 grid (step s, error ≤ s/2 per element), so the two agree within Σ_k |ŵ[n, k]| · s/2 per output
(plus float32 rounding): the bound checked here, which a wrong weight, scale, transpose or bias breaks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from edgebuild.capture import graph_of
from edgebuild.export.onnx import export_onnx
from edgebuild.export.tflite import export_tflite
from edgebuild.ir import Program
from edgebuild.lower import lower_graph
from edgebuild.quantize import quantize_model
from edgebuild.serialize import artifact_bytes, read_artifact
from tests.helpers import run_native


class Head(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(48, 20)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


def _program(shape: tuple[int, ...]) -> tuple[Program, nn.Module]:
    torch.manual_seed(0)
    model = Head().eval()
    calib = [(torch.randn(*shape),) for _ in range(2)]
    prog = lower_graph(
        quantize_model(graph_of(torch.export.export(model, calib[0])), calib, activations="dynamic")
    )
    assert prog.op_counts() == {"DYNAMIC_FULLY_CONNECTED": 1}
    return read_artifact(artifact_bytes(prog)), model


def _bound(prog: Program, x: np.ndarray) -> np.ndarray:
    op = prog.ops[0]
    q_w, s_w = prog.tensors[op.inputs[1]].data, prog.tensors[op.inputs[2]].data
    assert q_w is not None and s_w is not None
    w_hat = np.abs(q_w.astype(np.float64) * s_w[:, None]).sum(1)
    rows = x.reshape(-1, x.shape[-1]).astype(np.float64)
    s = (np.maximum(rows.max(1), 0) - np.minimum(rows.min(1), 0)) / 255
    return ((s[:, None] / 2) * w_hat[None, :] * 1.001 + 1e-5).reshape(*x.shape[:-1], -1)


@pytest.mark.parametrize("shape", [(1, 48), (1, 5, 48)])
def test_onnx_and_tflite(shape: tuple[int, ...]) -> None:
    from tests.interop.litert import run_litert
    from tests.interop.ort import session

    prog, model = _program(shape)
    x = (np.random.default_rng(1).standard_normal(shape) * 2).astype(np.float32)
    ours = run_native(prog, [x])[0]
    bound = _bound(prog, x)
    sess = session(export_onnx(prog), fused=False)
    onnx_out = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    tfl_out = run_litert(export_tflite(prog), [x], "reference")[0]
    for theirs in (onnx_out, tfl_out):
        assert theirs.shape == ours.shape
        assert (np.abs(theirs - ours) <= bound).all(), float(np.abs(theirs - ours).max())
    with torch.no_grad():  # the float model agrees as well (the weights' own rounding on top)
        ref = model(torch.from_numpy(x)).numpy()
    assert np.abs(onnx_out - ref).max() < 0.02 * np.abs(ref).max()
