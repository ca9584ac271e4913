"""plan: tensor lifetimes -> offsets in one arena (static memory plan), known at build time."""

from __future__ import annotations

from dataclasses import dataclass

from .ir import OpCode, Program

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


def reshape_aliases(program: Program) -> dict[int, int]:
    """Arena tensor -> the tensor whose bytes it shares: a RESHAPE's output is its input's bytes under new dims (no
    tensor is written after the op that makes it, so the two can share one allocation that lives as long as either).
    Chains resolve to their first tensor."""
    alias: dict[int, int] = {}
    for op in program.ops:
        if op.opcode != OpCode.RESHAPE:
            continue
        x, y = op.inputs[0], op.outputs[0]
        tx, ty = program.tensors[x], program.tensors[y]
        if tx.data is not None or ty.data is not None or tx.nbytes != ty.nbytes:
            continue
        alias[y] = alias.get(x, x)
    return alias


def _groups(lifetimes: list[Lifetime], alias: dict[int, int]) -> list[Lifetime]:
    """One lifetime per allocation: aliased tensors merged into their root's (first write to last read of any)."""
    merged: dict[int, Lifetime] = {}
    for lt in lifetimes:
        root = alias.get(lt.tensor, lt.tensor)
        have = merged.get(root)
        merged[root] = (
            Lifetime(root, lt.first, lt.last, lt.size)
            if have is None
            else Lifetime(root, min(have.first, lt.first), max(have.last, lt.last), max(have.size, lt.size))
        )
    return list(merged.values())


def lower_bound(program: Program, lifetimes: list[Lifetime], alias: dict[int, int]) -> int:
    """The largest sum of simultaneously live allocations: no plan can use less."""
    groups = _groups(lifetimes, alias)
    bound = 0
    for step in range(-1, len(program.ops) + 1):
        bound = max(bound, sum(g.size for g in groups if g.first <= step <= g.last))
    return bound


def plan_arena(program: Program, *, reuse: bool = True) -> ArenaPlan:
    """Assign arena offsets: greedy by size (largest first, lowest offset that fits beside every allocation whose
    lifetime overlaps); a RESHAPE's output shares its input's allocation (reshape_aliases: the op copies nothing).
    `reuse=False` gives every tensor its own bytes, so all intermediates stay readable."""
    lifetimes = tensor_lifetimes(program)
    alias = reshape_aliases(program) if reuse else {}
    placed: list[tuple[int, int, Lifetime]] = []  # (offset, end, lifetime)
    arena = 0
    for lt in sorted(_groups(lifetimes, alias), key=lambda x: (-x.size, x.first, x.tensor)):
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
    for t, root in alias.items():
        program.tensors[t].offset = program.tensors[root].offset
    program.arena_bytes = arena
    return ArenaPlan(arena, lower_bound(program, lifetimes, alias), tuple(lifetimes))
