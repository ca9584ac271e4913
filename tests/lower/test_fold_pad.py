"""edgebuild/lower/fold_pad.py: an int8 zero PAD before convolutions becomes their padding, bit for bit.

The model writes TF-style 'same' padding as transformers' MobileNetV2 does (an explicit F.pad before a strided conv and
a depthwise), plus PADs that must stay: a non-zero value, one feeding a max pool, one read by a conv and an add.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from edgebuild.ir import OpCode
from edgebuild.lower import lower_graph, walker
from tests.helpers import quantize_and_lower, run_native
from tests.lower.test_conv_targets import _same_everywhere
from tests.models import calibration


class SamePadNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.stem = nn.Conv2d(
            3, 8, 3, 2
        )  # after F.pad (0, 1, 0, 1): TF 'same' of a stride-2 conv on an even input
        self.dw = nn.Conv2d(8, 8, 3, 1, groups=8)  # after F.pad (1, 1, 1, 1), plus its own padding below
        self.dw2 = nn.Conv2d(8, 8, 3, 2, padding=(1, 0), groups=8)  # pad (0, 1, 0, 1) added to its own (1, 0)
        self.pw = nn.Conv2d(8, 8, 1)
        self.odd = nn.Conv2d(8, 4, 3)  # reads a PAD of value 0.5: stays

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu6(self.stem(F.pad(x, (0, 1, 0, 1))))
        x = F.relu6(self.dw(F.pad(x, (1, 1, 1, 1))))
        x = F.relu6(self.pw(self.dw2(F.pad(x, (0, 1, 0, 1)))))
        shared = F.pad(x, (1, 1, 1, 1))  # read by a conv and a slice: stays
        y = self.odd(F.pad(x, (1, 1, 1, 1), value=0.5)) + self.odd(shared)
        return F.max_pool2d(F.pad(y, (1, 1, 1, 1)), 2) + shared[:, :4, :3, :2]  # a PAD into a max pool: stays


SHAPE = (1, 3, 14, 12)


@pytest.fixture(scope="module")
def programs() -> tuple:
    q = quantize_and_lower(SamePadNet(), calibration(SHAPE, 16))
    orig = walker.fold_pads
    walker.fold_pads = lambda prog: 0
    try:
        unfolded = lower_graph(q.qgm, "m")
    finally:
        walker.fold_pads = orig
    return q, unfolded


def test_pads_folded_into_convs(programs: tuple) -> None:
    q, unfolded = programs
    pads = [op for op in q.program.ops if op.opcode == OpCode.PAD]
    assert sum(op.opcode == OpCode.PAD for op in unfolded.ops) - len(pads) == 3, q.program.op_counts()
    convs = {
        op.name: q.program.params_of(op)
        for op in q.program.ops
        if op.opcode in (OpCode.CONV2D, OpCode.DEPTHWISE_CONV2D)
    }
    pads_of = {n: (c.pad_top, c.pad_left, c.pad_bottom, c.pad_right) for n, c in convs.items()}
    assert sorted(pads_of.values()).count((0, 0, 1, 1)) == 1, pads_of  # stem
    assert (1, 1, 1, 1) in pads_of.values() and (1, 0, 2, 1) in pads_of.values(), (
        pads_of
    )  # dw, dw2 (own (1, 0))
    xs = [c.numpy() for c in calibration(SHAPE, 6, seed=7)]
    for x in xs:
        a, b = run_native(q.program, [x]), run_native(unfolded, [x])
        assert [o.tobytes() for o in a] == [o.tobytes() for o in b]
        ref = q.float_gm(torch.from_numpy(x))
        ref = (ref[0] if isinstance(ref, (tuple, list)) else ref).detach().numpy()
        spread = float(ref.max() - ref.min())
        assert float(np.abs(a[0] - ref).max()) <= 0.1 * spread + 1e-6, (np.abs(a[0] - ref).max(), spread)


def test_folded_same_on_every_target(
    programs: tuple, runner_for: Callable[[str], Path], tmp_path: Path
) -> None:
    q, _ = programs
    _same_everywhere(q.program, [calibration(SHAPE, 1, seed=3)[0].numpy()], runner_for, tmp_path)


def test_folded_exports_to_tflite_bit_exact(programs: tuple) -> None:
    pytest.importorskip("ai_edge_litert")
    from tests.interop.test_tflite import compare

    q, _ = programs
    r = compare(q.program, [c.numpy() for c in calibration(SHAPE, 4, seed=5)])
    assert r["bit_exact"] == 1.0 and r["reference"] == 0.0, r
