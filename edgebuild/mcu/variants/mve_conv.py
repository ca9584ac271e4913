"""Cortex-M55 MVE (Helium) variants of CONV2D (groups 1): kernels/ukernels/qs8-conv/qs8_conv_minmax__mve.cc, which
runs its GEMM rows through the FULLY_CONNECTED row kernel of qs8-gemm/qs8_gemm_minmax_1x4c16__mve.cc.

Both take one `extra` array, the row kernel's records: per 4 output channels b'[4], multiplier[4], exponent[4]
(int32), with b' = b − zp_x·Σw (`fold_bias`, docs/quantization.md (6) with the input zero point folded), so the
kernels multiply raw int8 codes and a padding tap is the code zp_x; one record feeds a 1 × 4 tile's requantization
with three contiguous loads. The weights keep the reference layout [OC, KH, KW, C] (already the GEMM's [OC, K]): no
`pack`.
"""

from __future__ import annotations

import numpy as np

from edgebuild.mcu.variants import Constants, Params, Variant

_SOURCES = ("ukernels/qs8-conv/qs8_conv_minmax__mve.cc", "ukernels/qs8-gemm/qs8_gemm_minmax_1x4c16__mve.cc")
_ARGS = (
    "const eb_qs8_conv_params* p, const int8_t* input, const int8_t* weights, const int32_t* bias, "
    "const int32_t* multiplier, const int32_t* shift, int8_t* output, const int32_t* records"
)


def fold_bias(zero_point: int, weights: np.ndarray, bias: np.ndarray | None, channels: int) -> np.ndarray:
    """b'[c] = b[c] − zp_x·Σ_k w[c, k], wrapped to int32 as the kernels' accumulators wrap (equal mod 2^32)."""
    sums = weights.reshape(channels, -1).astype(np.int64).sum(axis=1)
    b = np.zeros(channels, np.int64) if bias is None else np.asarray(bias, np.int64).reshape(channels)
    folded = (b - int(zero_point) * sums) & 0xFFFFFFFF
    return folded.astype(np.uint32).view(np.int32)


def records(zero_point: int, c: Constants, channels: int) -> np.ndarray:
    """The row kernel's records [ceil(channels / 4), 3, 4] int32 (flattened): b', multiplier, exponent per 4
    channels; channels past the last hold b' 0, multiplier 2^30, exponent 0 (requantized, never stored)."""
    weights, mult, shift = c["weights"], c["multiplier"], c["shift"]
    assert weights is not None and mult is not None and shift is not None
    groups = (channels + 3) // 4
    out = np.zeros((3, groups * 4), np.int32)
    out[1, :] = 1 << 30
    out[0, :channels] = fold_bias(zero_point, weights, c["bias"], channels)
    # One value per channel (a per-tensor value of size 1 broadcasts).
    out[1, :channels] = np.broadcast_to(np.asarray(mult, np.int64).reshape(-1), (channels,))
    out[2, :channels] = np.broadcast_to(np.asarray(shift, np.int64).reshape(-1), (channels,))
    return np.ascontiguousarray(out.reshape(3, groups, 4).transpose(1, 0, 2)).reshape(-1)


def _extra(p: Params, c: Constants) -> list[np.ndarray]:
    return [records(p["input_zero_point"], c, p["output_channels"])]


def _is_1x1_in_place(p: Params) -> bool:
    return (
        p["groups"] == 1
        and p["kernel_height"] == 1
        and p["kernel_width"] == 1
        and p["pad_top"] == 0
        and p["pad_left"] == 0
        and (p["output_height"] - 1) * p["stride_height"] < p["input_height"]
        and (p["output_width"] - 1) * p["stride_width"] < p["input_width"]
    )


def gather_block(k: int) -> int:
    """Pixels per gathered block of eb_qs8_conv_minmax_ukernel__mve (its `_block` function, the same rule)."""
    return 8 if k == 0 else max(1, min(8, 2048 // k))


def _scratch(p: Params) -> int:
    k = p["kernel_height"] * p["kernel_width"] * p["input_channels"]
    return (gather_block(k) * k + 15) // 16 * 16


VARIANTS = [
    Variant(
        family="conv",
        isa="mve",
        function="eb_qs8_conv_minmax_ukernel_1x1__mve",
        prototype=f"void eb_qs8_conv_minmax_ukernel_1x1__mve({_ARGS});",
        sources=_SOURCES,
        applies=_is_1x1_in_place,
        extra=_extra,
        priority=2,
    ),
    Variant(
        family="conv",
        isa="mve",
        function="eb_qs8_conv_minmax_ukernel__mve",
        prototype=f"void eb_qs8_conv_minmax_ukernel__mve({_ARGS}, void* scratch);",
        sources=_SOURCES,
        applies=lambda p: p["groups"] == 1,
        scratch_bytes=_scratch,
        extra=_extra,
        priority=1,
    ),
]
