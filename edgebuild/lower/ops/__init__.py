"""One file per op family; importing this package registers every lowering (int8 and float)."""

from . import conv, elementwise, float_ops, pool, shape, transformer  # noqa: F401
