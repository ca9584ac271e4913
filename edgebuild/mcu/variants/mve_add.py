"""Cortex-M55 MVE (Helium) ADD of same-shape tensors: kernels/ukernels/qs8-vadd/qs8_vadd_minmax__mve.cc.

Any parameters the reference takes (docs/quantization.md (7)); the output may alias an input. Built at build time:
the rescaled inputs a' and b' of (7) for each of the 256 codes (two int32 tables, 2 KiB of flash per op), which the
kernel gathers instead of computing two MBQMs per element."""

from __future__ import annotations

import numpy as np

from edgebuild.mcu.variants import Constants, Params, Variant

FUNCTION = "eb_qs8_vadd_minmax_ukernel__mve"


def _sat32(x: int) -> int:
    return max(-(2**31), min(2**31 - 1, x))


def _mbqm(x: int, m: int, e: int) -> int:
    """docs/quantization.md (5) in exact integers, as edgebuild/requant.h's eb_mbqm (exponents clamped alike)."""
    left = min(e, 32) if e > 0 else 0
    right = min(-e, 62) if e < 0 else 0
    s = _sat32(x * (1 << left))
    ab = s * m
    v = ab + ((1 << 30) if ab >= 0 else 1 - (1 << 30))
    q = _sat32(abs(v) >> 31 if v >= 0 else -(abs(v) >> 31))  # (4a): truncating division
    mask = (1 << right) - 1
    return (q >> right) + (1 if (q & mask) > (mask >> 1) + (1 if q < 0 else 0) else 0)  # (4b)


def tables(p: Params, k: Constants) -> list[np.ndarray]:
    """table[u] = MBQM(sat32((q − zp)·2^L), m, e) of (7) for the code q whose byte is u (q = u − 256 for u >= 128),
    for input a and input b."""
    out = []
    for side in ("a", "b"):
        zp, m, e = int(p[f"{side}_zero_point"]), int(p[f"{side}_multiplier"]), int(p[f"{side}_shift"])
        scale = 1 << int(p["left_shift"])
        codes = [u - 256 if u >= 128 else u for u in range(256)]
        out.append(np.array([_mbqm(_sat32((q - zp) * scale), m, e) for q in codes], dtype=np.int32))
    return out


VARIANTS = [
    Variant(
        family="add",
        isa="mve",
        function=FUNCTION,
        prototype=(
            f"void {FUNCTION}(const eb_qs8_vadd_params* p, size_t count, const int8_t* a, const int8_t* b, "
            "int8_t* output, const int32_t* table_a, const int32_t* table_b);"
        ),
        sources=("ukernels/qs8-vadd/qs8_vadd_minmax__mve.cc",),
        extra=tables,
        priority=10,
    )
]
