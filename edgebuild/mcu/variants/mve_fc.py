"""Cortex-M55 MVE (Helium) variant of FULLY_CONNECTED: kernels/ukernels/qs8-gemm/qs8_gemm_minmax_1x4c16__mve.cc
(VMLADAVA tiles of 1 row × 4 columns), any M, N, K.

It takes the row kernel's records (b' = b − zp_x·Σw, multiplier and exponent per 4 output channels: `records` of
mve_conv.py, docs/quantization.md (6) with the input zero point folded), weights in the reference layout [N, K].
"""

from __future__ import annotations

import numpy as np

from edgebuild.mcu.variants import Constants, Params, Variant
from edgebuild.mcu.variants.mve_conv import records


def _extra(p: Params, c: Constants) -> list[np.ndarray]:
    return [records(p["input_zero_point"], c, p["n"])]


VARIANTS = [
    Variant(
        family="fc",
        isa="mve",
        function="eb_qs8_gemm_minmax_ukernel_1x4c16__mve",
        prototype=(
            "void eb_qs8_gemm_minmax_ukernel_1x4c16__mve(const eb_qs8_gemm_params* p, const int8_t* input, "
            "const int8_t* weights, const int32_t* bias, const int32_t* multiplier, const int32_t* shift, "
            "int8_t* output, const int32_t* records);"
        ),
        sources=("ukernels/qs8-gemm/qs8_gemm_minmax_1x4c16__mve.cc",),
        extra=_extra,
        priority=1,
    ),
]
