"""One file per op family; importing this package registers every lowering (int8 and float)."""

from . import conv, elementwise, float_cnn, float_ops, pool, resize, shape, transformer, unary  # noqa: F401
