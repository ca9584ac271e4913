"""Cortex-M DSP-extension (M4/M7/M33) pooling: AVG_POOL2D (kernels/ukernels/qs8-avgpool/qs8_avgpool_minmax__dsp.cc,
window sums in halfword lanes with SXTAB16) and MAX_POOL2D (qs8-maxpool/qs8_maxpool_minmax__dsp.cc, SSUB8 + SEL);
both take the reference's arguments."""

from __future__ import annotations

from edgebuild.mcu.variants import Params, Variant

MAX_DIM = 1 << 15  # sizes, strides and paddings small enough for the kernels' int32 coordinates


def _small(p: Params, keys: tuple[str, ...]) -> bool:
    return all(0 <= p[k] < MAX_DIM for k in keys)


def applies_avg(p: Params) -> bool:
    # (9) in int32: |acc| + count/2 <= 128·count + count < 2^31 needs the window's taps <= 2^22.
    keys = ("input_height", "input_width", "kernel_height", "kernel_width", "stride_height", "stride_width")
    return _small(p, (*keys, "pad_height", "pad_width")) and p["kernel_height"] * p["kernel_width"] <= 1 << 22


def applies_max(p: Params) -> bool:
    keys = ("input_height", "input_width", "kernel_height", "kernel_width", "stride_height", "stride_width")
    return _small(p, (*keys, "pad_height", "pad_width", "dilation_height", "dilation_width"))


VARIANTS = [
    Variant(
        family="avgpool",
        isa="dsp",
        function="eb_qs8_avgpool_minmax_ukernel__dsp",
        prototype=(
            "void eb_qs8_avgpool_minmax_ukernel__dsp(const eb_qs8_avgpool_params* p, const int8_t* input, "
            "int8_t* output);"
        ),
        sources=("ukernels/qs8-avgpool/qs8_avgpool_minmax__dsp.cc",),
        applies=applies_avg,
        priority=1,
    ),
    Variant(
        family="maxpool",
        isa="dsp",
        function="eb_qs8_maxpool_minmax_ukernel__dsp",
        prototype=(
            "void eb_qs8_maxpool_minmax_ukernel__dsp(const eb_qs8_maxpool_params* p, const int8_t* input, "
            "int8_t* output);"
        ),
        sources=("ukernels/qs8-maxpool/qs8_maxpool_minmax__dsp.cc",),
        applies=applies_max,
        priority=1,
    ),
]
