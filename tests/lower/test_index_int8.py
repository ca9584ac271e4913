"""Indexing and data movement in int8: the codes move unchanged (output shares the input's scale and zero point),
so each lowered op equals PT2E's q/dq reference exactly (0 LSB); and one artifact with GATHER, BROADCAST_TO, TOPK,
GATHER_ELEMENTS and SCATTER_ELEMENTS gives the same bytes on host, arm64 and armv7 (qemu)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from edgebuild.plan import plan_arena
from edgebuild.run import run_runner
from edgebuild.serialize import artifact_bytes
from edgebuild.targets import load_target
from tests.conftest import TARGETS
from edgebuild.lower import lower_graph
from edgebuild.quantize import quantize_model
from tests.helpers import Quantized, native, op_by_op
from tests.models import calibration

IDX = torch.tensor([2, 0, 3, 3])
ZERO = torch.zeros(1, 2, 4, 1, dtype=torch.long)


class Mover(nn.Module):
    """conv -> (flip, roll, reflect pad, advanced indexing, expand, topk values, scatter) -> conv."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 4, 1)
        self.b = nn.Conv2d(4, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.a(x)
        y = y.flip(3).roll(1, 2)
        y = F.pad(y, (1, 1, 2, 0), mode="reflect")
        y = y[:, :, IDX][:, torch.tensor([1, 0]), :, :]
        y = y.topk(3, dim=3)[0]
        y = y.expand(2, 2, 4, 3)[1:]
        y = torch.scatter(y, 3, ZERO, y[..., 2:])
        return self.b(torch.cat([y, y], 1))


def test_int8_moves_are_exact_against_pt2e() -> None:
    torch.manual_seed(0)
    from tests.lower.test_index_float import export

    m, calib = Mover().eval(), calibration((1, 3, 5, 6), 8)
    qgm = quantize_model(export(m, (calib[0],)), [(c,) for c in calib])
    q = Quantized(export(m, (calib[0],)), qgm, lower_graph(qgm, "m"))
    counts = q.program.op_counts()
    for op in ("GATHER", "TOPK", "BROADCAST_TO", "SCATTER_ELEMENTS"):
        assert op in counts, counts
    print(q.program.metadata["float_ops"])
    x = calibration((1, 3, 5, 6), 1, seed=4)[0].numpy()
    checks = op_by_op(q, x)
    moved = [c for c in checks if c.aten not in ("quantize", "aten.conv2d.default", "aten.cat.default")]
    assert len(moved) >= 7, checks
    assert all(c.max_lsb == 0 for c in moved), moved


def _fn(fn: Callable[..., torch.Tensor]) -> nn.Module:
    class M(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return fn(x)

    return M().eval()


def test_same_bytes_on_every_target(runner_for: Callable[[str], Path], tmp_path: Path) -> None:
    from tests.lower.test_index_float import float_program

    fn = lambda x: x.gather(1, x.sort(1)[1]).flip(0).expand(2, 4, 6)[:, :, IDX] + x.topk(2, 1)[0][:, :1]  # noqa: E731
    x = torch.randn(4, 6, generator=torch.Generator().manual_seed(1))
    prog = float_program(fn, x[None].squeeze(0))
    for op in ("GATHER", "GATHER_ELEMENTS", "TOPK", "BROADCAST_TO"):
        assert op in prog.op_counts(), prog.op_counts()
    plan_arena(prog)
    art = tmp_path / "m.ebm"
    art.write_bytes(artifact_bytes(prog))
    xin = tmp_path / "x.npy"
    np.save(xin, x.numpy())
    got: dict[str, bytes] = {"extension": np.asarray(native(prog).run([x.numpy()])[0]).tobytes()}
    for t in TARGETS:
        out = tmp_path / f"y-{t}.npy"
        doc = run_runner(load_target(t), runner_for(t), art, [xin], [out])
        assert doc["status"] == "ok", doc
        got[t] = np.load(out).tobytes()
    assert len(set(got.values())) == 1, {k: v[:16] for k, v in got.items()}
    np.testing.assert_array_equal(np.frombuffer(got["host"], np.float32).reshape(2, 4, 4), fn(x).numpy())
