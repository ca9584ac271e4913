"""DYNAMIC_FULLY_CONNECTED and DYNAMIC_BATCH_MATMUL (issue 19) against a numpy model of docs/quantization.md
(14)-(16), bit for bit, on every host ISA (EDGEBUILD_ISA): the reference kernels against the equations (the oracle),
the ISA variants against the same bits. numpy float32 arithmetic is IEEE single, round-to-nearest-even, no fused
multiply-add: the same steps the equations write."""

from __future__ import annotations

import numpy as np
import pytest

from edgebuild import _native
from edgebuild.ir import DType, Op, OpCode, Program, Tensor
from edgebuild.lower import f32_bits_of
from tests.helpers import native

F = np.float32
HOST_ISAS = ["ref", *[i for i in _native.available_isas().split(",") if i and i != "ref"]]


def quantize_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(14): q [M, K] int32, s [M] float32, zp [M] int32."""
    q = np.zeros(x.shape, np.int64)
    s = np.ones(len(x), F)
    zp = np.zeros(len(x), np.int64)
    for r, row in enumerate(x):
        if not np.isfinite(row).all():
            s[r] = np.nan
            continue
        lo, hi = min(F(0), row.min()), max(F(0), row.max())
        sc = F(F(hi - lo) / F(255))
        if not sc >= np.finfo(F).tiny:
            continue
        z = int(np.clip(-128 - int(np.rint(F(lo / sc))), -128, 127))
        inv = F(F(1) / sc)
        q[r] = np.clip(np.rint((row * inv).astype(F)).astype(np.int64) + z, -128, 127)
        s[r], zp[r] = sc, z
    return q, s, zp


def quantize_cols(b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(16) on the rows of b [N, K] (B's columns): q [N, K], s [N]."""
    q = np.zeros(b.shape, np.int64)
    s = np.ones(len(b), F)
    for j, col in enumerate(b):
        if not np.isfinite(col).all():
            s[j] = np.nan
            continue
        sc = F(np.abs(col).max() / F(127))
        if not sc >= np.finfo(F).tiny:
            continue
        inv = F(F(1) / sc)
        q[j] = np.clip(np.rint((col * inv).astype(F)), -127, 127).astype(np.int64)
        s[j] = sc
    return q, s


def product(q, s, zp, w, w_scale, bias, lo=-np.inf, hi=np.inf) -> np.ndarray:
    """(15)."""
    acc = q @ w.T.astype(np.int64) - zp[:, None] * w.astype(np.int64).sum(1)[None, :]
    t = acc.astype(F)
    with np.errstate(invalid="ignore"):
        y = (t * (s[:, None] * w_scale[None, :]).astype(F)).astype(F)
        if bias is not None:
            y = (y + bias[None, :]).astype(F)
        return np.where(y < lo, F(lo), np.where(y > hi, F(hi), y)).astype(F)


def rows_with_edges(rng: np.random.Generator, m: int, k: int) -> np.ndarray:
    x = (rng.standard_normal((m, k)) * rng.choice([1e-3, 1.0, 50.0], (m, 1))).astype(F)
    x[0] = 0.0  # all zero: s = 1, zp = 0
    if m > 2:
        x[1] = np.abs(x[1])  # one-sided: lo = 0
        x[2, k // 2] = np.nan  # a non-finite row: NaN outputs
    if m > 3:
        x[3] = np.float32(1e-42)  # subnormal range
    return x


def dynamic_fc(x: np.ndarray, w: np.ndarray, w_scale: np.ndarray, bias: np.ndarray | None, bounds) -> Program:
    prog = Program()
    xi = prog.add_tensor(Tensor("x", DType.FLOAT32, x.shape))
    prog.inputs.append(xi)
    y = prog.add_tensor(Tensor("y", DType.FLOAT32, (*x.shape[:-1], w.shape[0])))
    prog.outputs.append(y)
    wi = prog.add_constant("w", w, DType.INT8)
    si = prog.add_constant("w_scale", w_scale, DType.FLOAT32)
    bi = -1 if bias is None else prog.add_constant("b", bias, DType.FLOAT32)
    prog.add_op(
        Op(OpCode.DYNAMIC_FULLY_CONNECTED, "fc", [xi, wi, si, bi], [y], [f32_bits_of(v) for v in bounds])
    )
    return prog


@pytest.mark.parametrize("isa", HOST_ISAS)
@pytest.mark.parametrize(
    ("m", "k", "n", "with_bias", "bounds"),
    [
        (1, 1, 1, False, (-np.inf, np.inf)),
        (7, 13, 5, True, (-np.inf, np.inf)),
        (37, 384, 67, True, (0.0, np.inf)),
        (5, 1536, 33, True, (-1.0, 2.5)),
    ],
)
def test_dynamic_fully_connected(
    monkeypatch, isa: str, m: int, k: int, n: int, with_bias: bool, bounds
) -> None:
    monkeypatch.setenv("EDGEBUILD_ISA", isa)
    rng = np.random.default_rng(m * 1000 + k)
    x = rows_with_edges(rng, m, k).reshape(1, m, k)
    w = rng.integers(-127, 128, (n, k)).astype(np.int8)
    w_scale = (rng.random(n) * 0.01 + 1e-4).astype(F)
    bias = rng.standard_normal(n).astype(F) if with_bias else None
    ours = np.asarray(native(dynamic_fc(x, w, w_scale, bias, bounds)).run([x])[0])
    q, s, zp = quantize_rows(x[0])
    want = product(q, s, zp, w, w_scale, bias, *bounds)
    assert ours.shape == (1, m, n)
    np.testing.assert_array_equal(ours[0].view(np.uint32), want.view(np.uint32))  # NaN bits included
    assert np.isnan(ours[0, 2]).all() if m > 2 else True


@pytest.mark.parametrize("isa", HOST_ISAS)
@pytest.mark.parametrize(
    ("batch", "m", "k", "n", "transpose_b"), [(1, 1, 1, 1, 0), (3, 5, 32, 17, 1), (2, 9, 40, 32, 0)]
)
def test_dynamic_batch_matmul(
    monkeypatch, isa: str, batch: int, m: int, k: int, n: int, transpose_b: int
) -> None:
    monkeypatch.setenv("EDGEBUILD_ISA", isa)
    rng = np.random.default_rng(batch * 100 + n)
    a = np.stack([rows_with_edges(rng, m, k) for _ in range(batch)])
    b = rng.standard_normal((batch, n, k) if transpose_b else (batch, k, n)).astype(F)
    if n > 3:
        b[0, ..., 1] = 0.0  # an all-zero vector of b (a column of B untransposed, a row's last entry else)
        if transpose_b:
            b[-1, 2, 0] = np.inf  # column 2 of B non-finite: its outputs are NaN
        else:
            b[-1, 0, 2] = np.nan
    alpha = F(0.125 + 1e-3)
    prog = Program()
    ai = prog.add_tensor(Tensor("a", DType.FLOAT32, a.shape))
    bi = prog.add_tensor(Tensor("b", DType.FLOAT32, b.shape))
    prog.inputs += [ai, bi]
    y = prog.add_tensor(Tensor("y", DType.FLOAT32, (batch, m, n)))
    prog.outputs.append(y)
    prog.add_op(
        Op(OpCode.DYNAMIC_BATCH_MATMUL, "bmm", [ai, bi], [y], [transpose_b, f32_bits_of(float(alpha))])
    )
    ours = np.asarray(native(prog).run([a, b])[0])
    for s in range(batch):
        q, sa, zp = quantize_rows(a[s])
        qb, sb = quantize_cols(b[s] if transpose_b else b[s].T)
        want = product(q, sa, zp, qb, (sb * alpha).astype(F), None)
        np.testing.assert_array_equal(ours[s].view(np.uint32), want.view(np.uint32))
