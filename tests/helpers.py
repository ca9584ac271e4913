"""Test helpers: quantize + lower small models, run programs on the host extension, compare op by op with PT2E."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch.fx import GraphModule, Interpreter, Node

from edgebuild.capture import graph_of
from edgebuild.ir import Layout, Program
from edgebuild.lower import ACTIVATIONS, DEQUANTIZE_NODES, LOWERINGS, QUANTIZE_NODES, lower_graph, op_name
from edgebuild.lower.ops.shape import SPLITS
from edgebuild.plan import plan_arena
from edgebuild.quantize import quantize_model
from edgebuild.serialize import artifact_bytes


@dataclass
class Quantized:
    float_gm: GraphModule
    qgm: GraphModule
    program: Program


def quantize_and_lower(model: torch.nn.Module, calib: list[torch.Tensor], name: str = "m") -> Quantized:
    model = model.eval()
    example = (calib[0],)
    float_gm = graph_of(torch.export.export(model, example))  # decomposed and folded as `edgebuild build` does
    qgm = quantize_model(graph_of(torch.export.export(copy.deepcopy(model), example)), [(c,) for c in calib])
    return Quantized(float_gm, qgm, lower_graph(qgm, name))


def native(program: Program, *, reuse: bool = True):  # -> edgebuild._native.Model
    from edgebuild import _native

    plan_arena(program, reuse=reuse)
    return _native.Model.from_bytes(artifact_bytes(program))


def run_native(program: Program, inputs: list[np.ndarray]) -> list[np.ndarray]:
    return [np.asarray(o) for o in native(program).run([np.ascontiguousarray(x, np.float32) for x in inputs])]


def all_tensors(program: Program, inputs: list[np.ndarray]) -> dict[int, np.ndarray]:
    """Every tensor's value after one run: a plan without reuse keeps all intermediates intact."""
    m = native(program, reuse=False)
    m.run([np.ascontiguousarray(x, np.float32) for x in inputs])
    return {tid: np.asarray(m.tensor(tid)) for tid, t in enumerate(program.tensors) if t.data is None}


def to_logical(program: Program, tid: int, value: np.ndarray) -> np.ndarray:
    t = program.tensors[tid]
    value = value.reshape(t.shape)
    return value.transpose(0, 3, 1, 2) if t.layout == Layout.NHWC else value


class _Recorder(Interpreter):
    def __init__(self, gm: GraphModule):
        super().__init__(gm)
        self.values: dict[Node, object] = {}

    def run_node(self, n: Node) -> object:
        out = super().run_node(n)
        self.values[n] = out
        return out


@dataclass
class OpCheck:
    node: str
    aten: str
    max_lsb: int
    elements: int


def op_by_op(q: Quantized, x: np.ndarray) -> list[OpCheck]:
    """For every lowered node: feed PT2E's reference computation (float op on dequantized inputs, then quantize)
    with *our* int8 input tensors, and compare its int8 result with our int8 output tensor."""
    program = q.program
    values = all_tensors(program, [x])
    by_name = {t.name: tid for tid, t in enumerate(program.tensors)}
    rec = _Recorder(q.qgm)
    rec.run(torch.from_numpy(x))

    def ours(qnode: Node) -> torch.Tensor:
        while qnode.name not in by_name:  # an alias (identity transpose, contiguous): its input's tensor
            src = qnode.args[0]
            deq = next(a for a in src.args if isinstance(a, Node))  # type: ignore[union-attr]
            qnode = deq.args[0]  # type: ignore[assignment]
        tid = by_name[qnode.name]
        return torch.from_numpy(to_logical(program, tid, values[tid]).copy())

    def map_arg(a: object) -> object:
        if isinstance(a, Node) and a.target in DEQUANTIZE_NODES:
            qn = a.args[0]
            return a.target(ours(qn), *a.args[1:])  # type: ignore[operator]
        if isinstance(a, Node):
            return rec.values[a]
        if isinstance(a, (list, tuple)):
            return type(a)(map_arg(v) for v in a)
        return a

    checks = []
    for node in q.qgm.graph.nodes:
        if node.op == "call_function" and node.target in QUANTIZE_NODES and node.args[0].op == "placeholder":
            ref = node.target(torch.from_numpy(x), *node.args[1:])
            diff = (ref.int() - ours(node).int()).abs().max().item()
            checks.append(OpCheck(node.name, "quantize", int(diff), ref.numel()))
            continue
        if node.op != "call_function" or op_name(node) not in LOWERINGS:
            continue
        tensor_args = [a for a in node.args if isinstance(a, Node)] + [
            v for a in node.args if isinstance(a, (list, tuple)) for v in a if isinstance(v, Node)
        ]
        if not tensor_args or tensor_args[0].target not in DEQUANTIZE_NODES:
            continue  # a fused activation: checked with its producer
        users = list(node.users)
        if op_name(node) in SPLITS:  # a tuple: compare each part behind its getitem
            parts = node.target(*map_arg(list(node.args)), **node.kwargs)
            for g in users:
                qn = next(iter(g.users))
                ref = qn.target(parts[g.args[1]], *qn.args[1:])
                diff = (ref.int() - ours(qn).int()).abs().max().item()
                checks.append(OpCheck(g.name, op_name(node), int(diff), ref.numel()))
            continue
        act = None
        if len(users) == 1 and users[0].target in ACTIVATIONS:
            act, users = users[0], list(users[0].users)
        assert len(users) == 1 and users[0].target in QUANTIZE_NODES, node.name
        qnode = users[0]
        y = node.target(*map_arg(list(node.args)), **node.kwargs)
        if act is not None:
            y = act.target(y, *act.args[1:])
        ref = qnode.target(y, *qnode.args[1:])
        got = ours(qnode)
        diff = (ref.int() - got.int()).abs().max().item()
        checks.append(OpCheck(node.name, op_name(node), int(diff), ref.numel()))
    return checks
