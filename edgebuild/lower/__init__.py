"""lower: the q/dq-annotated graph from PT2E -> edgebuild IR (int8 tensors, fixed-point requantization).

One lowering function per ATen op, registered by the op's name (`@register("aten.conv2d.default")`) in
`lower/ops/*.py`. The walker maps every `quantize_per_tensor` node to an int8 IR tensor; a lowering reads its inputs
through the `dequantize` nodes in front of it and writes the tensor of the `quantize` node behind it (behind a fused
activation when there is one). An op with no lowering stops the build with a list of every such op, its count and
its source lines.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.fx import GraphModule, Node

from .._torchao import pt2e  # noqa: F401  (importing PT2E registers the quantized_decomposed ops)
from ..errors import EdgebuildError
from ..ir import DType, Layout, Op, OpCode, Program, Tensor
from ..qmath import activation_bounds, f32_bits, inv_scale_f32

Q = torch.ops.quantized_decomposed
QUANTIZE_NODES = {Q.quantize_per_tensor.default}
DEQUANTIZE_NODES = {Q.dequantize_per_tensor.default}
CHANNEL_DEQUANTIZE = {Q.dequantize_per_channel.default}

Lowering = Callable[["LoweringContext", Node], None]
LOWERINGS: dict[str, Lowering] = {}

# NCHW dim -> position in NHWC memory order
NCHW_TO_NHWC_AXIS = (0, 3, 1, 2)


def register(*names: str) -> Callable[[Lowering], Lowering]:
    def deco(fn: Lowering) -> Lowering:
        for name in names:
            LOWERINGS[name] = fn
        return fn

    return deco


def op_name(node: Node) -> str:
    target = node.target
    if isinstance(target, torch._ops.OpOverload):
        return (
            f"aten.{target._schema.name.split('::')[-1]}.{target._overloadname}"
            if target.namespace == "aten"
            else str(target)
        )
    return getattr(target, "__name__", str(target))


def source_line(node: Node) -> str:
    """The user's line that created this node: the last stack frame outside torch itself."""
    trace = node.meta.get("stack_trace") or ""
    torch_dir = os.path.dirname(torch.__file__)
    best = ""
    for line in trace.splitlines():
        line = line.strip()
        if line.startswith('File "'):
            path = line[6 : line.index('"', 6)]
            try:
                lineno = line.split(", line ")[1].split(",")[0]
            except IndexError:
                continue
            if not path.startswith(torch_dir):
                best = f"{os.path.basename(path)}:{lineno}"
    return best


class NotQuantized(Exception):
    """An input of this node is not an int8 tensor (an unsupported op upstream left it in float)."""


@dataclass
class Unsupported:
    name: str
    sources: list[str] = field(default_factory=list)
    reason: str = ""


@dataclass
class LoweringContext:
    gm: GraphModule
    program: Program = field(default_factory=Program)
    values: dict[Node, int] = field(default_factory=dict)  # quantize/dequantize/placeholder node -> tensor id
    consumed: set[Node] = field(
        default_factory=set
    )  # nodes already lowered as part of another (fused relu, q)

    # --- inputs -------------------------------------------------------------------------------------------
    def tensor(self, tid: int) -> Tensor:
        return self.program.tensors[tid]

    def input(self, arg: object) -> int:
        """The int8 IR tensor behind a dequantize_per_tensor node."""
        if isinstance(arg, Node) and arg.target in DEQUANTIZE_NODES:
            q = arg.args[0]
            if isinstance(q, Node) and q in self.values:
                return self.values[q]
        raise NotQuantized(str(arg))

    def constant(self, arg: object) -> np.ndarray:
        """The value of a get_attr node (a folded int8/int32 weight, a scale vector)."""
        if isinstance(arg, Node) and arg.op == "get_attr":
            value = self.gm
            for part in str(arg.target).split("."):
                value = getattr(value, part)
            assert isinstance(value, torch.Tensor)
            return value.detach().cpu().numpy()
        raise NotQuantized(str(arg))

    def channel_weight(self, arg: object) -> tuple[np.ndarray, np.ndarray]:
        """(int values, per-channel scales) behind a dequantize_per_channel node on axis 0."""
        if isinstance(arg, Node) and arg.target in CHANNEL_DEQUANTIZE:
            values, scales, _zps, axis = arg.args[:4]
            if axis != 0:
                raise EdgebuildError(f"{arg.name}: per-channel quantization on axis {axis} is not supported")
            return self.constant(values), self.constant(scales).astype(np.float64)
        raise NotQuantized(str(arg))

    # --- outputs ------------------------------------------------------------------------------------------
    def output_quant(self, node: Node, fusable: bool = False) -> tuple[Node, str, tuple[float, float]]:
        """The quantize node that ends `node`, through a fused activation if `fusable`.
        Returns (quantize node, activation kind, (lo, hi))."""
        act, bounds = "none", (0.0, 6.0)
        users = list(node.users)
        if fusable and len(users) == 1 and users[0].target in ACTIVATIONS:
            act_node = users[0]
            act, bounds = activation_of(act_node)
            self.consumed.add(act_node)
            users = list(act_node.users)
        if len(users) == 1 and users[0].target in QUANTIZE_NODES:
            return users[0], act, bounds
        raise NotQuantized(f"output of {node.name}")

    def new_output(
        self,
        node: Node,
        shape: tuple[int, ...],
        layout: Layout,
        fusable: bool = False,
    ) -> tuple[int, int, int]:
        """Create the int8 tensor `node` writes; returns (tensor id, act_min, act_max)."""
        qnode, act, (lo, hi) = self.output_quant(node, fusable)
        scale, zp = float(qnode.args[1]), int(qnode.args[2])  # type: ignore[arg-type]
        tid = self.program.add_tensor(Tensor(qnode.name, DType.INT8, shape, scale, zp, layout))
        self.values[qnode] = tid
        self.consumed.add(qnode)
        amin, amax = activation_bounds(act, scale, zp, lo, hi)
        return tid, amin, amax

    def alias_output(self, node: Node, tid: int) -> None:
        """`node` (dropout, identity) produces exactly its input: its quantize node maps to the same tensor."""
        qnode, _, _ = self.output_quant(node)
        self.values[qnode] = tid
        self.consumed.add(qnode)

    def add_op(
        self,
        opcode: OpCode,
        node: Node,
        inputs: list[int],
        outputs: list[int],
        params: list[int],
        name: str | None = None,
    ) -> None:
        self.program.add_op(
            Op(
                opcode,
                name or node.name,
                inputs,
                outputs,
                [int(p) for p in params],
                aten=op_name(node),
                source=source_line(node),
            )
        )

    def temp(self, name: str, like: Tensor, shape: tuple[int, ...], layout: Layout) -> int:
        return self.program.add_tensor(Tensor(name, like.dtype, shape, like.scale, like.zero_point, layout))


A = torch.ops.aten
ACTIVATIONS = {A.relu.default, A.relu_.default, A.relu6.default, A.hardtanh.default, A.hardtanh_.default}


def activation_of(node: Node) -> tuple[str, tuple[float, float]]:
    if node.target in (A.relu.default, A.relu_.default):
        return "relu", (0.0, 0.0)
    if node.target == A.relu6.default:
        return "hardtanh", (0.0, 6.0)
    lo = float(node.args[1]) if len(node.args) > 1 else -1.0  # type: ignore[arg-type]
    hi = float(node.args[2]) if len(node.args) > 2 else 1.0  # type: ignore[arg-type]
    return "hardtanh", (lo, hi)


def node_shape(node: Node) -> tuple[int, ...]:
    val = node.meta.get("val")
    if not isinstance(val, torch.Tensor):
        raise EdgebuildError(f"{node.name}: no shape recorded by torch.export")
    return tuple(int(d) for d in val.shape)


def nhwc(shape: tuple[int, ...]) -> tuple[int, ...]:
    n, c, h, w = shape
    return (n, h, w, c)


def logical(t: Tensor) -> tuple[int, ...]:
    """The shape PyTorch sees for an IR tensor."""
    if t.layout == Layout.NHWC:
        n, h, w, c = t.shape
        return (n, c, h, w)
    return t.shape


def physical(shape: tuple[int, ...]) -> tuple[tuple[int, ...], Layout]:
    """How an activation of this PyTorch shape is stored: 4-D as NHWC, everything else as is."""
    return (nhwc(shape), Layout.NHWC) if len(shape) == 4 else (shape, Layout.PLAIN)


SKIPPED_MODULES = {"_guards_fn"}


def lower_graph(gm: GraphModule, name: str = "model") -> Program:
    from . import ops  # noqa: F401  (registers the lowerings)

    ctx = LoweringContext(gm)
    prog = ctx.program
    unsupported: dict[str, Unsupported] = {}
    blocked: list[tuple[Node, str]] = []

    def note_unsupported(node: Node, reason: str = "") -> None:
        entry = unsupported.setdefault(op_name(node), Unsupported(op_name(node), reason=reason))
        entry.sources.append(source_line(node) or node.name)

    for node in gm.graph.nodes:
        if node.op == "placeholder":
            val = node.meta.get("val")
            if not isinstance(val, torch.Tensor):
                raise EdgebuildError(
                    f"model input {node.name!r} is not a tensor; only tensor inputs are supported"
                )
            if val.dtype != torch.float32:
                raise EdgebuildError(
                    f"model input {node.name!r} is {val.dtype}; only float32 inputs are supported"
                )
            ctx.values[node] = prog.add_tensor(Tensor(node.name, DType.FLOAT32, node_shape(node)))
            prog.inputs.append(ctx.values[node])
        elif node.op in ("get_attr",) or (node.op == "call_module" and node.target in SKIPPED_MODULES):
            continue
        elif node.op == "output":
            for out in node.args[0]:  # type: ignore[union-attr]
                try:
                    src = ctx.input(out)
                except NotQuantized:
                    if not unsupported:
                        raise EdgebuildError(
                            f"model output {getattr(out, 'name', out)!r} is not an int8 tensor; "
                            "the op that produces it has no int8 lowering"
                        ) from None
                    continue
                t = ctx.tensor(src)
                to_nchw = int(t.layout == Layout.NHWC)
                shape = logical(t)
                tid = prog.add_tensor(Tensor(f"output_{len(prog.outputs)}", DType.FLOAT32, shape))
                ctx.add_op(OpCode.DEQUANTIZE, out, [src], [tid], [to_nchw], name=f"dequantize_{out.name}")
                prog.outputs.append(tid)
        elif node in ctx.consumed:
            continue
        elif node.op == "call_function" and node.target in QUANTIZE_NODES:
            src = node.args[0]
            if isinstance(src, Node) and src.op == "placeholder":
                x = ctx.values[src]
                shape, layout = physical(node_shape(src))
                scale, zp = float(node.args[1]), int(node.args[2])  # type: ignore[arg-type]
                tid = prog.add_tensor(Tensor(node.name, DType.INT8, shape, scale, zp, layout))
                ctx.values[node] = tid
                ctx.add_op(
                    OpCode.QUANTIZE,
                    node,
                    [x],
                    [tid],
                    [int(layout == Layout.NHWC), f32_bits(inv_scale_f32(scale))],
                )
            # any other quantize belongs to an op that was not lowered: reported there
        elif node.op == "call_function" and (
            node.target in DEQUANTIZE_NODES or node.target in CHANNEL_DEQUANTIZE
        ):
            continue
        elif node.op == "call_function" and op_name(node) in LOWERINGS:
            try:
                LOWERINGS[op_name(node)](ctx, node)
            except NotQuantized as e:
                blocked.append((node, str(e)))
        else:
            note_unsupported(node)

    if not unsupported and blocked:
        for node, _why in blocked:
            note_unsupported(node, "its inputs or output are not int8 (the quantizer did not annotate it)")
    if unsupported:
        lines = [f"{len(unsupported)} op type(s) have no int8 lowering (and no float fallback yet):"]
        for u in sorted(unsupported.values(), key=lambda u: u.name):
            where = ", ".join(u.sources[:5]) + (", ..." if len(u.sources) > 5 else "")
            reason = f" — {u.reason}" if u.reason else ""
            lines.append(f"  {u.name} ×{len(u.sources)} at {where}{reason}")
        raise UnsupportedOpsError("\n".join(lines), sorted(unsupported.values(), key=lambda u: u.name))
    if not prog.outputs:
        raise EdgebuildError("the model has no outputs")
    prog.metadata["model"] = name
    prog.metadata["ops"] = [{"name": op.name, "aten": op.aten, "source": op.source} for op in prog.ops]
    return prog


class UnsupportedOpsError(EdgebuildError):
    def __init__(self, message: str, ops: list[Unsupported]):
        super().__init__(message)
        self.ops = ops
