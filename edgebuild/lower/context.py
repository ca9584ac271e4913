"""The LoweringContext every lowering gets, and the helpers lowerings share (node facts, layouts, activations).

A lowering reads its int8 inputs with `ctx.input(arg)` (the tensor behind a dequantize node), its weights with
`ctx.channel_weight` / `ctx.constant`, creates its output with `ctx.new_output(node, ...)` (the tensor of the quantize
node behind it) and emits ops with `ctx.add_op(node, inputs, outputs, <Form>Params(...))`: the opcode comes from the
parameter class (edgebuild/ir_ops.py, generated from the op table). A float lowering reads with `ctx.float_value`
and writes with `ctx.new_float` (lower/__init__.py, "Float fallback").
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.fx import GraphModule, Node

from .._torchao import pt2e  # noqa: F401  (importing PT2E registers the quantized_decomposed ops)
from ..errors import EdgebuildError
from ..fold import attr_value
from ..ir import DType, Layout, Op, Program, Tensor
from ..ir_ops import OpParams, TransposeParams
from ..qmath import activation_bounds

Q = torch.ops.quantized_decomposed
QUANTIZE_NODES = {Q.quantize_per_tensor.default}
DEQUANTIZE_NODES = {Q.dequantize_per_tensor.default}
CHANNEL_DEQUANTIZE = {Q.dequantize_per_channel.default}

A = torch.ops.aten
# Activations the producing op's clamp applies (docs/quantization.md (8)); the quantizer annotates them as fused.
ACTIVATIONS = {A.relu.default, A.relu_.default, A.relu6.default, A.hardtanh.default, A.hardtanh_.default}

# NCHW dim -> position in NHWC memory order
NCHW_TO_NHWC_AXIS = (0, 3, 1, 2)


class NotQuantized(Exception):
    """An input of this node is not an int8 tensor (an unsupported op upstream left it in float)."""


class FloatBlocked(Exception):
    """An input of a float lowering has no value: the op producing it was not lowered (reported there)."""


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


def activation_of(node: Node) -> tuple[str, tuple[float, float]]:
    if node.target in (A.relu.default, A.relu_.default):
        return "relu", (0.0, 0.0)
    if node.target == A.relu6.default:
        return "hardtanh", (0.0, 6.0)
    lo = float(node.args[1]) if len(node.args) > 1 else -1.0  # type: ignore[arg-type]
    hi = float(node.args[2]) if len(node.args) > 2 else 1.0  # type: ignore[arg-type]
    return "hardtanh", (lo, hi)


def node_shape(node: Node) -> tuple[int, ...]:
    """The static shape of `node`'s tensor. PT2E's quantize / dequantize nodes carry no recorded value: their
    shape is their input's; a get_attr node's is its tensor's."""
    seen = 0
    while True:
        val = node.meta.get("val")
        if isinstance(val, torch.Tensor):
            try:
                return tuple(int(d) for d in val.shape)
            except TypeError:  # a symbolic size
                raise EdgebuildError(f"{node.name}: dynamic shape {tuple(val.shape)}; edgebuild builds static "
                                     "shapes") from None  # fmt: skip
        if node.op == "get_attr" and node.graph.owning_module is not None:
            value: object = node.graph.owning_module
            for part in str(node.target).split("."):
                value = getattr(value, part, None)
            if isinstance(value, torch.Tensor):
                return tuple(int(d) for d in value.shape)
        src = node.args[0] if node.args else None
        passes = (
            isinstance(node.target, torch._ops.OpOverload) and node.target.namespace == "quantized_decomposed"
        )
        if not (passes and isinstance(src, Node)) or seen > 8:
            raise EdgebuildError(f"{node.name}: no shape recorded by torch.export")
        node, seen = src, seen + 1


def record_qdq_values(gm: GraphModule) -> None:
    """Give the quantize / dequantize nodes PT2E inserted the `val` (shape and dtype) torch.export records for every
    other node: the value they wrap, as int8 (quantize) or float32 (dequantize)."""
    for node in gm.graph.nodes:
        if "val" in node.meta or node.op != "call_function":
            continue
        if (
            node.target in QUANTIZE_NODES
            or node.target in DEQUANTIZE_NODES
            or node.target in CHANNEL_DEQUANTIZE
        ):
            src = node.args[0]
            val = src.meta.get("val") if isinstance(src, Node) else None
            if val is None and isinstance(src, Node) and src.op == "get_attr":
                val = _attr_tensor(gm, str(src.target))
            if isinstance(val, torch.Tensor):
                dtype = torch.int8 if node.target in QUANTIZE_NODES else torch.float32
                node.meta["val"] = torch.empty(tuple(val.shape), dtype=dtype, device="meta")


def _attr_tensor(gm: GraphModule, target: str) -> torch.Tensor | None:
    try:
        value = attr_value(gm, target)
    except AttributeError:
        return None
    return value if isinstance(value, torch.Tensor) else None


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


def pair(v: object, default: int) -> tuple[int, int]:
    """An ATen int-or-pair argument (kernel, stride, padding, dilation) as (h, w)."""
    if v is None:
        return default, default
    if isinstance(v, int):
        return v, v
    vals = [int(x) for x in v]  # type: ignore[union-attr]
    return (vals[0], vals[0]) if len(vals) == 1 else (vals[0], vals[1])


@dataclass
class LoweringContext:
    gm: GraphModule
    program: Program = field(default_factory=Program)
    values: dict[Node, int] = field(default_factory=dict)  # quantize/dequantize/placeholder node -> tensor id
    consumed: set[Node] = field(
        default_factory=set
    )  # nodes already lowered as part of another (fused relu, q)
    fvalues: dict[Node, dict[Layout, int]] = field(default_factory=dict)  # float (or int32) value of a node

    def __post_init__(self) -> None:
        record_qdq_values(self.gm)

    # --- float fallback -----------------------------------------------------------------------------------
    def float_value(self, arg: object, layout: Layout | None = None) -> int:
        """The float32 IR tensor holding the value of `arg` (int32 for integer graph inputs), in `layout` when
        given (4-D only: NHWC or PLAIN; any other rank is always PLAIN). Emits the DEQUANTIZE of an int8 value and
        the TRANSPOSE of a layout change once, then reuses them."""
        from .ops.quantize import dequantize_to_float

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
                tid = dequantize_to_float(self, arg, src)
                have[self.tensor(src).layout] = tid
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
                data = self.constant(arg)
                if data.dtype.kind in "iub":  # integer and bool constants stay integers, narrowed to int32
                    if data.size and (data.min() < -(2**31) or data.max() >= 2**31):
                        raise EdgebuildError(f"{arg.name}: integer constant outside the int32 range")
                    have[Layout.PLAIN] = self.program.add_constant(
                        arg.name, data.astype(np.int32), DType.INT32
                    )
                else:
                    have[Layout.PLAIN] = self.program.add_constant(arg.name, data, DType.FLOAT32)
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
        self.add_op(
            arg, [src], [tid], TransposeParams(perm=perm), name=f"{arg.name}.to_{layout.name.lower()}"
        )
        have[layout] = tid
        return tid

    def float_value_cnn(self, arg: object) -> int:
        """The float tensor of `arg`, NHWC when it is 4-D (the layout the CNN ops' float forms work in)."""
        rank = len(node_shape(arg)) if isinstance(arg, Node) else 0
        return self.float_value(arg, Layout.NHWC if rank == 4 else None)

    def float_constant(self, arg: object) -> np.ndarray:
        """The real (float) value of a weight: a float parameter, or the dequantized int8 weight PT2E folded."""
        if isinstance(arg, Node) and arg.op == "get_attr":
            return self.constant(arg).astype(np.float32)
        if isinstance(arg, Node) and arg.target in CHANNEL_DEQUANTIZE:
            w, scales = self.channel_weight(arg)
            return (w.astype(np.float64) * scales.reshape((-1,) + (1,) * (w.ndim - 1))).astype(np.float32)
        if isinstance(arg, Node) and arg.target in DEQUANTIZE_NODES and isinstance(arg.args[0], Node):
            q = self.constant(arg.args[0]).astype(np.float64)
            return ((q - float(arg.args[2])) * float(arg.args[1])).astype(np.float32)  # type: ignore[arg-type]
        raise FloatBlocked(f"{getattr(arg, 'name', arg)} is not a constant weight")

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
            value = attr_value(self.gm, str(arg.target))
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
        node: Node,
        inputs: list[int],
        outputs: list[int],
        params: OpParams,
        name: str | None = None,
    ) -> None:
        """Emit the op whose form `params` is (a dataclass of edgebuild/ir_ops.py: its OPCODE is the op's)."""
        self.program.add_op(
            Op(
                params.OPCODE,
                name or node.name,
                inputs,
                outputs,
                params.encode(),
                aten=op_name(node),
                source=source_line(node),
            )
        )

    def temp(self, name: str, like: Tensor, shape: tuple[int, ...], layout: Layout) -> int:
        return self.program.add_tensor(Tensor(name, like.dtype, shape, like.scale, like.zero_point, layout))
