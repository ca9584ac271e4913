"""Cortex-M DSP-extension (M4/M7/M33: SMLAD, SXTB16) FULLY_CONNECTED:
kernels/ukernels/qs8-gemm/qs8_gemm_minmax_2x2c4__dsp.cc. Bit-identical to eb_qs8_gemm_ref
(tests/mcu/test_dsp_gemm.py). Weights stay in the reference layout; zp_x is subtracted when the rows of x are
widened to int16 (two rows at a time, in the scratch)."""

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


VARIANTS = [
    Variant(
        family="fc",
        isa="dsp",
        function="eb_qs8_gemm_minmax_ukernel__dsp",
        prototype=(
            "void eb_qs8_gemm_minmax_ukernel__dsp(const eb_qs8_gemm_params* p, const int8_t* input, "
            "const int8_t* weights, const int32_t* bias, const int32_t* multiplier, const int32_t* shift, "
            "int8_t* output, void* scratch);"
        ),
        sources=("ukernels/qs8-gemm/qs8_gemm_minmax_2x2c4__dsp.cc",),
        applies=applies,
        scratch_bytes=scratch_bytes,
        priority=1,
    )
]
