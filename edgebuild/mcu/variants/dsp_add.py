"""Cortex-M DSP-extension (M4/M7/M33) ADD of same-shape int8 tensors:
kernels/ukernels/qs8-vadd/qs8_vadd_minmax__dsp.cc (a', b' of docs/quantization.md (7) tabulated per code)."""

from __future__ import annotations

import numpy as np

from edgebuild.mcu.variants import Constants, Params, Variant
from edgebuild.mcu.variants._dsp_requant import mbqm, requant_words


def _sat32(x: int) -> int:
    return max(-(2**31), min(2**31 - 1, x))


def extra(p: Params, c: Constants) -> list[np.ndarray]:
    """tables [512] int32: a' = MBQM(sat32((a − zp_a)·2^L), m_a, e_a) for a = −128..127, then b'; and the output's
    requantization words [4] (eb_dsp_rq, zp_y folded in)."""
    up = 1 << p["left_shift"]
    codes = range(-128, 128)
    ta = [mbqm(_sat32((v - p["a_zero_point"]) * up), p["a_multiplier"], p["a_shift"]) for v in codes]
    tb = [mbqm(_sat32((v - p["b_zero_point"]) * up), p["b_multiplier"], p["b_shift"]) for v in codes]
    tables = np.array(ta + tb, dtype=np.int64).astype(np.int32)
    rq = requant_words(
        np.array([p["output_multiplier"]]), np.array([p["output_shift"]]), p["output_zero_point"]
    )
    return [tables, rq.reshape(-1)]


def applies(p: Params) -> bool:
    return 0 <= p["left_shift"] <= 62


VARIANTS = [
    Variant(
        family="add",
        isa="dsp",
        function="eb_qs8_vadd_minmax_ukernel__dsp",
        prototype=(
            "void eb_qs8_vadd_minmax_ukernel__dsp(const eb_qs8_vadd_params* p, size_t count, const int8_t* a, "
            "const int8_t* b, int8_t* output, const int32_t* tables, const int32_t* rq);"
        ),
        sources=("ukernels/qs8-vadd/qs8_vadd_minmax__dsp.cc",),
        applies=applies,
        extra=extra,
        priority=1,
    )
]
