"""One file per op family; importing this package registers every lowering."""

from . import conv, elementwise, pool, shape  # noqa: F401
