"""Values moved by constant indices, any dtype (moving.py): expand (BROADCAST_TO), repeat, select, flip, roll,
reflect / replicate / circular padding, diagonal and as_strided (GATHER with build-time index tables)."""

from __future__ import annotations

import numpy as np
import torch
from torch.fx import Node

from ...errors import EdgebuildError
from ...ir_ops import BroadcastToParams
from ..context import LoweringContext, node_shape
from .moving import finish, gather_const, like, mover, op, reshape, transpose


def _ints(v: object) -> list[int]:
    if isinstance(v, (list, tuple)):
        return [int(x) for x in v]  # type: ignore[call-overload]
    return [int(v)]  # type: ignore[call-overload]


def _arg(node: Node, i: int, name: str, default: object) -> object:
    return node.args[i] if len(node.args) > i else node.kwargs.get(name, default)


@mover("aten.expand.default")
def build_expand(ctx: LoweringContext, node: Node, x: int, out: int) -> None:
    """Missing leading dims become 1 (RESHAPE), then BROADCAST_TO."""
    shape = node_shape(node)
    xs = ctx.tensor(x).shape
    x = reshape(ctx, node, x, (1,) * (len(shape) - len(xs)) + xs, "unsqueezed")
    if ctx.tensor(x).shape == shape:
        finish(ctx, node, x, out)
    else:
        op(ctx, node, [x], out, BroadcastToParams())


@mover("aten.repeat.default")
def build_repeat(ctx: LoweringContext, node: Node, x: int, out: int) -> None:
    """torch.repeat: one GATHER per repeated dim with the index 0..n-1 repeated (tiled)."""
    reps = _ints(node.args[1])
    xs = ctx.tensor(x).shape
    x = reshape(ctx, node, x, (1,) * (len(reps) - len(xs)) + xs, "unsqueezed")
    dims = [d for d, r in enumerate(reps) if r != 1]
    for k, d in enumerate(dims):
        n = ctx.tensor(x).shape[d]
        last = k == len(dims) - 1
        x = gather_const(ctx, node, x, d, np.tile(np.arange(n), reps[d]), f"repeat{d}", out if last else None)
    finish(ctx, node, x, out)


@mover("aten.select.int")
def build_select(ctx: LoweringContext, node: Node, x: int, out: int) -> None:
    """x[..., i, ...]: a GATHER by a one-element index, then a RESHAPE that drops the dim."""
    shape = ctx.tensor(x).shape
    dim = int(node.args[1]) % len(shape)  # type: ignore[call-overload]
    i = int(node.args[2])  # type: ignore[call-overload]
    if not -shape[dim] <= i < shape[dim]:
        raise EdgebuildError(f"{node.name}: index {i} is out of range for dim {dim} of size {shape[dim]}")
    picked = gather_const(ctx, node, x, dim, np.array([i % shape[dim]]), "select")
    finish(ctx, node, picked, out)


@mover("aten.flip.default")
def build_flip(ctx: LoweringContext, node: Node, x: int, out: int) -> None:
    shape = ctx.tensor(x).shape
    dims = sorted({int(d) % len(shape) for d in _ints(node.args[1])})
    dims = [d for d in dims if shape[d] > 1]
    for k, d in enumerate(dims):
        last = k == len(dims) - 1
        x = gather_const(ctx, node, x, d, np.arange(shape[d])[::-1].copy(), f"flip{d}", out if last else None)
    finish(ctx, node, x, out)


@mover("aten.roll.default")
def build_roll(ctx: LoweringContext, node: Node, x: int, out: int) -> None:
    """y[i] = x[(i - shift) mod n] per rolled dim; no dims: the flattened tensor rolls."""
    shape = ctx.tensor(x).shape
    shifts = _ints(node.args[1])
    dims = _ints(_arg(node, 2, "dims", []))
    if not dims:
        flat = reshape(ctx, node, x, (int(np.prod(shape)),), "flat")
        n = ctx.tensor(flat).shape[0]
        rolled = gather_const(ctx, node, flat, 0, (np.arange(n) - shifts[0]) % n, "roll")
        finish(ctx, node, reshape(ctx, node, rolled, shape, "unflat"), out)
        return
    todo = [
        (int(d) % len(shape), s) for d, s in zip(dims, shifts, strict=True) if s % shape[int(d) % len(shape)]
    ]
    for k, (d, s) in enumerate(todo):
        last = k == len(todo) - 1
        x = gather_const(
            ctx, node, x, d, (np.arange(shape[d]) - s) % shape[d], f"roll{d}", out if last else None
        )
    finish(ctx, node, x, out)


def pad_index(n: int, before: int, after: int, mode: str) -> np.ndarray:
    """The source index of each output position along one dim of size n padded by (before, after)."""
    i = np.arange(-before, n + after)
    if mode == "reflect":
        if before >= n or after >= n:
            raise ValueError(f"reflect padding ({before}, {after}) must be smaller than the dim ({n})")
        period = 2 * (n - 1) if n > 1 else 1
        i = np.abs(i) % period
        return np.where(i >= n, period - i, i)
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    if mode == "circular":
        if before > n or after > n:
            raise ValueError(f"circular padding ({before}, {after}) must not exceed the dim ({n})")
        return i % n
    raise ValueError(f"pad mode {mode!r}")


PAD_MODES = {
    "aten.reflection_pad1d.default": "reflect",
    "aten.reflection_pad2d.default": "reflect",
    "aten.reflection_pad3d.default": "reflect",
    "aten.replication_pad1d.default": "replicate",
    "aten.replication_pad2d.default": "replicate",
    "aten.replication_pad3d.default": "replicate",
    "aten._pad_circular.default": "circular",
}


def build_index_pad(ctx: LoweringContext, node: Node, x: int, out: int, pads: list[int], mode: str) -> None:
    """Padding that copies elements of x (reflect, replicate, circular): one GATHER per padded dim."""
    shape = ctx.tensor(x).shape
    todo = [
        (len(shape) - 1 - k, pads[2 * k], pads[2 * k + 1])
        for k in range(len(pads) // 2)
        if pads[2 * k] or pads[2 * k + 1]
    ]
    if any(b < 0 or a < 0 for _, b, a in todo):
        raise EdgebuildError(f"{node.name}: negative {mode} padding is not supported")
    for k, (d, b, a) in enumerate(todo):
        try:
            index = pad_index(shape[d], b, a, mode)
        except ValueError as e:
            raise EdgebuildError(f"{node.name}: {e}") from None
        x = gather_const(ctx, node, x, d, index, f"pad{d}", out if k == len(todo) - 1 else None)
    finish(ctx, node, x, out)


@mover(*PAD_MODES)
def build_pad(ctx: LoweringContext, node: Node, x: int, out: int) -> None:
    build_index_pad(ctx, node, x, out, _ints(node.args[1]), PAD_MODES[_name(node)])


def _name(node: Node) -> str:
    t = node.target
    assert isinstance(t, torch._ops.OpOverload)
    return f"aten.{t._schema.name.split('::')[-1]}.{t._overloadname}"


@mover("aten.diagonal.default")
def build_diagonal(ctx: LoweringContext, node: Node, x: int, out: int) -> None:
    """dim1 and dim2 moved last (TRANSPOSE), merged (RESHAPE), then a GATHER of the diagonal's positions."""
    shape = ctx.tensor(x).shape
    r = len(shape)
    offset = int(_arg(node, 1, "offset", 0))  # type: ignore[call-overload]
    d1 = int(_arg(node, 2, "dim1", 0)) % r  # type: ignore[call-overload]
    d2 = int(_arg(node, 3, "dim2", 1)) % r  # type: ignore[call-overload]
    rest = [d for d in range(r) if d not in (d1, d2)]
    moved = transpose(ctx, node, x, rest + [d1, d2], "diag_t")
    n1, n2 = shape[d1], shape[d2]
    flat = reshape(ctx, node, moved, tuple(shape[d] for d in rest) + (n1 * n2,), "diag_flat")
    length = node_shape(node)[-1]
    rows = np.arange(length) + max(-offset, 0)
    index = rows * n2 + rows + offset
    gather_const(ctx, node, flat, len(rest), index, "diag", out)


@mover("aten.as_strided.default", "aten.as_strided_copy.default")
def build_as_strided(ctx: LoweringContext, node: Node, x: int, out: int) -> None:
    """A view of x's (contiguous) elements: one GATHER of the flattened x by the view's element offsets."""
    size, stride = _ints(node.args[1]), _ints(node.args[2])
    offset = int(_arg(node, 3, "storage_offset", 0) or 0)  # type: ignore[call-overload]
    total = int(np.prod(ctx.tensor(x).shape))
    index = np.full(size, offset, dtype=np.int64)
    for d, (n, s) in enumerate(zip(size, stride, strict=True)):
        index = index + (np.arange(n) * s).reshape([-1 if k == d else 1 for k in range(len(size))])
    if index.size and (index.min() < 0 or index.max() >= total):
        raise EdgebuildError(f"{node.name}: as_strided reads outside the input's {total} elements")
    flat = reshape(ctx, node, x, (total,), "flat")
    gather_const(ctx, node, flat, 0, index, "strided", out)


__all__ = ["PAD_MODES", "build_index_pad", "like", "pad_index"]
