"""The registries an op family fills, each keyed by the ATen op's name ("aten.conv2d.default", lower.op_name):

- LOWERINGS: the int8 lowering (`@register`),
- FLOAT_LOWERINGS: the float fallback (`@register_float`, lower/__init__.py),
- DYNAMIC_LOWERINGS: the dynamic form of a linear layer (`@register_dynamic`, DYNAMIC_FULLY_CONNECTED: float32
  activations quantized per row at run time), for the nodes the quantizer chose dynamic (edgebuild/quantize.py),
- ANNOTATIONS: the PT2E annotation rule (`@register_annotation`), which edgebuild/quantize.py's Quantizer applies to
  each node in graph order: it decides which inputs and outputs PT2E observes and quantizes.

Importing edgebuild.lower.ops registers every family.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from torch.fx import Node

if TYPE_CHECKING:
    from ..quantize import Annotator
    from .context import LoweringContext

Lowering = Callable[["LoweringContext", Node], None]
AnnotationRule = Callable[["Annotator", Node], None]

LOWERINGS: dict[str, Lowering] = {}
FLOAT_LOWERINGS: dict[str, Lowering] = {}  # the float fallback (lower/__init__.py)
DYNAMIC_LOWERINGS: dict[str, Lowering] = {}  # dynamic activation quantization (lower/ops/dynamic_fc.py)
ANNOTATIONS: dict[str, AnnotationRule] = {}

F = TypeVar("F", bound=Callable[..., None])


def _into(table: dict[str, F], names: tuple[str, ...], what: str) -> Callable[[F], F]:
    def deco(fn: F) -> F:
        for name in names:
            old = table.get(name)
            if old is not None and (old.__module__, old.__qualname__) != (fn.__module__, fn.__qualname__):
                # one op, one place: a second registration would silently win
                raise RuntimeError(f"{name}: a second {what} ({fn.__module__}.{fn.__name__})")
            table[name] = fn
        return fn

    return deco


def register(*names: str) -> Callable[[Lowering], Lowering]:
    """Register the int8 lowering of ATen ops."""
    return _into(LOWERINGS, names, "int8 lowering")


def register_float(*names: str) -> Callable[[Lowering], Lowering]:
    """Register a float lowering (the float fallback of an ATen op; lower/__init__.py)."""
    return _into(FLOAT_LOWERINGS, names, "float lowering")


def register_dynamic(*names: str) -> Callable[[Lowering], Lowering]:
    """Register the dynamic form of ATen ops (DYNAMIC_FULLY_CONNECTED; lower/ops/dynamic_fc.py)."""
    return _into(DYNAMIC_LOWERINGS, names, "dynamic lowering")


def register_annotation(*names: str) -> Callable[[AnnotationRule], AnnotationRule]:
    """Register the PT2E annotation rule of ATen ops (edgebuild/quantize.py applies it)."""
    return _into(ANNOTATIONS, names, "annotation rule")
