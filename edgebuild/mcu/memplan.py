"""memplan: the arena plan of a microcontroller build, which goes under the live-tensor bound of edgebuild/plan.py.

A microcontroller's model runs only the int8 middle of the program in its arena: the QUANTIZE ops of the float
inputs and the DEQUANTIZE ops of the float outputs run from / to the caller's float buffers (aot.py), so neither
float tensor takes arena bytes. Over that middle, three rewrites let tensors share bytes that the ordinary plan
keeps apart (each one is bit-identical: the kernels compute the same sums, only where bytes live changes):

- RESHAPE aliases: its output is its input's bytes (no copy, no step in model.c).
- In place: an elementwise op (ADD of same-shape tensors, CLAMP) writes its output over an input that dies there;
  the reference kernels allow that exact aliasing (ukernels.h "Output may alias an input exactly").
- Conv + residual ADD fusion: a CONV2D (or DEPTHWISE_CONV2D) whose output only feeds the next op, a same-shape
  ADD whose other operand (the skip tensor) dies there, is computed a band of output rows at a time into a small
  scratch, and each band is added in place into the skip tensor. A band of rows [r0, r1) is the reference conv
  with the input pointer moved to the band's first input row and pad_top / input_height adjusted, so every output
  element is the same sum (docs/quantization.md (6)) and the ADD is (7) on the same pairs of codes. ResNet-8's
  blocks never hold the conv's full output: IC's peak drops by one 32x32x16 tensor.

Tensors tied by these rewrites form one *buffer* (same offset); buffers and per-step scratch are placed as
edgebuild/plan.py places tensors (largest first, lowest offset beside every buffer whose lifetime overlaps).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..ir import DType, OpCode, Program
from ..plan import ALIGN as HOST_ALIGN

__all__ = ["ALIGN", "Edges", "McuPlan", "Step", "find_edges", "plan_mcu"]

ALIGN = 16  # every buffer starts 16-byte aligned (the arena is aligned(16)); Cortex-M has no cache lines to respect

# A band of a fused conv: at most this many bytes of output rows (and at least one row) per kernel call.
BAND_BYTES = 1024

# Ops whose int8 or float reference kernel lets the output alias an input exactly (ukernels.h).
_ELEMENTWISE_INPLACE = (OpCode.ADD, OpCode.CLAMP)


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
    kind: str = "op"  # "op" | "conv_add"
    band_rows: int = 0  # conv_add: output rows per band
    scratch: int = -1  # conv_add: id of the band's scratch item (McuPlan.scratch)
    kernel_scratch: int = -1  # id of the scratch item of the step's kernel variant (Variant.scratch_bytes)
    add_conv_operand: int = 0  # conv_add: which ADD input (0 = a, 1 = b) the conv produces


@dataclass
class McuPlan:
    offsets: dict[int, int]  # arena tensor id -> offset
    scratch: dict[int, tuple[int, int]]  # scratch item id -> (offset, bytes)
    arena_bytes: int
    steps: list[Step]
    aliases: dict[int, int]  # RESHAPE output tensor -> the input tensor whose bytes it is
    notes: list[str]  # what the plan did, for the report
    baseline_bytes: int  # the ordinary plan's live-tensor lower bound over the same int8 middle (plan.py, 64 B)
    lower_bound: int  # this plan's own live-buffer bound (arena_bytes >= it)


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
    """Union-find of tensors that share one offset."""

    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, t: int) -> int:
        self.parent.setdefault(t, t)
        while self.parent[t] != t:
            self.parent[t] = self.parent[self.parent[t]]
            t = self.parent[t]
        return t

    def union(self, a: int, b: int) -> None:
        self.parent[self.find(b)] = self.find(a)


def plan_mcu(
    program: Program,
    edges: Edges,
    *,
    fuse: bool = True,
    inplace: bool = True,
    kernel_scratch: Callable[[Step], int] = lambda step: 0,
) -> McuPlan:
    """The MCU arena plan of `program`'s int8 middle (every op but the edge ops). `fuse` / `inplace` off give the
    ordinary plan of the same tensors (what the tests compare against). `kernel_scratch(step)`: the bytes of
    arena scratch the step's kernel variant asks for (0: none)."""
    ops = program.ops
    edge_ops = edges.edge_ops()
    middle = [i for i in range(len(ops)) if i not in edge_ops]
    end = len(ops)
    tensors = program.tensors

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
    for y, di in edges.dequantize.items():
        last[ops[di].inputs[0]] = end
    for t in program.outputs:
        if t not in edges.dequantize:
            last[t] = end
    for t in first:
        last.setdefault(t, first[t])
    consumers: dict[int, list[int]] = {}
    for i in middle:
        for t in ops[i].inputs:
            if arena(t):
                consumers.setdefault(t, []).append(i)

    size = {t: tensors[t].nbytes for t in first}
    baseline = _live_bound(
        {t: (first[t], last[t], _align(size[t], HOST_ALIGN)) for t in first}, range(-1, end + 1)
    )

    buffers = _Buffers()
    aliases: dict[int, int] = {}
    notes: list[str] = []
    steps: list[Step] = []
    fused_convs: set[int] = set()
    dropped: set[int] = set()  # tensors that never take arena bytes (a fused conv's output)

    def group_last(t: int) -> int:
        root = buffers.find(t)
        return max(last[u] for u in first if buffers.find(u) == root)

    # Fusion candidates first (they decide which ops are steps).
    fusion: dict[int, Step] = {}
    if fuse:
        for pos, i in enumerate(middle):
            op = ops[i]
            if op.opcode != OpCode.ADD or pos == 0 or program.form_of(op) != "int8":
                continue
            a, b = op.inputs[:2]
            y = op.outputs[0]
            if not (tensors[a].shape == tensors[b].shape == tensors[y].shape) or a == b:
                continue
            p = middle[pos - 1]
            prod = ops[p]
            if prod.opcode not in (OpCode.CONV2D, OpCode.DEPTHWISE_CONV2D) or program.form_of(prod) != "int8":
                continue
            t = prod.outputs[0]
            if t not in (a, b) or consumers.get(t) != [i] or last[t] != i:
                continue
            s = b if t == a else a
            x = prod.inputs[0]
            if last.get(s) != i or s == x or tensors[x].shape[0] != 1 or not arena(s):
                continue
            row = tensors[t].shape[2] * tensors[t].shape[3]
            rows = max(1, min(tensors[t].shape[1], BAND_BYTES // max(row, 1)))
            fusion[i] = Step([p, i], "conv_add", band_rows=rows, add_conv_operand=0 if t == a else 1)
            fused_convs.add(p)
            dropped.add(t)

    # The conv of a fusion runs at its ADD: its input lives until then.
    for i, st in fusion.items():
        x = ops[st.ops[0]].inputs[0]
        if arena(x):
            last[x] = max(last[x], i)

    scratch_items: dict[int, tuple[int, int, int]] = {}  # id -> (step op index, bytes, alignment)
    for i in middle:
        op = ops[i]
        if i in fused_convs:
            continue
        if i in fusion:
            st = fusion[i]
            conv_out = ops[st.ops[0]].outputs[0]
            s = op.inputs[1 - st.add_conv_operand]
            buffers.union(s, op.outputs[0])  # the fusion adds into the skip tensor: that is its point
            row = tensors[conv_out].shape[2] * tensors[conv_out].shape[3]
            st.scratch = len(scratch_items)
            scratch_items[st.scratch] = (i, st.band_rows * row, ALIGN)
            notes.append(
                f"{ops[st.ops[0]].name} + {op.name}: conv fused into the residual add, {st.band_rows} row(s) a band"
            )
            steps.append(st)
            continue
        if op.opcode == OpCode.RESHAPE and arena(op.inputs[0]) and op.outputs[0] not in program.outputs:
            buffers.union(op.inputs[0], op.outputs[0])
            aliases[op.outputs[0]] = op.inputs[0]
            continue
        if inplace and op.opcode in _ELEMENTWISE_INPLACE:
            y = op.outputs[0]
            srcs = [t for t in op.inputs if arena(t)]
            for t in srcs:
                if tensors[t].nbytes != tensors[y].nbytes or tensors[t].dtype != tensors[y].dtype:
                    continue
                others = [u for u in srcs if u != t]
                if group_last(t) == i and all(buffers.find(u) != buffers.find(t) for u in others):
                    buffers.union(t, y)
                    notes.append(f"{op.name}: {op.opcode.name} in place over {tensors[t].name}")
                    break
        steps.append(Step([i]))

    for st in steps:
        n = kernel_scratch(st)
        if n > 0:
            st.kernel_scratch = len(scratch_items)
            scratch_items[st.kernel_scratch] = (st.ops[-1], n, ALIGN)

    # Buffers: extent and lifetime of their tensors.
    items: dict[tuple[str, int], tuple[int, int, int]] = {}  # key -> (first, last, bytes)
    for t in first:
        if t in dropped:
            continue
        r = buffers.find(t)
        f, l_, n = items.get(("b", r), (first[t], last[t], 0))
        items[("b", r)] = (min(f, first[t]), max(l_, last[t]), max(n, _align(size[t])))
    for k, (i, n, _) in scratch_items.items():
        items[("s", k)] = (i, i, _align(n))

    placed: list[tuple[int, int, int, int]] = []  # (offset, end, first, last)
    where: dict[tuple[str, int], int] = {}
    arena_bytes = 0
    for key, (f, l_, n) in sorted(items.items(), key=lambda kv: (-kv[1][2], kv[1][0], kv[0])):
        offset = 0
        busy = sorted((o, e) for o, e, pf, pl in placed if not (pl < f or l_ < pf))
        for o, e in busy:
            if offset + n <= o:
                break
            offset = max(offset, e)
        placed.append((offset, offset + n, f, l_))
        where[key] = offset
        arena_bytes = max(arena_bytes, offset + n)

    offsets = {t: where[("b", buffers.find(t))] for t in first if t not in dropped}
    scratch = {k: (where[("s", k)], n) for k, (_, n, _) in scratch_items.items()}
    bound = _live_bound(items, range(-1, end + 1))
    return McuPlan(offsets, scratch, arena_bytes, steps, aliases, notes, baseline, bound)


def _live_bound(items: dict, steps: range) -> int:
    spans = list(items.values())
    return max((sum(n for f, l_, n in spans if f <= s <= l_) for s in steps), default=0)
