"""Cortex-M55 MVE (Helium) DEPTHWISE_CONV2D: kernels/ukernels/qs8-conv/qs8_conv_dw_minmax__mve.cc.

Depth multiplier 1 (groups = input channels = output channels), any window, stride, dilation and padding. Built at
build time: the weights re-laid per block of four channels, tap-major, and the requantization constants of each block
with the input zero point folded into the bias (docs/quantization.md (5), (6)); both padded to whole blocks."""

from __future__ import annotations

import numpy as np

from edgebuild.mcu.variants import Constants, Params, Variant

FUNCTION = "eb_qs8_conv_dw_minmax_ukernel__mve"


def applies(p: Params) -> bool:
    return p["groups"] == p["input_channels"] == p["output_channels"] and p["groups"] >= 1


def _weights(p: Params, k: Constants) -> np.ndarray:
    w = k["weights"]
    assert w is not None
    return np.asarray(w, dtype=np.int8).reshape(p["output_channels"], p["kernel_height"] * p["kernel_width"])


def _blocks(c: int) -> int:
    return -(-c // 4)


def pack(p: Params, k: Constants) -> np.ndarray:
    """[C, KH, KW, 1] -> [⌈C/4⌉, KH·KW, 4], the last block's missing channels zero: a block's taps are consecutive
    4-byte groups (one widening load each, at an immediate offset)."""
    w = _weights(p, k)
    c, taps = w.shape
    padded = np.zeros((_blocks(c) * 4, taps), np.int8)
    padded[:c] = w
    return np.ascontiguousarray(padded.reshape(-1, 4, taps).transpose(0, 2, 1)).reshape(-1)


def _wrap32(v: np.ndarray) -> np.ndarray:
    return ((v.astype(np.int64) + 2**31) % 2**32 - 2**31).astype(np.int32)


def extra(p: Params, k: Constants) -> list[np.ndarray]:
    """One int32 array [⌈C/4⌉, 4, 4]: per block of four channels bias_fold = bias − zp_x·Σ_taps w (wrapping: the
    reference's sum wraps too), the multiplier, left = max(e, 0) and rneg = min(e, 0); the padding channels 0."""
    w = _weights(p, k).astype(np.int64)
    c = w.shape[0]
    bias = k["bias"]
    b = np.zeros(c, np.int64) if bias is None else np.asarray(bias, np.int64)
    mult, shift = k["multiplier"], k["shift"]
    assert mult is not None and shift is not None
    e = np.asarray(shift, np.int64)
    rows = np.zeros((4, _blocks(c) * 4), np.int64)
    rows[0, :c] = b - int(p["input_zero_point"]) * w.sum(axis=1)
    rows[1, :c] = np.asarray(mult, np.int64)
    rows[2, :c] = np.maximum(e, 0)
    rows[3, :c] = np.minimum(e, 0)
    return [_wrap32(rows.reshape(4, -1, 4).transpose(1, 0, 2).reshape(-1))]


VARIANTS = [
    Variant(
        family="dwconv",
        isa="mve",
        function=FUNCTION,
        prototype=(
            f"void {FUNCTION}(const eb_qs8_conv_params* p, const int8_t* input, const int8_t* weights, "
            "const int32_t* bias, const int32_t* multiplier, const int32_t* shift, int8_t* output, "
            "const int32_t* consts);"
        ),
        sources=("ukernels/qs8-conv/qs8_conv_dw_minmax__mve.cc",),
        applies=applies,
        extra=extra,
        pack=pack,
        priority=10,
    )
]
