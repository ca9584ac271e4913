"""int8 REDUCE: amax / amin on the codes with the input's quantization shared to the output, argmax / argmin on the
codes (no DEQUANTIZE), after an int8 conv whose output is stored NHWC (stored axes, or a TRANSPOSE where the
stored order would change the result).

Bounds: exact (0 LSB, equal indices). Dequantization s·(q − z) is increasing in q, so the max code is the code of
the max and PT2E's reference (float amax of the dequantized input, quantized again with the same scale and zero
point) gives back that very code; argmax of the codes is argmax of their dequantized values, ties included.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from tests.helpers import all_tensors, op_by_op, quantize_and_lower, to_logical
from tests.models import calibration

AMAX_CASES = [([1], True), ([1], False), ([2, 3], False), ([2, 3], True), ([2], False), ([0, 1, 2, 3], False)]


class ConvThen(nn.Module):
    def __init__(self, fn) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3)
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(self.conv(x))


@pytest.mark.parametrize("dims,keep", AMAX_CASES)
@pytest.mark.parametrize("which", ["amax", "amin"])
def test_amax_amin_on_codes_are_exact(dims: list[int], keep: bool, which: str) -> None:
    torch.manual_seed(len(dims) * 2 + keep)
    fn = (lambda y: y.amax(dims, keepdim=keep)) if which == "amax" else (lambda y: y.amin(dims, keepdim=keep))
    q = quantize_and_lower(ConvThen(fn), calibration((1, 3, 7, 8), 8))
    counts = q.program.op_counts()
    assert counts.get("REDUCE") == 1 and counts.get("CONV2D") == 1, counts
    reorders = not keep and 1 not in dims and bool({2, 3} - set(dims))
    assert counts.get("TRANSPOSE", 0) == int(reorders), counts  # only where NHWC order differs from NCHW's
    reduce_op = next(op for op in q.program.ops if op.opcode.name == "REDUCE")
    assert q.program.tensors[reduce_op.inputs[0]].dtype.name == "INT8"
    for seed in (1, 2):
        x = calibration((1, 3, 7, 8), 1, seed=seed)[0].numpy()
        checks = [c for c in op_by_op(q, x) if c.aten == f"aten.{which}.default"]
        assert len(checks) == 1 and checks[0].max_lsb == 0, checks


class ConvArgmax(nn.Module):
    def __init__(self, dim: int | None, keep: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3)
        self.dim, self.keep = dim, keep
        self.register_buffer("table", torch.arange(400, dtype=torch.float32).reshape(400, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.embedding(torch.argmax(self.conv(x), self.dim, keepdim=self.keep), self.table)


@pytest.mark.parametrize("dim,keep", [(1, False), (2, True), (3, False), (None, False)])
def test_argmax_reads_int8_codes(dim: int | None, keep: bool) -> None:
    torch.manual_seed(7)
    q = quantize_and_lower(ConvArgmax(dim, keep), calibration((1, 3, 7, 8), 8))
    prog = q.program
    op = next(op for op in prog.ops if op.opcode.name == "REDUCE")
    src = prog.tensors[op.inputs[0]]
    assert src.dtype.name == "INT8", src
    assert "DEQUANTIZE" not in prog.op_counts() or all(
        prog.ops[i].outputs[0] != op.inputs[0]
        for i in range(len(prog.ops))
        if prog.ops[i].opcode.name == "DEQUANTIZE"
    )
    conv_out = next(o.outputs[0] for o in prog.ops if o.opcode.name == "CONV2D")
    for seed in (1, 2, 3):
        x = calibration((1, 3, 7, 8), 1, seed=seed)[0].numpy()
        values = all_tensors(prog, [x])
        codes = torch.from_numpy(to_logical(prog, conv_out, values[conv_out]).astype(np.int32))
        want = torch.argmax(codes.float(), dim, keepdim=keep).numpy()  # the codes' order is the values' order
        got = to_logical(prog, op.outputs[0], values[op.outputs[0]]) if keep else values[op.outputs[0]]
        np.testing.assert_array_equal(got.reshape(want.shape), want)
