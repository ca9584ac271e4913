"""ATTENTION (issue 19): the lowering fuses attention's BATCH_MATMUL -> ADD mask -> SOFTMAX -> BATCH_MATMUL chain (float,
or DYNAMIC_BATCH_MATMUL in dynamic builds) and the TRANSPOSE ops around it into one op, defined as exactly those ops.
So the fused program's outputs are the unfused program's bytes: on every host ISA here (the qd8 and float paths and
the reference ISA's row path), and on arm64 / armv7 under qemu against the host's reference. Models: SDPA with and
without masks (additive, a model input broadcast over heads or rows; causal), odd L != S, Dv != D, rank 3, and
transformers' written-out attention (heads split by view + transpose, the mask added to the scaled scores, the heads
merged back); and the shapes the fusion leaves alone (GQA's expanded heads, a mask added first)."""

from __future__ import annotations

import contextlib
import copy
import functools
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from edgebuild import _native
from edgebuild.capture import graph_of
from edgebuild.ir import Program
from edgebuild.lower import lower_graph
from edgebuild.lower.fuse_attention import unfuse_attention
from edgebuild.plan import plan_arena
from edgebuild.quantize import quantize_model
from edgebuild.serialize import artifact_bytes
from tests.kernels.runtime.isa_cases import Case
from tests.kernels.runtime.test_isa_arm import Batch, run_batches, write_batches


class Sdpa(nn.Module):
    """F.scaled_dot_product_attention of its inputs q, k, v (and a float mask input with `mask`)."""

    def __init__(self, causal: bool = False, gqa: bool = False) -> None:
        super().__init__()
        self.causal, self.gqa = causal, gqa

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *m: torch.Tensor) -> torch.Tensor:
        mask = m[0] if m else None
        return F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, is_causal=self.causal, enable_gqa=self.gqa
        )


class Eager(nn.Module):
    """transformers' eager self-attention: linear q/k/v, heads split by view + transpose(1, 2), scores scaled and
    masked, softmax, P·V, heads merged back by transpose + reshape, an output linear."""

    def __init__(self, dim: int = 24, heads: int = 3) -> None:
        super().__init__()
        self.h, self.d = heads, dim // heads
        self.q, self.k, self.v, self.o = (nn.Linear(dim, dim) for _ in range(4))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, s, e = x.shape

        def heads(t: torch.Tensor) -> torch.Tensor:
            return t.view(b, s, self.h, self.d).transpose(1, 2)

        q, k, v = heads(self.q(x)), heads(self.k(x)), heads(self.v(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) * self.d**-0.5 + mask
        y = torch.matmul(torch.softmax(scores, dim=-1), v)
        return self.o(y.transpose(1, 2).reshape(b, s, e))


def _programs(model: nn.Module, inputs: tuple[torch.Tensor, ...], mode: str) -> tuple[Program, Program]:
    """(fused, unfused) programs of `model`: every op float ("float") or dynamic int8 ("dynamic")."""
    gm = graph_of(torch.export.export(model.eval(), inputs))
    layers = tuple(n.name for n in gm.graph.nodes if n.op == "call_function") if mode == "float" else ()
    activations = "dynamic" if mode == "dynamic" else "static"
    qgm = quantize_model(gm, [inputs], float_layers=layers, activations=activations)
    unfused = lower_graph(copy.deepcopy(qgm), "m", float_layers=layers, fuse_attention=False)
    return lower_graph(qgm, "m", float_layers=layers), unfused


def _run(prog: Program, inputs: list[np.ndarray], isa: str | None = None) -> list[bytes]:
    plan_arena(prog)
    blob = artifact_bytes(prog)
    old = os.environ.get("EDGEBUILD_ISA")
    if isa is not None:
        os.environ["EDGEBUILD_ISA"] = isa
    try:
        m = _native.Model.from_bytes(blob)
    finally:
        if old is None:
            os.environ.pop("EDGEBUILD_ISA", None)
        else:
            os.environ["EDGEBUILD_ISA"] = old
    assert isa is None or m.isa == isa
    return [np.asarray(y).tobytes() for y in m.run([np.ascontiguousarray(x, np.float32) for x in inputs])]


@functools.cache
def _host_isas() -> tuple[str, ...]:
    """ref, and every host ISA this machine runs (the fused op's qd8 and float paths differ per ISA)."""
    out = ["ref"]
    blob = artifact_bytes(_tiny())
    for isa in ("avx2", "avx512vnni"):
        os.environ["EDGEBUILD_ISA"] = isa
        try:
            with contextlib.suppress(Exception):  # the ISA is not available here: a load error
                _native.Model.from_bytes(blob)
                out.append(isa)
        finally:
            os.environ.pop("EDGEBUILD_ISA", None)
    return tuple(out)


def _tiny() -> Program:
    prog, _ = _programs(Sdpa(), tuple(torch.zeros(1, 1, 2, 2) for _ in range(3)), "float")
    plan_arena(prog)
    return prog


def _mask(shape: tuple[int, ...], g: torch.Generator) -> torch.Tensor:
    """An additive mask: 0 where a key is seen, -1e9 or -inf elsewhere (key 0 always seen), small noise elsewhere."""
    m = torch.randn(shape, generator=g) * 0.5
    hidden = torch.rand(shape, generator=g) > 0.6
    hidden[..., 0] = False
    m[hidden] = -1e9
    m[..., 1:2][hidden[..., 1:2]] = -float("inf")
    return m


def cases() -> list[tuple[str, nn.Module, tuple[torch.Tensor, ...], int]]:
    """(id, model, inputs, TRANSPOSE ops the fusion absorbs)."""
    g = torch.Generator().manual_seed(19)

    def r(*s: int) -> torch.Tensor:
        return torch.randn(s, generator=g)

    out: list[tuple[str, nn.Module, tuple[torch.Tensor, ...], int]] = [
        ("sdpa", Sdpa(), (r(1, 4, 9, 8), r(1, 4, 9, 8), r(1, 4, 9, 8)), 0),
        ("cross-odd", Sdpa(), (r(2, 3, 7, 5), r(2, 3, 13, 5), r(2, 3, 13, 6)), 0),
        ("causal", Sdpa(causal=True), (r(1, 2, 11, 8), r(1, 2, 11, 8), r(1, 2, 11, 8)), 0),
        ("mask-keys", Sdpa(), (r(2, 3, 5, 4), r(2, 3, 17, 4), r(2, 3, 17, 4), _mask((2, 1, 1, 17), g)), 0),
        ("mask-rows", Sdpa(), (r(1, 5, 6, 4), r(1, 5, 6, 4), r(1, 5, 6, 4), _mask((1, 1, 6, 6), g)), 0),
        ("rank3", Sdpa(), (r(3, 10, 16), r(3, 12, 16), r(3, 12, 16)), 0),
        ("eager", Eager(), (r(1, 13, 24), _mask((1, 1, 1, 13), g)), 5),
    ]
    return out


CASES = cases()


@functools.cache
def _case_programs(name: str, mode: str) -> tuple[Program, Program]:
    """_programs of the case named `name`, built once per test session."""
    _, model, inputs, _ = next(c for c in CASES if c[0] == name)
    return _programs(model, inputs, mode)


@pytest.mark.parametrize("mode", ["float", "dynamic"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_fused_equals_unfused(case: tuple[str, nn.Module, tuple[torch.Tensor, ...], int], mode: str) -> None:
    name, model, inputs, absorbed = case
    fused, unfused = _case_programs(name, mode)
    fc, uc = fused.op_counts(), unfused.op_counts()
    # SDPA lowers to float products in either mode (lower/ops/attention.py); written-out matmuls follow the mode
    product = "DYNAMIC_BATCH_MATMUL" if mode == "dynamic" and name == "eager" else "BATCH_MATMUL"
    # structure: one ATTENTION in place of the two products, the mask add and the softmax, and of the transposes
    assert fc.get("ATTENTION") == 1 and product not in fc and "SOFTMAX" not in fc, fc
    assert uc.get(product) == 2 and uc.get("SOFTMAX") == 1, uc
    assert uc.get("TRANSPOSE", 0) - fc.get("TRANSPOSE", 0) == absorbed, (fc, uc)
    xs = [x.numpy() for x in inputs]
    for isa in _host_isas():
        got, want = _run(fused, xs, isa), _run(unfused, xs, isa)
        assert got == want, f"{name} {mode} on {isa}: the fused op differs from its ops"
    with torch.no_grad():
        ref = model(*inputs).numpy()
    y = np.frombuffer(_run(fused, xs)[0], np.float32).reshape(ref.shape)
    tol = 0.05 if product == "DYNAMIC_BATCH_MATMUL" else 1e-4  # dynamic: int8 products (eqs. 14-16)
    np.testing.assert_allclose(y, ref, atol=tol, rtol=tol)


def test_unfuse_gives_the_same_bytes() -> None:
    """unfuse_attention (the exporters' view) writes the op back as ops computing the same values."""
    name, _, inputs, _ = CASES[-1]
    fused, _ = _case_programs(name, "dynamic")
    xs = [x.numpy() for x in inputs]
    want = _run(fused, xs)
    back = copy.deepcopy(fused)
    assert unfuse_attention(back) == 1 and "ATTENTION" not in back.op_counts()
    assert _run(back, xs) == want


def test_shapes_that_do_not_fuse() -> None:
    """GQA (k, v expanded per query head through a BROADCAST_TO) fuses on the expanded heads; a mask added before the
    scores (mask + scores) and a softmax read by a second op keep the ops."""
    g = torch.Generator().manual_seed(3)
    q, k, v = (
        torch.randn(1, 4, 5, 8, generator=g),
        torch.randn(1, 2, 5, 8, generator=g),
        torch.randn(1, 2, 5, 8),
    )

    class MaskFirst(nn.Module):
        def forward(
            self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor
        ) -> tuple[torch.Tensor, torch.Tensor]:
            p = torch.softmax(torch.ones(5) + torch.matmul(q, k.transpose(-1, -2)), -1)
            return torch.matmul(p, v), p

    for model, inputs, fuses in ((Sdpa(gqa=True), (q, k, v), True), (MaskFirst(), (q, q, q), False)):
        fused, unfused = _programs(model, inputs, "float")
        assert ("ATTENTION" in fused.op_counts()) == fuses, fused.op_counts()
        xs = [x.numpy() for x in inputs]
        assert _run(fused, xs) == _run(unfused, xs)


@pytest.fixture(scope="module")
def arm_batches(tmp_path_factory: pytest.TempPathFactory) -> list[Batch]:
    """The fused programs of every case, float and dynamic, with the host reference ISA's outputs."""
    out = []
    for name, _, inputs, _ in CASES:
        for mode in ("float", "dynamic"):
            fused, _ = _case_programs(name, mode)
            out.append(Case(f"{name}-{mode}", fused, [x.numpy() for x in inputs]))
    return write_batches(out, tmp_path_factory.mktemp("attention-arm"))


# the dotprod qd8 path (neondot), armv8.0's (neon) and armv7's (its qd8 NEON pair; float on the reference matmul)
ARM = [("arm64", "cortex-a76", "neondot"), ("arm64", "cortex-a53", "neon"), ("armv7", "max", "neon")]


@pytest.mark.parametrize(("target", "cpu", "isa"), ARM, ids=[f"{t}-{c}-{i}" for t, c, i in ARM])
def test_arm_matches_host_reference(
    target: str,
    cpu: str,
    isa: str,
    arm_batches: list[Batch],
    runner_for: Callable[[str], Path],
    tmp_path: Path,
) -> None:
    failures, count, _ = run_batches(runner_for(target), target, cpu, isa, arm_batches, tmp_path)
    assert count == 2 * len(CASES) and not failures, f"{target} {cpu} {isa}: ATTENTION differs in {failures}"
