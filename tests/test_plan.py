"""The arena plan: no two simultaneously live tensors overlap (but a RESHAPE's output, which is its input's bytes under
new dims), and the arena is at least the lower bound."""

from __future__ import annotations

import pytest

from edgebuild.ir import OpCode
from edgebuild.plan import plan_arena, reshape_aliases
from tests.helpers import quantize_and_lower
from tests.models import RandomCNN, calibration


@pytest.mark.parametrize("seed", range(8))
def test_plan_is_valid(seed: int) -> None:
    m = RandomCNN(seed)
    prog = quantize_and_lower(m, calibration(m.input_shape(), 2), "p").program
    plan = plan_arena(prog)
    assert plan.arena_bytes >= plan.lower_bound > 0
    lts = plan.lifetimes
    alias = reshape_aliases(prog)
    reshapes = [op for op in prog.ops if op.opcode == OpCode.RESHAPE]
    assert len(alias) == sum(prog.tensors[op.inputs[0]].data is None for op in reshapes)
    for t, root in alias.items():
        assert prog.tensors[t].offset == prog.tensors[root].offset
    for i, a in enumerate(lts):
        ta = prog.tensors[a.tensor]
        assert ta.offset % 64 == 0 and ta.offset + ta.nbytes <= plan.arena_bytes
        for b in lts[i + 1 :]:
            if a.last < b.first or b.last < a.first:
                continue
            if alias.get(a.tensor, a.tensor) == alias.get(b.tensor, b.tensor):
                continue  # one allocation: the RESHAPE copies nothing
            tb = prog.tensors[b.tensor]
            assert ta.offset + ta.nbytes <= tb.offset or tb.offset + tb.nbytes <= ta.offset, (
                ta.name,
                tb.name,
            )
    no_reuse = plan_arena(prog, reuse=False)
    assert no_reuse.arena_bytes >= plan.arena_bytes
    offsets = [prog.tensors[lt.tensor].offset for lt in no_reuse.lifetimes]
    assert len(set(offsets)) == len(offsets)  # every tensor its own bytes, aliases too
