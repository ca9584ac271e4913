"""Cortex-M55 MVE (Helium) variant of FULLY_CONNECTED: kernels/ukernels/qs8-gemm/qs8_gemm_minmax_2x2c16__mve.cc
(VMLADAVA tiles of 2 rows × 2 columns, 1 × 4 for a single row), any M, N, K.

It takes b' = b − zp_x·Σw per output channel (docs/quantization.md (6) with the input zero point folded; the same
fold as the MVE CONV2D variants), weights in the reference layout [N, K].
"""

from __future__ import annotations

import numpy as np

from edgebuild.mcu.variants import Constants, Params, Variant
from edgebuild.mcu.variants.mve_conv import fold_bias


def _extra(p: Params, c: Constants) -> list[np.ndarray]:
    weights = c["weights"]
    assert weights is not None
    return [fold_bias(p["input_zero_point"], weights, c["bias"], p["n"])]


VARIANTS = [
    Variant(
        family="fc",
        isa="mve",
        function="eb_qs8_gemm_minmax_ukernel_2x2c16__mve",
        prototype=(
            "void eb_qs8_gemm_minmax_ukernel_2x2c16__mve(const eb_qs8_gemm_params* p, const int8_t* input, "
            "const int8_t* weights, const int32_t* bias, const int32_t* multiplier, const int32_t* shift, "
            "int8_t* output, const int32_t* bias_folded);"
        ),
        sources=("ukernels/qs8-gemm/qs8_gemm_minmax_2x2c16__mve.cc",),
        extra=_extra,
        priority=1,
    ),
]
