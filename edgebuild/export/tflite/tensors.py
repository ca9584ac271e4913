"""The tflite tensors of an edgebuild Program: activations (created on first use, with the artifact's scale and zero
point), int8 constants, per-channel weights with the scales the artifact records (METADATA weight_scales), int32
biases, and fused activations (a TFLite fused activation where TFLite derives the same clamp from the output's
scale, else MAXIMUM / MINIMUM)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...ir import DType, Op, Program, Tensor
from .. import ExportError
from .flatbuffer import FlatModel
from .quant import check_multiplier, tflite_activation_range


class TensorWriter:
    def __init__(self, program: Program, io: str) -> None:
        if io not in ("float", "int8"):
            raise ExportError(f"io must be 'float' or 'int8', not {io!r}")
        self.fb = FlatModel()
        self.s = self.fb.s
        self.program = program
        self.io = io
        self.tmap: dict[int, int] = {}  # edgebuild tensor id -> tflite tensor index
        self.weight_scales: dict[str, list[float]] = program.metadata.get("weight_scales", {})
        self.pending_clamp: tuple[int, int, float, float] | None = None
        self.dequantized: dict[int, int] = {}  # int8 tensor id -> its DEQUANTIZEd float32 tflite tensor
        self.island_outputs: list[tuple[int, int]] = []  # (float32 tflite tensor, int8 tensor id to QUANTIZE)

    def tensor(self, tid: int) -> int:
        """The tflite tensor of an edgebuild activation tensor, created on first use."""
        if tid not in self.tmap:
            t = self.program.tensors[tid]
            if t.data is not None:
                raise ExportError(f"constant {t.name!r} used as an activation")
            q = {"scale": t.scale, "zero_point": t.zero_point} if t.dtype == DType.INT8 else {}
            self.tmap[tid] = self.fb.add_tensor(t.name, t.dtype, t.shape, **q)  # type: ignore[arg-type]
        return self.tmap[tid]

    def like(self, tid: int, name: str, shape: tuple[int, ...] | list[int]) -> int:
        """A new tensor with the dtype (and, int8, the quantization) of edgebuild tensor `tid`."""
        t = self.program.tensors[tid]
        if t.dtype != DType.INT8:
            return self.fb.add_tensor(name, t.dtype, shape)
        return self.fb.add_tensor(name, DType.INT8, shape, scale=t.scale, zero_point=t.zero_point)

    def const_i8(self, name: str, value: int, like: int) -> int:
        t = self.program.tensors[like]
        arr = np.asarray([value], dtype=np.int8)
        return self.fb.add_tensor(name, DType.INT8, [1], scale=t.scale, zero_point=t.zero_point, data=arr)

    def const_like(self, name: str, value: float, like: int) -> int:
        """A one-element constant of `like`'s dtype: an int8 code with its quantization, or a float32 value."""
        if self.program.tensors[like].dtype == DType.INT8:
            return self.const_i8(name, int(value), like)
        return self.const_f32(name, [value])

    def const_f32(self, name: str, values: list[float] | np.ndarray) -> int:
        arr = np.asarray(values, dtype="<f4")
        return self.fb.add_tensor(name, DType.FLOAT32, arr.shape, data=arr)

    # --- float islands --------------------------------------------------------------------------------------
    def fin(self, tid: int) -> int:
        """The float32 (or int32) tflite tensor of an input: an int8 tensor gets a DEQUANTIZE (once)."""
        t = self.program.tensors[tid]
        if t.dtype != DType.INT8:
            return self.tensor(tid) if t.data is None else self.constant(tid)
        if tid not in self.dequantized:
            f = self.fb.add_tensor(f"{t.name}.f32", DType.FLOAT32, t.shape)
            self.fb.op("DEQUANTIZE", [self.tensor(tid)], [f])
            self.dequantized[tid] = f
        return self.dequantized[tid]

    def fout(self, tid: int) -> int:
        """The float32 tflite tensor a float op writes for output `tid`; an int8 output gets a QUANTIZE after the
        op (flush_island)."""
        t = self.program.tensors[tid]
        if t.dtype != DType.INT8:
            return self.tensor(tid)
        f = self.fb.add_tensor(f"{t.name}.f32", DType.FLOAT32, t.shape)
        self.island_outputs.append((f, tid))
        return f

    def flush_island(self) -> None:
        for f, tid in self.island_outputs:
            self.fb.op("QUANTIZE", [f], [self.tensor(tid)])
        self.island_outputs = []

    def constant(self, tid: int) -> int:
        """A float32 / int32 constant of the program (float weights, tables), written once."""
        if tid not in self.tmap:
            t = self.program.tensors[tid]
            assert t.data is not None
            self.tmap[tid] = self.fb.add_tensor(t.name, t.dtype, t.shape, data=t.data.astype(t.dtype.numpy))
        return self.tmap[tid]

    # --- weights --------------------------------------------------------------------------------------------
    def weights(self, op: Op) -> tuple[Tensor, list[float], Tensor | None]:
        """(weight, its per-channel scales, bias or None) of a CONV2D / FULLY_CONNECTED; each channel's multiplier
        as TFLite derives it must be the artifact's."""
        P = self.program
        w = P.tensors[op.inputs[1]]
        scales = self.weight_scales.get(w.name)
        if scales is None:
            raise ExportError(
                f"{op.name}: the artifact does not record the scales of {w.name!r} (built by an older "
                "edgebuild); rebuild it to export"
            )
        x, y = P.tensors[op.inputs[0]], P.tensors[op.outputs[0]]
        mult = P.tensors[op.inputs[3]].data
        shift = P.tensors[op.inputs[4]].data
        assert mult is not None and shift is not None
        for c, sw in enumerate(scales):
            real = float(np.float32(x.scale)) * float(np.float32(sw)) / float(np.float32(y.scale))
            check_multiplier(op, real, int(mult[c]), int(shift[c]), f"channel {c}")
        bias = P.tensors[op.inputs[2]] if op.inputs[2] >= 0 else None
        return w, scales, bias

    def weight_bias(self, op: Op, wdata: np.ndarray, axis: int) -> tuple[int, int]:
        """(weight, bias) tflite tensors of a CONV2D / DEPTHWISE_CONV2D / FULLY_CONNECTED whose weight, rearranged
        for TFLite, is `wdata` (output channels on `axis`): int8 with the per-channel scales (multipliers checked)
        and an int32 bias, or float32 with a float32 bias (zeros when the layer has none)."""
        P = self.program
        w = P.tensors[op.inputs[1]]
        wdata = np.ascontiguousarray(wdata)
        n = wdata.shape[axis]
        if w.dtype == DType.FLOAT32:
            wt = self.fb.add_tensor(w.name, DType.FLOAT32, wdata.shape, data=wdata.astype("<f4"))
            if op.inputs[2] >= 0:
                return wt, self.constant(op.inputs[2])
            return wt, self.const_f32(f"{op.name}.bias", np.zeros(n, np.float32))
        _, scales, bias = self.weights(op)
        wt = self.fb.add_tensor(
            w.name, DType.INT8, wdata.shape, scale=scales, zero_point=[0] * n, axis=axis, data=wdata
        )
        return wt, self.bias_tensor(op, bias, scales)

    @staticmethod
    def bounds(p: Any) -> tuple[float, float]:
        """An op's clamp: int8 codes (act_min, act_max) of its int8 form, real bounds (lo, hi) of its float form."""
        return (p.act_min, p.act_max) if hasattr(p, "act_min") else (p.lo, p.hi)

    def bias_tensor(self, op: Op, bias: Tensor | None, scales: list[float]) -> int:
        """The int32 bias; a zero one when the layer has none (LiteRT's int8 CONV_2D requires the input)."""
        x_scale = float(np.float32(self.program.tensors[op.inputs[0]].scale))
        bscales = [float(np.float32(x_scale * float(np.float32(s)))) for s in scales]
        name = bias.name if bias is not None else f"{op.name}.bias"
        data = bias.data if bias is not None else np.zeros(len(scales), np.int32)
        assert data is not None
        return self.fb.add_tensor(
            name, DType.INT32, data.shape, scale=bscales, zero_point=[0] * len(scales), data=data
        )

    # --- activations ----------------------------------------------------------------------------------------
    def fused(self, y: int, act_min: float, act_max: float, out: int | None = None) -> tuple[int, int]:
        """(fused activation, tflite output tensor) for clamp bounds (int8 codes of an int8 `y`, real values of a
        float32 one). A clamp TFLite cannot derive gets NONE + MAXIMUM/MINIMUM. `out`: the tensor to write (a float
        island's), default y's."""
        t = self.program.tensors[y]
        A = self.s.ActivationFunctionType
        dst = self.tensor(y) if out is None else out
        for name in ("NONE", "RELU", "RELU6", "RELU_N1_TO_1"):
            if t.dtype == DType.INT8 and out is None:
                derived: tuple[float, float] = tflite_activation_range(name, t.scale, t.zero_point)
            else:
                derived = FLOAT_ACTIVATIONS[name]
            if derived == (act_min, act_max):
                return getattr(A, name), dst
        raw = self._clone(dst, f"{t.name}.unclamped")
        self.pending_clamp = (raw, dst, act_min, act_max)
        return A.NONE, raw

    def flush_clamp(self) -> None:
        pending = self.pending_clamp
        if pending is not None:
            self.pending_clamp = None
            raw, dst, lo, hi = pending
            self.clamp(raw, dst, lo, hi)

    def clamp(self, src: int, dst: int, lo: float, hi: float) -> None:
        """MAXIMUM / MINIMUM of tflite tensor `src` into tflite tensor `dst` with constants of dst's type (int8:
        codes of its quantization, no arithmetic; float32: the real bounds)."""
        t = self.fb.tensors[dst]
        is_int8 = t.type == self.s.TensorType.INT8
        none_lo, none_hi = (-128, 127) if is_int8 else (-np.inf, np.inf)

        def const(name: str, v: float) -> int:
            if not is_int8:
                return self.const_f32(name, [v])
            qp = t.quantization
            arr = np.asarray([int(v)], dtype=np.int8)
            return self.fb.add_tensor(
                name, DType.INT8, [1], scale=float(qp.scale[0]), zero_point=int(qp.zeroPoint[0]), data=arr
            )

        cur = src
        name = t.name if isinstance(t.name, str) else t.name.decode()
        if lo > none_lo:
            nxt = dst if hi >= none_hi else self._clone(dst, f"{name}.max")
            self.fb.op("MAXIMUM", [cur, const(f"{name}.lo", lo)], [nxt])
            cur = nxt
        if hi < none_hi or cur == src:
            self.fb.op("MINIMUM", [cur, const(f"{name}.hi", hi)], [dst])

    def _clone(self, idx: int, name: str) -> int:
        """A new tensor shaped, typed and quantized like tflite tensor `idx`."""
        t = self.fb.tensors[idx]
        if t.type != self.s.TensorType.INT8:
            return self.fb.add_tensor(name, DType.FLOAT32, list(t.shape))
        qp = t.quantization
        return self.fb.add_tensor(
            name, DType.INT8, list(t.shape), scale=float(qp.scale[0]), zero_point=int(qp.zeroPoint[0])
        )


FLOAT_ACTIVATIONS: dict[str, tuple[float, float]] = {
    "NONE": (-np.inf, np.inf),
    "RELU": (0.0, np.inf),
    "RELU6": (0.0, 6.0),
    "RELU_N1_TO_1": (-1.0, 1.0),
}
