"""onnx: an edgebuild Program as an ONNX model in QDQ form (QuantizeLinear / DequantizeLinear around float ops).

The graph is in PyTorch's layout (NCHW), as ONNX tools expect: an edgebuild NHWC tensor is its NCHW logical view, and
the layout TRANSPOSEs edgebuild inserts around reshapes become identities. Every int8 tensor of the artifact is a
QuantizeLinear output with the artifact's scale and zero point; weights are int8 initializers with per-channel
scales (DequantizeLinear, axis 0), biases int32 with scale s_x·s_w[c]. A fused activation is a Clip to the values of
its int8 bounds. A float-form op (edgebuild's float fallback) is the ONNX op on float32 values, between the
DequantizeLinear / QuantizeLinear of the int8 graph (export/onnx_float.py). onnxruntime fuses such QDQ groups into its int8 kernels (QLinearConv, …), whose requantization
rounds in float: agreement with edgebuild is ≤ 1 LSB per op, stated and tested in tests/interop/test_onnx.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..ir import DType, Layout, Op, OpCode, Program, Tensor
from ..ir_ops import (
    ResizeMode,
    TransposeParams,
)
from . import ExportError, write_ops

OPSET = 21
TO_NCHW = [0, 3, 1, 2]
TO_NHWC = [0, 2, 3, 1]
NHWC_TO_NCHW_AXIS = {0: 0, 1: 2, 2: 3, 3: 1}


def _bounds(p: Any) -> tuple[float, float]:
    """An op's clamp: int8 codes of its int8 form, real bounds of its float form."""
    return (p.act_min, p.act_max) if hasattr(p, "act_min") else (p.lo, p.hi)


def _logical(t: Tensor) -> list[int]:
    s = list(t.shape)
    return [s[0], s[3], s[1], s[2]] if t.layout == Layout.NHWC else s


class _Writer:
    def __init__(self, program: Program, io: str) -> None:
        try:
            import onnx
            from onnx import helper, numpy_helper
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ExportError(f"the ONNX exporter needs onnx (pip install 'edgebuild[export]'): {e}") from e
        if io not in ("float", "int8"):
            raise ExportError(f"io must be 'float' or 'int8', not {io!r}")
        self.onnx, self.helper, self.numpy_helper = onnx, helper, numpy_helper
        self.program = program
        self.io = io
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self.names: dict[int, str] = {}  # int8 tensor id -> ONNX name of its int8 value
        self.dq_names: dict[int, str] = {}
        self.weight_scales: dict[str, list[float]] = program.metadata.get("weight_scales", {})
        self.counter = 0

    def handlers(self) -> dict[tuple[OpCode, str], Callable[[Op], None]]:
        raise NotImplementedError  # export/onnx_float.py's Writer has the table

    def val(self, tid: int) -> str:
        """The ONNX name of tensor `tid`'s value as stored (int8 codes of an int8 tensor)."""
        return self.names.get(tid, self.program.tensors[tid].name)

    def unique(self, base: str) -> str:
        self.counter += 1
        return f"{base}__{self.counter}"

    def init(self, name: str, array: np.ndarray) -> str:
        self.inits.append(self.numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(self, op_type: str, inputs: list[str], outputs: list[str] | None = None, **attrs: Any) -> str:
        outputs = outputs or [self.unique(op_type.lower())]
        self.nodes.append(self.helper.make_node(op_type, inputs, outputs, name=self.unique(op_type), **attrs))
        return outputs[0]

    def qparams(self, tid: int) -> tuple[str, str]:
        t = self.program.tensors[tid]
        s = self.init(self.unique(f"{t.name}.scale"), np.array(t.scale, np.float32))
        z = self.init(self.unique(f"{t.name}.zero_point"), np.array(t.zero_point, np.int8))
        return s, z

    def dq(self, tid: int) -> str:
        """The float value of tensor `tid`: an int8 tensor dequantized (once); a float32 (or int32) activation as
        it is; a constant as an initializer."""
        t = self.program.tensors[tid]
        if t.data is not None:
            if tid not in self.dq_names:
                data = t.data.transpose(0, 3, 1, 2) if t.layout == Layout.NHWC else t.data
                self.dq_names[tid] = self.init(self.unique(t.name), data.astype(t.dtype.numpy))
            return self.dq_names[tid]
        if t.dtype != DType.INT8:
            return self.names.get(tid, t.name)
        if tid not in self.dq_names:
            s, z = self.qparams(tid)
            self.dq_names[tid] = self.node("DequantizeLinear", [self.names[tid], s, z])
        return self.dq_names[tid]

    def q(self, tid: int, value: str) -> None:
        """Quantize float `value` into int8 tensor `tid`; a float32 output `tid` is `value` itself (graph outputs
        get their own name)."""
        t = self.program.tensors[tid]
        if t.dtype != DType.INT8:
            if tid in self.program.outputs:
                value = self.node("Identity", [value], [t.name])
            self.names[tid] = value
            return
        s, z = self.qparams(tid)
        self.names[tid] = self.node("QuantizeLinear", [value, s, z], [t.name])

    def clip(self, tid: int, value: str, amin: float, amax: float) -> str:
        """The clamp of output `tid`: int8 codes of an int8 tensor, real bounds of a float32 one."""
        t = self.program.tensors[tid]
        if t.dtype == DType.INT8:
            if (amin, amax) == (-128, 127):
                return value
            lo = np.float32(amin - t.zero_point) * np.float32(t.scale)
            hi = np.float32(amax - t.zero_point) * np.float32(t.scale)
        else:
            if (amin, amax) == (-np.inf, np.inf):
                return value
            lo, hi = np.float32(amin), np.float32(amax)
        return self.node(
            "Clip",
            [value, self.init(self.unique("lo"), np.array(lo)), self.init(self.unique("hi"), np.array(hi))],
        )

    def weights(self, op: Op, w_values: np.ndarray) -> tuple[str, str]:
        P = self.program
        w = P.tensors[op.inputs[1]]
        if w.dtype == DType.FLOAT32:  # a float form: float32 initializers
            wf = self.init(w.name, w_values.astype(np.float32))
            if op.inputs[2] < 0:
                return wf, ""
            b = P.tensors[op.inputs[2]]
            assert b.data is not None
            return wf, self.init(b.name, b.data.astype(np.float32))
        scales = self.weight_scales.get(w.name)
        if scales is None:
            raise ExportError(f"{op.name}: the artifact does not record the scales of {w.name!r}; rebuild it")
        sc = np.asarray(scales, np.float32)
        wq = self.init(w.name, w_values.astype(np.int8))
        wf = self.node(
            "DequantizeLinear",
            [
                wq,
                self.init(f"{w.name}.scale", sc),
                self.init(f"{w.name}.zero_point", np.zeros(len(sc), np.int8)),
            ],
            axis=0,
        )
        if op.inputs[2] < 0:
            return wf, ""
        b = P.tensors[op.inputs[2]]
        assert b.data is not None
        bscale = (np.float32(P.tensors[op.inputs[0]].scale) * sc).astype(np.float32)
        bf = self.node(
            "DequantizeLinear",
            [
                self.init(b.name, b.data.astype(np.int32)),
                self.init(f"{b.name}.scale", bscale),
                self.init(f"{b.name}.zero_point", np.zeros(len(sc), np.int32)),
            ],
            axis=0,
        )
        return wf, bf

    # --- ops --------------------------------------------------------------------------------------------------
    def conv(self, op: Op) -> None:
        """CONV2D, and DEPTHWISE_CONV2D as a Conv of C groups (its weight [OC, KH, KW, 1] is OIHW [OC, 1, KH, KW])."""
        x, y = op.inputs[0], op.outputs[0]
        p = self.program.params_of(op)  # Conv2dInt8Params or DepthwiseConv2dInt8Params
        groups = self.program.tensors[x].shape[3] if op.opcode == OpCode.DEPTHWISE_CONV2D else p.groups
        w = self.program.tensors[op.inputs[1]].data
        assert w is not None
        wf, bf = self.weights(op, w.transpose(0, 3, 1, 2))  # OHWI -> OIHW
        out = self.node(
            "Conv",
            [self.dq(x), wf] + ([bf] if bf else []),
            strides=[p.stride_h, p.stride_w],
            pads=[p.pad_top, p.pad_left, p.pad_bottom, p.pad_right],
            dilations=[p.dilation_h, p.dilation_w],
            group=groups,
        )
        self.q(y, self.clip(y, out, *_bounds(p)))

    def fully_connected(self, op: Op) -> None:
        x, y = op.inputs[0], op.outputs[0]
        p = self.program.params_of(op)
        w = self.program.tensors[op.inputs[1]].data
        assert w is not None
        wf, bf = self.weights(op, w)
        if len(self.program.tensors[x].shape) == 2:
            out = self.node("Gemm", [self.dq(x), wf] + ([bf] if bf else []), transB=1)
        else:
            out = self.node("MatMul", [self.dq(x), self.node("Transpose", [wf], perm=[1, 0])])
            out = self.node("Add", [out, bf]) if bf else out
        self.q(y, self.clip(y, out, *_bounds(p)))

    def binary(self, op: Op) -> None:
        """ADD, SUB, MUL: ONNX broadcasts the logical (NCHW) shapes as NumPy does."""
        a, b = op.inputs
        y = op.outputs[0]
        p = self.program.params_of(op)  # AddInt8Params, SubInt8Params or MulInt8Params
        kind = {OpCode.ADD: "Add", OpCode.SUB: "Sub", OpCode.MUL: "Mul"}[op.opcode]
        self.q(y, self.clip(y, self.node(kind, [self.dq(a), self.dq(b)]), *_bounds(p)))

    def pad(self, op: Op) -> None:
        x, y = op.inputs[0], op.outputs[0]
        xt = self.program.tensors[x]
        p = self.program.params_of(op)
        before, after = p.before, p.after
        if xt.layout == Layout.NHWC:  # memory order -> logical (NCHW) order
            before, after = [before[i] for i in TO_NCHW], [after[i] for i in TO_NCHW]
        pads = self.init(self.unique("pads"), np.array(list(before) + list(after), np.int64))
        value = (
            np.float32(p.value - xt.zero_point) * np.float32(xt.scale)
            if xt.dtype == DType.INT8
            else np.float32(p.value)
        )
        cval = self.init(self.unique("pad_value"), np.array(value, np.float32))
        self.q(y, self.node("Pad", [self.dq(x), pads, cval], mode="constant"))

    def slice(self, op: Op) -> None:
        x, y = op.inputs[0], op.outputs[0]
        xt, yt = self.program.tensors[x], self.program.tensors[y]
        r = len(xt.shape)
        p = self.program.params_of(op)
        starts, steps = p.start, p.step
        ends = [s + (n - 1) * st + 1 for s, n, st in zip(starts, yt.shape, steps)]
        order = TO_NCHW if xt.layout == Layout.NHWC else list(range(r))
        arrays = [np.array([v[i] for i in order], np.int64) for v in (starts, ends, steps)]
        names = [self.init(self.unique(k), a) for k, a in zip(("starts", "ends", "steps"), arrays)]
        axes = self.init(self.unique("axes"), np.arange(r, dtype=np.int64))
        out = self.node("Slice", [self.val(x), names[0], names[1], axes, names[2]], [yt.name])
        self.names[y] = out

    def resize(self, op: Op) -> None:
        x, y = op.inputs[0], op.outputs[0]
        p = self.program.params_of(op)
        sizes = self.init(self.unique("sizes"), np.array(_logical(self.program.tensors[y]), np.int64))
        attrs: dict[str, Any]
        if p.mode == ResizeMode.NEAREST:
            attrs = {
                "mode": "nearest",
                "coordinate_transformation_mode": "asymmetric",
                "nearest_mode": "floor",
            }
        else:
            ctm = "align_corners" if p.align_corners else "pytorch_half_pixel"
            attrs = {"mode": "linear", "coordinate_transformation_mode": ctm}
        self.q(y, self.node("Resize", [self.dq(x), "", "", sizes], **attrs))

    def _ceil_mode(
        self, op: Op, kernel: tuple[int, int], stride: tuple[int, int], pad: tuple[int, int]
    ) -> int:
        x, y = (self.program.tensors[i] for i in (op.inputs[0], op.outputs[0]))
        floor = [(x.shape[1 + i] + 2 * pad[i] - kernel[i]) // stride[i] + 1 for i in range(2)]
        return int(floor != [y.shape[1], y.shape[2]])

    def max_pool(self, op: Op) -> None:
        p = self.program.params_of(op)
        kh, kw, sh, sw, ph, pw = p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, p.pad_h, p.pad_w
        x, y = op.inputs[0], op.outputs[0]
        eff = ((kh - 1) * p.dilation_h + 1, (kw - 1) * p.dilation_w + 1)
        ceil = self._ceil_mode(op, eff, (sh, sw), (ph, pw))
        out = self.node(
            "MaxPool",
            [self.dq(x)],
            kernel_shape=[kh, kw],
            strides=[sh, sw],
            pads=[ph, pw, ph, pw],
            dilations=[p.dilation_h, p.dilation_w],
            ceil_mode=ceil,
        )
        self.q(y, self.clip(y, out, *_bounds(p)))

    def avg_pool(self, op: Op) -> None:
        p = self.program.params_of(op)
        kh, kw, sh, sw, ph, pw = p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, p.pad_h, p.pad_w
        x, y = op.inputs[0], op.outputs[0]
        ceil = self._ceil_mode(op, (kh, kw), (sh, sw), (ph, pw))
        out = self.node(
            "AveragePool",
            [self.dq(x)],
            kernel_shape=[kh, kw],
            strides=[sh, sw],
            pads=[ph, pw, ph, pw],
            count_include_pad=int(p.count_include_pad),
            ceil_mode=ceil,
        )
        self.q(y, self.clip(y, out, *_bounds(p)))

    def concat(self, op: Op) -> None:
        y = op.outputs[0]
        t = self.program.tensors[y]
        axis = self.program.params_of(op).axis
        if t.layout == Layout.NHWC:
            axis = NHWC_TO_NCHW_AXIS[axis]
        self.q(y, self.node("Concat", [self.dq(i) for i in op.inputs], axis=axis))

    def reshape(self, op: Op) -> None:
        x, y = op.inputs[0], op.outputs[0]
        shape = self.init(self.unique("shape"), np.array(_logical(self.program.tensors[y]), np.int64))
        self.names[y] = self.node("Reshape", [self.val(x), shape], [self.program.tensors[y].name])

    def transpose(self, op: Op) -> None:
        """TRANSPOSE of memory order as a Transpose of logical (NCHW) order: with x's memory axes in logical terms
        (NHWC: TO_NHWC) and y's logical axes in memory terms (NHWC: TO_NCHW), logical perm[j] = in[perm[out[j]]].
        A layout change (NHWC <-> PLAIN of the same NCHW tensor) is an Identity."""
        x, y = op.inputs[0], op.outputs[0]
        xt, yt = self.program.tensors[x], self.program.tensors[y]
        perm = TransposeParams.decode(op.params).perm
        ident = list(range(len(perm)))
        into = TO_NHWC if xt.layout == Layout.NHWC else ident
        out = TO_NCHW if yt.layout == Layout.NHWC else ident
        logical = [into[perm[out[j]]] for j in range(len(perm))]
        if logical == ident:  # the same logical tensor
            self.names[y] = self.node("Identity", [self.val(x)], [yt.name])
        else:
            self.names[y] = self.node("Transpose", [self.val(x)], [yt.name], perm=logical)

    def clamp(self, op: Op) -> None:
        x, y = op.inputs[0], op.outputs[0]
        p = self.program.params_of(op)
        self.q(y, self.clip(y, self.dq(x), *_bounds(p)))

    def quantize(self, op: Op) -> None:
        x, y = op.inputs[0], op.outputs[0]
        if self.io == "int8" and x in self.program.inputs:
            self.names[y] = self.program.tensors[x].name
            self.graph_inputs.append((self.names[y], 3, _logical(self.program.tensors[y])))
            return
        self.q(y, self.dq(x))

    def dequantize(self, op: Op) -> None:
        x, y = op.inputs[0], op.outputs[0]
        if self.io == "int8" and y in self.program.outputs:
            self.graph_outputs.append((self.val(x), 3, _logical(self.program.tensors[x])))
            return
        s, z = self.qparams(x)
        self.names[y] = self.node("DequantizeLinear", [self.val(x), s, z], [self.program.tensors[y].name])

    def write(self) -> bytes:
        P = self.program
        helper, TP = self.helper, self.onnx.TensorProto
        self.graph_inputs: list[tuple[str, int, list[int]]] = []
        self.graph_outputs: list[tuple[str, int, list[int]]] = []
        for tid in P.inputs:
            self.names[tid] = P.tensors[tid].name
        write_ops(P, "ONNX", self.handlers())
        if self.io == "float":
            ins = [
                (P.tensors[t].name, _onnx_type(TP, P.tensors[t]), list(P.tensors[t].shape)) for t in P.inputs
            ]
            outs = [
                (P.tensors[t].name, _onnx_type(TP, P.tensors[t]), list(P.tensors[t].shape)) for t in P.outputs
            ]
        else:
            ins = [(n, TP.INT8, s) for n, _, s in self.graph_inputs]
            outs = [(n, TP.INT8, s) for n, _, s in self.graph_outputs]
        graph = helper.make_graph(
            self.nodes,
            str(P.metadata.get("model", "model")),
            [helper.make_tensor_value_info(n, t, s) for n, t, s in ins],
            [helper.make_tensor_value_info(n, t, s) for n, t, s in outs],
            self.inits,
        )
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="edgebuild", ir_version=10
        )
        self.onnx.checker.check_model(model)
        return bytes(model.SerializeToString())


def _onnx_type(TP: Any, t: Tensor) -> int:
    return {DType.FLOAT32: TP.FLOAT, DType.INT32: TP.INT32, DType.INT8: TP.INT8}[t.dtype]


def export_onnx(program: Program, *, io: str = "float") -> bytes:
    """The ONNX (QDQ) model of a Program (as read back from a .ebm); see the module docstring."""
    from ..lower.fuse_attention import unfused_program

    program = unfused_program(program)  # the format has no fused attention op: its ops, the same values
    from .onnx_float import Writer

    return Writer(program, io).write()
