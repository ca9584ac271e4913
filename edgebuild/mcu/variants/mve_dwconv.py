"""Cortex-M55 MVE (Helium) DEPTHWISE_CONV2D: kernels/ukernels/qs8-dwconv/qs8_dwconv_minmax__mve.cc.

Depth multiplier 1 (groups = input channels = output channels), any window, stride, dilation and padding. Built at
build time: the weights re-laid tap-major ([KH·KW][C], same size), the bias with the input zero point folded in and
the exponents split into their left and right parts (docs/quantization.md (5), (6))."""

from __future__ import annotations

import numpy as np

from edgebuild.mcu.variants import Constants, Params, Variant

FUNCTION = "eb_qs8_dwconv_minmax_ukernel__mve"


def applies(p: Params) -> bool:
    return p["groups"] == p["input_channels"] == p["output_channels"] and p["groups"] >= 1


def _weights(p: Params, k: Constants) -> np.ndarray:
    w = k["weights"]
    assert w is not None
    return np.asarray(w, dtype=np.int8).reshape(p["output_channels"], p["kernel_height"] * p["kernel_width"])


def pack(p: Params, k: Constants) -> np.ndarray:
    """[C, KH, KW, 1] -> [KH·KW, C]: one tap of four channels is one widening load."""
    return np.ascontiguousarray(_weights(p, k).T).reshape(-1)


def _wrap32(v: np.ndarray) -> np.ndarray:
    return ((v.astype(np.int64) + 2**31) % 2**32 - 2**31).astype(np.int32)


def extra(p: Params, k: Constants) -> list[np.ndarray]:
    """bias_fold = bias − zp_x·Σ_taps w (wrapping: the reference's sum wraps too), left = max(e, 0), rneg = min(e, 0)."""
    w = _weights(p, k).astype(np.int64)
    bias = k["bias"]
    b = np.zeros(w.shape[0], np.int64) if bias is None else np.asarray(bias, np.int64)
    fold = _wrap32(b - int(p["input_zero_point"]) * w.sum(axis=1))
    shift = k["shift"]
    assert shift is not None
    e = np.asarray(shift, np.int32)
    return [fold, np.maximum(e, 0).astype(np.int32), np.minimum(e, 0).astype(np.int32)]


VARIANTS = [
    Variant(
        family="dwconv",
        isa="mve",
        function=FUNCTION,
        prototype=(
            f"void {FUNCTION}(const eb_qs8_conv_params* p, const int8_t* input, const int8_t* weights, "
            "const int32_t* bias, const int32_t* multiplier, const int32_t* shift, int8_t* output, "
            "const int32_t* bias_fold, const int32_t* left, const int32_t* rneg);"
        ),
        sources=("ukernels/qs8-dwconv/qs8_dwconv_minmax__mve.cc",),
        applies=applies,
        extra=extra,
        pack=pack,
        priority=10,
    )
]
