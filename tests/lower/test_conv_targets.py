"""One artifact per form of issue 16's conv ops (TRANSPOSE_CONV2D int8 and float, GRID_SAMPLE, conv1d through
CONV2D) runs bit-identically on the host extension and the host, arm64 and armv7 runners (ARM under qemu): the
reference kernels are plain loops compiled with -ffp-contract=off, float sums in double rounded once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from edgebuild.ir import Program
from edgebuild.plan import plan_arena
from edgebuild.run import run_runner
from edgebuild.serialize import write_artifact
from edgebuild.targets import load_target
from tests.conftest import TARGETS
from tests.helpers import quantize_and_lower, run_native
from tests.lower.conv_helpers import float_program
from tests.models import calibration


class Int8Net(nn.Module):
    """conv_transpose2d (stride 2, output padding) -> relu -> flatten -> conv1d."""

    def __init__(self) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1)
        self.c1 = nn.Conv1d(4, 5, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c1(torch.relu(self.up(x)).flatten(2))


class FloatNet(nn.Module):
    """grid_sample (bilinear, reflection) of a transposed convolution's output."""

    def __init__(self) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(3, 2, (2, 3), stride=(2, 1), dilation=(1, 2), groups=1)

    def forward(self, x: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
        return F.grid_sample(self.up(x), grid, "bilinear", "reflection", align_corners=False)


def _same_everywhere(
    program: Program, inputs: list[np.ndarray], runner_for: Callable[[str], Path], tmp: Path
) -> None:
    first = [o.tobytes() for o in run_native(program, inputs)]
    plan_arena(program)
    artifact = tmp / "model.ebm"
    write_artifact(program, artifact)
    paths = []
    for i, x in enumerate(inputs):
        paths.append(tmp / f"x{i}.npy")
        np.save(paths[-1], x)
    for target in TARGETS:
        outs = [tmp / f"{target}-y{k}.npy" for k in range(len(program.outputs))]
        doc = run_runner(load_target(target), runner_for(target), artifact, paths, outs)
        assert doc["status"] == "ok"
        assert [np.load(o).tobytes() for o in outs] == first, f"{target} differs from the host extension"


def test_conv_ops_bit_identical_across_targets(runner_for: Callable[[str], Path], tmp_path: Path) -> None:
    torch.manual_seed(0)
    q = quantize_and_lower(Int8Net(), calibration((1, 3, 5, 6), 8))
    counts = q.program.op_counts()
    assert counts.get("TRANSPOSE_CONV2D") == 1 and counts.get("CONV2D") == 1, counts
    assert not q.program.metadata.get("float_ops"), q.program.metadata.get("float_ops")
    (tmp_path / "int8").mkdir()
    _same_everywhere(
        q.program, [calibration((1, 3, 5, 6), 1, seed=3)[0].numpy()], runner_for, tmp_path / "int8"
    )

    x, grid = torch.randn(1, 3, 4, 5), torch.rand(1, 6, 7, 2) * 2.6 - 1.3
    prog = float_program(FloatNet(), (x, grid))
    counts = prog.op_counts()
    assert counts.get("TRANSPOSE_CONV2D") == 1 and counts.get("GRID_SAMPLE") == 1, counts
    (tmp_path / "float").mkdir()
    _same_everywhere(prog, [x.numpy(), grid.numpy()], runner_for, tmp_path / "float")
