"""Fuses attention's op chain into one ATTENTION op (docs/artifact.md ATTENTION), after lowering.

The chain, as lower/ops/attention.py writes scaled_dot_product_attention and as the ops of a written-out attention
(transformers' "eager": matmul, scale, mask add, softmax, matmul) lower:

    scores = BATCH_MATMUL float (q, k or kᵀ, alpha)     or both products DYNAMIC_BATCH_MATMUL
    scores = ADD float (scores, mask), bounds ±inf      optional
    probs  = SOFTMAX float (scores)
    y      = BATCH_MATMUL float (probs, v or vᵀ, alpha 1)

with every intermediate read by the next op only. ATTENTION is defined as exactly these ops, so the fusion changes
no output bit, on any ISA. The TRANSPOSE ops that only feed q, k or v (the heads split out of a linear layer's
[B, S, H·D]) and the one that only reads y (the heads merged back) become the op's perms: the op reads and writes the
tensors they would have read or written. Where the chain differs (an int8 form, a mask that does not broadcast along
S, a row longer than the op's bound, a mask added first, GQA's expanded k and v) nothing changes: the ops stay as
they are.

`unfuse_attention` writes each ATTENTION back as those ops; `unfused_program` does so on a copy (the exporters, whose
formats have no such op).
"""

from __future__ import annotations

import dataclasses
import math

from ..ir import DType, Op, OpCode, Program, Tensor
from ..ir_ops import (
    AddFloatParams,
    AttentionFloatParams,
    BatchMatmulFloatParams,
    DynamicBatchMatmulFloatParams,
    SoftmaxFloatParams,
    TransposeParams,
)

MAX_SEQ = 2048  # S, D and Dv at most (kernels/runtime/ops/attention.cc kMaxSeq)
PRODUCTS = (OpCode.BATCH_MATMUL, OpCode.DYNAMIC_BATCH_MATMUL)


class _Graph:
    """Producers and readers of each tensor of a program."""

    def __init__(self, prog: Program):
        self.prog = prog
        self.producer: dict[int, Op] = {}
        self.readers: dict[int, list[Op]] = {}
        for op in prog.ops:
            for t in op.outputs:
                self.producer[t] = op
            for t in set(op.inputs):
                if t >= 0:
                    self.readers.setdefault(t, []).append(op)

    def only_reader(self, t: int) -> Op | None:
        """The one op reading t, when t is no program output and exactly one op reads it (once)."""
        readers = self.readers.get(t, [])
        if len(readers) != 1 or t in self.prog.outputs or readers[0].inputs.count(t) != 1:
            return None
        return readers[0]


def _product(prog: Program, op: Op) -> tuple[bool, float] | None:
    """(transpose_b, alpha) of a float BATCH_MATMUL or a DYNAMIC_BATCH_MATMUL, else None."""
    if op.opcode == OpCode.DYNAMIC_BATCH_MATMUL:
        d = DynamicBatchMatmulFloatParams.decode(op.params)
        return bool(d.transpose_b), d.alpha
    if op.opcode == OpCode.BATCH_MATMUL and prog.form_of(op) == "float":
        f = BatchMatmulFloatParams.decode(op.params)
        return bool(f.transpose_b), f.alpha
    return None


def _swap(r: int) -> list[int]:
    return [*range(r - 2), r - 1, r - 2]


def _source(g: _Graph, t: int, perm: list[int], last_stays: bool, gone: list[Op]) -> tuple[int, list[int]]:
    """(tensor, perm) with `t.permute(perm)` = tensor.permute(new perm), through the TRANSPOSE ops that produce t and
    feed nothing else (appended to `gone`). last_stays: stop before a perm that would move the last axis."""
    while True:
        op = g.producer.get(t)
        if op is None or op.opcode != OpCode.TRANSPOSE or g.only_reader(t) is None:
            return t, perm
        p = TransposeParams.decode(op.params).perm
        new = [p[i] for i in perm]
        if last_stays and new[-1] != len(new) - 1:
            return t, perm
        gone.append(op)
        t, perm = op.inputs[0], new


def _sink(g: _Graph, t: int, r: int, gone: list[Op]) -> tuple[int, list[int]]:
    """(tensor, perm) with Y (tensor t) = tensor.permute(perm), through the TRANSPOSE ops that alone read Y (their
    outputs become the op's output) and keep the last axis last."""
    perm = list(range(r))
    while True:
        op = g.only_reader(t)
        if op is None or op.opcode != OpCode.TRANSPOSE:
            return t, perm
        p = TransposeParams.decode(op.params).perm
        inv = [p.index(i) for i in range(r)]
        new = [inv[i] for i in perm]
        if new[-1] != r - 1:
            return t, perm
        gone.append(op)
        t, perm = op.outputs[0], new


def _broadcasts(mask: tuple[int, ...], scores: tuple[int, ...]) -> bool:
    return (
        len(mask) == len(scores)
        and mask[-1] == scores[-1]
        and all(m in (1, s) for m, s in zip(mask[:-1], scores[:-1]))
    )


def _fuse_one(g: _Graph, qk: Op) -> tuple[Op, list[Op]] | None:
    """The ATTENTION op replacing the chain that starts at qk, and the ops it replaces; None when it does not fuse."""
    prog = g.prog
    first = _product(prog, qk)
    if first is None:
        return None
    kt, alpha = first
    scores = qk.outputs[0]
    shape = prog.tensors[scores].shape
    r = len(shape)
    nxt = g.only_reader(scores)
    chain = [qk]
    mask = -1
    if nxt is not None and nxt.opcode == OpCode.ADD and prog.form_of(nxt) == "float":
        a = AddFloatParams.decode(nxt.params)
        m = nxt.inputs[1]
        mt = prog.tensors[m]
        if not (a.lo == -math.inf and a.hi == math.inf and nxt.inputs[0] == scores and m != scores):
            return None
        if (
            mt.dtype != DType.FLOAT32
            or not _broadcasts(mt.shape, shape)
            or prog.tensors[nxt.outputs[0]].shape != shape
        ):
            return None
        mask = m
        chain.append(nxt)
        nxt = g.only_reader(nxt.outputs[0])
    if nxt is None or nxt.opcode != OpCode.SOFTMAX or prog.form_of(nxt) != "float":
        return None
    chain.append(nxt)
    pv = g.only_reader(nxt.outputs[0])
    if pv is None or pv.opcode != qk.opcode or pv.inputs[0] != nxt.outputs[0]:
        return None
    second = _product(prog, pv)
    if second is None or second[1] != 1.0 or pv.inputs[1] == nxt.outputs[0]:
        return None
    vt = second[0]
    chain.append(pv)
    q, kb, vb, y = qk.inputs[0], qk.inputs[1], pv.inputs[1], pv.outputs[0]
    if r < 2 or any(len(prog.tensors[t].shape) != r for t in (q, kb, vb, y)):
        return None
    L, D = shape[-2], prog.tensors[q].shape[-1]
    S, Dv = shape[-1], prog.tensors[y].shape[-1]
    if min(L, S, D, Dv) < 1 or max(S, D, Dv) > MAX_SEQ:
        return None
    gone: list[Op] = []
    ident = list(range(r))
    q, q_perm = _source(g, q, ident, True, gone)
    k, k_perm = _source(g, kb, ident if kt else _swap(r), False, gone)
    v, v_perm = _source(g, vb, _swap(r) if vt else ident, False, gone)
    y, y_perm = _sink(g, y, r, gone)
    params = AttentionFloatParams(
        quantized=qk.opcode == OpCode.DYNAMIC_BATCH_MATMUL,
        alpha=alpha,
        q_perm=q_perm,
        k_perm=k_perm,
        v_perm=v_perm,
        y_perm=y_perm,
    )
    name = qk.name.removesuffix(".qk") if qk.name.endswith(".qk") else f"{chain[-2].name}.attention"
    fused = Op(OpCode.ATTENTION, name, [q, k, v, mask], [y], params.encode(), aten=qk.aten, source=qk.source)
    return fused, chain + gone


def fuse_attention(prog: Program) -> int:
    """Replaces every fusable attention chain (module docstring) by one ATTENTION op; returns how many. Tensor ids
    are renumbered when the chain's intermediate tensors go."""
    from ..sparse import drop_unused_constants  # removes every tensor no op uses, renumbering ids

    fused = 0
    while True:  # one chain at a time: each fusion changes the readers of the tensors around it
        g = _Graph(prog)
        for op in prog.ops:
            found = _fuse_one(g, op)
            if found is not None:
                break
        else:
            break
        new, old = found
        gone = {id(o) for o in old}
        at = max(i for i, o in enumerate(prog.ops) if id(o) in gone)
        ops = prog.ops[:at] + [new] + prog.ops[at + 1 :]
        prog.ops = [o for o in ops if id(o) not in gone]
        fused += 1
    if fused:
        drop_unused_constants(prog)
    return fused


def _tensor(prog: Program, name: str, shape: tuple[int, ...]) -> int:
    return prog.add_tensor(Tensor(name, DType.FLOAT32, shape))


def _permuted(prog: Program, out: list[Op], t: int, perm: list[int], name: str) -> int:
    """t.permute(perm): t itself for the identity, else a TRANSPOSE appended to `out`."""
    if perm == list(range(len(perm))):
        return t
    src = prog.tensors[t].shape
    dst = _tensor(prog, name, tuple(src[i] for i in perm))
    out.append(Op(OpCode.TRANSPOSE, name, [t], [dst], TransposeParams(perm=perm).encode()))
    return dst


def unfuse_attention(prog: Program) -> int:
    """Writes every ATTENTION op back as TRANSPOSE -> BATCH_MATMUL (or DYNAMIC_BATCH_MATMUL) -> ADD -> SOFTMAX ->
    BATCH_MATMUL -> TRANSPOSE (formats without the op); the same values. Returns how many."""
    out: list[Op] = []
    count = 0
    for op in prog.ops:
        if op.opcode != OpCode.ATTENTION:
            out.append(op)
            continue
        count += 1
        p = AttentionFloatParams.decode(op.params)
        q, k, v, mask = op.inputs
        (y,) = op.outputs
        r, name = len(prog.tensors[q].shape), op.name
        qq = _permuted(prog, out, q, p.q_perm, f"{name}.q")
        kk = _permuted(prog, out, k, p.k_perm, f"{name}.k")
        vv = _permuted(prog, out, v, p.v_perm, f"{name}.v")
        sq, sk, sv = (prog.tensors[t].shape for t in (qq, kk, vv))
        score_shape = (*sq[:-1], sk[-2])
        cls = DynamicBatchMatmulFloatParams if p.quantized else BatchMatmulFloatParams
        code = OpCode.DYNAMIC_BATCH_MATMUL if p.quantized else OpCode.BATCH_MATMUL
        scores = _tensor(prog, f"{name}.scores", score_shape)
        out.append(Op(code, f"{name}.qk", [qq, kk], [scores], cls(transpose_b=True, alpha=p.alpha).encode()))
        if mask >= 0:
            masked = _tensor(prog, f"{name}.masked", score_shape)
            add = AddFloatParams(lo=-math.inf, hi=math.inf).encode()
            out.append(Op(OpCode.ADD, f"{name}.mask", [scores, mask], [masked], add))
            scores = masked
        probs = _tensor(prog, f"{name}.probs", score_shape)
        out.append(Op(OpCode.SOFTMAX, f"{name}.softmax", [scores], [probs], SoftmaxFloatParams().encode()))
        ident = list(range(r))
        yy = y if p.y_perm == ident else _tensor(prog, f"{name}.y", (*sq[:-1], sv[-1]))
        out.append(Op(code, f"{name}.pv", [probs, vv], [yy], cls(transpose_b=False, alpha=1.0).encode()))
        if yy != y:
            inv = [p.y_perm.index(i) for i in range(r)]  # y = Y.permute(inverse of y_perm)
            out.append(Op(OpCode.TRANSPOSE, f"{name}.y", [yy], [y], TransposeParams(perm=inv).encode()))
    prog.ops = out
    return count


def unfused_program(prog: Program) -> Program:
    """`prog` when it has no ATTENTION op, else a program whose ATTENTION ops are written back as their ops
    (unfuse_attention); `prog` itself is unchanged (the copy shares its tensors and other ops, which unfusing does not
    modify)."""
    if not any(op.opcode == OpCode.ATTENTION for op in prog.ops):
        return prog
    out = dataclasses.replace(
        prog, tensors=list(prog.tensors), ops=list(prog.ops), metadata=dict(prog.metadata)
    )
    unfuse_attention(out)
    return out
