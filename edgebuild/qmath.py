"""qmath: the build-time half of docs/quantization.md — multipliers, activation bounds, the input quantizer."""

from __future__ import annotations

import math

import numpy as np

from .errors import EdgebuildError

INT8_MIN, INT8_MAX = -128, 127


def quantize_multiplier(real: float) -> tuple[int, int]:
    """docs/quantization.md (3): real = m * 2^(e - 31), 2^30 <= m < 2^31. Returns (m, e)."""
    if not (real > 0.0 and math.isfinite(real)):
        raise EdgebuildError(
            f"requantization multiplier {real!r} is not a positive finite number; "
            "the layer's scales are degenerate (check the calibration data)"
        )
    frac, exp = math.frexp(real)
    m = math.floor(frac * (1 << 31) + 0.5)  # frac > 0: round half away from zero
    if m == 1 << 31:
        m //= 2
        exp += 1
    if not -31 <= exp <= 30:
        raise EdgebuildError(
            f"requantization multiplier {real:.3g} is out of the int8 range (exponent {exp}); "
            "the layer's scales are degenerate (check the calibration data)"
        )
    return m, exp


def inv_scale_f32(scale: float) -> np.float32:
    """The float32 1/scale that PyTorch's quantize_per_tensor multiplies by (docs/quantization.md (1))."""
    return np.float32(1.0 / float(scale))


def quantize_value(value: float, scale: float, zero_point: int) -> int:
    """Eq. (1) on one number, before the int8 clamp."""
    v = np.float32(value) * inv_scale_f32(scale)
    return int(np.rint(v)) + int(zero_point)


def activation_bounds(
    kind: str, scale: float, zero_point: int, lo: float = 0.0, hi: float = 6.0
) -> tuple[int, int]:
    """docs/quantization.md (8): the clamp that applies a fused activation in the output's int8 domain."""
    if kind == "none":
        return INT8_MIN, INT8_MAX
    if kind == "relu":
        return max(INT8_MIN, min(INT8_MAX, int(zero_point))), INT8_MAX
    if kind == "hardtanh":
        amin = max(INT8_MIN, min(INT8_MAX, quantize_value(lo, scale, zero_point)))
        amax = min(INT8_MAX, max(INT8_MIN, quantize_value(hi, scale, zero_point)))
        return amin, max(amin, amax)
    raise ValueError(kind)


def f32_bits(value: np.float32) -> int:
    return int(np.array([value], dtype="<f4").view("<i4")[0])


# docs/quantization.md (21): TFLite's int8 SOFTMAX output parameters
SOFTMAX_OUT_SCALE, SOFTMAX_OUT_ZP = 1.0 / 256.0, -128
SOFTMAX_MAX_COLS = 4095  # docs/quantization.md (20): the row's sum of exponentials stays in int32


def softmax_params(input_scale: float, beta: float = 1.0) -> tuple[int, int, int]:
    """docs/quantization.md (17): (input_mult, input_shift, diff_min) of int8 SOFTMAX, as TFLite's interpreter
    derives them from the float32 input scale (the real multiplier capped at 2^31 − 1, a left shift in [0, 31])."""
    real = min(beta * float(np.float32(input_scale)) * float(1 << 26), float(2**31 - 1))
    if not (real >= 1.0 and math.isfinite(real)):
        raise EdgebuildError(
            f"int8 softmax of an input with scale {input_scale:.3g}: below 2^-26 there is no fixed-point "
            "multiplier (check the calibration data)"
        )
    frac, shift = math.frexp(real)
    mult = math.floor(frac * (1 << 31) + 0.5)  # round half away from zero, as (3)
    if mult == 1 << 31:
        mult //= 2
        shift += 1
    diff_min = -math.floor(31.0 * float(1 << 26) / float(1 << shift))
    return mult, shift, diff_min
