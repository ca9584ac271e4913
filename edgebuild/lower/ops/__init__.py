"""One module per op family: its int8 lowering, its float lowering and its PT2E annotation rule. Importing this
package registers them all (lower/registry.py)."""

from . import (  # noqa: F401
    clamp,
    conv,
    elementwise,
    embedding,
    linear,
    matmul,
    norm,
    pool,
    quantize,
    reduce,
    resize,
    shape,
    softmax,
    unary,
)
