"""memplan: the arena plan of a microcontroller build, which goes under the live-tensor bound of edgebuild/plan.py.

A microcontroller's model runs only the int8 middle of the program in its arena: the QUANTIZE ops of the float
inputs and the DEQUANTIZE ops of the float outputs run from / to the caller's float buffers (aot.py), so neither
float tensor takes arena bytes. Over that middle, these rewrites let tensors share bytes that the ordinary plan
keeps apart. Each is bit-identical: every kernel call is the reference's (or its variant's) on the same codes, so
every output element is the same sum (docs/quantization.md (6), (7)); only where bytes live changes.

- RESHAPE aliases: its output is its input's bytes (no copy, no step in model.c).
- In place: an elementwise op (ADD of same-shape tensors, CLAMP, int8 UNARY) writes its output over an input that
  dies there; the reference kernels allow that exact aliasing (ukernels.h "Output may alias an input exactly").
- Conv + residual ADD: a CONV2D / DEPTHWISE_CONV2D whose output only feeds the next op, a same-shape ADD whose
  other operand (the skip tensor) dies there, runs a band of output rows at a time into a small scratch, and each
  band is added in place into the skip tensor. A band of rows [r0, r1) is the conv with the input pointer moved
  to the band's first input row and pad_top / input_height adjusted (emit.band_params).
- Streamed conv: a conv whose input dies there runs in bands into scratch and copies each band into place, its
  output overlapping its input where the later bands no longer read it (_stream_offset): pointwise, depthwise and
  strided convs of a MobileNet chain need the larger of input and output plus a row or so, not their sum.
- Chain: conv A -> conv B (-> the residual ADD B fuses into), A's output never whole: B runs in bands and A
  computes the rows each band reads into a window of rows (chain_schedule). ResNet-8's first block then holds its
  skip tensor and a few rows, not three 32x32x16 tensors.

Fusion is taken wherever it applies (it is faster too: one pass less). Streaming and chains cost a copy or more
kernel calls, so a local search keeps only those that lower the arena (plan_mcu). Tensors tied by these rewrites
form one buffer, a rigid body of members at fixed offsets, each keeping its own lifetime; buffers and per-step
scratch are placed greedily (lowest offset clear of every placed member whose lifetime overlaps) under a few
orders, the smallest arena kept.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..ir import DType, OpCode, Program
from ..plan import ALIGN as HOST_ALIGN

__all__ = ["ALIGN", "Edges", "McuPlan", "Step", "find_edges", "plan_mcu"]

ALIGN = 16  # every buffer starts 16-byte aligned (the arena is aligned(16)); Cortex-M has no cache lines to respect

# A band of a fused conv (STREAM_BAND_BYTES: a streamed conv): about this many bytes of output rows per kernel call
# (at least one row). Smaller bands save scratch but pay the kernel's per-call set-up more often: measured under
# QEMU, KWS on Cortex-M55 (MVE) runs 2.15 M instructions unstreamed, 7.06 M streamed a row at a time (5 pixels a
# call), 2.91 M in 2 KiB bands; IC's fused bands cost nothing measurable at 1 KiB.
BAND_BYTES = 1024
STREAM_BAND_BYTES = 2048
# In the set of choices the search toggles, a conv's index means "stream it", index + CHAIN "chain it to the next".
CHAIN = 1 << 20
# Shuffled placement orders tried besides the two fixed ones (seeded): the greedy placer is order-sensitive.
RESTARTS = 16

# Ops whose reference kernel lets the output alias an input exactly (ukernels.h: qs8-vadd, f32-add, qs8-clamp,
# f32-clamp, qs8-lut); ADD only when its operands have the output's shape (the broadcasting kernel does not say so),
# UNARY only in int8 (the table lookup).
_ELEMENTWISE_INPLACE = (OpCode.ADD, OpCode.CLAMP, OpCode.UNARY)


@dataclass
class Edges:
    """The program's edges as the MCU API serves them: per model input / output, the op at the edge (or None)."""

    quantize: dict[int, int] = field(default_factory=dict)  # float input tensor -> its QUANTIZE op
    dequantize: dict[int, int] = field(default_factory=dict)  # float output tensor -> its DEQUANTIZE op

    def edge_ops(self) -> set[int]:
        return set(self.quantize.values()) | set(self.dequantize.values())


@dataclass
class Step:
    """One step of eb_model_run: one op, or a conv fused with the residual ADD after it."""

    ops: list[int]  # program op indices (conv, add for a fusion)
    kind: str = "op"  # "op" | "conv_add" | "conv_stream" | "chain" (conv -> conv [-> residual ADD])
    band_rows: int = 0  # conv_add: output rows per band
    scratch: int = -1  # conv_add: id of the band's scratch item (McuPlan.scratch)
    kernel_scratch: int = -1  # id of the scratch item of the step's kernel variant (Variant.scratch_bytes)
    window: int = -1  # chain: id of the scratch item holding the window of the intermediate tensor's rows
    add_conv_operand: int = 0  # conv_add: which ADD input (0 = a, 1 = b) the conv produces


@dataclass
class McuPlan:
    offsets: dict[int, int]  # arena tensor id -> offset
    scratch: dict[int, tuple[int, int]]  # scratch item id -> (offset, bytes)
    arena_bytes: int
    steps: list[Step]
    aliases: dict[int, int]  # RESHAPE output tensor -> the input tensor whose bytes it is
    notes: list[str]  # what the plan did, for the report
    # the ordinary plan's live-tensor lower bound over the same int8 middle (plan.py's 64-byte alignment)
    baseline_bytes: int
    lower_bound: int  # this plan's own live-buffer bound (arena_bytes >= it)
    live_at: dict[int, int] = field(default_factory=dict)  # op index -> bytes of the buffers live there
    streamed: frozenset[int] = frozenset()  # convs streamed over their input; chain heads as index + CHAIN
    buffer_of: dict[int, int] = field(
        default_factory=dict
    )  # arena tensor -> its buffer (tensors tied together)
    lifetimes: dict[int, tuple[int, int]] = field(
        default_factory=dict
    )  # arena tensor -> (first, last) op index
    scratch_step: dict[int, int] = field(default_factory=dict)  # scratch item -> the op index it is used at


def find_edges(program: Program) -> Edges:
    """The QUANTIZE ops that only feed a float model input into the int8 graph, and the DEQUANTIZE ops that only
    make a float model output."""
    consumers: dict[int, list[int]] = {}
    for i, op in enumerate(program.ops):
        for t in op.inputs:
            if t >= 0:
                consumers.setdefault(t, []).append(i)
    edges = Edges()
    for t in program.inputs:
        users = consumers.get(t, [])
        if (
            program.tensors[t].dtype == DType.FLOAT32
            and len(users) == 1
            and program.ops[users[0]].opcode == OpCode.QUANTIZE
            and t not in program.outputs
        ):
            edges.quantize[t] = users[0]
    for i, op in enumerate(program.ops):
        if op.opcode != OpCode.DEQUANTIZE:
            continue
        y = op.outputs[0]
        if y in program.outputs and not consumers.get(y) and program.outputs.count(y) == 1:
            edges.dequantize[y] = i
    return edges


def _align(n: int, a: int = ALIGN) -> int:
    return (n + a - 1) // a * a


class _Buffers:
    """Tensors tied into one buffer, each at a fixed offset from the buffer's first tensor (its root). A tensor
    joins a buffer when it is born, at a chosen offset from a member: 0 for an alias or an in-place op, below its
    input for a conv streamed over its input."""

    def __init__(self) -> None:
        self.root: dict[int, int] = {}
        self.rel: dict[int, int] = {}

    def find(self, t: int) -> int:
        return self.root.setdefault(t, t)

    def offset(self, t: int) -> int:
        return self.rel.get(t, 0)

    def attach(self, member: int, t: int, delta: int = 0) -> None:
        """Tie the new tensor `t` into `member`'s buffer, `delta` bytes after it."""
        self.root[t] = self.find(member)
        self.rel[t] = self.offset(member) + delta


def plan_mcu(
    program: Program,
    edges: Edges,
    *,
    fuse: bool = True,
    inplace: bool = True,
    kernel_scratch: Callable[[Step], int] = lambda step: 0,
) -> McuPlan:
    """The MCU arena plan of `program`'s int8 middle (every op but the edge ops). `fuse` / `inplace` off give the
    ordinary plan of the same tensors. `kernel_scratch(step)`: the bytes of arena scratch the step's kernel
    variant asks for (0: none).

    Streaming a conv over its input costs a copy of its output (model.c copies each band), a chain more kernel
    calls, so they are only used where they lower the arena: a local search over the set of streamed convs and
    chain heads (toggling one at a time) keeps the smallest arena with the fewest of them."""
    base = _plan(program, edges, fuse, inplace, frozenset(), kernel_scratch, RESTARTS)
    if not inplace:
        return base
    convs = [i for i in base.live_at if program.ops[i].opcode in (OpCode.CONV2D, OpCode.DEPTHWISE_CONV2D)]
    convs += [i + CHAIN for i in convs]  # the same conv as the head of a chain

    # The search looks at the live-buffer bound only (no placement: fast); the sets it finds are then placed.
    def bound_of(stream: frozenset[int]) -> McuPlan:
        return _plan(program, edges, fuse, inplace, stream, kernel_scratch, -1)

    def descend(plan: McuPlan, cost: Callable[[McuPlan], tuple[int, ...]]) -> McuPlan:
        """The best single toggle of a streamed conv, while one improves `cost`."""
        for _ in range(2 * len(convs) + 1):
            trial = min((bound_of(plan.streamed ^ {i}) for i in convs), key=cost, default=plan)
            if cost(trial) >= cost(plan):
                break
            plan = trial
        return plan

    def frugal(plan: McuPlan) -> tuple[int, ...]:
        # the bound first; then the fewest streamed convs (each copies its output once more)
        return plan.lower_bound, len(plan.streamed)

    def eager(plan: McuPlan) -> tuple[int, ...]:
        # any lower live set counts: finds chains of streamed convs that only lower the peak together
        return plan.lower_bound, sum(plan.live_at.values())

    start = bound_of(frozenset())
    found = [descend(start, frugal)]
    plan = descend(start, eager)
    for i in sorted(plan.streamed):  # drop the streamed convs that do not lower the bound
        trial = bound_of(plan.streamed - {i})
        if trial.lower_bound <= plan.lower_bound:
            plan = trial
    found.append(plan)
    placed = [base] + [
        _plan(program, edges, fuse, inplace, p.streamed, kernel_scratch, RESTARTS) for p in found
    ]
    return min(placed, key=lambda p: (p.arena_bytes, len(p.streamed)))


def _plan(
    program: Program,
    edges: Edges,
    fuse: bool,
    inplace: bool,
    stream: frozenset[int],
    kernel_scratch: Callable[[Step], int],
    restarts: int,
) -> McuPlan:
    """One plan with the convs of `stream` streamed; buffers placed under two orders and `restarts` shuffled
    ones (-1: not placed, for the search: offsets empty, arena 0)."""
    ops = program.ops
    tensors = program.tensors
    edge_ops = edges.edge_ops()
    middle = [i for i in range(len(ops)) if i not in edge_ops]
    end = len(ops)

    def arena(t: int) -> bool:
        return t >= 0 and tensors[t].data is None

    # Lifetimes in program op indices: an edge QUANTIZE's output is written before the run (-1), an edge
    # DEQUANTIZE's input is read after it (end).
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for t in program.inputs:
        if t not in edges.quantize:
            first[t] = -1
    for t, qi in edges.quantize.items():
        first[ops[qi].outputs[0]] = -1
    for i in middle:
        for t in ops[i].outputs:
            first.setdefault(t, i)
        for t in ops[i].inputs:
            if arena(t):
                last[t] = max(last.get(t, -1), i)
    for di in edges.dequantize.values():
        last[ops[di].inputs[0]] = end
    for t in program.outputs:
        if t not in edges.dequantize:
            last[t] = end
    for t, f in first.items():
        last.setdefault(t, f)
    consumers: dict[int, list[int]] = {}
    for i in middle:
        for t in ops[i].inputs:
            if arena(t):
                consumers.setdefault(t, []).append(i)

    size = {t: _align(tensors[t].nbytes) for t in first}
    baseline = _live_bound(
        {t: (first[t], last[t], _align(tensors[t].nbytes, HOST_ALIGN)) for t in first}, range(-1, end + 1)
    )

    buffers = _Buffers()
    aliases: dict[int, int] = {}
    notes: list[str] = []
    steps: list[Step] = []
    dropped: set[int] = set()  # tensors that never take arena bytes (a fused conv's output)
    streamed: set[int] = set()
    scratch_items: dict[int, tuple[int, int]] = {}  # id -> (step op index, bytes)

    def group_last(t: int) -> int:
        root = buffers.find(t)
        return max(last[u] for u in first if u not in dropped and buffers.find(u) == root)

    def scratch(i: int, n: int) -> int:
        k = len(scratch_items)
        scratch_items[k] = (i, n)
        return k

    def fusion_at(pos: int) -> Step | None:
        """The conv at middle[pos] fused with the residual ADD right after it, when that is bit-identical and
        in place: the conv's output feeds only the ADD, the skip operand's buffer dies there, and the conv does
        not read the skip buffer."""
        p = middle[pos]
        if not fuse or pos + 1 >= len(middle):
            return None
        prod, i = ops[p], middle[pos + 1]
        op = ops[i]
        if prod.opcode not in (OpCode.CONV2D, OpCode.DEPTHWISE_CONV2D) or program.form_of(prod) != "int8":
            return None
        if op.opcode != OpCode.ADD or program.form_of(op) != "int8":
            return None
        a, b = op.inputs[:2]
        y, t, x = op.outputs[0], prod.outputs[0], prod.inputs[0]
        if not (tensors[a].shape == tensors[b].shape == tensors[y].shape) or a == b or t not in (a, b):
            return None
        s = b if t == a else a
        if (
            consumers.get(t) != [i]
            or last[t] != i
            or not arena(s)
            or not arena(x)
            or tensors[x].shape[0] != 1
        ):
            return None
        if group_last(s) != i or buffers.find(s) == buffers.find(x):
            return None
        row = tensors[t].shape[2] * tensors[t].shape[3]
        rows = max(1, min(tensors[t].shape[1], BAND_BYTES // max(row, 1)))
        return Step([p, i], "conv_add", band_rows=rows, add_conv_operand=0 if t == a else 1)

    def chain_at(pos: int) -> Step | None:
        """conv A -> conv B (-> the residual ADD B fuses into) with A's output never whole: B runs in bands and
        A computes the rows of its output each band needs into a window (chain_schedule)."""
        if pos + 1 >= len(middle):
            return None
        a, b = middle[pos], middle[pos + 1]
        opa, opb = ops[a], ops[b]
        convs = (OpCode.CONV2D, OpCode.DEPTHWISE_CONV2D)
        if opa.opcode not in convs or opb.opcode not in convs:
            return None
        if program.form_of(opa) != "int8" or program.form_of(opb) != "int8":
            return None
        h, x = opa.outputs[0], opa.inputs[0]
        if opb.inputs[0] != h or consumers.get(h) != [b] or last[h] != b or not arena(x):
            return None
        if tensors[x].shape[0] != 1 or tensors[h].shape[0] != 1 or tensors[h].shape[1] < 2:
            return None
        add = fusion_at(pos + 1)
        yb = tensors[opb.outputs[0]]
        orow = yb.shape[2] * yb.shape[3]
        rows = add.band_rows if add else max(1, min(yb.shape[1] - 1, BAND_BYTES // max(orow, 1)))
        fa, fb = conv_geometry(program, a), conv_geometry(program, b)
        sched = chain_schedule(fa, fb, rows)
        if add is not None:
            skip = ops[add.ops[1]].inputs[1 - add.add_conv_operand]
            if buffers.find(skip) == buffers.find(x):
                if buffers.offset(skip) != buffers.offset(x):
                    return None
                # the ADD writes the skip rows of each band in place: rows A still reads later must be intact
                for k, (r0, n, _, _, _, whi) in enumerate(sched[:-1]):
                    if whi < fa["output_height"] and r0 + n > max(
                        0, whi * fa["stride_height"] - fa["pad_top"]
                    ):
                        return None
        st = Step([a, b] + (add.ops[1:] if add else []), "chain", band_rows=rows)
        st.add_conv_operand = add.add_conv_operand if add else 0
        return st

    skip_ops = 0
    for pos, i in enumerate(middle):
        op = ops[i]
        if skip_ops:
            skip_ops -= 1
            continue
        st = chain_at(pos) if i + CHAIN in stream else None
        if st is not None:
            a, b, end_op = ops[st.ops[0]], ops[st.ops[1]], st.ops[-1]
            h = a.outputs[0]
            dropped.add(h)
            last[a.inputs[0]] = max(last[a.inputs[0]], end_op)  # A runs until the chain's last op
            hrow = tensors[h].shape[2] * tensors[h].shape[3]
            sched = chain_schedule(
                conv_geometry(program, st.ops[0]), conv_geometry(program, st.ops[1]), st.band_rows
            )
            st.window = scratch(end_op, max(whi - wlo for _, _, wlo, _, _, whi in sched) * hrow)
            yb = tensors[b.outputs[0]]
            if len(st.ops) == 3:
                add = ops[st.ops[2]]
                dropped.add(b.outputs[0])
                buffers.attach(add.inputs[1 - st.add_conv_operand], add.outputs[0])
                st.scratch = scratch(end_op, st.band_rows * yb.shape[2] * yb.shape[3])
            streamed.add(i + CHAIN)
            names = " -> ".join(ops[k].name for k in st.ops)
            notes.append(
                f"{names}: chained, {st.band_rows} row(s) a band, {a.name}'s output in a window of rows"
            )
            steps.append(st)
            skip_ops = len(st.ops) - 1
            continue
        st = fusion_at(pos)
        if st is not None:
            conv, add = ops[st.ops[0]], ops[st.ops[1]]
            t = conv.outputs[0]
            dropped.add(t)
            last[conv.inputs[0]] = max(last[conv.inputs[0]], st.ops[1])  # the conv runs at its ADD
            s = add.inputs[1 - st.add_conv_operand]
            buffers.attach(s, add.outputs[0])  # the fusion adds into the skip tensor: that is its point
            row = tensors[t].shape[2] * tensors[t].shape[3]
            st.scratch = scratch(st.ops[1], st.band_rows * row)
            notes.append(
                f"{conv.name} + {add.name}: conv fused into the residual add, {st.band_rows} row(s) a band"
            )
            steps.append(st)
            skip_ops = 1
            continue
        if op.opcode == OpCode.RESHAPE and arena(op.inputs[0]):
            buffers.attach(op.inputs[0], op.outputs[0])
            aliases[op.outputs[0]] = op.inputs[0]
            steps.append(Step([i]))
            continue
        if inplace and op.opcode in _ELEMENTWISE_INPLACE and _alias_safe(program, i):
            y = op.outputs[0]
            srcs = [t for t in op.inputs if arena(t)]
            for t in srcs:
                if tensors[t].nbytes != tensors[y].nbytes or tensors[t].dtype != tensors[y].dtype:
                    continue
                others = [u for u in srcs if u != t]
                if group_last(t) == i and all(buffers.find(u) != buffers.find(t) for u in others):
                    buffers.attach(t, y)
                    notes.append(f"{op.name}: {op.opcode.name} in place over {tensors[t].name}")
                    break
        if i in stream:
            how = _stream_offset(program, i) if group_last(op.inputs[0]) == i else None
            if how is not None:
                delta, rows = how
                x, y = op.inputs[0], op.outputs[0]
                buffers.attach(x, y, delta)
                orow = tensors[y].shape[2] * tensors[y].shape[3]
                st = Step([i], "conv_stream", band_rows=rows)
                st.scratch = scratch(i, rows * orow)
                streamed.add(i)
                notes.append(
                    f"{op.name}: {op.opcode.name} streamed over its input, {rows} row(s) a band ({delta:+d} B)"
                )
                steps.append(st)
                continue
        steps.append(Step([i]))

    for st in steps:
        n = kernel_scratch(st)
        if n > 0:
            st.kernel_scratch = scratch(st.ops[-1], n)

    # Buffers: rigid bodies of their tensors (each member keeps its own lifetime); scratch: one-member buffers.
    groups: dict[tuple[str, int], list[tuple[int, int, int, int]]] = {}  # key -> [(rel, bytes, first, last)]
    for t, born in first.items():
        if t not in dropped:
            groups.setdefault(("b", buffers.find(t)), []).append((buffers.offset(t), size[t], born, last[t]))
    for k, (i, n) in scratch_items.items():
        groups[("s", k)] = [(0, _align(n), i, i)]
    lo = {key: min(m[0] for m in members) for key, members in groups.items()}
    bodies = {key: [(r - lo[key], n, f, l_) for r, n, f, l_ in members] for key, members in groups.items()}

    # Greedy placement under a few orders (plan.py's largest-first, then by birth): the smallest arena wins.
    def extent(members: list) -> int:
        return max(r + n for r, n, _, _ in members)

    live_at = {i: sum(_live_bytes(members, i) for members in bodies.values()) for i in middle}
    bound = max(live_at.values(), default=0)
    if restarts < 0:
        return McuPlan({}, {}, 0, steps, aliases, notes, baseline, bound, live_at, frozenset(streamed))
    orders: list[Callable[[Any], Any]] = [
        lambda kv: (-extent(kv[1]), min(m[2] for m in kv[1]), kv[0]),
        lambda kv: (min(m[2] for m in kv[1]), -extent(kv[1]), kv[0]),
    ]
    rng = random.Random(0)  # deterministic: the same program always gets the same plan
    for _ in range(restarts):
        rank = {key: rng.random() for key in bodies}
        orders.append(functools.partial(_by_rank, rank))
    where, arena_bytes = min((_place(bodies, key) for key in orders), key=lambda r: r[1])

    offsets = {
        t: where[("b", buffers.find(t))] + buffers.offset(t) - lo[("b", buffers.find(t))]
        for t in first
        if t not in dropped
    }
    scratch_at = {k: (where[("s", k)], n) for k, (_, n) in scratch_items.items()}
    kept = [t for t in first if t not in dropped]
    return McuPlan(
        offsets,
        scratch_at,
        arena_bytes,
        steps,
        aliases,
        notes,
        baseline,
        bound,
        live_at,
        frozenset(streamed),
        {t: buffers.find(t) for t in kept},
        {t: (first[t], last[t]) for t in kept},
        {k: i for k, (i, _) in scratch_items.items()},
    )


def _alias_safe(program: Program, i: int) -> bool:
    op = program.ops[i]
    shapes = {program.tensors[t].shape for t in op.inputs if t >= 0 and program.tensors[t].data is None}
    if op.opcode == OpCode.ADD:
        return shapes == {program.tensors[op.outputs[0]].shape}
    if op.opcode == OpCode.UNARY:
        return program.form_of(op) == "int8"
    return True


def _by_rank(rank: dict, kv: tuple) -> float:
    return float(rank[kv[0]])


def _live_bytes(members: list[tuple[int, int, int, int]], step: int) -> int:
    """Bytes a buffer's members live at `step` cover (members tied to overlap count once)."""
    spans = sorted((r, r + n) for r, n, f, l_ in members if f <= step <= l_)
    total, reach = 0, None
    for a, b in spans:
        if reach is None or a >= reach:
            total += b - a
            reach = b
        elif b > reach:
            total += b - reach
            reach = b
    return total


def conv_geometry(program: Program, i: int) -> dict[str, int]:
    """The row geometry of conv op i (its reference struct's fields a band changes or reads)."""
    op = program.ops[i]
    x, w, y = (program.tensors[t] for t in (op.inputs[0], op.inputs[1], op.outputs[0]))
    p = program.params_of(op)
    return {
        "input_height": x.shape[1],
        "output_height": y.shape[1],
        "kernel_height": w.shape[1],
        "stride_height": p.stride_h,
        "pad_top": p.pad_top,
        "dilation_height": p.dilation_h,
    }


def chain_schedule(
    fa: dict[str, int], fb: dict[str, int], rows: int
) -> list[tuple[int, int, int, int, int, int]]:
    """The bands of a chain A -> B, as model.c's loop runs them: (B's first row r0, its rows n, the window's first
    row wlo, A's first row a0 and row count an computed for this band, the window's end whi). Before band r0 the
    window drops the rows of A's output below the band's first input row (moving the rest to its start), then A
    computes the rows up to the band's last input row."""
    hh = fb["input_height"]
    wlo = whi = 0
    out = []
    for r0 in range(0, fb["output_height"], rows):
        n = min(rows, fb["output_height"] - r0)
        lo = max(0, r0 * fb["stride_height"] - fb["pad_top"])
        last_row = (r0 + n - 1) * fb["stride_height"] - fb["pad_top"]
        hi = max(lo, min(hh, last_row + (fb["kernel_height"] - 1) * fb["dilation_height"] + 1))
        if lo > wlo:
            whi = max(whi, lo)
            wlo = lo
        a0, an = whi, max(0, hi - whi)
        whi = max(whi, hi)
        out.append((r0, n, wlo, a0, an, whi))
    return out


def _stream_offset(program: Program, i: int) -> tuple[int, int] | None:
    """(start of the output relative to the input, band rows) of a conv streamed over its input: it runs a band
    of rows at a time into scratch and copies each band into place. After the band ending at row r1 is copied,
    the rows still to come read input rows from r1·stride − pad_top on, so the output's first r1 rows must end at
    or before that input row's bytes. The start is the highest (rounded down to ALIGN) that keeps every later
    band's input intact, or 0 when the output fits inside the input. None when the conv cannot stream (batch > 1,
    one output row, float). Bands are about STREAM_BAND_BYTES (a kernel call per row costs more than the copy)."""
    op = program.ops[i]
    if program.form_of(op) != "int8":
        return None
    x, y = program.tensors[op.inputs[0]], program.tensors[op.outputs[0]]
    if x.shape[0] != 1 or y.shape[1] < 2:
        return None
    p = program.params_of(op)
    irow, orow = x.shape[2] * x.shape[3], y.shape[2] * y.shape[3]
    rows = max(1, min(y.shape[1] - 1, -(-STREAM_BAND_BYTES // max(orow, 1))))
    ends = range(rows, y.shape[1], rows)
    bound = min(max(0, r1 * p.stride_h - p.pad_top) * irow - r1 * orow for r1 in ends)
    return (0 if bound >= 0 else bound // ALIGN * ALIGN), rows  # floor: a lower start keeps the inputs intact


def _place(bodies: dict, order: Callable[[Any], Any]) -> tuple[dict, int]:
    """Each buffer, as a rigid body of members (offset in the buffer, bytes, first, last), at the lowest offset
    where no member overlaps a placed member whose lifetime overlaps its own."""
    placed: list[tuple[int, int, int, int]] = []  # (start, end, first, last)
    where: dict = {}
    arena = 0
    for key, members in sorted(bodies.items(), key=order):
        near = [
            [(s, e) for s, e, pf, pl in placed if not (pl < f or l_ < pf)] for r, n, f, l_ in members
        ]  # per member: the placed spans it must clear
        candidates = sorted(
            {0} | {e - r for (r, _, _, _), spans in zip(members, near) for _, e in spans if e >= r}
        )
        for pos in candidates:
            if all(
                e <= pos + r or pos + r + n <= s
                for (r, n, _, _), spans in zip(members, near)
                for s, e in spans
            ):
                break
        for r, n, f, l_ in members:
            placed.append((pos + r, pos + r + n, f, l_))
            arena = max(arena, pos + r + n)
        where[key] = pos
    return where, arena


def _live_bound(items: dict, steps: range) -> int:
    spans = list(items.values())
    return max((sum(n for f, l_, n in spans if f <= s <= l_) for s in steps), default=0)
