"""Cortex-M DSP-extension (M4/M7/M33: SMLAD, SXTB16) CONV2D: kernels/ukernels/qs8-conv/qs8_conv_minmax__dsp.cc
through the GEMM core of kernels/ukernels/qs8-gemm/qs8_gemm_minmax_2x2c4__dsp.cc. Bit-identical to
eb_qs8_conv_ref (tests/mcu/test_dsp_gemm.py). Weights stay in the reference layout (no pack, no extra arrays: zp_x is
subtracted when each pixel's taps are widened to int16, once per pixel, not per output channel)."""

from __future__ import annotations

from edgebuild.mcu.variants import Params, Variant


def _round16(n: int) -> int:
    return (n + 15) // 16 * 16


def _taps(p: Params) -> int:
    return int(p["kernel_height"]) * int(p["kernel_width"]) * int(p["input_channels"])


def _pointwise(p: Params) -> bool:
    """eb_qs8_conv_dsp_pointwise (qs8_gemm_dsp.h): 1x1, no padding, every output pixel inside the input, so each
    pixel's taps are read in place."""
    return (
        p["kernel_height"] == 1
        and p["kernel_width"] == 1
        and p["pad_top"] == 0
        and p["pad_left"] == 0
        and (int(p["output_height"]) - 1) * int(p["stride_height"]) < int(p["input_height"])
        and (int(p["output_width"]) - 1) * int(p["stride_width"]) < int(p["input_width"])
    )


def _gathers(p: Params) -> bool:
    """eb_qs8_conv_dsp_gathers: taps gathered as int8 first unless pointwise or C % 4 = 0."""
    return not _pointwise(p) and int(p["input_channels"]) % 4 != 0


def scratch_bytes(p: Params) -> int:
    """EB_QS8_GEMM_DSP_PACKED_BYTES(K) (two pixels' taps as int16), plus EB_QS8_CONV_DSP_GATHER_BYTES(K) (two
    gathered int8 rows) when it gathers: kernels/ukernels/qs8-gemm/qs8_gemm_dsp.h."""
    k = _taps(p)
    return _round16(4 * k) + (_round16(2 * k) if _gathers(p) else 0)


def applies(p: Params) -> bool:
    """Groups 1 (a depthwise or grouped convolution is another family), int8 (integer clamp bounds), any kernel,
    stride, padding and dilation."""
    return (
        p.get("groups") == 1
        and isinstance(p.get("output_min"), int)
        and isinstance(p.get("output_max"), int)
        and int(p["input_channels"]) >= 1
        and int(p["output_channels"]) >= 1
    )


VARIANTS = [
    Variant(
        family="conv",
        isa="dsp",
        function="eb_qs8_conv_minmax_ukernel__dsp",
        prototype=(
            "void eb_qs8_conv_minmax_ukernel__dsp(const eb_qs8_conv_params* p, const int8_t* input, "
            "const int8_t* weights, const int32_t* bias, const int32_t* multiplier, const int32_t* shift, "
            "int8_t* output, void* scratch);"
        ),
        sources=(
            "ukernels/qs8-conv/qs8_conv_minmax__dsp.cc",
            "ukernels/qs8-gemm/qs8_gemm_minmax_2x2c4__dsp.cc",
        ),
        applies=applies,
        scratch_bytes=scratch_bytes,
        priority=1,
    )
]
