"""The float fallback end to end in the lowering: ops PT2E leaves in float, ops with no int8 kernel, layers forced to
float, and ops with no lowering at all. Structure first (which opcodes in which form, where the DEQUANTIZE /
QUANTIZE boundaries are, what report metadata says), then numbers.

Tolerances. Float parts against PyTorch fp32: max |ours − torch| <= 1e-5 · max |torch| (the issue's 1e-5
relative, norm-wise: elementwise relative error is meaningless near zero). Our kernels sum in double and round
once, PyTorch sums in fp32 in its own order, so the difference is PyTorch's summation error, ~1e-7 · sqrt(K)
relative for these sizes. Mixed int8/float models against PT2E's q/dq reference: within 2 output LSB (a float op
between int8 ops differs from PyTorch's by a few fp32 ULPs, which can move a following rounding by one step, and
one int8 op downstream can add one more).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from edgebuild.ir import DType, OpCode
from edgebuild.lower import (
    REASON_FORCED,
    REASON_NO_INT8,
    REASON_NOT_QUANTIZED,
    UnsupportedOpsError,
    lower_graph,
)
from edgebuild.quantize import quantize_model
from tests.helpers import native


def lower(model: nn.Module, calib: list[tuple[torch.Tensor, ...]], float_layers: tuple[str, ...] = ()):
    model = model.eval()
    example = calib[0]
    gm = torch.export.export(copy.deepcopy(model), example).module()
    qgm = quantize_model(gm, calib, float_layers=float_layers)
    return qgm, lower_graph(qgm, "m", float_layers=float_layers)


def run(prog, inputs: tuple[torch.Tensor, ...]) -> list[np.ndarray]:
    return [np.asarray(o) for o in native(prog).run([x.numpy() for x in inputs])]


def forms(prog) -> list[tuple[str, str]]:
    """(opcode, dtype of its output) per op, in order."""
    return [(op.opcode.name, prog.tensors[op.outputs[0]].dtype.name) for op in prog.ops]


def rel_err(got: np.ndarray, ref: np.ndarray) -> float:
    return float(np.abs(got - ref).max() / max(np.abs(ref).max(), 1e-30))


class SoftmaxMLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(24, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.softmax(self.fc1(x), dim=-1))  # softmax: no int8 kernel


class LogSoftmaxMLP(SoftmaxMLP):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.log_softmax(self.fc1(x), dim=-1))  # log_softmax: no int8 kernel


def mlp_calib(n: int = 16) -> list[tuple[torch.Tensor, ...]]:
    g = torch.Generator().manual_seed(0)
    return [(torch.randn(1, 24, generator=g),) for _ in range(n)]


def test_op_without_int8_kernel_runs_in_float_between_int8_ops() -> None:
    torch.manual_seed(0)
    model = LogSoftmaxMLP().eval()
    calib = mlp_calib()
    qgm, prog = lower(model, calib)
    f = forms(prog)
    i = f.index(("REDUCE", "FLOAT32"))
    # the boundaries: int8 FC -> DEQUANTIZE -> float log_softmax (max, shift, logsumexp, sub) -> QUANTIZE -> int8 FC
    assert f[i - 1] == ("DEQUANTIZE", "FLOAT32") and f[i + 4] == ("QUANTIZE", "INT8")
    assert f.count(("FULLY_CONNECTED", "INT8")) == 2
    (entry,) = [e for e in prog.metadata["float_ops"] if e["op"] == "aten.log_softmax.int"]
    assert entry["reason"] == REASON_NO_INT8
    assert entry["source"].startswith("test_float_fallback.py:")
    for x in calib[:4]:
        got = run(prog, x)[0]
        ref = qgm(*x).detach().numpy()
        lsb = prog.tensors[prog.ops[-1].inputs[0]].scale
        assert np.abs(got - ref).max() <= 2 * lsb + 1e-6


def test_forced_float_layer_keeps_float_weights() -> None:
    torch.manual_seed(1)
    model = SoftmaxMLP().eval()
    calib = mlp_calib()
    _, prog = lower(model, calib, float_layers=("fc2",))
    fcs = [op for op in prog.ops if op.opcode == OpCode.FULLY_CONNECTED]
    assert [prog.tensors[op.outputs[0]].dtype for op in fcs] == [DType.INT8, DType.FLOAT32]
    assert prog.tensors[fcs[1].inputs[1]].dtype == DType.FLOAT32  # weights never quantized
    reasons = {e["node"]: e["reason"] for e in prog.metadata["float_ops"]}
    assert reasons["linear_1"] == REASON_FORCED
    # fc2 and softmax are float: only fc1 is int8, so the output is close to the float model
    x = calib[0]
    got = run(prog, x)[0]
    ref = model(*x).detach().numpy()
    assert rel_err(got, ref) < 0.05


class FloatOnly(nn.Module):
    """Ops PT2E does not annotate at all (no q/dq anywhere): the whole model runs in float."""

    def __init__(self) -> None:
        super().__init__()
        self.ln = nn.LayerNorm(16)
        self.ln2 = nn.LayerNorm(16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.softmax(self.ln(x).transpose(1, 2), dim=-1)
        return self.ln2(y.transpose(1, 2).contiguous())


def test_model_with_no_quantized_op_is_all_float_and_within_1e5_of_pytorch() -> None:
    torch.manual_seed(2)
    model = FloatOnly().eval()
    calib = [(torch.randn(1, 8, 16),)]
    _, prog = lower(model, calib)
    assert "QUANTIZE" not in prog.op_counts() and "DEQUANTIZE" not in prog.op_counts()
    reasons = {e["op"]: e["reason"] for e in prog.metadata["float_ops"]}
    assert reasons["aten.layer_norm.default"] == REASON_NO_INT8
    # an int8 lowering exists, PT2E left it float (softmax: its input is float, so it is not annotated)
    assert reasons["aten.contiguous.default"] == reasons["aten.softmax.int"] == REASON_NOT_QUANTIZED
    x = (torch.randn(1, 8, 16),)
    assert rel_err(run(prog, x)[0], model(*x).detach().numpy()) <= 1e-5


class SmallCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1)
        self.c2 = nn.Conv2d(8, 8, 3, padding=1, groups=2)
        self.c3 = nn.Conv2d(8, 4, 1)
        self.fc = nn.Linear(4 * 4 * 12, 6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self.c1(x))
        y = F.max_pool2d(y, 2)
        y = y + F.relu(self.c2(y))
        y = torch.cat([self.c3(y), F.avg_pool2d(y, 3, 1, 1)], dim=1)
        y = F.hardtanh(y, -2.0, 2.0)
        return self.fc(torch.flatten(y, 1))


def test_float_forms_of_the_cnn_ops_match_pytorch() -> None:
    """Every layer forced to float: conv (grouped), pools, add, cat, clamps, flatten, linear in their float forms."""
    torch.manual_seed(3)
    model = SmallCNN().eval()
    calib = [(torch.randn(1, 3, 8, 8),)]
    layers = ("c1", "c2", "c3", "fc") + tuple(
        n.name for n in torch.export.export(model, calib[0]).module().graph.nodes if n.op == "call_function"
    )
    _, prog = lower(model, calib, float_layers=layers)
    counts = prog.op_counts()
    assert "QUANTIZE" not in counts and "DEQUANTIZE" not in counts
    for name in ("CONV2D", "MAX_POOL2D", "AVG_POOL2D", "ADD", "CONCAT", "CLAMP", "FULLY_CONNECTED"):
        assert name in counts, name
    assert all(e["reason"] == REASON_FORCED for e in prog.metadata["float_ops"])
    for seed in range(3):
        x = (torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(seed)),)
        assert rel_err(run(prog, x)[0], model(*x).detach().numpy()) <= 1e-5


class Unlowerable(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cumprod(self.fc(x), dim=-1)  # no lowering of any kind


def test_op_with_no_lowering_stops_the_build_naming_op_count_and_line() -> None:
    model = Unlowerable().eval()
    with pytest.raises(UnsupportedOpsError) as e:
        lower(model, [(torch.randn(1, 8),)])
    msg = str(e.value)
    assert "no int8 lowering and no float fallback" in msg
    assert "aten.cumprod.default ×1 at test_float_fallback.py:" in msg
    assert [u.name for u in e.value.ops] == ["aten.cumprod.default"]


class Unquantized(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.softmax(x, dim=-1))


def test_op_pt2e_left_in_float_is_reported_as_not_quantized() -> None:
    """A linear whose input comes straight from a float op without a quantize node (the quantizer annotated
    nothing around it because it was told not to) runs in float with the reason 'not quantized by PT2E'."""
    model = Unquantized().eval()
    calib = [(torch.randn(1, 8),)]
    gm = torch.export.export(copy.deepcopy(model), calib[0]).module()
    # the quantizer skips fc and softmax (which has an int8 form now), the lowering is not told
    qgm = quantize_model(gm, calib, float_layers=("fc", "softmax"))
    prog = lower_graph(qgm, "m")
    reasons = {e["op"]: e["reason"] for e in prog.metadata["float_ops"]}
    assert reasons == {"aten.softmax.int": REASON_NOT_QUANTIZED, "aten.linear.default": REASON_NOT_QUANTIZED}
    x = (torch.randn(1, 8),)
    assert rel_err(run(prog, x)[0], model(*x).detach().numpy()) <= 1e-5


def test_dynamic_shapes_are_refused_clearly() -> None:
    model = Unquantized().eval()
    batch = torch.export.Dim("batch", min=2, max=8)
    ep = torch.export.export(model, (torch.randn(2, 8),), dynamic_shapes=({0: batch},))
    from edgebuild.errors import EdgebuildError

    with pytest.raises(EdgebuildError, match="dynamic shape .* static shapes"):
        lower_graph(ep.module(), "m")


class Attention(nn.Module):
    def __init__(self, causal: bool, mask: bool) -> None:
        super().__init__()
        self.q, self.k, self.v = nn.Linear(16, 16), nn.Linear(16, 16), nn.Linear(16, 16)
        self.causal, self.mask = causal, mask

    def forward(self, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        q, k, v = (f(x).view(1, 6, 2, 8).transpose(1, 2) for f in (self.q, self.k, self.v))
        mask = m if self.mask else None
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=self.causal)


@pytest.mark.parametrize("causal, mask", [(True, False), (False, True)])
def test_sdpa_causal_and_masked_within_1e5_of_pytorch(causal: bool, mask: bool) -> None:
    """Attention in float (the linears forced to float too): causal (a constant −inf triangle) or with a float
    additive mask of the scores' shape given as a second model input."""
    torch.manual_seed(4)
    model = Attention(causal, mask).eval()
    g = torch.Generator().manual_seed(0)
    x = (torch.randn(1, 6, 16, generator=g), torch.randn(1, 2, 6, 6, generator=g).clamp(max=0) * 3)
    gm = torch.export.export(copy.deepcopy(model), x).module()
    layers = ("q", "k", "v") + tuple(n.name for n in gm.graph.nodes if n.op == "call_function")
    qgm = quantize_model(gm, [x], float_layers=layers)
    prog = lower_graph(qgm, "attn", float_layers=layers)
    # scores, mask (or causal triangle) add, softmax and P·V: one ATTENTION op (lower/fuse_attention.py)
    assert prog.op_counts()["ATTENTION"] == 1 and not {"SOFTMAX", "ADD"} & set(prog.op_counts())
    assert rel_err(run(prog, x)[0], model(*x).detach().numpy()) <= 1e-5
