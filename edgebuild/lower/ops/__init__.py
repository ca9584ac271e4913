"""One module per op family: its int8 lowering, its float lowering and its PT2E annotation rule. Importing this
package registers them all (lower/registry.py)."""

from . import (  # noqa: F401
    arith,
    cast,
    clamp,
    compare,
    conv,
    elementwise,
    embedding,
    index,
    linear,
    matmul,
    movement,
    norm,
    pad,
    pool,
    quantize,
    resize,
    scatter,
    shape,
    softmax,
    unary,
)
