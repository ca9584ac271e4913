"""The float32 forms (edgebuild's float fallback) as TFLite's float builtins, the int8 elementwise ops TFLite computes
bit for bit as edgebuild does, and float islands: an int8 op with no exact int8 builtin runs as DEQUANTIZE -> the
float builtin -> QUANTIZE (TensorWriter.fin / fout). The table is in export/tflite/__init__.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ...ir import DType, Op, OpCode, UnaryFunc
from ...ir_enums import ReduceFunc
from .. import ExportError
from .ops import ADD_LEFT_SHIFT, OpWriter
from .quant import check_multiplier

BINARY = {
    OpCode.ADD: ("ADD", "AddOptions"),
    OpCode.SUB: ("SUB", "SubOptions"),
    OpCode.MUL: ("MUL", "MulOptions"),
}


class Writer(OpWriter):
    def handlers(self) -> dict[tuple[OpCode, str], Callable[[Op], None]]:
        h: dict[tuple[OpCode, str], Callable[[Op], None]] = {
            (OpCode.QUANTIZE, "int8"): self.quantize,
            (OpCode.DEQUANTIZE, "int8"): self.dequantize,
            (OpCode.RESHAPE, "int8"): self.reshape,
            (OpCode.TRANSPOSE, "int8"): self.transpose,
            (OpCode.ADD, "int8"): self.add,
            (OpCode.SUB, "int8"): self.sub_mul_int8,
            (OpCode.MUL, "int8"): self.sub_mul_int8,
            (OpCode.UNARY, "int8"): self.unary_int8,
            (OpCode.RESIZE, "int8"): self.island(self.resize),
            (OpCode.BATCH_MATMUL, "int8"): self.island(self.batch_matmul),
            (OpCode.SOFTMAX, "float"): self.softmax,
            (OpCode.SOFTMAX, "int8"): self.softmax_int8,
            (OpCode.REDUCE, "int8"): self.reduce,  # one form for every dtype; int8 runs as a float island
            (OpCode.LAYER_NORM, "float"): self.layer_norm,
            (OpCode.EMBEDDING, "float"): self.embedding,
            (OpCode.UNARY, "float"): self.unary,
            (OpCode.RESIZE, "float"): self.resize,
            (OpCode.BATCH_MATMUL, "float"): self.batch_matmul,
            (OpCode.DYNAMIC_FULLY_CONNECTED, "float"): self.dynamic_fully_connected,
        }
        for code in (OpCode.ADD, OpCode.SUB, OpCode.MUL):
            h[(code, "float")] = self.binary
        for form in ("int8", "float"):  # the same builtin, int8 or float32 tensors
            for code, fn in (
                (OpCode.CONV2D, self.conv),
                (OpCode.DEPTHWISE_CONV2D, self.conv),
                (OpCode.FULLY_CONNECTED, self.fully_connected),
                (OpCode.MAX_POOL2D, self.max_pool),
                (OpCode.AVG_POOL2D, self.avg_pool),
                (OpCode.CONCAT, self.concat),
                (OpCode.CLAMP, self.clamp_op),
                (OpCode.PAD, self.pad_op),
                (OpCode.SLICE, self.slice_op),
            ):
                h[(code, form)] = fn
        return h

    def dynamic_fully_connected(self, op: Op) -> None:
        """DYNAMIC_FULLY_CONNECTED as a float32 1×1 CONV_2D on its dequantized weights (q_w · s_w, float32): TFLite
        has no builtin that quantizes each row as docs/quantization.md (14) does (its hybrid FULLY_CONNECTED rounds
        its own way), so the export computes the layer in float on the same weight values; it differs from the
        artifact by the input's rounding to int8 only (tests/interop/test_tflite_float.py)."""
        P = self.program
        w, s = P.tensors[op.inputs[1]], P.tensors[op.inputs[2]]
        assert w.data is not None and s.data is not None
        n, k = w.shape
        wf = (w.data.astype(np.float32) * s.data.astype(np.float32)[:, None]).astype("<f4")
        wt = self.fb.add_tensor(w.name, DType.FLOAT32, [n, 1, 1, k], data=wf.reshape(n, 1, 1, k))
        bias = op.inputs[3]
        b = self.constant(bias) if bias >= 0 else self.const_f32(f"{op.name}.bias", np.zeros(n, np.float32))
        self.fc_as_conv(op, wt, b, n, k)

    def island(self, handler: Callable[[Op], None]) -> Callable[[Op], None]:
        """An int8 op as its float builtin between DEQUANTIZE and QUANTIZE (the handler reads its inputs with fin
        and writes with fout)."""

        def run(op: Op) -> None:
            handler(op)
            self.flush_island()

        return run

    def real_bounds(self, op: Op) -> tuple[float, float]:
        """The op's clamp as real values: the float form's (lo, hi), or an int8 form's codes dequantized."""
        p = self.program.params_of(op)
        if not hasattr(p, "act_min"):
            return (float(p.lo), float(p.hi)) if hasattr(p, "lo") else (-np.inf, np.inf)
        t = self.program.tensors[op.outputs[0]]
        lo = (
            -np.inf
            if p.act_min <= -128
            else float(np.float32(p.act_min - t.zero_point) * np.float32(t.scale))
        )
        hi = np.inf if p.act_max >= 127 else float(np.float32(p.act_max - t.zero_point) * np.float32(t.scale))
        return lo, hi

    def write_act(self, op: Op, builtin: str, ins: list[int], opt_name: str | None, **opts: object) -> None:
        """`builtin` (float32) writing op's output, with op's clamp fused (or MAXIMUM / MINIMUM after it)."""
        lo, hi = self.real_bounds(op)
        dst = self.fout(op.outputs[0])
        act, out = self.fused(op.outputs[0], lo, hi, out=dst)
        options = None
        if opt_name is not None:
            options = self.fb.options(opt_name, fusedActivationFunction=act, **opts)
        elif (lo, hi) != (-np.inf, np.inf):
            raise ExportError(f"{builtin} has no fused activation")  # never: callers pass their option table
        self.fb.op(builtin, ins, [out], options, opt_name or "")
        self.flush_clamp()

    # --- elementwise ----------------------------------------------------------------------------------------
    def binary(self, op: Op) -> None:
        """ADD / SUB / MUL float32: the builtin (NumPy broadcasting, as edgebuild) with the clamp fused."""
        builtin, opt = BINARY[op.opcode]
        self.write_act(op, builtin, [self.fin(i) for i in op.inputs], opt)

    def sub_mul_int8(self, op: Op) -> None:
        """int8 SUB (eq. 7 with a' - b') and MUL (eq. 12) are TFLite's int8 SUB and MUL when the multipliers the
        interpreter derives from the float32 scales are the artifact's; otherwise a float island (within 1 LSB)."""
        P = self.program
        p = P.params_of(op)
        a, b, y = (P.tensors[i] for i in (*op.inputs, op.outputs[0]))
        sa, sb, sy = (float(np.float32(t.scale)) for t in (a, b, y))
        try:
            if op.opcode == OpCode.SUB:
                if p.left_shift != ADD_LEFT_SHIFT:
                    raise ExportError(f"SUB with left_shift {p.left_shift}; TFLite's int8 SUB uses 20")
                twice = 2.0 * max(sa, sb)
                check_multiplier(op, sa / twice, p.a_mult, p.a_shift, "first input")
                check_multiplier(op, sb / twice, p.b_mult, p.b_shift, "second input")
                check_multiplier(op, twice / ((1 << ADD_LEFT_SHIFT) * sy), p.out_mult, p.out_shift, "output")
            else:  # mul.cc: double(s_a) * double(s_b) / double(s_y)
                check_multiplier(op, sa * sb / sy, p.out_mult, p.out_shift, "output")
        except ExportError:
            self.binary(op)
            self.flush_island()
            return
        builtin, opt = BINARY[op.opcode]
        act, out = self.fused(op.outputs[0], p.act_min, p.act_max)
        ins = [self.tensor(i) for i in op.inputs]
        self.fb.op(builtin, ins, [out], self.fb.options(opt, fusedActivationFunction=act), opt)
        self.flush_clamp()

    def unary(self, op: Op) -> None:
        """UNARY float32 as TFLite's builtin of the same function (PyTorch's formula where TFLite has none)."""
        p = self.program.params_of(op)
        fb, x, f = self.fb, self.fin(op.inputs[0]), UnaryFunc(p.func)
        y = self.fout(op.outputs[0])
        t = self.program.tensors[op.outputs[0]]

        def tmp(tag: str) -> int:
            return fb.add_tensor(f"{t.name}.{tag}", DType.FLOAT32, t.shape)

        if f == UnaryFunc.HARDSWISH:
            fb.op("HARD_SWISH", [x], [y])
        elif f == UnaryFunc.HARDSIGMOID:  # clamp(x + 3, 0, 6) / 6, edgebuild's kernel's order
            A = self.s.ActivationFunctionType
            s = tmp("plus3")
            fb.op(
                "ADD",
                [x, self.const_f32(f"{t.name}.3", [3.0])],
                [s],
                fb.options("AddOptions", fusedActivationFunction=A.RELU6),
                "AddOptions",
            )
            fb.op(
                "DIV", [s, self.const_f32(f"{t.name}.6", [6.0])], [y], fb.options("DivOptions"), "DivOptions"
            )
        elif f == UnaryFunc.SIGMOID:
            fb.op("LOGISTIC", [x], [y])
        elif f == UnaryFunc.SILU:
            s = tmp("sigmoid")
            fb.op("LOGISTIC", [x], [s])
            fb.op("MUL", [x, s], [y], fb.options("MulOptions"), "MulOptions")
        elif f in (UnaryFunc.GELU, UnaryFunc.GELU_TANH):
            opts = fb.options("GeluOptions", approximate=f == UnaryFunc.GELU_TANH)
            fb.op("GELU", [x], [y], opts, "GeluOptions")
        elif f == UnaryFunc.TANH:
            fb.op("TANH", [x], [y])
        elif f == UnaryFunc.LEAKY_RELU:
            fb.op(
                "LEAKY_RELU",
                [x],
                [y],
                fb.options("LeakyReluOptions", alpha=float(p.alpha)),
                "LeakyReluOptions",
            )
        elif f == UnaryFunc.PRELU:  # slopes [T]: one, or one per last-dim index (TFLite broadcasts alpha)
            fb.op("PRELU", [x, self.fin(op.inputs[1])], [y])
        elif f == UnaryFunc.RECIPROCAL:  # IEEE division, as edgebuild's kernel
            fb.op(
                "DIV",
                [self.const_f32(f"{t.name}.one", [1.0]), x],
                [y],
                fb.options("DivOptions"),
                "DivOptions",
            )
        else:
            raise ExportError(f"UNARY {f.name} has no TFLite builtin in edgebuild's exporter")
        self.flush_island()

    def unary_int8(self, op: Op) -> None:
        """int8 UNARY is a lookup table y = table[c][x + 128] (eq. 11); TFLite has no LUT builtin, but GATHER of the
        int8 table at CAST(x) + 128 (+ 256·c per channel) is the same lookup, bit for bit."""
        P, fb = self.program, self.fb
        x, y = P.tensors[op.inputs[0]], P.tensors[op.outputs[0]]
        if op.inputs[1] < 0:
            raise ExportError("int8 UNARY without its table")
        table = P.tensors[op.inputs[1]].data
        assert table is not None
        rows = table.shape[0]
        flat = np.ascontiguousarray(table.reshape(-1).astype(np.int8))
        tt = fb.add_tensor(
            f"{op.name}.table", DType.INT8, flat.shape, scale=y.scale, zero_point=y.zero_point, data=flat
        )
        codes = fb.add_tensor(f"{op.name}.codes", DType.INT32, x.shape)
        fb.op(
            "CAST",
            [self.tensor(op.inputs[0])],
            [codes],
            fb.options("CastOptions", inDataType=self.s.TensorType.INT8, outDataType=self.s.TensorType.INT32),
            "CastOptions",
        )
        offsets = np.arange(rows, dtype=np.int32) * 256 + 128
        idx = fb.add_tensor(f"{op.name}.index", DType.INT32, x.shape)
        opts = fb.options("AddOptions", fusedActivationFunction=self.s.ActivationFunctionType.NONE)
        fb.op("ADD", [codes, fb.const_i32(f"{op.name}.offsets", offsets)], [idx], opts, "AddOptions")
        fb.op(
            "GATHER",
            [tt, idx],
            [self.tensor(op.outputs[0])],
            fb.options("GatherOptions", axis=0),
            "GatherOptions",
        )

    # --- moving values --------------------------------------------------------------------------------------
    def pad_op(self, op: Op) -> None:
        """PAD: PADV2 with the value (an int8 code of the same quantization, or a float32): a copy, exact."""
        P = self.program
        p = P.params_of(op)
        x = op.inputs[0]
        pads = [(a, b) for a, b in zip(p.before, p.after)]
        paddings = self.fb.const_i32(f"{op.name}.paddings", np.asarray(pads, dtype=np.int32).reshape(-1, 2))
        v = self.const_like(f"{op.name}.pad_value", p.value, x)
        opts = self.fb.options("PadV2Options")
        self.fb.op("PADV2", [self.tensor(x), paddings, v], [self.tensor(op.outputs[0])], opts, "PadV2Options")

    def slice_op(self, op: Op) -> None:
        """SLICE: STRIDED_SLICE with begin = start, end = the last index read + 1, strides = step: a copy."""
        P = self.program
        p = P.params_of(op)
        yt = P.tensors[op.outputs[0]]
        ends = [s + (n - 1) * st + 1 for s, n, st in zip(p.start, yt.shape, p.step)]
        ins = [
            self.tensor(op.inputs[0]),
            self.fb.const_i32(f"{op.name}.begin", list(p.start)),
            self.fb.const_i32(f"{op.name}.end", ends),
            self.fb.const_i32(f"{op.name}.strides", list(p.step)),
        ]
        opts = self.fb.options("StridedSliceOptions")
        self.fb.op("STRIDED_SLICE", ins, [self.tensor(op.outputs[0])], opts, "StridedSliceOptions")

    def embedding(self, op: Op) -> None:
        """EMBEDDING: GATHER of the float32 table's rows at the int32 ids (axis 0). An id outside the table is an
        error in LiteRT (edgebuild: a zero row; its runtime rejects such an id of a graph input first)."""
        ins = [self.constant(op.inputs[0]), self.fin(op.inputs[1])]
        self.fb.op(
            "GATHER",
            ins,
            [self.fout(op.outputs[0])],
            self.fb.options("GatherOptions", axis=0),
            "GatherOptions",
        )
        self.flush_island()

    # --- normalization and matrix products ------------------------------------------------------------------
    def reduce(self, op: Op) -> None:
        """REDUCE's SUM / MEAN / MAX / MIN / PROD as SUM / MEAN / REDUCE_MAX / REDUCE_MIN / REDUCE_PROD over the
        stored axes (TFLite tensors are stored as edgebuild's), in float32."""
        p: Any = self.program.params_of(op)
        func = ReduceFunc(p.func)
        builtin = {
            ReduceFunc.SUM: "SUM",
            ReduceFunc.MEAN: "MEAN",
            ReduceFunc.MAX: "REDUCE_MAX",
            ReduceFunc.MIN: "REDUCE_MIN",
            ReduceFunc.PROD: "REDUCE_PROD",
        }.get(func)
        if builtin is None:
            raise ExportError(f"REDUCE {func.name} has no TFLite mapping in edgebuild's exporter")
        x, y = op.inputs[0], op.outputs[0]
        rank = len(self.program.tensors[x].shape)
        axes = self.fb.const_i32(f"{op.name}.axes", [a for a in range(rank) if (p.axes >> a) & 1])
        keep = len(self.program.tensors[y].shape) == rank
        opts = self.fb.options("ReducerOptions", keepDims=keep)
        self.fb.op(builtin, [self.fin(x), axes], [self.fout(y)], opts, "ReducerOptions")
        self.flush_island()

    def softmax(self, op: Op) -> None:
        """SOFTMAX over the last axis, beta 1."""
        opts = self.fb.options("SoftmaxOptions", beta=1.0)
        self.fb.op("SOFTMAX", [self.fin(op.inputs[0])], [self.fout(op.outputs[0])], opts, "SoftmaxOptions")
        self.flush_island()

    def softmax_int8(self, op: Op) -> None:
        """int8 SOFTMAX (docs/quantization.md (17)-(21)) is TFLite's int8 SOFTMAX, beta 1: its reference kernel derives
        the same input multiplier, shift and diff_min from the float32 input scale (checked here)."""
        from ...qmath import softmax_params

        p = self.program.params_of(op)
        x, y = (self.program.tensors[t] for t in (op.inputs[0], op.outputs[0]))
        derived = softmax_params(float(np.float32(x.scale)))
        if derived != (p.input_mult, p.input_shift, p.diff_min) or (y.scale, y.zero_point) != (1 / 256, -128):
            raise ExportError(
                f"{op.name}: int8 SOFTMAX parameters {(p.input_mult, p.input_shift, p.diff_min)} differ from the "
                f"{derived} TFLite derives from the input scale {x.scale:g}"
            )
        opts = self.fb.options("SoftmaxOptions", beta=1.0)
        self.fb.op(
            "SOFTMAX", [self.tensor(op.inputs[0])], [self.tensor(op.outputs[0])], opts, "SoftmaxOptions"
        )

    def layer_norm(self, op: Op) -> None:
        """LAYER_NORM (TFLite has no builtin): MEAN, SUB, MUL, MEAN, ADD eps, RSQRT, MUL, then gamma and beta."""
        P, fb = self.program, self.fb
        p = P.params_of(op)
        t = P.tensors[op.outputs[0]]
        stat = list(t.shape[:-1]) + [1]
        axis = fb.const_i32(f"{op.name}.axis", [len(t.shape) - 1])

        def new(tag: str, shape: list[int]) -> int:
            return fb.add_tensor(f"{op.name}.{tag}", DType.FLOAT32, shape)

        def bin(kind: str, a: int, b: int, out: int) -> int:
            fb.op(kind, [a, b], [out], fb.options(f"{kind.title()}Options"), f"{kind.title()}Options")
            return out

        x = self.fin(op.inputs[0])
        mean = new("mean", stat)
        fb.op("MEAN", [x, axis], [mean], fb.options("ReducerOptions", keepDims=True), "ReducerOptions")
        d = bin("SUB", x, mean, new("centered", list(t.shape)))
        sq = bin("MUL", d, d, new("squared", list(t.shape)))
        var = new("var", stat)
        fb.op("MEAN", [sq, axis], [var], fb.options("ReducerOptions", keepDims=True), "ReducerOptions")
        ve = bin("ADD", var, self.const_f32(f"{op.name}.eps", [p.eps]), new("var_eps", stat))
        r = new("rstd", stat)
        fb.op("RSQRT", [ve], [r])
        gamma, beta = op.inputs[1], op.inputs[2]
        steps = [("MUL", r)] + ([("MUL", self.constant(gamma))] if gamma >= 0 else [])
        steps += [("ADD", self.constant(beta))] if beta >= 0 else []
        cur = d
        for i, (kind, other) in enumerate(steps):
            out = self.fout(op.outputs[0]) if i == len(steps) - 1 else new(f"step{i}", list(t.shape))
            cur = bin(kind, cur, other, out)
        self.flush_island()

    def batch_matmul(self, op: Op) -> None:
        """BATCH_MATMUL float32 (adj_y = transpose_b); alpha != 1 is a MUL after it, an int8 form's clamp a
        MAXIMUM / MINIMUM."""
        P, fb = self.program, self.fb
        p = P.params_of(op)
        alpha = float(getattr(p, "alpha", 1.0))
        lo, hi = self.real_bounds(op)
        t = P.tensors[op.outputs[0]]
        y = self.fout(op.outputs[0])
        stages = (
            ["bmm"]
            + (["alpha"] if alpha != 1.0 else [])
            + (["clamp"] if (lo, hi) != (-np.inf, np.inf) else [])
        )
        outs = [fb.add_tensor(f"{t.name}.{s}", DType.FLOAT32, t.shape) for s in stages[:-1]] + [y]
        opts = fb.options("BatchMatMulOptions", adjX=False, adjY=bool(p.transpose_b))
        fb.op("BATCH_MATMUL", [self.fin(i) for i in op.inputs], [outs[0]], opts, "BatchMatMulOptions")
        for i, stage in enumerate(stages[1:], 1):
            if stage == "alpha":
                a = self.const_f32(f"{t.name}.alpha", [alpha])
                fb.op("MUL", [outs[i - 1], a], [outs[i]], fb.options("MulOptions"), "MulOptions")
            else:
                self.clamp(outs[i - 1], outs[i], lo, hi)

    def resize(self, op: Op) -> None:
        """RESIZE: RESIZE_NEAREST_NEIGHBOR / RESIZE_BILINEAR (align_corners, or half-pixel centers: PyTorch's
        align_corners=False). The artifact's tables hold the semantics: the exporter computes TFLite's source rows
        and columns and refuses a resize where they differ."""
        from .resize import tflite_resize_options

        P = self.program
        p = P.params_of(op)
        builtin, opt_name, fields = tflite_resize_options(P, op, p)
        yt = P.tensors[op.outputs[0]]
        size = self.fb.const_i32(f"{op.name}.size", [yt.shape[1], yt.shape[2]])
        if builtin == "RESIZE_NEAREST_NEIGHBOR":  # a copy: int8 stays int8
            src, dst = self.tensor(op.inputs[0]), self.tensor(op.outputs[0])
        else:
            src, dst = self.fin(op.inputs[0]), self.fout(op.outputs[0])
        self.fb.op(builtin, [src, size], [dst], self.fb.options(opt_name, **fields), opt_name)
