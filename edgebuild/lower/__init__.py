"""lower: the q/dq-annotated graph from PT2E -> edgebuild IR (int8 tensors, fixed-point requantization).

One lowering function per ATen op, registered by the op's name (`@register("aten.conv2d.default")`) in
`lower/ops/*.py`. The walker maps every `quantize_per_tensor` node to an int8 IR tensor; a lowering reads its inputs
through the `dequantize` nodes in front of it and writes the tensor of the `quantize` node behind it (behind a fused
activation when there is one).

Float fallback. Every op may also have a float lowering (`@register_float("aten.softmax.int")`), which emits the
float32 form of an opcode (the op's output is float32; the runtime runs the fp32 reference kernel
kernels/ukernels/f32-<family>/ref.cc, docs/artifact.md "Float fallback"). The walker lowers an op in float when

- it has no int8 lowering ("no int8 kernel"),
- PT2E left it in float: its inputs are not dequantized int8 tensors or its output is not quantized ("not quantized
  by PT2E"), or
- the caller forced it: `lower_graph(..., float_layers=[...])` / `quantize_model(..., float_layers=[...])` /
  `BuildOptions(float_layers=(...))` / `edgebuild build --float-layers a,b` name layers (module paths as in
  `model.named_modules()`, e.g. "encoder.0.attn", which covers every op inside it, or graph node names) that stay
  float32 ("forced to float"): the quantizer does not annotate them, so their weights stay float32 too.

A float lowering reads its inputs with `ctx.float_value(arg)`: an int8 input gets a DEQUANTIZE in front, a value
another float op produced is used as is; `ctx.new_float(node, ...)` makes its float32 output, and a `quantize` node
behind it becomes a QUANTIZE. So DEQUANTIZE / QUANTIZE appear exactly at the int8/float boundaries. Float 4-D
tensors may be NHWC (conv, pooling) or plain (everything else); `float_value(arg, layout)` inserts the TRANSPOSE.
The program's metadata["float_ops"] lists every op lowered in float with its reason and source line (report.json).

An op with neither lowering stops the build with a list of every such op, its count and its source lines.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
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
FLOAT_LOWERINGS: dict[str, Lowering] = {}  # the float fallback (module docstring)

REASON_NO_INT8 = "no int8 kernel"
REASON_NOT_QUANTIZED = "not quantized by PT2E"
REASON_FORCED = "forced to float (float_layers)"

# NCHW dim -> position in NHWC memory order
NCHW_TO_NHWC_AXIS = (0, 3, 1, 2)


def register(*names: str) -> Callable[[Lowering], Lowering]:
    def deco(fn: Lowering) -> Lowering:
        for name in names:
            LOWERINGS[name] = fn
        return fn

    return deco


def register_float(*names: str) -> Callable[[Lowering], Lowering]:
    """Register a float lowering (the float fallback of an ATen op; see the module docstring)."""

    def deco(fn: Lowering) -> Lowering:
        for name in names:
            FLOAT_LOWERINGS[name] = fn
        return fn

    return deco


def matches_float_layer(node: Node, float_layers: Iterable[str]) -> bool:
    """Does `node` belong to one of the named layers (a module path or one of its parents, or the node's name)?"""
    layers = [name for name in float_layers if name]
    if not layers:
        return False
    if node.name in layers:
        return True
    stack = node.meta.get("nn_module_stack") or {}
    paths: list[str] = []
    for value in stack.values():
        path = value[0] if isinstance(value, tuple) else str(value)
        # torch.export spells module paths "L['self'].encoder.0" or "encoder.0" depending on the version
        paths.append(path.replace("L['self'].", "").replace("L['self']", ""))
    return any(p == layer or p.startswith(layer + ".") for p in paths for layer in layers)


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


class FloatBlocked(Exception):
    """An input of a float lowering has no value: the op producing it was not lowered (reported there)."""


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
    fvalues: dict[Node, dict[Layout, int]] = field(default_factory=dict)  # float (or int32) value of a node

    # --- float fallback -----------------------------------------------------------------------------------
    def float_value(self, arg: object, layout: Layout | None = None) -> int:
        """The float32 IR tensor holding the value of `arg` (int32 for integer graph inputs), in `layout` when
        given (4-D only: NHWC or PLAIN; any other rank is always PLAIN). Emits the DEQUANTIZE of an int8 value and
        the TRANSPOSE of a layout change once, then reuses them."""
        if not isinstance(arg, Node):
            raise FloatBlocked(f"{arg!r} is not a tensor")
        have = self.fvalues.get(arg)
        if have is None:
            have = {}
            if (
                arg.target in DEQUANTIZE_NODES
                and isinstance(arg.args[0], Node)
                and arg.args[0] in self.values
            ):
                src = self.values[arg.args[0]]
                st = self.tensor(src)
                tid = self.program.add_tensor(
                    Tensor(f"{arg.name}.f32", DType.FLOAT32, st.shape, layout=st.layout)
                )
                self.add_op(OpCode.DEQUANTIZE, arg, [src], [tid], [0], name=f"dequantize_{arg.name}")
                have[st.layout] = tid
            elif (
                arg.target in DEQUANTIZE_NODES
                and isinstance(arg.args[0], Node)
                and arg.args[0].op == "get_attr"
            ):  # a constant activation PT2E quantized and folded (a learned position table): its real value
                q = self.constant(arg.args[0]).astype(np.float64)
                real = (q - float(arg.args[2])) * float(arg.args[1])  # type: ignore[arg-type]
                have[Layout.PLAIN] = self.program.add_constant(arg.name, real, DType.FLOAT32)
            elif arg.target in CHANNEL_DEQUANTIZE:
                w, scales = self.channel_weight(arg)
                real = w.astype(np.float64) * scales.reshape((-1,) + (1,) * (w.ndim - 1))
                have[Layout.PLAIN] = self.program.add_constant(arg.name, real, DType.FLOAT32)
            elif arg.op == "placeholder" and arg in self.values:
                have[Layout.PLAIN] = self.values[arg]
            elif arg.op == "get_attr":
                have[Layout.PLAIN] = self.program.add_constant(arg.name, self.constant(arg), DType.FLOAT32)
            else:
                raise FloatBlocked(f"{arg.name} was not lowered")
            self.fvalues[arg] = have
        if layout is None or layout in have:
            return have[layout] if layout is not None else next(iter(have.values()))
        src = next(iter(have.values()))
        st = self.tensor(src)
        shape = logical(st)
        if len(shape) != 4:
            if layout == Layout.NHWC:
                raise EdgebuildError(f"{arg.name}: a {len(shape)}-D tensor cannot be NHWC")
            return src
        perm, phys = ([0, 2, 3, 1], nhwc(shape)) if layout == Layout.NHWC else ([0, 3, 1, 2], shape)
        tid = self.program.add_tensor(
            Tensor(f"{arg.name}.{layout.name.lower()}", st.dtype, phys, layout=layout)
        )
        self.add_op(OpCode.TRANSPOSE, arg, [src], [tid], perm, name=f"{arg.name}.to_{layout.name.lower()}")
        have[layout] = tid
        return tid

    def new_float(self, node: Node, shape: tuple[int, ...], layout: Layout = Layout.PLAIN) -> int:
        """The float32 tensor `node` writes (logical `shape`, stored NHWC when `layout` says so)."""
        phys = nhwc(shape) if layout == Layout.NHWC else shape
        tid = self.program.add_tensor(Tensor(node.name, DType.FLOAT32, phys, layout=layout))
        self.fvalues[node] = {layout: tid}
        return tid

    def alias_float(self, node: Node, tid: int) -> None:
        """`node` produces exactly the value of tensor `tid` (dropout, identity)."""
        self.fvalues[node] = {self.tensor(tid).layout: tid}

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


def f32_bits_of(value: float) -> int:
    """The IEEE bits of float32(value) as a signed int32 (float params of float-form ops)."""
    return int(np.array([value], dtype="<f4").view("<i4")[0])


def lower_graph(gm: GraphModule, name: str = "model", float_layers: Iterable[str] = ()) -> Program:
    from . import ops  # noqa: F401  (registers the lowerings)

    ctx = LoweringContext(gm)
    prog = ctx.program
    unsupported: dict[str, Unsupported] = {}
    blocked: list[tuple[Node, str]] = []
    float_layers = tuple(float_layers)
    float_ops: list[dict[str, str]] = []

    def snapshot() -> tuple[int, int, set[Node], dict[Node, int], dict[str, object]]:
        meta = {k: (dict(v) if isinstance(v, dict) else v) for k, v in prog.metadata.items()}
        return len(prog.tensors), len(prog.ops), set(ctx.consumed), dict(ctx.values), meta

    def restore(snap: tuple[int, int, set[Node], dict[Node, int], dict[str, object]]) -> None:
        n_tensors, n_ops, consumed, values, meta = snap
        del prog.tensors[n_tensors:]
        del prog.ops[n_ops:]
        ctx.consumed = consumed
        ctx.values = values
        prog.metadata = meta

    def lower_float(node: Node, reason: str) -> None:
        snap = snapshot()
        try:
            FLOAT_LOWERINGS[op_name(node)](ctx, node)
        except FloatBlocked as e:
            restore(snap)
            blocked.append((node, str(e)))
            return
        float_ops.append(
            {"op": op_name(node), "node": node.name, "source": source_line(node), "reason": reason}
        )

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
            if val.dtype == torch.float32:
                dtype = DType.FLOAT32
            elif val.dtype in (torch.int32, torch.int64):
                dtype = DType.INT32  # token ids: int64 data is narrowed to int32 (checked) when it is set
            else:
                raise EdgebuildError(
                    f"model input {node.name!r} is {val.dtype}; float32 and integer (token id) inputs are "
                    "supported: cast it in the model or export with float32/int64 example inputs"
                )
            if not all(isinstance(d, int) for d in val.shape):
                raise EdgebuildError(
                    f"model input {node.name!r} has a dynamic shape {tuple(val.shape)}; edgebuild builds static "
                    "shapes (batch 1): export with fixed example inputs (no dynamic_shapes)"
                )
            shape = node_shape(node)
            ctx.values[node] = prog.add_tensor(Tensor(node.name, dtype, shape))
            prog.inputs.append(ctx.values[node])
        elif node.op in ("get_attr",) or (node.op == "call_module" and node.target in SKIPPED_MODULES):
            continue
        elif node.op == "output":
            for out in node.args[0]:  # type: ignore[union-attr]
                try:
                    src = ctx.input(out)
                except NotQuantized:
                    try:
                        fsrc = ctx.float_value(out, Layout.PLAIN)
                    except FloatBlocked:
                        if not unsupported and not blocked:
                            raise EdgebuildError(
                                f"model output {getattr(out, 'name', out)!r} has no value: "
                                "the op that produces it was not lowered"
                            ) from None
                        continue
                    ft = ctx.tensor(fsrc)
                    if ft.dtype != DType.FLOAT32 or fsrc in prog.inputs or fsrc in prog.outputs:
                        raise EdgebuildError(
                            f"model output {out.name!r} is a graph input or repeats another output; "
                            "edgebuild needs every output computed by an op"
                        )
                    prog.outputs.append(fsrc)
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
            if (
                isinstance(src, Node)
                and src.op == "placeholder"
                and prog.tensors[ctx.values[src]].dtype != DType.FLOAT32
            ):
                continue  # an integer input that PT2E observed: it is used as ids, not quantized
            if isinstance(src, Node) and src.op != "placeholder" and src in ctx.fvalues:
                # the int8/float boundary behind a float op: QUANTIZE its output
                fsrc = ctx.float_value(src)
                ft = ctx.tensor(fsrc)
                shape, layout = physical(node_shape(src))
                scale, zp = float(node.args[1]), int(node.args[2])  # type: ignore[arg-type]
                tid = prog.add_tensor(Tensor(node.name, DType.INT8, shape, scale, zp, layout))
                ctx.values[node] = tid
                to_nhwc = int(layout == Layout.NHWC and ft.layout != Layout.NHWC)
                ctx.add_op(OpCode.QUANTIZE, node, [fsrc], [tid], [to_nhwc, f32_bits(inv_scale_f32(scale))])
            elif isinstance(src, Node) and src.op == "placeholder":
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
            has_float = op_name(node) in FLOAT_LOWERINGS
            if has_float and matches_float_layer(node, float_layers):
                lower_float(node, REASON_FORCED)
                continue
            snap = snapshot()
            try:
                LOWERINGS[op_name(node)](ctx, node)
            except NotQuantized as e:
                restore(snap)
                if has_float:
                    lower_float(node, REASON_NOT_QUANTIZED)
                else:
                    blocked.append((node, str(e)))
        elif node.op == "call_function" and op_name(node) in FLOAT_LOWERINGS:
            lower_float(node, REASON_FORCED if matches_float_layer(node, float_layers) else REASON_NO_INT8)
        else:
            note_unsupported(node)

    if not unsupported and blocked:
        for node, _why in blocked:
            note_unsupported(node, "its inputs or output are not int8 (the quantizer did not annotate it)")
    if unsupported:
        lines = [f"{len(unsupported)} op type(s) have no int8 lowering and no float fallback:"]
        for u in sorted(unsupported.values(), key=lambda u: u.name):
            where = ", ".join(u.sources[:5]) + (", ..." if len(u.sources) > 5 else "")
            reason = f" — {u.reason}" if u.reason else ""
            lines.append(f"  {u.name} ×{len(u.sources)} at {where}{reason}")
        raise UnsupportedOpsError("\n".join(lines), sorted(unsupported.values(), key=lambda u: u.name))
    if not prog.outputs:
        raise EdgebuildError("the model has no outputs")
    prog.metadata["model"] = name
    prog.metadata["ops"] = [{"name": op.name, "aten": op.aten, "source": op.source} for op in prog.ops]
    prog.metadata["float_ops"] = float_ops
    return prog


class UnsupportedOpsError(EdgebuildError):
    def __init__(self, message: str, ops: list[Unsupported]):
        super().__init__(message)
        self.ops = ops
