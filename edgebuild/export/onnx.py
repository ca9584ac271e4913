"""onnx: an edgebuild Program as an ONNX model in QDQ form (QuantizeLinear / DequantizeLinear around float ops).

The graph is in PyTorch's layout (NCHW), as ONNX tools expect: an edgebuild NHWC tensor is its NCHW logical view, and
the layout TRANSPOSEs edgebuild inserts around reshapes become identities. Every int8 tensor of the artifact is a
QuantizeLinear output with the artifact's scale and zero point; weights are int8 initializers with per-channel
scales (DequantizeLinear, axis 0), biases int32 with scale s_x·s_w[c]. A fused activation is a Clip to the values of
its int8 bounds. onnxruntime fuses such QDQ groups into its int8 kernels (QLinearConv, …), whose requantization
rounds in float: agreement with edgebuild is ≤ 1 LSB per op, stated and tested in tests/interop/test_onnx.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ir import DType, Layout, Op, OpCode, Program, Tensor
from . import ExportError, refuse_float_ops

OPSET = 21
TO_NCHW = [0, 3, 1, 2]
TO_NHWC = [0, 2, 3, 1]
NHWC_TO_NCHW_AXIS = {0: 0, 1: 2, 2: 3, 3: 1}


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
        """The float (dequantized) value of int8 tensor `tid`."""
        if tid not in self.dq_names:
            s, z = self.qparams(tid)
            self.dq_names[tid] = self.node("DequantizeLinear", [self.names[tid], s, z])
        return self.dq_names[tid]

    def q(self, tid: int, value: str) -> None:
        """Quantize float `value` into int8 tensor `tid`."""
        s, z = self.qparams(tid)
        self.names[tid] = self.node("QuantizeLinear", [value, s, z], [self.program.tensors[tid].name])

    def clip(self, tid: int, value: str, amin: int, amax: int) -> str:
        if (amin, amax) == (-128, 127):
            return value
        t = self.program.tensors[tid]
        lo = np.float32(amin - t.zero_point) * np.float32(t.scale)
        hi = np.float32(amax - t.zero_point) * np.float32(t.scale)
        return self.node(
            "Clip",
            [value, self.init(self.unique("lo"), np.array(lo)), self.init(self.unique("hi"), np.array(hi))],
        )

    def weights(self, op: Op, w_values: np.ndarray) -> tuple[str, str]:
        P = self.program
        w = P.tensors[op.inputs[1]]
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
        x, y = op.inputs[0], op.outputs[0]
        sh, sw, pt, pl, pb, pr, dh, dw, groups, amin, amax = op.params
        w = self.program.tensors[op.inputs[1]].data
        assert w is not None
        wf, bf = self.weights(op, w.transpose(0, 3, 1, 2))  # OHWI -> OIHW
        out = self.node(
            "Conv",
            [self.dq(x), wf] + ([bf] if bf else []),
            strides=[sh, sw],
            pads=[pt, pl, pb, pr],
            dilations=[dh, dw],
            group=groups,
        )
        self.q(y, self.clip(y, out, amin, amax))

    def fully_connected(self, op: Op) -> None:
        x, y = op.inputs[0], op.outputs[0]
        amin, amax = op.params
        w = self.program.tensors[op.inputs[1]].data
        assert w is not None
        wf, bf = self.weights(op, w)
        if len(self.program.tensors[x].shape) == 2:
            out = self.node("Gemm", [self.dq(x), wf] + ([bf] if bf else []), transB=1)
        else:
            out = self.node("MatMul", [self.dq(x), self.node("Transpose", [wf], perm=[1, 0])])
            out = self.node("Add", [out, bf]) if bf else out
        self.q(y, self.clip(y, out, amin, amax))

    def add(self, op: Op) -> None:
        a, b = op.inputs
        y = op.outputs[0]
        amin, amax = op.params[-2:]
        self.q(y, self.clip(y, self.node("Add", [self.dq(a), self.dq(b)]), amin, amax))

    def _ceil_mode(
        self, op: Op, kernel: tuple[int, int], stride: tuple[int, int], pad: tuple[int, int]
    ) -> int:
        x, y = (self.program.tensors[i] for i in (op.inputs[0], op.outputs[0]))
        floor = [(x.shape[1 + i] + 2 * pad[i] - kernel[i]) // stride[i] + 1 for i in range(2)]
        return int(floor != [y.shape[1], y.shape[2]])

    def max_pool(self, op: Op) -> None:
        kh, kw, sh, sw, ph, pw, dh, dw, amin, amax = op.params
        x, y = op.inputs[0], op.outputs[0]
        ceil = self._ceil_mode(op, ((kh - 1) * dh + 1, (kw - 1) * dw + 1), (sh, sw), (ph, pw))
        out = self.node(
            "MaxPool",
            [self.dq(x)],
            kernel_shape=[kh, kw],
            strides=[sh, sw],
            pads=[ph, pw, ph, pw],
            dilations=[dh, dw],
            ceil_mode=ceil,
        )
        self.q(y, self.clip(y, out, amin, amax))

    def avg_pool(self, op: Op) -> None:
        kh, kw, sh, sw, ph, pw, include, amin, amax = op.params
        x, y = op.inputs[0], op.outputs[0]
        ceil = self._ceil_mode(op, (kh, kw), (sh, sw), (ph, pw))
        out = self.node(
            "AveragePool",
            [self.dq(x)],
            kernel_shape=[kh, kw],
            strides=[sh, sw],
            pads=[ph, pw, ph, pw],
            count_include_pad=include,
            ceil_mode=ceil,
        )
        self.q(y, self.clip(y, out, amin, amax))

    def concat(self, op: Op) -> None:
        y = op.outputs[0]
        t = self.program.tensors[y]
        axis = op.params[0]
        if t.layout == Layout.NHWC:
            axis = NHWC_TO_NCHW_AXIS[axis]
        self.q(y, self.node("Concat", [self.dq(i) for i in op.inputs], axis=axis))

    def reshape(self, op: Op) -> None:
        x, y = op.inputs[0], op.outputs[0]
        shape = self.init(self.unique("shape"), np.array(_logical(self.program.tensors[y]), np.int64))
        self.names[y] = self.node("Reshape", [self.names[x], shape], [self.program.tensors[y].name])

    def transpose(self, op: Op) -> None:
        x, y = op.inputs[0], op.outputs[0]
        xt, yt = self.program.tensors[x], self.program.tensors[y]
        layout_change = (xt.layout, yt.layout, op.params) in (
            (Layout.NHWC, Layout.PLAIN, TO_NCHW),
            (Layout.PLAIN, Layout.NHWC, TO_NHWC),
        )
        if layout_change:  # the same logical (NCHW) tensor
            self.names[y] = self.node("Identity", [self.names[x]], [yt.name])
        elif xt.layout == yt.layout == Layout.PLAIN:
            self.names[y] = self.node("Transpose", [self.names[x]], [yt.name], perm=list(op.params))
        else:
            raise ExportError(f"{op.name}: a transpose between layouts {xt.layout.name} and {yt.layout.name}")

    def clamp(self, op: Op) -> None:
        x, y = op.inputs[0], op.outputs[0]
        self.q(y, self.clip(y, self.dq(x), *op.params))

    def quantize(self, op: Op) -> None:
        x, y = op.inputs[0], op.outputs[0]
        if self.io == "int8":
            self.names[y] = self.program.tensors[x].name
            self.graph_inputs.append((self.names[y], 3, _logical(self.program.tensors[y])))
            return
        self.q(y, self.program.tensors[x].name)

    def dequantize(self, op: Op) -> None:
        x, y = op.inputs[0], op.outputs[0]
        if self.io == "int8":
            self.graph_outputs.append((self.names[x], 3, _logical(self.program.tensors[x])))
            return
        s, z = self.qparams(x)
        self.node("DequantizeLinear", [self.names[x], s, z], [self.program.tensors[y].name])

    def write(self) -> bytes:
        P = self.program
        helper, TP = self.helper, self.onnx.TensorProto
        self.graph_inputs: list[tuple[str, int, list[int]]] = []
        self.graph_outputs: list[tuple[str, int, list[int]]] = []
        handlers = {
            OpCode.QUANTIZE: self.quantize,
            OpCode.DEQUANTIZE: self.dequantize,
            OpCode.CONV2D: self.conv,
            OpCode.FULLY_CONNECTED: self.fully_connected,
            OpCode.ADD: self.add,
            OpCode.MAX_POOL2D: self.max_pool,
            OpCode.AVG_POOL2D: self.avg_pool,
            OpCode.CONCAT: self.concat,
            OpCode.RESHAPE: self.reshape,
            OpCode.TRANSPOSE: self.transpose,
            OpCode.CLAMP: self.clamp,
        }
        refuse_float_ops(P, "ONNX")
        for op in P.ops:
            handlers[op.opcode](op)
        if self.io == "float":
            ins = [(P.tensors[t].name, TP.FLOAT, list(P.tensors[t].shape)) for t in P.inputs]
            outs = [(P.tensors[t].name, TP.FLOAT, list(P.tensors[t].shape)) for t in P.outputs]
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


def export_onnx(program: Program, *, io: str = "float") -> bytes:
    """The ONNX (QDQ) model of a Program (as read back from a .ebm); see the module docstring."""
    if any(t.dtype == DType.INT32 and t.data is None for t in program.tensors):
        raise ExportError("int32 activations have no QDQ form")
    return _Writer(program, io).write()
