"""What the TFLite interpreter derives by itself, computed the same way here: activation ranges from scales,
requantization multipliers from float32 scales, and SAME / VALID padding. The exporter compares them with what the
artifact says and refuses a model where they differ."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...ir import Op
from ...qmath import quantize_multiplier
from .. import ExportError


def _round_half_away(v: float) -> int:
    return math.floor(v + 0.5) if v >= 0 else -math.floor(-v + 0.5)


def tflite_activation_range(act: str, scale: float, zero_point: int) -> tuple[int, int]:
    """TFLite's CalculateActivationRangeQuantized for int8: zp + round_half_away(float32(f) / float32(scale))."""

    def q(f: float) -> int:
        return zero_point + _round_half_away(float(np.float32(f) / np.float32(scale)))

    if act == "RELU":
        return max(-128, q(0.0)), 127
    if act == "RELU6":
        return max(-128, q(0.0)), min(127, q(6.0))
    if act == "RELU_N1_TO_1":
        return max(-128, q(-1.0)), min(127, q(1.0))
    return -128, 127


def check_multiplier(op: Op, real: float, mult: int, shift: int, what: str) -> None:
    """The interpreter derives each multiplier from the float32 scales: it must be the artifact's."""
    if quantize_multiplier(real) != (mult, shift):
        raise ExportError(
            f"{op.name}: the {what} multiplier TFLite derives from the float32 scales, "
            f"{quantize_multiplier(real)}, differs from the artifact's ({mult}, {shift})"
        )


def tflite_padding(
    size: int, kernel: int, stride: int, dilation: int, kind: str
) -> tuple[int, int]:  # (output size, padding before)
    """TFLite's output size and leading padding for SAME / VALID (ComputePaddingHeightWidth)."""
    eff = (kernel - 1) * dilation + 1
    if kind == "VALID":
        return (size - eff + stride) // stride, 0
    out = (size + stride - 1) // stride
    total = max((out - 1) * stride + eff - size, 0)
    return out, total // 2


@dataclass
class Window:
    """One spatial dim of a windowed op, PyTorch side: input size, output size, kernel, stride, dilation, pads."""

    size: int
    out: int
    kernel: int
    stride: int
    dilation: int
    before: int
    after: int

    def needed_after(self) -> int:
        """Padding after the input that makes VALID produce exactly `out` windows starting at `before`."""
        eff = (self.kernel - 1) * self.dilation + 1
        return max(0, (self.out - 1) * self.stride + eff - self.size - self.before)

    def matches(self, pad_before: int, pad_after: int, kind: str) -> bool:
        """Does TFLite, on the input padded by (pad_before, pad_after), see the same windows?"""
        out, lead = tflite_padding(
            self.size + pad_before + pad_after, self.kernel, self.stride, self.dilation, kind
        )
        return out == self.out and lead + pad_before == self.before
