"""Cortex-M55 MVE (Helium) ADD of same-shape tensors: kernels/ukernels/qs8-vadd/qs8_vadd_minmax__mve.cc.

Any parameters the reference takes (docs/quantization.md (7)); the output may alias an input."""

from __future__ import annotations

from edgebuild.mcu.variants import Variant

FUNCTION = "eb_qs8_vadd_minmax_ukernel__mve"

VARIANTS = [
    Variant(
        family="add",
        isa="mve",
        function=FUNCTION,
        prototype=(
            f"void {FUNCTION}(const eb_qs8_vadd_params* p, size_t count, const int8_t* a, const int8_t* b, "
            "int8_t* output);"
        ),
        sources=("ukernels/qs8-vadd/qs8_vadd_minmax__mve.cc",),
        priority=10,
    )
]
