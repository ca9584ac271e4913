"""The ONNX handler table: the int8 ops of export/onnx.py, and the float forms (edgebuild's float fallback) as ONNX
ops on float32 values. An int8 op reads `dq(x)` and writes `q(y, value)`; a float op reads the same `dq(x)` (a
float32 tensor as it is) and `q` of a float32 output is the value itself, so one handler serves both forms."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..ir import Layout, Op, OpCode, UnaryFunc
from ..ir_enums import ReduceFunc
from . import ExportError
from .onnx import _Writer

NHWC_LAST_TO_LOGICAL = 1  # the last memory axis of an NHWC tensor (C) is logical axis 1


class Writer(_Writer):
    def handlers(self) -> dict[tuple[OpCode, str], Callable[[Op], None]]:
        h: dict[tuple[OpCode, str], Callable[[Op], None]] = {
            (OpCode.QUANTIZE, "int8"): self.quantize,
            (OpCode.DEQUANTIZE, "int8"): self.dequantize,
            (OpCode.RESHAPE, "int8"): self.reshape,
            (OpCode.TRANSPOSE, "int8"): self.transpose,
            (OpCode.SOFTMAX, "float"): self.softmax,
            # int8: DequantizeLinear, Softmax, QuantizeLinear (ONNX has no int8 softmax; within 1 LSB)
            (OpCode.SOFTMAX, "int8"): self.softmax,
            (OpCode.LAYER_NORM, "float"): self.layer_norm,
            (OpCode.EMBEDDING, "float"): self.embedding,
            (OpCode.REDUCE, "int8"): self.reduce,  # one form for every dtype (docs/artifact.md)
            (OpCode.DYNAMIC_FULLY_CONNECTED, "float"): self.dynamic_fully_connected,
        }
        for form in ("int8", "float"):
            for code, fn in (
                (OpCode.CONV2D, self.conv),
                (OpCode.DEPTHWISE_CONV2D, self.conv),
                (OpCode.FULLY_CONNECTED, self.fully_connected),
                (OpCode.ADD, self.binary),
                (OpCode.SUB, self.binary),
                (OpCode.MUL, self.binary),
                (OpCode.MAX_POOL2D, self.max_pool),
                (OpCode.AVG_POOL2D, self.avg_pool),
                (OpCode.CONCAT, self.concat),
                (OpCode.CLAMP, self.clamp),
                (OpCode.UNARY, self.unary),
                (OpCode.PAD, self.pad),
                (OpCode.SLICE, self.slice),
                (OpCode.RESIZE, self.resize),
                (OpCode.BATCH_MATMUL, self.batch_matmul),
            ):
                h[(code, form)] = fn
        return h

    def dynamic_fully_connected(self, op: Op) -> None:
        """DYNAMIC_FULLY_CONNECTED as DequantizeLinear of its int8 weights (per output channel, axis 0) and a float
        MatMul (+ Add of the bias): ONNX's DynamicQuantizeLinear takes one uint8 scale per tensor, not one per row as
        docs/quantization.md (14), so the export computes the layer in float on the same weight values; it differs
        from the artifact by the input's rounding to int8 only (tests/interop/test_onnx_float.py)."""
        P = self.program
        x, y = op.inputs[0], op.outputs[0]
        w, s = P.tensors[op.inputs[1]], P.tensors[op.inputs[2]]
        assert w.data is not None and s.data is not None
        wf = self.node(
            "DequantizeLinear",
            [
                self.init(w.name, w.data.astype(np.int8)),
                self.init(f"{w.name}.scale", s.data.astype(np.float32)),
                self.init(f"{w.name}.zero_point", np.zeros(w.shape[0], np.int8)),
            ],
            axis=0,
        )
        out = self.node("MatMul", [self.dq(x), self.node("Transpose", [wf], perm=[1, 0])])
        if op.inputs[3] >= 0:
            out = self.node("Add", [out, self.dq(op.inputs[3])])
        p = P.params_of(op)
        self.q(y, self.clip(y, out, float(p.lo), float(p.hi)))

    def last_axis(self, tid: int) -> int:
        """The logical axis of the last memory axis (ops "over the last axis")."""
        t = self.program.tensors[tid]
        return NHWC_LAST_TO_LOGICAL if t.layout == Layout.NHWC else -1

    def unary(self, op: Op) -> None:
        """UNARY (int8: its table is the function, named by `func`; float32: the function) as the ONNX op."""
        x, y = op.inputs[0], op.outputs[0]
        p: Any = self.program.params_of(op)
        func = UnaryFunc(p.func)
        v = self.dq(x)
        if func == UnaryFunc.HARDSWISH:
            out = self.node("HardSwish", [v])
        elif func == UnaryFunc.HARDSIGMOID:
            out = self.node("HardSigmoid", [v], alpha=1.0 / 6.0, beta=0.5)
        elif func == UnaryFunc.SIGMOID:
            out = self.node("Sigmoid", [v])
        elif func == UnaryFunc.SILU:
            out = self.node("Mul", [v, self.node("Sigmoid", [v])])
        elif func in (UnaryFunc.GELU, UnaryFunc.GELU_TANH):
            out = self.node("Gelu", [v], approximate="tanh" if func == UnaryFunc.GELU_TANH else "none")
        elif func == UnaryFunc.TANH:
            out = self.node("Tanh", [v])
        elif func == UnaryFunc.LEAKY_RELU:
            out = self.node("LeakyRelu", [v], alpha=p.alpha)
        elif func == UnaryFunc.RECIPROCAL:
            out = self.node("Reciprocal", [v])
        elif func == UnaryFunc.PRELU and self.program.form_of(op) == "float":
            slopes = self.program.tensors[op.inputs[1]].data
            assert slopes is not None
            if self.last_axis(x) == NHWC_LAST_TO_LOGICAL:  # per channel, NCHW: [C, 1, 1]
                slopes = slopes.reshape(-1, 1, 1)
            out = self.node("PRelu", [v, self.init(self.unique("slopes"), slopes.astype(np.float32))])
        elif func == UnaryFunc.PRELU:
            raise ExportError(
                "an int8 PRELU keeps only its lookup table in the artifact, not the slopes ONNX needs"
            )
        else:
            raise ExportError(f"UNARY {func.name} has no mapping in the ONNX exporter")
        self.q(y, out)

    def reduce(self, op: Op) -> None:
        """REDUCE's SUM / MEAN / MAX / MIN / PROD as ONNX Reduce* (axes: the stored axes, as logical axes)."""
        p: Any = self.program.params_of(op)
        func = ReduceFunc(p.func)
        onnx_op = {
            ReduceFunc.SUM: "ReduceSum",
            ReduceFunc.MEAN: "ReduceMean",
            ReduceFunc.MAX: "ReduceMax",
            ReduceFunc.MIN: "ReduceMin",
            ReduceFunc.PROD: "ReduceProd",
        }.get(func)
        if onnx_op is None:
            raise ExportError(f"REDUCE {func.name} has no ONNX mapping in edgebuild's exporter")
        x, y = op.inputs[0], op.outputs[0]
        t = self.program.tensors[x]
        stored = [a for a in range(len(t.shape)) if (p.axes >> a) & 1]
        axes = sorted((0, 2, 3, 1)[a] if t.layout == Layout.NHWC else a for a in stored)
        keep = int(len(self.program.tensors[y].shape) == len(t.shape))
        ax = self.init(self.unique("axes"), np.array(axes, np.int64))
        self.q(y, self.node(onnx_op, [self.dq(x), ax], keepdims=keep))

    def softmax(self, op: Op) -> None:
        x, y = op.inputs[0], op.outputs[0]
        self.q(y, self.node("Softmax", [self.dq(x)], axis=self.last_axis(x)))

    def layer_norm(self, op: Op) -> None:
        """LayerNormalization over the last axis (gamma 1 / beta 0 when the artifact has none)."""
        x, y = op.inputs[0], op.outputs[0]
        if self.last_axis(x) != -1:
            raise ExportError("LAYER_NORM over the channels of an NHWC tensor has no ONNX LayerNormalization")
        p: Any = self.program.params_of(op)
        d = self.program.tensors[x].shape[-1]
        gamma = (
            self.dq(op.inputs[1])
            if op.inputs[1] >= 0
            else self.init(self.unique("gamma"), np.ones(d, np.float32))
        )
        ins = [self.dq(x), gamma] + ([self.dq(op.inputs[2])] if op.inputs[2] >= 0 else [])
        self.q(y, self.node("LayerNormalization", ins, axis=-1, epsilon=float(p.eps)))

    def embedding(self, op: Op) -> None:
        """Gather of the table's rows at the int32 ids (an id outside the table: onnxruntime errors; edgebuild
        gives a zero row, and rejects such an id of a graph input first)."""
        y = op.outputs[0]
        self.q(y, self.node("Gather", [self.dq(op.inputs[0]), self.dq(op.inputs[1])], axis=0))

    def batch_matmul(self, op: Op) -> None:
        """MatMul (b transposed on its last two axes when transpose_b), times alpha, clamped (int8 form)."""
        a, b = op.inputs
        y = op.outputs[0]
        p: Any = self.program.params_of(op)
        rhs = self.dq(b)
        if p.transpose_b:
            r = len(self.program.tensors[b].shape)
            rhs = self.node("Transpose", [rhs], perm=list(range(r - 2)) + [r - 1, r - 2])
        out = self.node("MatMul", [self.dq(a), rhs])
        alpha = float(getattr(p, "alpha", 1.0))
        if alpha != 1.0:
            out = self.node("Mul", [out, self.init(self.unique("alpha"), np.array(alpha, np.float32))])
        if hasattr(p, "act_min"):
            out = self.clip(y, out, p.act_min, p.act_max)
        self.q(y, out)
