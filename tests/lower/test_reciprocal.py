"""aten.reciprocal: UNARY RECIPROCAL, in int8 (a 256-entry table) and in float (IEEE 1 / x).

Bounds: the int8 table is PT2E's dequantize -> reciprocal -> quantize applied to each of the 256 codes, so it is
exact, and so is the lowered op fed our int8 input; the float form is IEEE division, correctly rounded on every
target, so it equals PyTorch's float32 reciprocal bit for bit (inf at 0 included).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from edgebuild.ir import UnaryFunc
from edgebuild.lower import lower_graph
from edgebuild.lower.ops.unary import build_table
from edgebuild.quantize import quantize_model
from tests.helpers import native, op_by_op, quantize_and_lower
from tests.models import calibration


class Reciprocal(nn.Module):
    """1 / sigmoid(conv(x)): the denominator stays in (0, 1), the output in (1, inf) with a useful range."""

    def __init__(self) -> None:
        super().__init__()
        self.c = nn.Conv2d(3, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.reciprocal(torch.sigmoid(self.c(x)))


def test_table_matches_reference_on_every_code() -> None:
    Q = torch.ops.quantized_decomposed
    codes = torch.arange(-128, 128, dtype=torch.int8)
    for sx, zx, sy, zy in [(0.05, -3, 0.02, 10), (0.01, -128, 0.5, -100), (0.3, 5, 0.05, 0)]:
        x = Q.dequantize_per_tensor(codes, sx, zx, -128, 127, torch.int8)
        ref = Q.quantize_per_tensor(torch.reciprocal(x), sy, zy, -128, 127, torch.int8)
        table = build_table(UnaryFunc.RECIPROCAL, sx, zx, sy, zy)
        np.testing.assert_array_equal(table[0], ref.numpy())


def test_int8_lowering_is_exact_against_pt2e() -> None:
    torch.manual_seed(3)
    m = Reciprocal().eval()
    q = quantize_and_lower(m, calibration((1, 3, 5, 5), 8))
    assert q.program.op_counts().get("UNARY") == 2, q.program.op_counts()  # sigmoid and reciprocal
    funcs = [q.program.params_of(op).func for op in q.program.ops if op.opcode.name == "UNARY"]
    assert UnaryFunc.RECIPROCAL in funcs
    for seed in (1, 2):
        x = calibration((1, 3, 5, 5), 1, seed=seed)[0].numpy()
        checks = [c for c in op_by_op(q, x) if c.aten == "aten.reciprocal.default"]
        assert len(checks) == 1 and checks[0].max_lsb == 0, checks


class JustReciprocal(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.reciprocal(x)


def test_float_form_equals_pytorch_bit_for_bit() -> None:
    m = JustReciprocal().eval()
    x0 = torch.randn(1, 3, 4, 4)
    gm = torch.export.export(m, (x0,)).module()
    layers = tuple(n.name for n in gm.graph.nodes if n.op == "call_function")
    qgm = quantize_model(torch.export.export(m, (x0,)).module(), [(x0,)], float_layers=layers)
    prog = lower_graph(qgm, "m", float_layers=layers)
    assert prog.op_counts().get("UNARY") == 1 and "QUANTIZE" not in prog.op_counts(), prog.op_counts()
    model = native(prog)
    for seed in range(3):
        x = torch.randn(1, 3, 4, 4, generator=torch.Generator().manual_seed(seed))
        got = np.asarray(model.run([x.numpy()])[0])
        np.testing.assert_array_equal(got, m(x).detach().numpy())
    edges = np.array([0.0, -0.0, 1e-40, -3.0, np.inf, 7.0, 1e38, 0.1] * 6, np.float32).reshape(1, 3, 4, 4)
    np.testing.assert_array_equal(np.asarray(model.run([edges])[0]), m(torch.from_numpy(edges)).numpy())
