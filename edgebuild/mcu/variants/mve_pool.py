"""Cortex-M55 MVE (Helium) pooling: kernels/ukernels/qs8-avgpool/qs8_avgpool_minmax__mve.cc (docs/quantization.md
(9)) and kernels/ukernels/qs8-maxpool/qs8_maxpool_minmax__mve.cc. Any geometry the references take."""

from __future__ import annotations

from edgebuild.mcu.variants import Variant

AVGPOOL = "eb_qs8_avgpool_minmax_ukernel__mve"
MAXPOOL = "eb_qs8_maxpool_minmax_ukernel__mve"

VARIANTS = [
    Variant(
        family="avgpool",
        isa="mve",
        function=AVGPOOL,
        prototype=f"void {AVGPOOL}(const eb_qs8_avgpool_params* p, const int8_t* input, int8_t* output);",
        sources=("ukernels/qs8-avgpool/qs8_avgpool_minmax__mve.cc",),
        priority=10,
    ),
    Variant(
        family="maxpool",
        isa="mve",
        function=MAXPOOL,
        prototype=f"void {MAXPOOL}(const eb_qs8_maxpool_params* p, const int8_t* input, int8_t* output);",
        sources=("ukernels/qs8-maxpool/qs8_maxpool_minmax__mve.cc",),
        priority=10,
    ),
]
