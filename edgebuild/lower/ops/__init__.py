"""One module per op family: its int8 lowering, its float lowering and its PT2E annotation rule. Importing this
package registers them all (lower/registry.py)."""

from . import (  # noqa: F401
    attention,
    broadcast,
    clamp,
    conv,
    convolution,
    elementwise,
    embedding,
    embedding_bag,
    linear,
    matmul,
    norm,
    pool,
    pool_nd,
    quantize,
    resize,
    sampling,
    shape,
    softmax,
    unary,
)
