"""plan: tensor lifetimes -> offsets in one arena (static memory plan), known at build time."""

from __future__ import annotations

from dataclasses import dataclass

from .ir import Program

ALIGN = 64  # every arena tensor starts on a cache line; SIMD loads never straddle an allocation


@dataclass(frozen=True)
class Lifetime:
    tensor: int
    first: int  # index of the op that writes it (-1: a graph input, written before op 0)
    last: int  # index of the last op that reads it (len(ops): a graph output, read after the last op)
    size: int


@dataclass(frozen=True)
class ArenaPlan:
    arena_bytes: int
    lower_bound: int  # the largest sum of simultaneously live tensors: no plan can use less
    lifetimes: tuple[Lifetime, ...]


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def tensor_lifetimes(program: Program) -> list[Lifetime]:
    first: dict[int, int] = {t: -1 for t in program.inputs}
    last: dict[int, int] = {}
    for i, op in enumerate(program.ops):
        for t in op.outputs:
            first.setdefault(t, i)
        for t in op.inputs:
            if t >= 0 and program.tensors[t].data is None:
                last[t] = i
    end = len(program.ops)
    for t in program.outputs:
        last[t] = end
    return [
        Lifetime(t, f, last.get(t, f), _align(program.tensors[t].nbytes)) for t, f in sorted(first.items())
    ]


def plan_arena(program: Program, *, reuse: bool = True) -> ArenaPlan:
    """Assign arena offsets: greedy by size (largest first, lowest offset that fits beside every tensor whose
    lifetime overlaps). `reuse=False` gives every tensor its own bytes, so all intermediates stay readable."""
    lifetimes = tensor_lifetimes(program)
    placed: list[tuple[int, int, Lifetime]] = []  # (offset, end, lifetime)
    arena = 0
    for lt in sorted(lifetimes, key=lambda x: (-x.size, x.first, x.tensor)):
        offset = 0
        if reuse:
            busy = sorted(
                (o, e) for o, e, other in placed if not (other.last < lt.first or lt.last < other.first)
            )
            for o, e in busy:
                if offset + lt.size <= o:
                    break
                offset = max(offset, e)
        else:
            offset = arena
        placed.append((offset, offset + lt.size, lt))
        program.tensors[lt.tensor].offset = offset
        arena = max(arena, offset + lt.size)
    program.arena_bytes = arena

    bound = 0
    for step in range(-1, len(program.ops) + 1):
        bound = max(bound, sum(lt.size for lt in lifetimes if lt.first <= step <= lt.last))
    return ArenaPlan(arena, bound, tuple(lifetimes))
