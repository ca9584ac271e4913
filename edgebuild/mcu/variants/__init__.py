"""The Cortex-M kernel variants the ahead-of-time code generator may call instead of a reference kernel.

Each module of this package (one per ISA and op family, e.g. `dsp_conv.py`, `mve_dwconv.py`) defines `VARIANTS`, a
list of `Variant`. For an op, the generator takes the applicable variant of the target's ISA with the highest
priority, else the family's reference kernel. Every variant gives bit-identical outputs to its reference (tested
under qemu-system-arm, tests/mcu/).

Calling convention: `function(&params, <the reference kernel's other arguments, in order>, <extra constant arrays,
in order>, scratch)`, where `params` is the reference's parameter struct filled exactly as for the reference, the
extra arrays are what `extra` computes at build time, and `scratch` (only when `scratch_bytes` > 0) points to that
many bytes of the arena, 16-byte aligned, that the kernel may overwrite.

Families and their references (kernels/include/edgebuild/ukernels.h):
    conv      CONV2D (groups 1)         eb_qs8_conv_ref(params, input, weights, bias, multiplier, shift, output)
    dwconv    DEPTHWISE_CONV2D          eb_qs8_conv_ref with groups = channels (same arguments)
    fc        FULLY_CONNECTED           eb_qs8_gemm_ref(params, input, weights, bias, multiplier, shift, output)
    add       ADD of same-shape tensors eb_qs8_vadd_ref(params, count, a, b, output)
    avgpool   AVG_POOL2D                eb_qs8_avgpool_ref(params, input, output)
    maxpool   MAX_POOL2D                eb_qs8_maxpool_ref(params, input, output)
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np

__all__ = ["FAMILIES", "ISAS", "Variant", "all_variants", "choose"]

FAMILIES = ("conv", "dwconv", "fc", "add", "avgpool", "maxpool")
ISAS = ("dsp", "mve")  # Cortex-M4/M7/M33 DSP extension (SMLAD, SXTB16); Cortex-M55 Helium (MVE)

Params = dict[str, int]  # the reference's parameter struct, field name -> value (as the generator fills it)
Constants = dict[
    str, "np.ndarray | None"
]  # the op's constants: "weights", "bias" (None when absent), "multiplier", "shift"


def _always(p: Params) -> bool:
    return True


def _no_scratch(p: Params) -> int:
    return 0


@dataclass(frozen=True)
class Variant:
    family: str  # one of FAMILIES
    isa: str  # one of ISAS
    function: str  # the C symbol
    prototype: str  # its C declaration, emitted into the generated model.c ("void f(const eb_qs8_conv_params* p, ...);")
    sources: tuple[str, ...]  # its source files, relative to kernels/ (compiled with the core's flags)
    applies: Callable[[Params], bool] = _always  # shapes it handles
    scratch_bytes: Callable[[Params], int] = _no_scratch
    # Extra constant arrays (int8 / int16 / int32 numpy arrays, emitted as const arrays in flash) computed at build
    # time, passed after the reference's arguments: e.g. per-channel sums of the weights for a zero-point fold.
    extra: Callable[[Params, Constants], list[np.ndarray]] | None = None
    # The weights as the kernel reads them (a build-time reordering or widening), emitted and passed in place of the
    # reference layout, which is then not emitted (so flash holds one copy). None: the reference layout.
    pack: Callable[[Params, Constants], np.ndarray] | None = None
    priority: int = 0  # the highest-priority applicable variant wins


@cache
def all_variants() -> tuple[Variant, ...]:
    found: list[Variant] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for v in getattr(module, "VARIANTS", ()):
            if v.family not in FAMILIES or v.isa not in ISAS:
                raise ValueError(f"{info.name}: variant {v.function} has family {v.family!r} / isa {v.isa!r}")
            found.append(v)
    return tuple(found)


def choose(family: str, isa: str | None, params: Params) -> Variant | None:
    """The variant the generator calls for an op of `family` on a core with `isa` (None: references only)."""
    if isa is None:
        return None
    fits = [v for v in all_variants() if v.family == family and v.isa == isa and v.applies(params)]
    return max(fits, key=lambda v: v.priority) if fits else None
