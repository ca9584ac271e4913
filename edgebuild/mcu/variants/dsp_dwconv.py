"""Cortex-M DSP-extension (M4/M7/M33) DEPTHWISE_CONV2D, depth multiplier 1:
kernels/ukernels/qs8-conv/qs8_conv_dw_minmax_1x4__dsp.cc (4 channels a word, SXTB16 + SMLABB/SMLATT)."""

from __future__ import annotations

import numpy as np

from edgebuild.mcu.variants import Constants, Params, Variant
from edgebuild.mcu.variants._dsp_requant import requant_words, wrap_int32

MAX_TAPS = 81  # the kernel's tap-pointer array (9x9)
MAX_DIM = 1 << 15  # sizes, strides, paddings and dilations small enough for the kernel's int32 coordinates


def applies(p: Params) -> bool:
    c = p["input_channels"]
    dims = ("input_height", "input_width", "stride_height", "stride_width", "pad_top", "pad_left")
    return (
        p["groups"] == c == p["output_channels"]
        and p["kernel_height"] * p["kernel_width"] <= MAX_TAPS
        and all(0 <= p[k] < MAX_DIM for k in dims)
        and all(1 <= p[k] < MAX_DIM for k in ("dilation_height", "dilation_width"))
    )


def scratch_bytes(p: Params) -> int:
    return int(p["input_channels"])  # one row of zp_x: what a padding tap reads


def _taps(p: Params, c: Constants) -> np.ndarray:
    w = c["weights"]
    assert w is not None
    return np.asarray(w, dtype=np.int8).reshape(p["output_channels"], p["kernel_height"] * p["kernel_width"])


def pack(p: Params, c: Constants) -> np.ndarray:
    """[C, T] -> blocks of 4 channels [C/4][T][4] (the word a tap loads), then the C mod 4 tail as [c][T]."""
    w = _taps(p, c)
    channels, taps = w.shape
    c4 = channels - channels % 4
    blocks = w[:c4].reshape(c4 // 4, 4, taps).transpose(0, 2, 1).reshape(-1)
    return np.concatenate([blocks, w[c4:].reshape(-1)]).astype(np.int8)


def extra(p: Params, c: Constants) -> list[np.ndarray]:
    """bias_zx [C] = bias − zp_x·Σ_t w (wrapping int32), and the requantization words [C·4] (eb_dsp_rq)."""
    w = _taps(p, c).astype(np.int64)
    bias = c.get("bias")
    b = np.zeros(w.shape[0], dtype=np.int64) if bias is None else np.asarray(bias, dtype=np.int64).reshape(-1)
    bias_zx = wrap_int32(b - p["input_zero_point"] * w.sum(axis=1))
    rq = requant_words(np.asarray(c["multiplier"]), np.asarray(c["shift"]), p["output_zero_point"])
    return [bias_zx, rq.reshape(-1)]


VARIANTS = [
    Variant(
        family="dwconv",
        isa="dsp",
        function="eb_qs8_conv_dw_minmax_ukernel_1x4__dsp",
        prototype=(
            "void eb_qs8_conv_dw_minmax_ukernel_1x4__dsp(const eb_qs8_conv_params* p, const int8_t* input, "
            "const int8_t* weights, const int32_t* bias, const int32_t* multiplier, const int32_t* shift, "
            "int8_t* output, const int32_t* bias_zx, const int32_t* rq, int8_t* scratch);"
        ),
        sources=("ukernels/qs8-conv/qs8_conv_dw_minmax_1x4__dsp.cc",),
        applies=applies,
        scratch_bytes=scratch_bytes,
        extra=extra,
        pack=pack,
        priority=1,
    )
]
