"""Build-time constant folding: every subgraph that depends only on constants and static shapes is evaluated once,
by PyTorch, at build time, and stored as a constant (position ids from `arange`, causal masks, `full`/`ones_like`
tensors, a weight transposed or scaled in forward()).

A node is constant when every tensor it reads is constant (a parameter, a buffer, or another constant node), or when
its value depends only on its inputs' shapes, which are static here (`full_like`, `zeros_like`, `sym_size`, ...).
Ops tagged `nondeterministic_seeded` (rand, randn, dropout in training) are never folded: their value is not a
constant. A result above FOLD_LIMIT elements stays an op (folding an `expand` could otherwise store a large tensor).

Shapes are static too, so an operand of cat with no elements is known at build time: drop_empty_operands removes it.
"""

from __future__ import annotations

import operator
from typing import Any

import torch
from torch.fx import GraphModule, Node
from torch.fx.node import map_aggregate

FOLD_LIMIT = 1 << 22  # elements

A = torch.ops.aten
# Ops whose value depends only on their tensor inputs' shapes and dtypes (static at build time).
SHAPE_ONLY = {
    A.full_like.default,
    A.zeros_like.default,
    A.ones_like.default,
    A.empty_like.default,
    A.new_zeros.default,
    A.new_ones.default,
    A.new_full.default,
    A.new_empty.default,
    A.sym_size.int,
    A.sym_numel.default,
    A.sym_stride.int,
    A.sym_storage_offset.default,
    A.scalar_tensor.default,
}
_NO_FOLD = {torch.ops.aten.lift_fresh_copy.default}


def attr_value(gm: GraphModule, target: str) -> Any:
    """The object a get_attr node's dotted `target` names on `gm` (AttributeError when there is none)."""
    value: Any = gm
    for part in target.split("."):
        value = getattr(value, part)
    return value


def _foldable(node: Node) -> bool:
    if node.op != "call_function":
        return False
    target = node.target
    if target is operator.getitem:
        return True
    if not isinstance(target, torch._ops.OpOverload) or target in _NO_FOLD:
        return False
    return torch.Tag.nondeterministic_seeded not in target.tags and not target._schema.is_mutable


def _placeholder_value(node: Node) -> Any:
    """A stand-in with the shape and dtype of a non-constant input of a SHAPE_ONLY op."""
    val = node.meta.get("val")
    if isinstance(val, torch.Tensor):
        return torch.zeros(tuple(int(d) for d in val.shape), dtype=val.dtype)
    raise _Unknown


class _Unknown(Exception):
    pass


def _too_big(value: Any) -> bool:
    if isinstance(value, torch.Tensor):
        return value.numel() > FOLD_LIMIT
    if isinstance(value, (tuple, list)):
        return any(_too_big(v) for v in value)
    return False


def _substitute(node: Node, value: Any) -> Any:
    return lambda a: value if a is node else a


def fold_constants(gm: GraphModule) -> int:
    """Fold `gm`'s constant subgraphs in place; returns how many nodes were folded."""
    values: dict[Node, Any] = {}
    for node in gm.graph.nodes:
        if node.op == "get_attr":
            values[node] = attr_value(gm, str(node.target))
    folded: dict[Node, Any] = {}
    for node in list(gm.graph.nodes):
        if not _foldable(node):
            continue
        shape_only = node.target in SHAPE_ONLY
        inputs = node.all_input_nodes
        if not shape_only and not all(n in values for n in inputs):
            continue
        try:

            def value_of(a: Any) -> Any:
                if not isinstance(a, Node):
                    return a
                if a in values:
                    return values[a]
                return _placeholder_value(a)

            args = map_aggregate(node.args, value_of)
            kwargs = map_aggregate(node.kwargs, value_of)
            with torch.no_grad():
                value = node.target(*args, **kwargs)  # type: ignore[operator]
        except Exception:  # noqa: BLE001, S112  (an op torch cannot evaluate here stays an op; its lowering reports it)
            continue
        if _too_big(value):
            continue
        values[node] = value
        folded[node] = value
    if not folded:
        return 0
    count = 0
    for node, value in folded.items():
        if not node.users or all(u in folded for u in node.users):
            continue  # only the frontier of a folded subgraph is materialized
        if isinstance(value, torch.Tensor):
            name = f"_folded_{node.name}"
            gm.register_buffer(name, value.detach().clone().contiguous(), persistent=False)
            with gm.graph.inserting_before(node):
                new = gm.graph.get_attr(name)
            new.meta = dict(node.meta)
            new.meta["val"] = value
            node.replace_all_uses_with(new)
            count += 1
        elif isinstance(value, (int, float, bool)):
            for user in list(node.users):
                user.args = map_aggregate(user.args, _substitute(node, value))
                user.kwargs = map_aggregate(user.kwargs, _substitute(node, value))  # type: ignore[assignment]
            count += 1
        # tuples stay: their getitem users were folded themselves
    for node in reversed(list(folded)):  # checks on constants (_assert_tensor_metadata) held and are dropped
        if folded[node] is None and not node.users:
            gm.graph.erase_node(node)
    gm.graph.eliminate_dead_code()
    gm.graph.lint()
    gm.recompile()
    return count


CATS = {A.cat.default, A.concat.default}


def _empty(node: object) -> bool:
    val = node.meta.get("val") if isinstance(node, Node) else None
    return isinstance(val, torch.Tensor) and val.numel() == 0


def drop_empty_operands(gm: GraphModule) -> int:
    """A cat drops its operands with no elements (torch.cat adds nothing for them), and the ops that computed only
    those go: `x[..., rotary_dim:]` of a model whose rotary embedding covers the whole head (Phi-3) is empty, and an
    artifact holds no empty tensor. Returns how many operands were dropped."""
    dropped = 0
    for node in gm.graph.nodes:
        if node.op != "call_function" or node.target not in CATS or not node.args:
            continue
        parts = list(node.args[0])  # type: ignore[arg-type]
        kept = [p for p in parts if not _empty(p)]
        if kept and len(kept) < len(parts):
            node.args = (kept, *node.args[1:])
            dropped += len(parts) - len(kept)
    if not dropped:
        return 0
    changed = True
    while changed:  # ops whose only result was an empty operand
        changed = False
        for node in reversed(list(gm.graph.nodes)):
            if node.op == "call_function" and not node.users and _empty(node):
                gm.graph.erase_node(node)
                changed = True
    gm.graph.lint()
    gm.recompile()
    return dropped
