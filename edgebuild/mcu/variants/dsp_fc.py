"""Cortex-M DSP-extension (M4/M7/M33: SMLAD, SXTB16) FULLY_CONNECTED:
kernels/ukernels/qs8-gemm/qs8_gemm_minmax_2x2c4__dsp.cc. Bit-identical to eb_qs8_gemm_ref
(tests/mcu/test_dsp_gemm.py). Weights stay in the reference layout. One row (batch 1, the usual case on a
microcontroller) runs the 1x4c4 kernel: the reference's signature, no scratch (x widened inside the k loop); more
rows are widened to int16 two at a time in the scratch and run 2x2 tiles."""

from __future__ import annotations

from edgebuild.mcu.variants import Params, Variant


def scratch_bytes(p: Params) -> int:
    """EB_QS8_GEMM_DSP_PACKED_BYTES(k): two rows of x as int16 (kernels/ukernels/qs8-gemm/qs8_gemm_dsp.h)."""
    return (4 * int(p["k"]) + 15) // 16 * 16


def applies(p: Params) -> bool:
    return (
        int(p["k"]) >= 1
        and int(p["n"]) >= 1
        and isinstance(p.get("output_min"), int)
        and isinstance(p.get("output_max"), int)
    )


def applies_one_row(p: Params) -> bool:
    return applies(p) and int(p["m"]) == 1


_ARGS = (
    "const eb_qs8_gemm_params* p, const int8_t* input, const int8_t* weights, const int32_t* bias, "
    "const int32_t* multiplier, const int32_t* shift, int8_t* output"
)
_SOURCES = ("ukernels/qs8-gemm/qs8_gemm_minmax_2x2c4__dsp.cc",)

VARIANTS = [
    Variant(
        family="fc",
        isa="dsp",
        function="eb_qs8_gemm_minmax_ukernel_1x4c4__dsp",
        prototype=f"void eb_qs8_gemm_minmax_ukernel_1x4c4__dsp({_ARGS});",
        sources=_SOURCES,
        applies=applies_one_row,
        priority=2,
    ),
    Variant(
        family="fc",
        isa="dsp",
        function="eb_qs8_gemm_minmax_ukernel__dsp",
        prototype=f"void eb_qs8_gemm_minmax_ukernel__dsp({_ARGS}, void* scratch);",
        sources=_SOURCES,
        applies=applies,
        scratch_bytes=scratch_bytes,
        priority=1,
    ),
]
