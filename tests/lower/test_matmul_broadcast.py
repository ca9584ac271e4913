"""N-D linear, matmul / bmm / mm / addmm with torch.matmul's broadcasting, and scaled_dot_product_attention with
broadcastable masks, against PyTorch eager (float) and PT2E's q/dq reference (int8).

Bounds. Float: BATCH_MATMUL and FULLY_CONNECTED sum in double and round once (±½ ulp of the exact sum); PyTorch sums
in float32, off by up to ~K·ε·Σ|a·b| (K <= 16 here, entries ~N(0, 1): < 1e-5 absolute), so atol 2e-5 + rtol 1e-5.
Attention adds our SOFTMAX (f32math exp, ~1 ulp) to two such products: atol 1e-5 + rtol 1e-4 on outputs of
magnitude ~1. Int8: each output is one rounding of an integer accumulator that PT2E's reference rounds once too:
within 1 LSB.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from tests.helpers import op_by_op, quantize_and_lower, run_native
from tests.lower.conv_helpers import run_float
from tests.models import calibration


class Fn(nn.Module):
    def __init__(self, fn, *consts: torch.Tensor) -> None:
        super().__init__()
        self.fn = fn
        for i, c in enumerate(consts):
            self.register_buffer(f"c{i}", c)

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return self.fn(self, *xs)


@st.composite
def broadcast_pair(draw: st.DrawFn) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Two matmul operand shapes: ranks 1..4, batch dims that broadcast (sizes 1 or n)."""
    m, k, n = draw(st.integers(1, 5)), draw(st.integers(1, 16)), draw(st.integers(1, 5))
    ra, rb = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    batch = [draw(st.integers(2, 3)) for _ in range(max(ra, rb) - 2)]

    def dims(rank: int) -> tuple[int, ...]:
        own = batch[len(batch) - (rank - 2) :] if rank > 2 else []
        return tuple(b if draw(st.booleans()) else 1 for b in own)

    a = (k,) if ra == 1 else (*dims(ra), m, k)
    b = (k,) if rb == 1 else (*dims(rb), k, n)
    return (1, *a[1:]) if len(a) == 4 else a, b


@settings(max_examples=12, deadline=None)
@given(broadcast_pair())
def test_matmul_broadcast_float(shapes: tuple[tuple[int, ...], tuple[int, ...]]) -> None:
    sa, sb = shapes
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(sa, generator=g), torch.randn(sb, generator=g)
    m = Fn(lambda s, x, y: torch.matmul(x, y))
    prog, (got,) = run_float(m, (a, b))
    assert prog.op_counts().get("BATCH_MATMUL") == 1, prog.op_counts()
    np.testing.assert_allclose(got, torch.matmul(a, b).numpy(), atol=2e-5, rtol=1e-5)


@settings(max_examples=8, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=3), st.integers(1, 12), st.integers(1, 6))
def test_matmul_by_constant_is_fully_connected(lead: list[int], k: int, n: int) -> None:
    g = torch.Generator().manual_seed(1)
    a, w = torch.randn((1, *lead, k), generator=g), torch.randn(k, n, generator=g)
    m = Fn(lambda s, x: torch.matmul(x, s.c0), w)
    prog, (got,) = run_float(m, (a,))
    assert prog.op_counts().get("FULLY_CONNECTED") == 1, prog.op_counts()
    np.testing.assert_allclose(got, m(a).numpy(), atol=2e-5, rtol=1e-5)


def test_addmm_and_mm_float() -> None:
    g = torch.Generator().manual_seed(2)
    x, w, b = torch.randn(3, 7, generator=g), torch.randn(7, 5, generator=g), torch.randn(5, generator=g)
    for fn, want in [
        (lambda s, x: torch.addmm(s.c1, x, s.c0), "FULLY_CONNECTED"),
        (lambda s, x: torch.addmm(s.c1, x, s.c0, beta=0.5, alpha=2.0), "BATCH_MATMUL"),
        (lambda s, x: torch.mm(x, x.t()), "BATCH_MATMUL"),
    ]:
        m = Fn(fn, w, b)
        prog, (got,) = run_float(m, (x,))
        assert prog.op_counts().get(want) == 1, prog.op_counts()
        np.testing.assert_allclose(got, m(x).numpy(), atol=2e-5, rtol=1e-5)


class Mlp(nn.Module):
    """ConvNeXt's channels-last MLP: conv, permute to NHWC, linear on a 4-D activation, permute back."""

    def __init__(self, c: int, hidden: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, c, 3, padding=1)
        self.fc1, self.fc2 = nn.Linear(c, hidden), nn.Linear(hidden, c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x).permute(0, 2, 3, 1)
        return self.fc2(torch.relu(self.fc1(y))).permute(0, 3, 1, 2)


def test_linear_on_4d_activation_int8_and_float() -> None:
    torch.manual_seed(3)
    m = Mlp(8, 12).eval()
    q = quantize_and_lower(m, calibration((1, 3, 5, 6), 8))
    assert q.program.op_counts().get("FULLY_CONNECTED") == 2, q.program.op_counts()
    assert not q.program.metadata.get("float_ops"), q.program.metadata.get("float_ops")
    checks = [c for c in op_by_op(q, calibration((1, 3, 5, 6), 1, seed=9)[0].numpy()) if c.aten != "quantize"]
    assert any(c.aten == "aten.linear.default" for c in checks)
    assert max(c.max_lsb for c in checks) <= 1, checks
    x = torch.randn(1, 3, 5, 6)
    _, (got,) = run_float(m, (x,))
    with torch.no_grad():
        np.testing.assert_allclose(got, m(x).numpy(), atol=2e-5, rtol=1e-5)


class BatchedProduct(nn.Module):
    """Two int8 activations multiplied with broadcasting over the batch dims."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(6, 8), nn.Linear(6, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.matmul(self.a(x).transpose(-1, -2)[:, :1], self.b(x))  # [1,1,8,3] @ [1,2,3,5]


def test_matmul_broadcast_int8_within_one_lsb() -> None:
    torch.manual_seed(4)
    q = quantize_and_lower(BatchedProduct(), calibration((1, 2, 3, 6), 8))
    assert q.program.op_counts().get("BATCH_MATMUL") == 1, q.program.op_counts()
    checks = [c for c in op_by_op(q, calibration((1, 2, 3, 6), 1, seed=2)[0].numpy())]
    assert any(c.aten == "aten.matmul.default" for c in checks)
    assert max(c.max_lsb for c in checks) <= 1, checks


@st.composite
def attention_case(draw: st.DrawFn) -> tuple[tuple[int, ...], ...]:
    b, h = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    lq, s, e = draw(st.integers(1, 5)), draw(st.integers(1, 6)), draw(st.integers(1, 8))
    mask = tuple(d if draw(st.booleans()) else 1 for d in (b, h, lq, s))
    mask = mask[draw(st.integers(0, 2)) :]  # rank 2..4
    return (b, h, lq, e), (b, h, s, e), mask


@settings(max_examples=12, deadline=None)
@given(attention_case(), st.sampled_from(["float", "bool", "causal", "none"]), st.booleans())
def test_sdpa_masks_float(case: tuple[tuple[int, ...], ...], kind: str, computed: bool) -> None:
    sq, sk, sm = case
    g = torch.Generator().manual_seed(5)
    q, k, v = (torch.randn(s, generator=g) for s in (sq, sk, sk))
    if kind == "bool":
        mask = torch.rand(sm, generator=g) > 0.3
        mask[..., 0] = True  # every query sees a key (a fully masked row is NaN in PyTorch too)
    else:
        mask = torch.randn(sm, generator=g)
    if kind == "causal":
        m = Fn(lambda s, q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True))
        inputs = (q, k, v)
    elif kind == "none":
        m = Fn(lambda s, q, k, v: F.scaled_dot_product_attention(q, k, v))
        inputs = (q, k, v)
    elif computed and kind == "float":  # the mask is a model input
        m = Fn(lambda s, q, k, v, mk: F.scaled_dot_product_attention(q, k, v, attn_mask=mk))
        inputs = (q, k, v, mask)
    else:  # a constant mask (bool masks are constants: build time)
        m = Fn(lambda s, q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=s.c0), mask)
        inputs = (q, k, v)
    prog, (got,) = run_float(m, inputs)
    # one ATTENTION (lower/fuse_attention.py) where the mask broadcasts along S, else the ops themselves
    c = prog.op_counts()
    assert c.get("ATTENTION") == 1 or (c.get("SOFTMAX") == 1 and c.get("BATCH_MATMUL") == 2), c
    np.testing.assert_allclose(got, m(*inputs).numpy(), atol=1e-5, rtol=1e-4)


def test_sdpa_grouped_query_heads() -> None:
    g = torch.Generator().manual_seed(6)
    q, k, v = (
        torch.randn(1, 4, 3, 8, generator=g),
        torch.randn(1, 2, 5, 8, generator=g),
        torch.randn(1, 2, 5, 8),
    )
    m = Fn(lambda s, q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True))
    _, (got,) = run_float(m, (q, k, v))
    np.testing.assert_allclose(got, m(q, k, v).numpy(), atol=1e-5, rtol=1e-4)


class Addmm(nn.Module):
    """A linear layer as core ATen writes it: addmm(bias, x, weightᵀ) with a [K, N] constant weight."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("w", torch.randn(9, 6) * 0.3)
        self.register_buffer("b", torch.randn(6) * 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(torch.addmm(self.b, x, self.w))


def test_addmm_int8_within_one_lsb() -> None:
    torch.manual_seed(7)
    q = quantize_and_lower(Addmm(), calibration((3, 9), 8))
    assert q.program.op_counts().get("FULLY_CONNECTED") == 1, q.program.op_counts()
    assert not q.program.metadata.get("float_ops"), q.program.metadata.get("float_ops")
    # op_by_op reads an op's first tensor argument as its input (addmm's is the bias): compare the output, the
    # addmm's own quantized result (the input's QUANTIZE is exact: checked by op_by_op's "quantize" entry)
    qout = next(n for n in q.qgm.graph.nodes if n.op == "output").args[0][0]
    scale = float(qout.args[1])
    for seed in (3, 4):
        x = calibration((3, 9), 1, seed=seed)[0]
        assert all(c.max_lsb == 0 for c in op_by_op(q, x.numpy()) if c.aten == "quantize")
        (got,) = run_native(q.program, [x.numpy()])
        lsb = np.abs(got - q.qgm(x).detach().numpy()).max() / scale
        assert lsb <= 1.0001, lsb


def test_sdpa_computed_bool_mask() -> None:
    """A bool mask computed in the model (int32 0/1 at run time) over batch and heads: WHERE(mask, 0, -inf)."""
    g = torch.Generator().manual_seed(8)
    q, k, v = (
        torch.randn(2, 3, 4, 8, generator=g),
        torch.randn(2, 3, 5, 8, generator=g),
        torch.randn(2, 3, 5, 8),
    )
    mk = torch.randn(2, 1, 1, 5, generator=g)
    mk[..., 0] = 1.0  # every query sees a key
    m = Fn(lambda s, q, k, v, mk: F.scaled_dot_product_attention(q, k, v, attn_mask=mk > 0))
    prog, (got,) = run_float(m, (q, k, v, mk))
    assert prog.op_counts().get("WHERE") == 1, prog.op_counts()
    np.testing.assert_allclose(got, m(q, k, v, mk).numpy(), atol=1e-5, rtol=1e-4)
