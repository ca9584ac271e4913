"""The arena plan: no two simultaneously live tensors overlap, and the arena is at least the lower bound."""

from __future__ import annotations

import pytest

from edgebuild.plan import plan_arena
from tests.helpers import quantize_and_lower
from tests.models import RandomCNN, calibration


@pytest.mark.parametrize("seed", range(8))
def test_plan_is_valid(seed: int) -> None:
    m = RandomCNN(seed)
    prog = quantize_and_lower(m, calibration(m.input_shape(), 2), "p").program
    plan = plan_arena(prog)
    assert plan.arena_bytes >= plan.lower_bound > 0
    lts = plan.lifetimes
    for i, a in enumerate(lts):
        ta = prog.tensors[a.tensor]
        assert ta.offset % 64 == 0 and ta.offset + ta.nbytes <= plan.arena_bytes
        for b in lts[i + 1 :]:
            if a.last < b.first or b.last < a.first:
                continue
            tb = prog.tensors[b.tensor]
            assert ta.offset + ta.nbytes <= tb.offset or tb.offset + tb.nbytes <= ta.offset, (
                ta.name,
                tb.name,
            )
    no_reuse = plan_arena(prog, reuse=False)
    assert no_reuse.arena_bytes >= plan.arena_bytes
