"""edgebuild/onnx_lstm.py: ONNX LSTM files (torch.onnx.export of nn.LSTM: forward and bidirectional, one and two
layers, with and without initial states) converted and run against ONNX Runtime, and the forward one built in float.

Bound: 1e-5 absolute. float32 both ways; each gate is a sum of (input + hidden) <= 24 products, sigmoid / tanh keep
|h| < 1 and |c| grows by < 1 per step, over 5 steps. Measured ~3e-7."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from torch import nn

from edgebuild.capture import capture
from edgebuild.load import load_model
from edgebuild.lower import lower_graph
from tests.helpers import run_native
from tests.onnx_in.onnx_files import OPSET, ort_run

ATOL = 1e-5


class Recurrent(nn.Module):
    def __init__(self, bidirectional: bool, layers: int, states: bool) -> None:
        super().__init__()
        torch.manual_seed(layers + 2 * bidirectional)
        self.rnn = nn.LSTM(8, 16, num_layers=layers, bidirectional=bidirectional, batch_first=True)
        self.states = states

    def forward(
        self, x: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        y, (h, c) = self.rnn(x, (h0, c0) if self.states else None)
        return y, h + c


@pytest.mark.parametrize(
    ("bidirectional", "layers", "states"), [(False, 1, True), (True, 1, False), (True, 2, True)]
)
def test_lstm_matches_onnxruntime(tmp_path: Path, bidirectional: bool, layers: int, states: bool) -> None:
    model = Recurrent(bidirectional, layers, states).eval()
    d = 2 if bidirectional else 1
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 5, 8)).astype(np.float32)
    h0, c0 = (
        (0.5 * rng.standard_normal((d * layers, 1, 16))).astype(np.float32),
        np.zeros((d * layers, 1, 16), np.float32),
    )
    path = tmp_path / "lstm.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, tuple(torch.from_numpy(a) for a in (x, h0, c0)), str(path), dynamo=False, opset_version=OPSET,
            input_names=["x", "h0", "c0"], output_names=["y", "hc"],
        )  # fmt: skip
    used = {i.name for i in onnx.load(str(path)).graph.input}  # unused states are not inputs of the file
    feeds = {k: v for k, v in {"x": x, "h0": h0, "c0": c0}.items() if k in used}
    want = ort_run(path, feeds)
    loaded = load_model(path)
    # edgebuild's form: an input whose first dim is not 1 (the states [D·L, 1, 16]) gets a leading batch axis
    args = [a[None] if a.shape[0] != 1 else a for a in feeds.values()]
    got = loaded.exported.module()(*(torch.from_numpy(a) for a in args))  # type: ignore[union-attr]
    for g, w in zip(got, want):
        assert np.abs(g.detach().numpy().reshape(w.shape) - w).max() <= ATOL
    if not bidirectional:
        prog = lower_graph(capture(loaded, args), name="lstm")
        for g, w in zip(run_native(prog, args), want):
            assert np.abs(g.reshape(w.shape) - w).max() <= ATOL
