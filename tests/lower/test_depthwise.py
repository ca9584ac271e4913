"""DEPTHWISE_CONV2D: the lowering decides depthwise once (groups > 1, one input channel per group) and the artifact
carries it. Structure first (which convs become DEPTHWISE_CONV2D, their constants, the format minor), then numbers:
the same outputs as the format 1.0 / 1.1 spelling of the same layers (CONV2D with groups = C) on every path.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from edgebuild import _native
from edgebuild.ir import DType, OpCode, Program
from edgebuild.ir_ops import Conv2dFloatParams, Conv2dInt8Params, DepthwiseConv2dFloatParams
from edgebuild.lower import lower_graph
from edgebuild.plan import plan_arena
from edgebuild.quantize import quantize_model
from edgebuild.serialize import HEADER, artifact_bytes
from edgebuild.sparse import choose_sparse
from tests.helpers import native, quantize_and_lower
from tests.models import calibration

ISAS = sorted(set(_native.available_isas().split(",")))


class Block(nn.Module):
    """MobileNet-style: 1x1 expand, 3x3 depthwise, 1x1 project; then a depth multiplier 2 depthwise layer and a
    grouped conv with two channels per group (which stays CONV2D)."""

    def __init__(self) -> None:
        super().__init__()
        self.expand = nn.Conv2d(4, 12, 1)
        self.dw = nn.Conv2d(12, 12, 3, padding=1, groups=12)
        self.project = nn.Conv2d(12, 6, 1)
        self.dw2 = nn.Conv2d(6, 12, 3, stride=2, padding=1, groups=6)  # depth multiplier 2
        self.grouped = nn.Conv2d(12, 12, 3, padding=1, groups=6)  # 2 input channels per group

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu6(self.dw(F.relu6(self.expand(x))))
        x = self.project(x)
        return self.grouped(F.relu(self.dw2(x)))


SHAPE = (1, 4, 9, 9)


@pytest.fixture(scope="module")
def lowered() -> Program:
    torch.manual_seed(0)
    return quantize_and_lower(Block(), calibration(SHAPE, 8), "block").program


def legacy(prog: Program) -> Program:
    """The same program as a format 1.0 file says it: each DEPTHWISE_CONV2D a CONV2D with groups = C."""
    old = copy.deepcopy(prog)
    for op in old.ops:
        if op.opcode == OpCode.DEPTHWISE_CONV2D:
            fields = vars(old.params_of(op))
            window = {k: v for k, v in fields.items() if k not in ("act_min", "act_max", "lo", "hi")}
            bounds = {k: v for k, v in fields.items() if k not in window}
            cls = Conv2dFloatParams if old.form_of(op) == "float" else Conv2dInt8Params
            op.opcode = OpCode.CONV2D
            op.params = cls(**window, groups=old.tensors[op.inputs[0]].shape[3], **bounds).encode()
    return old


def test_structure(lowered: Program) -> None:
    counts = lowered.op_counts()
    assert counts.get("DEPTHWISE_CONV2D") == 2 and counts.get("CONV2D") == 3, counts
    convs = [op for op in lowered.ops if op.opcode in (OpCode.CONV2D, OpCode.DEPTHWISE_CONV2D)]
    assert [op.opcode.name for op in convs] == [
        "CONV2D",
        "DEPTHWISE_CONV2D",
        "CONV2D",
        "DEPTHWISE_CONV2D",
        "CONV2D",
    ]
    grouped = convs[-1]
    assert (
        Conv2dInt8Params.decode(grouped.params).groups == 6
        and lowered.tensors[grouped.inputs[1]].shape[3] == 2
    )
    for op in lowered.ops:
        if op.opcode != OpCode.DEPTHWISE_CONV2D:
            continue
        x, w, y = (lowered.tensors[i] for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
        oc, kh, kw, one = w.shape
        assert (one, kh, kw, oc) == (1, 3, 3, y.shape[3]) and oc % x.shape[3] == 0
        # The constants CONV2D had: same names, int8 weight per output channel, int32 bias / multiplier / shift.
        assert w.name == f"{op.name}.weight" and w.dtype == DType.INT8
        assert [lowered.tensors[i].name for i in op.inputs[2:]] == [
            f"{op.name}.bias",
            f"{op.name}.multiplier",
            f"{op.name}.shift",
        ]
        assert len(lowered.metadata["weight_scales"][w.name]) == oc


def test_format_minor(lowered: Program) -> None:
    """1.2 for a file with DEPTHWISE_CONV2D (its `since`), 1.0 for the same layers spelled as CONV2D."""
    plan_arena(lowered)
    assert HEADER.unpack_from(artifact_bytes(lowered))[1:3] == (1, 2)
    assert HEADER.unpack_from(artifact_bytes(legacy(lowered)))[1:3] == (1, 0)


@pytest.mark.parametrize("isa", ISAS)
def test_legacy_conv2d_same_outputs(lowered: Program, isa: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """An older file's CONV2D with groups = C (run on the GEMM or the reference) gives DEPTHWISE_CONV2D's bytes."""
    monkeypatch.setenv("EDGEBUILD_ISA", isa)
    new, old = native(lowered), native(legacy(lowered))
    assert new.isa == old.isa == isa
    types = {old.op_info(i)["type"] for i in range(old.num_ops)}
    assert "DEPTHWISE_CONV2D" not in types
    for x in calibration(SHAPE, 4, seed=11):
        a, b = np.asarray(new.run([x.numpy()])[0]), np.asarray(old.run([x.numpy()])[0])
        assert a.tobytes() == b.tobytes()


def test_float_form() -> None:
    """Layers forced to float: DEPTHWISE_CONV2D's float form, the same float32 bytes as the float CONV2D with
    groups = C (the float reference kernel of both), and close to PyTorch's fp32 layer."""
    torch.manual_seed(1)
    model = Block().eval()
    cal = [(c,) for c in calibration(SHAPE, 4)]
    layers = ("dw", "dw2", "grouped")
    gm = torch.export.export(copy.deepcopy(model), cal[0]).module()
    prog = lower_graph(quantize_model(gm, cal, float_layers=layers), "m", float_layers=layers)
    dws = [op for op in prog.ops if op.opcode == OpCode.DEPTHWISE_CONV2D]
    assert len(dws) == 2 and all(prog.form_of(op) == "float" for op in dws)
    assert all(DepthwiseConv2dFloatParams.decode(op.params).lo == -np.inf for op in dws)
    new, old = native(prog), native(legacy(prog))
    for (x,) in cal:
        a, b = np.asarray(new.run([x.numpy()])[0]), np.asarray(old.run([x.numpy()])[0])
        assert a.tobytes() == b.tobytes() and a.shape == tuple(model(x).shape)


def test_one_channel_input_stays_conv2d() -> None:
    """groups = C_in = 1 is an ordinary conv (the GEMM path), not depthwise."""
    model = nn.Sequential(nn.Conv2d(1, 8, 3)).eval()
    prog = quantize_and_lower(model, calibration((1, 1, 6, 6), 4), "one").program
    assert prog.op_counts().get("CONV2D") == 1 and "DEPTHWISE_CONV2D" not in prog.op_counts()


def test_sparse_pass_leaves_depthwise(lowered: Program) -> None:
    """SPARSE_CONV2D has one group: with every layer forced sparse, the DEPTHWISE_CONV2D ops stay as they are."""
    prog = copy.deepcopy(lowered)
    choose_sparse(prog, block=(2, 2), mode="always")
    counts = prog.op_counts()
    assert counts.get("DEPTHWISE_CONV2D") == 2 and counts.get("SPARSE_CONV2D", 0) >= 2, counts
