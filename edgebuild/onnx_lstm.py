"""onnx_lstm: the ONNX LSTM op as torch.nn.LSTM, registered with onnx2torch (1.5.15 has no LSTM converter; silero-vad's
files need one). torch.export captures nn.LSTM as aten.lstm, which core ATen decomposes into the matmuls and gates
edgebuild lowers (tests/lower/test_rnn_lstm_gru.py).

Supported: forward, reverse or bidirectional; layout 0 or 1; the default activations (Sigmoid, Tanh, Tanh); no clip,
no peepholes, no input_forget, no sequence_lens (every sequence is full length); W, R and B constant.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

_ONNX_TO_TORCH_GATES = [0, 2, 3, 1]  # ONNX stacks the gates i, o, f, c; PyTorch i, f, g(c), o


def _gates(w: torch.Tensor) -> torch.Tensor:
    """[4H, ...] in ONNX gate order -> PyTorch's."""
    return torch.cat([w.chunk(4, dim=0)[i] for i in _ONNX_TO_TORCH_GATES], dim=0)


class OnnxLSTM(nn.Module):
    """ONNX LSTM outputs (Y [T, D, B, H], Y_h [D, B, H], Y_c [D, B, H]; batch first with layout 1)."""

    def __init__(self, lstm: nn.LSTM, layout: int) -> None:
        super().__init__()
        self.lstm = lstm
        self.layout = layout

    def forward(
        self, x: torch.Tensor, initial_h: torch.Tensor | None = None, initial_c: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        d = 2 if self.lstm.bidirectional else 1
        h = self.lstm.hidden_size
        if self.layout == 1:  # x [B, T, I]; states [B, D, H]
            x = x.transpose(0, 1)
            initial_h = initial_h.transpose(0, 1) if initial_h is not None else None
            initial_c = initial_c.transpose(0, 1) if initial_c is not None else None
        t, b = x.shape[0], x.shape[1]
        if initial_h is None:
            initial_h = x.new_zeros(d, b, h)
        if initial_c is None:
            initial_c = x.new_zeros(d, b, h)
        y, (yh, yc) = self.lstm(x, (initial_h, initial_c))
        y = y.reshape(t, b, d, h).permute(0, 2, 1, 3)  # [T, D, B, H]
        if self.layout == 1:
            return y.permute(2, 0, 1, 3), yh.transpose(0, 1), yc.transpose(0, 1)
        return y, yh, yc


def _convert(node: Any, graph: Any) -> Any:
    from onnx2torch.utils.common import OnnxMapping, OperationConverterResult

    a = node.attributes
    direction = a.get("direction", "forward")
    direction = direction.decode() if isinstance(direction, bytes) else direction
    acts = [x.decode() if isinstance(x, bytes) else x for x in a.get("activations", [])]
    if acts and [s.lower() for s in acts] not in (
        ["sigmoid", "tanh", "tanh"],
        ["sigmoid", "tanh", "tanh"] * 2,
    ):
        raise NotImplementedError(f"LSTM activations {acts} (only Sigmoid, Tanh, Tanh)")
    if a.get("clip") is not None or a.get("input_forget", 0):
        raise NotImplementedError("LSTM with clip or input_forget")
    ins = list(node.input_values) + [""] * (8 - len(node.input_values))
    x_name, w_name, r_name, b_name, seq_lens, h_name, c_name, p_name = ins[:8]
    if seq_lens or p_name:
        raise NotImplementedError("LSTM with sequence_lens or peepholes")
    for name in (w_name, r_name, b_name):
        if name and name not in graph.initializers:
            raise NotImplementedError("LSTM whose weights are computed in the graph")
    w = graph.initializers[w_name].to_torch().float()  # [D, 4H, I]
    r = graph.initializers[r_name].to_torch().float()  # [D, 4H, H]
    d, four_h, size_in = w.shape
    hidden = four_h // 4
    bias = graph.initializers[b_name].to_torch().float() if b_name else torch.zeros(d, 8 * hidden)
    if direction not in ("forward", "reverse", "bidirectional"):
        raise NotImplementedError(f"LSTM direction {direction}")
    lstm = nn.LSTM(size_in, hidden, bidirectional=d == 2)
    with torch.no_grad():
        for k in range(d):
            sfx = "_reverse" if k == 1 else ""
            getattr(lstm, f"weight_ih_l0{sfx}").copy_(_gates(w[k]))
            getattr(lstm, f"weight_hh_l0{sfx}").copy_(_gates(r[k]))
            getattr(lstm, f"bias_ih_l0{sfx}").copy_(_gates(bias[k, :four_h]))
            getattr(lstm, f"bias_hh_l0{sfx}").copy_(_gates(bias[k, four_h:]))
    cell = OnnxLSTM(lstm.eval(), int(a.get("layout", 0)))
    module: nn.Module = _Reversed(cell) if direction == "reverse" else cell
    return OperationConverterResult(
        torch_module=module,
        onnx_mapping=OnnxMapping(inputs=(x_name, h_name, c_name), outputs=node.output_values),
    )


class _Reversed(nn.Module):
    """A reverse-direction LSTM: the forward one over the time-reversed sequence, its Y reversed back."""

    def __init__(self, inner: OnnxLSTM) -> None:
        super().__init__()
        self.inner = inner

    def forward(
        self, x: torch.Tensor, initial_h: torch.Tensor | None = None, initial_c: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        t_axis = 1 if self.inner.layout == 1 else 0
        y, yh, yc = self.inner(x.flip(t_axis), initial_h, initial_c)
        return y.flip(t_axis), yh, yc


def register() -> None:
    """Add the converter to onnx2torch's registry (once: LSTM has opsets 7 and 14)."""
    from onnx2torch.node_converters.registry import _CONVERTER_REGISTRY, add_converter

    for version in (7, 14):
        if not any(k.operation_type == "LSTM" and k.version == version for k in _CONVERTER_REGISTRY):
            add_converter(operation_type="LSTM", version=version)(_convert)
