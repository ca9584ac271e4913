"""The tflite tensors of an edgebuild Program: activations (created on first use, with the artifact's scale and zero
point), int8 constants, per-channel weights with the scales the artifact records (METADATA weight_scales), int32
biases, and fused activations (a TFLite fused activation where TFLite derives the same clamp from the output's
scale, else MAXIMUM / MINIMUM)."""

from __future__ import annotations

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
        self.pending_clamp: tuple[int, int, int, int] | None = None

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
        """A new int8 tensor with the quantization of edgebuild tensor `tid`."""
        t = self.program.tensors[tid]
        return self.fb.add_tensor(name, DType.INT8, shape, scale=t.scale, zero_point=t.zero_point)

    def const_i8(self, name: str, value: int, like: int) -> int:
        t = self.program.tensors[like]
        arr = np.asarray([value], dtype=np.int8)
        return self.fb.add_tensor(name, DType.INT8, [1], scale=t.scale, zero_point=t.zero_point, data=arr)

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
    def fused(self, y: int, act_min: int, act_max: int) -> tuple[int, int]:
        """(fused activation, tflite output tensor). A clamp TFLite cannot derive gets NONE + MAXIMUM/MINIMUM."""
        t = self.program.tensors[y]
        A = self.s.ActivationFunctionType
        for name in ("NONE", "RELU", "RELU6", "RELU_N1_TO_1"):
            if tflite_activation_range(name, t.scale, t.zero_point) == (act_min, act_max):
                return getattr(A, name), self.tensor(y)
        raw = self.like(y, f"{t.name}.unclamped", t.shape)
        self.pending_clamp = (raw, y, act_min, act_max)
        return A.NONE, raw

    def flush_clamp(self) -> None:
        pending = self.pending_clamp
        if pending is not None:
            self.pending_clamp = None
            raw, y, lo, hi = pending
            self.clamp(raw, y, lo, hi)

    def clamp(self, src: int, y: int, lo: int, hi: int) -> None:
        """MAXIMUM / MINIMUM with int8 constants of y's quantization (no arithmetic)."""
        t = self.program.tensors[y]
        cur = src
        if lo > -128:
            nxt = self.tensor(y) if hi == 127 else self.like(y, f"{t.name}.max", t.shape)
            self.fb.op("MAXIMUM", [cur, self.const_i8(f"{t.name}.lo", lo, y)], [nxt])
            cur = nxt
        if hi < 127 or cur == src:
            self.fb.op("MINIMUM", [cur, self.const_i8(f"{t.name}.hi", hi, y)], [self.tensor(y)])
