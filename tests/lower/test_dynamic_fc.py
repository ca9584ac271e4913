"""DYNAMIC_FULLY_CONNECTED from Python (lower/ops/dynamic_fc.py, quantize.py `activations`): which layers go dynamic,
the weights and scales the lowering stores (docs/quantization.md (14), preamble), and the runtime's output against a
NumPy model of (14)-(15) (exact: every step is one float32 or int32 operation in a fixed order) and against float
PyTorch within the bound the two quantizations allow."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from edgebuild.capture import graph_of
from edgebuild.lower import lower_graph
from edgebuild.lower.ops.dynamic_fc import quantize_weight_rows
from edgebuild.quantize import dynamic_linears, has_attention_or_norm, quantize_model
from tests.helpers import run_native


def qd8_reference(x: np.ndarray, q_w: np.ndarray, s_w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    """docs/quantization.md (14)-(15) in NumPy, one row at a time, float32 steps in the written order."""
    f32 = np.float32
    rows = x.reshape(-1, x.shape[-1]).astype(f32)
    out = np.empty((rows.shape[0], q_w.shape[0]), f32)
    col_sums = q_w.astype(np.int32).sum(axis=1)
    for m, row in enumerate(rows):
        lo, hi = min(f32(0), row.min()), max(f32(0), row.max())
        s = f32(f32(hi - lo) / f32(255))
        if s < np.finfo(f32).tiny:
            s, zp, q = f32(1), 0, np.zeros_like(row, np.int32)
        else:
            zp = int(np.clip(-128 - np.rint(f32(lo / s)), -128, 127))
            inv = f32(f32(1) / s)
            q = np.clip(np.rint((row * inv).astype(f32)).astype(np.int64) + zp, -128, 127).astype(np.int32)
        acc = q_w.astype(np.int32) @ q - zp * col_sums
        y = acc.astype(f32) * (s * s_w).astype(f32)
        out[m] = y + b if b is not None else y
    return out.reshape(*x.shape[:-1], q_w.shape[0])


def quantization_bound(x: np.ndarray, w: np.ndarray, q_w: np.ndarray, s_w: np.ndarray) -> np.ndarray:
    """|int8 result - float result| per output: each x[k] is off by at most s/2 (its row's step), each w[n, k] by
    s_w[n]/2, so |Σ x·w - Σ x̂·ŵ| ≤ Σ_k (|x_k|·s_w/2 + |ŵ_nk|·s/2); plus float32 rounding of the epilogue."""
    rows = x.reshape(-1, x.shape[-1]).astype(np.float64)
    s = (np.maximum(rows.max(1), 0) - np.minimum(rows.min(1), 0)) / 255
    w_hat = q_w.astype(np.float64) * s_w[:, None]
    bound = (
        np.abs(rows) @ (np.ones_like(w.T) * s_w[None, :] / 2) + s[:, None] / 2 * np.abs(w_hat).sum(1)[None, :]
    )
    return (bound * 1.001 + 1e-6).reshape(*x.shape[:-1], w.shape[0])


def test_weight_rows_as_specified() -> None:
    rng = np.random.default_rng(0)
    w = rng.standard_normal((6, 33)).astype(np.float32) * np.float32(0.3)
    w[2] = 0  # all-zero row: scale 1, codes 0
    w[3, :] = 0
    w[3, 5] = np.float32(1e-44)  # a row whose scale underflows to 0: scale 1 as well
    w[4, 7] = -w[4].__abs__().max() * 2  # the row's largest magnitude negative: code -127
    q, s = quantize_weight_rows(w)
    assert q.dtype == np.int8 and s.dtype == np.float32
    for n in range(w.shape[0]):
        amax = np.float32(np.abs(w[n]).max())
        want = np.float32(1) if amax / np.float32(127) == 0 else amax / np.float32(127)
        assert s[n] == want
        assert (q[n] == np.clip(np.rint(w[n] / want), -127, 127)).all()
    assert s[2] == 1 and s[3] == 1 and not q[2].any() and not q[3].any()
    assert q[4, 7] == -127 and q.min() >= -127


class Linear(nn.Module):
    def __init__(self, k: int, n: int, bias: bool = True) -> None:
        super().__init__()
        self.fc = nn.Linear(k, n, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


class MatmulParam(nn.Module):
    """x @ W with a parameter W [K, N] (aten.matmul by a constant), then a ReLU that stays float."""

    def __init__(self, k: int, n: int) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.randn(k, n) * 0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x @ self.w)


def _build(model: nn.Module, shape: tuple[int, ...], activations: str, seed: int = 0):
    torch.manual_seed(seed)
    calib = [torch.randn(*shape) * 2 + 0.5 for _ in range(3)]
    gm = graph_of(torch.export.export(model.eval(), (calib[0],)))
    qgm = quantize_model(gm, [(c,) for c in calib], activations=activations)
    return qgm, lower_graph(qgm, "m")


@pytest.mark.parametrize(
    ("k", "n", "shape", "bias"),
    [(40, 24, (1, 7, 40), True), (1, 3, (5, 1), False), (97, 1, (1, 2, 3, 97), True), (16, 17, (16,), True)],
)
def test_linear_lowered_dynamic(k: int, n: int, shape: tuple[int, ...], bias: bool) -> None:
    torch.manual_seed(k)
    model = Linear(k, n, bias).eval()
    qgm, prog = _build(model, shape, "dynamic")
    assert prog.op_counts() == {"DYNAMIC_FULLY_CONNECTED": 1}
    assert qgm.meta["edgebuild_dynamic"] == {"linear": "fc"}
    assert prog.metadata["dynamic_ops"][0]["layer"] == "fc"
    op = prog.ops[0]
    w_t, s_t = prog.tensors[op.inputs[1]], prog.tensors[op.inputs[2]]
    q_w, s_w = quantize_weight_rows(model.fc.weight.detach().numpy())
    assert (w_t.data == q_w).all() and (s_t.data == s_w).all()
    b = model.fc.bias.detach().numpy() if bias else None
    assert (op.inputs[3] == -1) == (not bias)
    rng = np.random.default_rng(k)
    x = (rng.standard_normal(shape) * 3).astype(np.float32)
    x.reshape(-1, k)[0] = 0  # an all-zero row (s = 1, zp = 0)
    got = run_native(prog, [x])[0]
    assert np.array_equal(got, qd8_reference(x, q_w, s_w, b))
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    err = np.abs(got.astype(np.float64) - ref)
    assert (err <= quantization_bound(x, model.fc.weight.detach().numpy(), q_w, s_w)).all()
    assert np.abs(got).max() > 0


def test_matmul_by_constant_and_static_mode() -> None:
    torch.manual_seed(1)
    model = MatmulParam(24, 10).eval()
    qgm, prog = _build(model, (1, 5, 24), "dynamic")
    counts = prog.op_counts()
    assert counts.get("DYNAMIC_FULLY_CONNECTED") == 1 and "QUANTIZE" not in counts, counts
    x = np.random.default_rng(1).standard_normal((1, 5, 24)).astype(np.float32)
    q_w, s_w = quantize_weight_rows(model.w.detach().numpy().T)
    got = run_native(prog, [x])[0]
    assert np.array_equal(got, np.maximum(qd8_reference(x, q_w, s_w, None), 0))
    # static: today's int8 FULLY_CONNECTED, nothing dynamic
    qgm, prog = _build(Linear(24, 10).eval(), (1, 5, 24), "static")
    assert "DYNAMIC_FULLY_CONNECTED" not in prog.op_counts() and qgm.meta["edgebuild_dynamic"] == {}


class TinyEncoder(nn.Module):
    """One attention head with a padding mask filled with finfo.min (as transformers' BERT does), a layer norm, a
    GELU MLP: every linear layer dynamic, everything else float (no QUANTIZE anywhere)."""

    def __init__(self, d: int = 16) -> None:
        super().__init__()
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.norm = nn.LayerNorm(d)
        self.up, self.down = nn.Linear(d, 2 * d), nn.Linear(2 * d, d)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        bias = (1.0 - mask[:, None, :]) * torch.finfo(torch.float32).min
        att = torch.softmax(self.q(x) @ self.k(x).transpose(1, 2) / 4.0 + bias, dim=-1)
        h = self.norm(x + self.o(att @ self.v(x)))
        return h + self.down(torch.nn.functional.gelu(self.up(h)))


class SmallCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.fc = nn.Linear(8 * 6 * 6, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu(self.conv(x)).flatten(1))


def test_auto_picks_transformers() -> None:
    enc = TinyEncoder().eval()
    x, mask = torch.randn(1, 6, 16), torch.ones(1, 6)
    mask[0, 4:] = 0
    gm = graph_of(torch.export.export(enc, (x, mask)))
    assert has_attention_or_norm(gm)
    # the six linear layers and the two attention products (node names: no module of their own)
    assert sorted(dynamic_linears(gm, "auto").values()) == sorted(
        ["q", "k", "v", "o", "up", "down", "matmul", "matmul_1"]
    )
    assert dynamic_linears(gm, "static") == {} and dynamic_linears(gm, "static", ["up"]) == {"linear_4": "up"}
    assert set(dynamic_linears(gm, "dynamic", float_layers=["q"]).values()) == {
        "k",
        "v",
        "o",
        "up",
        "down",
        "matmul",
        "matmul_1",
    }
    cnn = graph_of(torch.export.export(SmallCNN().eval(), (torch.randn(1, 3, 6, 6),)))
    assert not has_attention_or_norm(cnn) and dynamic_linears(cnn, "auto") == {}
    assert dynamic_linears(cnn, "dynamic") == {"linear": "fc"}


def test_float_around_dynamic_layers() -> None:
    """The mask add (finfo.min), softmax, layer norm and GELU stay float, the attention products are
    DYNAMIC_BATCH_MATMUL (float in and out): no QUANTIZE, no int8 op; the output is close to float and depends on the
    input."""
    torch.manual_seed(0)
    enc = TinyEncoder().eval()
    calib = [(torch.randn(1, 6, 16), torch.tensor([[1.0, 1, 1, 1, 0, 0]])) for _ in range(3)]
    gm = graph_of(torch.export.export(enc, calib[0]))
    # the products unfused (fuse_attention=False) as they lower; tests/lower/test_fuse_attention.py has the fused op
    prog = lower_graph(quantize_model(gm, calib, activations="auto"), "enc", fuse_attention=False)
    counts = prog.op_counts()
    assert counts["DYNAMIC_FULLY_CONNECTED"] == 6 and counts["DYNAMIC_BATCH_MATMUL"] == 2
    assert not {"QUANTIZE", "DEQUANTIZE", "FULLY_CONNECTED"} & set(counts), counts
    assert all(prog.tensors[t].dtype.name == "FLOAT32" for op in prog.ops for t in op.outputs)
    outs = []
    for seed in (1, 2):
        x = np.random.default_rng(seed).standard_normal((1, 6, 16)).astype(np.float32)
        m = np.array([[1, 1, 1, 1, 0, 0]], np.float32)
        got = run_native(prog, [x, m])[0]
        with torch.no_grad():
            ref = enc(torch.from_numpy(x), torch.from_numpy(m)).numpy()
        cos = float((got * ref).sum() / np.linalg.norm(got) / np.linalg.norm(ref))
        assert cos > 0.999, cos
        outs.append(got)
    assert np.abs(outs[0] - outs[1]).max() > 0.1  # the output depends on the input


def test_convolution_stays_int8_in_dynamic_mode() -> None:
    torch.manual_seed(0)
    _, prog = _build(SmallCNN().eval(), (1, 3, 6, 6), "dynamic")
    counts = prog.op_counts()
    assert counts.get("CONV2D") == 1 and counts.get("DYNAMIC_FULLY_CONNECTED") == 1, counts
    conv = next(op for op in prog.ops if op.opcode.name == "CONV2D")
    assert prog.tensors[conv.outputs[0]].dtype.name == "INT8"
    assert "FULLY_CONNECTED" not in counts


class AddmmMm(nn.Module):
    """torch.addmm and torch.mm by parameters: the core ATen forms (aten.addmm / aten.mm) the coverage table claims."""

    def __init__(self) -> None:
        super().__init__()
        self.w1, self.b1 = nn.Parameter(torch.randn(12, 9) * 0.3), nn.Parameter(torch.randn(9))
        self.w2 = nn.Parameter(torch.randn(9, 4) * 0.3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.mm(torch.addmm(self.b1, x, self.w1), self.w2)


def test_addmm_and_mm_dynamic() -> None:
    from edgebuild.coverage import coverage_table

    claimed = {r.op for r in coverage_table() if r.dynamic}
    assert claimed == {"aten.addmm.default", "aten.mm.default", "aten.bmm.default"}  # bmm: attention products
    torch.manual_seed(2)
    model = AddmmMm().eval()
    _, prog = _build(model, (3, 12), "dynamic")
    assert prog.op_counts() == {"DYNAMIC_FULLY_CONNECTED": 2}
    assert {e["op"] for e in prog.metadata["dynamic_ops"]} == claimed - {"aten.bmm.default"}
    x = np.random.default_rng(2).standard_normal((3, 12)).astype(np.float32)
    q1, s1 = quantize_weight_rows(model.w1.detach().numpy().T)
    q2, s2 = quantize_weight_rows(model.w2.detach().numpy().T)
    h = qd8_reference(x, q1, s1, model.b1.detach().numpy())
    assert np.array_equal(run_native(prog, [x])[0], qd8_reference(h, q2, s2, None))


def test_too_long_rows_fall_back_to_float() -> None:
    """K above the runtime's 16384 (kernels/runtime/ops/dynamic_fully_connected.cc): the float form, with why."""
    _, prog = _build(Linear(16385, 2).eval(), (1, 16385), "dynamic")
    assert prog.op_counts() == {"FULLY_CONNECTED": 1}
    (entry,) = prog.metadata["float_ops"]
    assert entry["reason"].startswith("the dynamic form refuses it: K = 16385 exceeds")
