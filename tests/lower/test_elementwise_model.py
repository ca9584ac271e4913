"""Elementwise ops in a model: scalar operands (x + 1.0, x * 0.5, 1 - mask), an in-place add_, comparisons and where
build and match eager (float); scalar ops and unary functions behind an int8 producer are UNARY tables that equal
PT2E's q/dq reference code for code (0 LSB: the table is the node's own ATen op on the 256 dequantized codes, then
PT2E's quantize); and one artifact with ELEMENTWISE, UNARY, WHERE and CAST gives the same bytes on host, arm64 and
armv7 (qemu)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from edgebuild.lower import lower_graph
from edgebuild.plan import plan_arena
from edgebuild.run import run_runner
from edgebuild.serialize import write_artifact
from edgebuild.targets import load_target
from tests.conftest import TARGETS
from tests.helpers import native, op_by_op, quantize_and_lower, run_native
from tests.models import calibration


class Masked(nn.Module):
    """What BERT / GPT / ViT blocks do around attention: scalar arithmetic, an additive mask, where."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.lin(x)
        h = h * 0.5 + 1.0
        bias = (1 - mask) * -10000.0
        s = h + bias
        s = torch.where(s > 0.25, s, 0.0)
        keep = (mask >= 0.5) & (h < 3.0)
        out = s.masked_fill(~keep, -1.0)
        return torch.exp(out * 0.1) + out / 4.0


def inplace_graph(m: nn.Module, inputs: tuple[torch.Tensor, ...]) -> torch.fx.GraphModule:
    """The exported graph with its first add.Tensor turned into add_.Tensor (as a non-decomposed graph has it)."""
    gm = torch.export.export(m, inputs).module()
    for node in gm.graph.nodes:
        if node.target == torch.ops.aten.add.Tensor and all(isinstance(a, torch.fx.Node) for a in node.args):
            node.target = torch.ops.aten.add_.Tensor
            break
    else:
        raise AssertionError("no tensor add")
    gm.recompile()
    return gm


def test_masked_model_builds_and_matches_eager() -> None:
    torch.manual_seed(0)
    m = Masked().eval()
    x = torch.randn(2, 5, 8)
    mask = (torch.rand(2, 5, 8) > 0.3).float()
    gm = inplace_graph(m, (x, mask))
    assert any(n.target == torch.ops.aten.add_.Tensor for n in gm.graph.nodes)
    prog = lower_graph(gm, "masked")
    counts = prog.op_counts()
    assert {"UNARY", "ELEMENTWISE", "WHERE"} <= set(counts), counts
    model = native(prog)
    for seed in range(3):
        g = torch.Generator().manual_seed(seed)
        xs, ms = torch.randn(2, 5, 8, generator=g), (torch.rand(2, 5, 8, generator=g) > 0.3).float()
        got = np.asarray(model.run([xs.numpy(), ms.numpy()])[0])
        ref = m(xs, ms).detach().numpy()
        # the linear layer's float sum order differs from PyTorch's (FULLY_CONNECTED's own bound); the
        # elementwise ops after it add at most 2 ulp (exp)
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


class ScalarInt8(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.c = nn.Conv2d(3, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.c(x)
        a = (h + 1.0) * 0.5
        b = 1.0 - torch.sigmoid(a)
        c = torch.exp(b) - 0.25
        d = torch.clamp(c, 0.1, 2.0) / 3.0
        return torch.abs(d - h) + torch.sqrt(torch.abs(h)) ** 2


def test_scalar_and_unary_ops_int8_equal_pt2e() -> None:
    torch.manual_seed(1)
    m = ScalarInt8().eval()
    q = quantize_and_lower(m, calibration((1, 3, 6, 6), 8))
    counts = q.program.op_counts()
    assert counts.get("UNARY", 0) >= 8 and "QUANTIZE" in counts, counts
    assert not q.program.float_form_ops(), [op.aten for op in q.program.float_form_ops()]
    for seed in (2, 3):
        x = calibration((1, 3, 6, 6), 1, seed=seed)[0].numpy()
        checks = op_by_op(q, x)
        tables = [c for c in checks if c.aten not in ("quantize", "aten.conv2d.default", "aten.add.Tensor")]
        tables = [c for c in tables if c.aten != "aten.sub.Tensor" or c.node != "sub_1"]
        assert len(tables) >= 8, checks
        bad = [c for c in checks if c.max_lsb > (0 if c in tables else 1)]
        assert not bad, bad


class CrossTarget(nn.Module):
    def forward(self, x: torch.Tensor, k: torch.Tensor) -> tuple[torch.Tensor, ...]:
        y = torch.where(x > k, torch.sin(x * 3.0), torch.erf(x) / (k + 2.0))
        z = torch.pow(x.abs() + 0.1, k) + torch.atan2(x, k) + torch.remainder(x, 0.7)
        i = (x * 10.0).to(torch.int32)
        return y + z, torch.log1p(x.abs()), (i // 3).float(), torch.acosh(x.abs() + 1.0)


def test_elementwise_ops_bit_identical_across_targets(
    runner_for: Callable[[str], Path], tmp_path: Path
) -> None:
    g = torch.Generator().manual_seed(7)
    x, k = torch.randn(3, 4, 17, generator=g) * 3, torch.rand(4, 1, generator=g) * 2
    gm = torch.export.export(CrossTarget().eval(), (x, k)).module()
    program = lower_graph(gm, "cross")
    counts = program.op_counts()
    assert {"ELEMENTWISE", "UNARY", "WHERE", "CAST"} <= set(counts), counts
    plan_arena(program)
    artifact = tmp_path / "m.ebm"
    write_artifact(program, artifact)
    first = [o.tobytes() for o in run_native(program, [x.numpy(), k.numpy()])]
    ins = [tmp_path / "x.npy", tmp_path / "k.npy"]
    np.save(ins[0], x.numpy())
    np.save(ins[1], k.numpy())
    for target in TARGETS:
        outs = [tmp_path / f"{target}-y{j}.npy" for j in range(len(program.outputs))]
        doc = run_runner(load_target(target), runner_for(target), artifact, ins, outs)
        assert doc["status"] == "ok"
        assert [np.load(o).tobytes() for o in outs] == first, f"{target} differs from the host extension"
