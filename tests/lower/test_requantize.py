"""quantize(dequantize(x)) with other parameters: PT2E inserts it where an op's input observer is not its producer's
output observer (MobileViTV2's linear attention: softmax probabilities, scale 1/256, read by a multiply that observes
its inputs). Lowered as a UNARY table of int8 codes (quantize.requantize), the whole model within 1 LSB of PT2E's
q/dq reference."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from edgebuild.lower import DEQUANTIZE_NODES, QUANTIZE_NODES
from tests.helpers import quantize_and_lower, run_native
from tests.models import calibration


class LinearAttention(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.qkv = nn.Conv2d(8, 17, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k = torch.split(self.qkv(x), [1, 16], dim=1)
        # the clone shares the softmax's qparams; the mul observes its own
        return k * torch.softmax(q, dim=-1).clone()


def test_requantization_is_a_table_of_codes() -> None:
    calib = calibration((1, 8, 4, 6), n=8)
    q = quantize_and_lower(LinearAttention(), calib)
    requants = [
        n
        for n in q.qgm.graph.nodes
        if n.target in QUANTIZE_NODES and getattr(n.args[0], "target", None) in DEQUANTIZE_NODES
    ]
    assert requants, "PT2E no longer requantizes here: the test needs another model"
    ops = [(op.opcode.name, q.program.form_of(op)) for op in q.program.ops]
    assert ("UNARY", "int8") in ops and ("MUL", "int8") in ops and ("SOFTMAX", "int8") in ops, ops
    assert not q.program.metadata["float_ops"], q.program.metadata["float_ops"]
    x = calib[0].numpy()
    (got,) = run_native(q.program, [x])
    with torch.no_grad():
        want = q.qgm(torch.from_numpy(x))
    want = want[0] if isinstance(want, (tuple, list)) else want
    mul = next(op for op in q.program.ops if op.opcode.name == "MUL")
    np.testing.assert_allclose(got, want.numpy(), atol=1.01 * q.program.tensors[mul.outputs[0]].scale, rtol=0)
