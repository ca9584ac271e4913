"""One file per op family; importing this package registers every lowering."""

from . import conv, elementwise, pool, resize, shape, unary  # noqa: F401
